//! Declarations of webhooks, next to the types they serve: where the
//! apiserver reaches them ([`ClientConfig`]), a CRD's conversion webhook
//! ([`WebhookConversion`], which [`crate::crd::Definition::conversion`]
//! holds) and admission webhooks ([`Admission`]), rendered as the
//! `ValidatingWebhookConfiguration`, `MutatingWebhookConfiguration` and
//! `Service` a cluster needs by [`Webhooks::manifests`]. Plain data: the
//! server that answers them is `crdforge-runtime`'s (feature `webhook`), and
//! `crdforge-gen` writes and drift-checks the YAML.
//!
//! ## `caBundle`
//!
//! The apiserver trusts a webhook's certificate only if it chains to the
//! configuration's `caBundle`. Leave [`ClientConfig::ca_bundle`] empty in
//! generated manifests and let cert-manager's CA injector fill it: set
//! [`Webhooks::inject_ca_from`] to the `namespace/name` of the
//! `Certificate` whose Secret the server mounts, and every generated
//! configuration (and a CRD whose conversion the same declaration
//! describes) carries the annotation `cert-manager.io/inject-ca-from`, on
//! which the injector writes the CA into `caBundle` and keeps it current
//! across renewals. Tests set the CA themselves (envtest's `ServingPki`).

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::admissionregistration::v1 as admission;
use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as ext;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// The annotation cert-manager's CA injector acts on.
pub const INJECT_CA_FROM: &str = "cert-manager.io/inject-ca-from";

/// Where the apiserver sends a webhook's requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// A Service in the cluster, or a URL.
    pub target: Target,
    /// PEM of the CA that signed the server's certificate; empty when
    /// cert-manager injects it.
    pub ca_bundle: Option<Vec<u8>>,
}

/// A Service in the cluster, or a URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// `https://<name>.<namespace>.svc:<port><path>`.
    Service {
        /// The Service's namespace.
        namespace: String,
        /// The Service's name.
        name: String,
        /// The Service's port (the apiserver's default is 443).
        port: u16,
        /// The request path.
        path: String,
    },
    /// `https://host:port/path`, for a webhook outside the cluster (or a
    /// test's server on loopback).
    Url(String),
}

impl ClientConfig {
    /// The same target with `path` instead of its path (one server, a path
    /// per webhook). A URL's path is replaced after its authority.
    pub fn at_path(&self, path: &str) -> Self {
        let target = match &self.target {
            Target::Service {
                namespace,
                name,
                port,
                ..
            } => Target::Service {
                namespace: namespace.clone(),
                name: name.clone(),
                port: *port,
                path: path.to_owned(),
            },
            Target::Url(url) => {
                let scheme_end = url.find("://").map_or(0, |i| i + 3);
                let authority_end = url[scheme_end..]
                    .find('/')
                    .map_or(url.len(), |i| scheme_end + i);
                Target::Url(format!("{}{path}", &url[..authority_end]))
            }
        };
        Self {
            target,
            ca_bundle: self.ca_bundle.clone(),
        }
    }

    fn crd(&self) -> ext::WebhookClientConfig {
        let (service, url) = match &self.target {
            Target::Service {
                namespace,
                name,
                port,
                path,
            } => (
                Some(ext::ServiceReference {
                    namespace: namespace.clone(),
                    name: name.clone(),
                    path: Some(path.clone()),
                    port: Some(i32::from(*port)),
                }),
                None,
            ),
            Target::Url(url) => (None, Some(url.clone())),
        };
        ext::WebhookClientConfig {
            ca_bundle: self.ca_bundle.clone().map(ByteString),
            service,
            url,
        }
    }

    fn admission(&self) -> admission::WebhookClientConfig {
        let crd = self.crd();
        admission::WebhookClientConfig {
            ca_bundle: crd.ca_bundle,
            service: crd.service.map(|s| admission::ServiceReference {
                namespace: s.namespace,
                name: s.name,
                path: s.path,
                port: s.port,
            }),
            url: crd.url,
        }
    }
}

/// A CRD's conversion webhook: `spec.conversion` with strategy `Webhook`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookConversion {
    /// Where the apiserver sends `ConversionReview`s.
    pub client: ClientConfig,
    /// `namespace/name` of the cert-manager `Certificate` whose CA the
    /// injector writes into the CRD's `caBundle`; the CRD carries the
    /// annotation.
    pub inject_ca_from: Option<String>,
}

/// The `ConversionReview` versions a crdforge webhook understands.
pub const REVIEW_VERSIONS: &[&str] = &["v1"];

impl WebhookConversion {
    /// `spec.conversion` of the CRD.
    pub fn to_crd(&self) -> ext::CustomResourceConversion {
        ext::CustomResourceConversion {
            strategy: "Webhook".to_owned(),
            webhook: Some(ext::WebhookConversion {
                client_config: Some(self.client.crd()),
                conversion_review_versions: REVIEW_VERSIONS
                    .iter()
                    .map(|v| (*v).to_owned())
                    .collect(),
            }),
        }
    }
}

/// Validating, or mutating (defaulting).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdmissionKind {
    /// May deny, and warn.
    Validating,
    /// May change the object (a JSON patch), deny and warn.
    Mutating,
}

/// What happens when the webhook cannot be reached or fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailurePolicy {
    /// The request is refused (the default, and the safe choice for a rule
    /// that must hold).
    Fail,
    /// The request proceeds as if the webhook had allowed it.
    Ignore,
}

/// Whether calling the webhook changes anything outside the object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SideEffects {
    /// Nothing: the webhook is also called for dry-run requests.
    None,
    /// Something, except on dry-run requests (the webhook reads `dryRun`).
    NoneOnDryRun,
}

/// Which objects by scope a rule matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Cluster-scoped objects.
    Cluster,
    /// Namespaced objects.
    Namespaced,
    /// Both.
    All,
}

/// One admission webhook on the kinds of one rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admission {
    /// The webhook's name, a DNS name such as `validate.users.example.com`.
    pub name: String,
    /// Validating or mutating.
    pub kind: AdmissionKind,
    /// The path on the webhook server.
    pub path: String,
    /// API groups of the rule.
    pub api_groups: Vec<String>,
    /// API versions of the rule (`*` for all; with `matchPolicy:
    /// Equivalent`, the apiserver converts other versions to one listed).
    pub api_versions: Vec<String>,
    /// Resources (plurals) of the rule.
    pub resources: Vec<String>,
    /// `CREATE`, `UPDATE`, `DELETE`, `CONNECT` or `*`.
    pub operations: Vec<String>,
    /// Which scopes the rule matches.
    pub scope: Scope,
    /// When the webhook fails.
    pub failure_policy: FailurePolicy,
    /// Side effects.
    pub side_effects: SideEffects,
    /// Seconds the apiserver waits (1 to 30).
    pub timeout_seconds: u8,
    /// CEL match conditions, `(name, expression)`: the webhook is called
    /// only when all are true.
    pub match_conditions: Vec<(String, String)>,
}

impl Admission {
    /// A webhook on `K`'s resource for `CREATE` and `UPDATE`, in `K`'s group
    /// and version, failing closed, without side effects, 10 s timeout.
    pub fn for_kind<K: kube_core::Resource<DynamicType = ()>>(
        kind: AdmissionKind,
        name: &str,
        path: &str,
    ) -> Self {
        Self {
            name: name.to_owned(),
            kind,
            path: path.to_owned(),
            api_groups: vec![K::group(&()).into_owned()],
            api_versions: vec![K::version(&()).into_owned()],
            resources: vec![K::plural(&()).into_owned()],
            operations: vec!["CREATE".to_owned(), "UPDATE".to_owned()],
            scope: Scope::All,
            failure_policy: FailurePolicy::Fail,
            side_effects: SideEffects::None,
            timeout_seconds: 10,
            match_conditions: Vec::new(),
        }
    }

    /// Sets the failure policy.
    pub fn failure_policy(mut self, policy: FailurePolicy) -> Self {
        self.failure_policy = policy;
        self
    }

    /// Sets the side effects.
    pub fn side_effects(mut self, side_effects: SideEffects) -> Self {
        self.side_effects = side_effects;
        self
    }

    /// Sets the timeout.
    pub fn timeout_seconds(mut self, seconds: u8) -> Self {
        self.timeout_seconds = seconds;
        self
    }

    /// Sets the operations.
    pub fn operations(mut self, operations: &[&str]) -> Self {
        self.operations = operations.iter().map(|o| (*o).to_owned()).collect();
        self
    }

    /// Adds a CEL match condition.
    pub fn match_condition(mut self, name: &str, expression: &str) -> Self {
        self.match_conditions
            .push((name.to_owned(), expression.to_owned()));
        self
    }

    fn rules(&self) -> Vec<admission::RuleWithOperations> {
        vec![admission::RuleWithOperations {
            api_groups: Some(self.api_groups.clone()),
            api_versions: Some(self.api_versions.clone()),
            operations: Some(self.operations.clone()),
            resources: Some(self.resources.clone()),
            scope: Some(
                match self.scope {
                    Scope::Cluster => "Cluster",
                    Scope::Namespaced => "Namespaced",
                    Scope::All => "*",
                }
                .to_owned(),
            ),
        }]
    }

    fn match_conditions(&self) -> Option<Vec<admission::MatchCondition>> {
        (!self.match_conditions.is_empty()).then(|| {
            self.match_conditions
                .iter()
                .map(|(name, expression)| admission::MatchCondition {
                    name: name.clone(),
                    expression: expression.clone(),
                })
                .collect()
        })
    }

    fn failure_policy_name(&self) -> String {
        match self.failure_policy {
            FailurePolicy::Fail => "Fail",
            FailurePolicy::Ignore => "Ignore",
        }
        .to_owned()
    }

    fn side_effects_name(&self) -> String {
        match self.side_effects {
            SideEffects::None => "None",
            SideEffects::NoneOnDryRun => "NoneOnDryRun",
        }
        .to_owned()
    }
}

/// The webhooks one server answers, and how the cluster reaches it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhooks {
    /// Names the configurations (`<name>-validating`, `<name>-mutating`)
    /// and, with a Service target, nothing else.
    pub name: String,
    /// Where the server is; each webhook's path replaces the path.
    pub client: ClientConfig,
    /// Selector of the server's pods, for the generated Service (only with
    /// a Service target).
    pub selector: BTreeMap<String, String>,
    /// The port the server's pods listen on (the Service's `targetPort`).
    pub target_port: u16,
    /// `namespace/name` of a cert-manager `Certificate` whose CA the
    /// injector writes into every `caBundle` (see the module docs).
    pub inject_ca_from: Option<String>,
    /// The admission webhooks.
    pub admission: Vec<Admission>,
}

/// The objects [`Webhooks::manifests`] renders.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Manifests {
    /// The Service in front of the server, with a Service target.
    pub service: Option<Service>,
    /// The validating webhooks, if any.
    pub validating: Option<admission::ValidatingWebhookConfiguration>,
    /// The mutating webhooks, if any.
    pub mutating: Option<admission::MutatingWebhookConfiguration>,
}

impl Webhooks {
    /// The conversion webhook of a CRD served by this server at `path`.
    pub fn conversion(&self, path: &str) -> WebhookConversion {
        WebhookConversion {
            client: self.client.at_path(path),
            inject_ca_from: self.inject_ca_from.clone(),
        }
    }

    /// The annotations every generated configuration carries.
    pub fn annotations(&self) -> Option<BTreeMap<String, String>> {
        self.inject_ca_from
            .as_ref()
            .map(|from| BTreeMap::from([(INJECT_CA_FROM.to_owned(), from.clone())]))
    }

    /// The configurations and the Service.
    pub fn manifests(&self) -> Manifests {
        let meta = |suffix: &str| ObjectMeta {
            name: Some(format!("{}-{suffix}", self.name)),
            annotations: self.annotations(),
            ..ObjectMeta::default()
        };
        let of = |kind: AdmissionKind| self.admission.iter().filter(move |a| a.kind == kind);
        let review_versions = || vec!["v1".to_owned()];
        let validating: Vec<_> = of(AdmissionKind::Validating)
            .map(|a| admission::ValidatingWebhook {
                name: a.name.clone(),
                admission_review_versions: review_versions(),
                client_config: self.client.at_path(&a.path).admission(),
                failure_policy: Some(a.failure_policy_name()),
                match_conditions: a.match_conditions(),
                match_policy: Some("Equivalent".to_owned()),
                rules: Some(a.rules()),
                side_effects: a.side_effects_name(),
                timeout_seconds: Some(i32::from(a.timeout_seconds)),
                ..Default::default()
            })
            .collect();
        let mutating: Vec<_> = of(AdmissionKind::Mutating)
            .map(|a| admission::MutatingWebhook {
                name: a.name.clone(),
                admission_review_versions: review_versions(),
                client_config: self.client.at_path(&a.path).admission(),
                failure_policy: Some(a.failure_policy_name()),
                match_conditions: a.match_conditions(),
                match_policy: Some("Equivalent".to_owned()),
                reinvocation_policy: Some("Never".to_owned()),
                rules: Some(a.rules()),
                side_effects: a.side_effects_name(),
                timeout_seconds: Some(i32::from(a.timeout_seconds)),
                ..Default::default()
            })
            .collect();
        let service = match &self.client.target {
            Target::Service {
                namespace,
                name,
                port,
                ..
            } => Some(Service {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    namespace: Some(namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(ServiceSpec {
                    selector: Some(self.selector.clone()),
                    ports: Some(vec![ServicePort {
                        name: Some("webhook".to_owned()),
                        port: i32::from(*port),
                        target_port: Some(IntOrString::Int(i32::from(self.target_port))),
                        protocol: Some("TCP".to_owned()),
                        ..ServicePort::default()
                    }]),
                    ..ServiceSpec::default()
                }),
                status: None,
            }),
            Target::Url(_) => None,
        };
        Manifests {
            service,
            validating: (!validating.is_empty()).then(|| {
                admission::ValidatingWebhookConfiguration {
                    metadata: meta("validating"),
                    webhooks: Some(validating),
                }
            }),
            mutating: (!mutating.is_empty()).then(|| admission::MutatingWebhookConfiguration {
                metadata: meta("mutating"),
                webhooks: Some(mutating),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_or_service_path_is_replaced_per_webhook() {
        let url = ClientConfig {
            target: Target::Url("https://127.0.0.1:8443/".into()),
            ca_bundle: None,
        };
        assert_eq!(
            url.at_path("/convert").target,
            Target::Url("https://127.0.0.1:8443/convert".into())
        );
        let bare = ClientConfig {
            target: Target::Url("https://127.0.0.1:8443".into()),
            ca_bundle: None,
        };
        assert_eq!(
            bare.at_path("/v").target,
            Target::Url("https://127.0.0.1:8443/v".into())
        );
        let service = ClientConfig {
            target: Target::Service {
                namespace: "ns".into(),
                name: "hooks".into(),
                port: 443,
                path: "/".into(),
            },
            ca_bundle: Some(b"pem".to_vec()),
        };
        let crd = service.at_path("/convert").crd();
        assert_eq!(crd.service.unwrap().path.as_deref(), Some("/convert"));
        assert_eq!(crd.ca_bundle.unwrap().0, b"pem");
    }
}
