//! Deployment manifests for a controller, from what it declares it does
//! ([`Uses`]): a ServiceAccount, a ClusterRole with the rules those uses
//! need and a binding, a Role and binding for what it does in its own
//! namespace (its Lease), the fence ([`crate::fence`]) and a Deployment.
//!
//! Least privilege comes from the declaration being the only source: verbs
//! are derived from operations in [`crate::access`], nothing here adds one,
//! the controller's end-to-end tests run under these very rules (so a
//! missing permission fails CI), and they compare every granted verb with
//! the apiserver's audit log (so an unused one fails too).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

pub use crate::access::{Op, Uses};
pub use crate::fence::ManagedLabel;
use crate::generate::{GeneratedFile, join, render_yaml};
pub use crate::pod::Pod;

/// One RBAC rule: verbs on resources of an API group, derived from
/// [`Uses`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    /// API group; `""` for the core group.
    pub group: &'static str,
    /// Resources, with subresources as `users/status`.
    pub resources: Vec<String>,
    /// Verbs.
    pub verbs: Vec<&'static str>,
    /// Only these objects, when not empty (e.g. `bind` on named roles).
    pub resource_names: Vec<&'static str>,
}

impl Permission {
    /// `verbs` on `resources` of `group`, any name.
    pub fn new(group: &'static str, resources: Vec<String>, verbs: Vec<&'static str>) -> Self {
        Self {
            group,
            resources,
            verbs,
            resource_names: Vec::new(),
        }
    }
}

/// What a controller needs to run, as it declares it.
#[derive(Debug, Clone)]
pub struct ControllerManifest {
    /// Name of the controller: ServiceAccount, roles, bindings, Deployment.
    pub name: &'static str,
    /// Namespace it runs in.
    pub namespace: &'static str,
    /// Container image.
    pub image: &'static str,
    /// What it does across the cluster.
    pub uses: Vec<Uses>,
    /// What it does in its own namespace only (its Lease, say).
    pub own_namespace_uses: Vec<Uses>,
    /// The label on namespaces it manages, which fences the uses marked
    /// [`Uses::in_managed_namespaces`].
    pub managed_namespaces: Option<ManagedLabel>,
    /// Replicas of the Deployment (more than one needs leader election).
    pub replicas: i32,
    /// Container arguments.
    pub args: Vec<String>,
    /// Port of `/metrics` and of the probes' paths (the container port
    /// named `metrics`).
    pub metrics_port: i32,
    /// The Deployment's liveness and readiness probes; `None` for a
    /// controller that serves neither.
    pub probes: Option<Probes>,
    /// What else its pod holds: volumes, mounts, ports, other containers,
    /// the webhooks it serves ([`crate::pod`]); `Pod::default()` for none.
    pub pod: Pod,
}

/// HTTP probes on the metrics port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probes {
    /// Path of the liveness probe.
    pub liveness: &'static str,
    /// Path of the readiness probe.
    pub readiness: &'static str,
    /// Seconds between probes.
    pub period_seconds: i32,
}

impl Probes {
    /// `/healthz` and `/readyz` every 10 s, as `crdforge-runtime`'s
    /// controllers serve them.
    pub const HEALTHZ_READYZ: Probes = Probes {
        liveness: "/healthz",
        readiness: "/readyz",
        period_seconds: 10,
    };
}

fn rules(permissions: &[Permission]) -> Vec<PolicyRule> {
    permissions
        .iter()
        .map(|p| PolicyRule {
            api_groups: Some(vec![p.group.to_string()]),
            resources: Some(p.resources.clone()),
            verbs: p.verbs.iter().map(|v| v.to_string()).collect(),
            resource_names: (!p.resource_names.is_empty())
                .then(|| p.resource_names.iter().map(|n| n.to_string()).collect()),
            non_resource_urls: None,
        })
        .collect()
}

pub(crate) fn meta(m: &ControllerManifest, namespaced: bool) -> ObjectMeta {
    ObjectMeta {
        name: Some(m.name.to_string()),
        namespace: namespaced.then(|| m.namespace.to_string()),
        labels: Some(labels(m)),
        ..ObjectMeta::default()
    }
}

pub(crate) fn labels(m: &ControllerManifest) -> BTreeMap<String, String> {
    BTreeMap::from([("app.kubernetes.io/name".to_string(), m.name.to_string())])
}

fn subject(m: &ControllerManifest) -> Vec<Subject> {
    vec![Subject {
        kind: "ServiceAccount".into(),
        name: m.name.into(),
        namespace: Some(m.namespace.into()),
        api_group: None,
    }]
}

/// The RBAC objects: the controller's Namespace, ServiceAccount,
/// ClusterRole, ClusterRoleBinding, Role and RoleBinding, in apply order.
pub fn rbac_objects(m: &ControllerManifest) -> Vec<serde_json::Value> {
    let mut objects = vec![
        tagged(
            "v1",
            "Namespace",
            Namespace {
                metadata: ObjectMeta {
                    name: Some(m.namespace.to_string()),
                    labels: Some(labels(m)),
                    ..ObjectMeta::default()
                },
                ..Namespace::default()
            },
        ),
        tagged(
            "v1",
            "ServiceAccount",
            ServiceAccount {
                metadata: meta(m, true),
                ..ServiceAccount::default()
            },
        ),
        tagged(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            ClusterRole {
                metadata: meta(m, false),
                rules: Some(rules(&crate::access::permissions(&m.uses))),
                aggregation_rule: None,
            },
        ),
        tagged(
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            ClusterRoleBinding {
                metadata: meta(m, false),
                role_ref: RoleRef {
                    api_group: Some("rbac.authorization.k8s.io".into()),
                    kind: "ClusterRole".into(),
                    name: m.name.into(),
                },
                subjects: Some(subject(m)),
            },
        ),
    ];
    let namespace_rules = crate::access::permissions(&m.own_namespace_uses);
    if !namespace_rules.is_empty() {
        objects.push(tagged(
            "rbac.authorization.k8s.io/v1",
            "Role",
            Role {
                metadata: meta(m, true),
                rules: Some(rules(&namespace_rules)),
            },
        ));
        objects.push(tagged(
            "rbac.authorization.k8s.io/v1",
            "RoleBinding",
            RoleBinding {
                metadata: meta(m, true),
                role_ref: RoleRef {
                    api_group: Some("rbac.authorization.k8s.io".into()),
                    kind: "Role".into(),
                    name: m.name.into(),
                },
                subjects: Some(subject(m)),
            },
        ));
    }
    objects
}

/// The Deployment (see [`crate::deployment`]), kept here for callers of
/// the RBAC module.
pub use crate::deployment::deployment;

/// k8s-openapi types leave apiVersion and kind to their Resource trait; a
/// manifest needs them written out.
pub(crate) fn tagged(api_version: &str, kind: &str, object: impl Serialize) -> serde_json::Value {
    let mut value = serde_json::to_value(object).expect("k8s-openapi types serialize");
    if let Some(map) = value.as_object_mut() {
        map.insert("apiVersion".into(), api_version.into());
        map.insert("kind".into(), kind.into());
    }
    value
}

/// `<dir>/rbac.yaml`, `<dir>/fence.yaml` (when it manages namespaces) and
/// `<dir>/deployment.yaml` (the Deployment, after the ConfigMaps its pod
/// declares), headed as written by `command`; every problem of the fence
/// and of the pod, if any.
pub fn deploy_files(
    dir: &str,
    command: &str,
    m: &ControllerManifest,
) -> Result<Vec<GeneratedFile>, String> {
    let mut problems = crate::fence::check(m);
    problems.extend(crate::pod::check(m));
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }
    let mut files = vec![GeneratedFile {
        path: join(dir, "rbac.yaml"),
        contents: render_yaml(command, &rbac_objects(m))?,
    }];
    let fence = crate::fence::fence_objects(m);
    if !fence.is_empty() {
        files.push(GeneratedFile {
            path: join(dir, "fence.yaml"),
            contents: render_yaml(command, &fence)?,
        });
    }
    files.push(GeneratedFile {
        path: join(dir, "deployment.yaml"),
        contents: render_yaml(command, &crate::deployment::objects(m))?,
    });
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> ControllerManifest {
        ControllerManifest {
            name: "ctl",
            namespace: "ctl-system",
            image: "example/ctl:1",
            uses: vec![
                Uses::new("", "namespaces", &[Op::Watch, Op::Create]).in_managed_namespaces(),
                Uses::new("", "configmaps", &[Op::Apply]).in_managed_namespaces(),
            ],
            own_namespace_uses: vec![Uses::new(
                "coordination.k8s.io",
                "leases",
                &[Op::Get, Op::Create, Op::Update],
            )],
            managed_namespaces: Some(ManagedLabel {
                key: "example.com/managed-by",
                value: "ctl",
            }),
            replicas: 2,
            args: vec!["--leader-elect".into()],
            metrics_port: 8080,
            probes: Some(Probes::HEALTHZ_READYZ),
            pod: Pod::default(),
        }
    }

    #[test]
    fn roles_hold_exactly_the_declared_rules() {
        let objects = rbac_objects(&manifest());
        let kinds: Vec<&str> = objects
            .iter()
            .map(|o| o["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "Namespace",
                "ServiceAccount",
                "ClusterRole",
                "ClusterRoleBinding",
                "Role",
                "RoleBinding"
            ]
        );
        assert_eq!(
            objects[2]["rules"][0]["verbs"],
            serde_json::json!(["list", "watch", "create"])
        );
        assert!(objects[2]["rules"][0].get("resourceNames").is_none());
        assert_eq!(objects[4]["metadata"]["namespace"], "ctl-system");
        assert_eq!(objects[3]["subjects"][0]["namespace"], "ctl-system");
    }

    #[test]
    fn files_are_multi_document_yaml_with_the_header() {
        let files = deploy_files("deploy/ctl", "cargo xtask gen", &manifest()).unwrap();
        assert_eq!(files[0].path, "deploy/ctl/rbac.yaml");
        assert!(
            files[0]
                .contents
                .starts_with(&crate::generate::yaml_header("cargo xtask gen"))
        );
        assert_eq!(files[0].contents.matches("\n---\n").count(), 5);
        assert_eq!(files[1].path, "deploy/ctl/fence.yaml");
        assert!(files[2].contents.contains("serviceAccountName: ctl"));
        assert!(files[2].contents.contains("fieldPath: metadata.name"));
    }

    #[test]
    fn probes_are_optional() {
        let with = deployment(&manifest());
        let container = &with["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
        assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
        let without = deployment(&ControllerManifest {
            probes: None,
            ..manifest()
        });
        let container = &without["spec"]["template"]["spec"]["containers"][0];
        assert!(container.get("livenessProbe").is_none(), "{container}");
        assert!(container.get("readinessProbe").is_none(), "{container}");
    }

    #[test]
    fn the_fence_follows_the_declaration() {
        let m = manifest();
        let fence = crate::fence::fence_objects(&m);
        let spec = &fence[0]["spec"];
        assert_eq!(
            spec["matchConditions"][0]["expression"],
            "request.userInfo.username == 'system:serviceaccount:ctl-system:ctl'"
        );
        let rules = spec["matchConstraints"]["resourceRules"]
            .as_array()
            .unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(
            rules[1]["resources"],
            serde_json::json!(["configmaps", "configmaps/*"])
        );
        // One check for namespaced objects, three for Namespaces.
        let validations = spec["validations"].as_array().unwrap();
        assert_eq!(validations.len(), 4);
        assert!(
            validations[0]["expression"]
                .as_str()
                .unwrap()
                .contains("namespaceObject.metadata.labels['example.com/managed-by'] == 'ctl'")
        );
        assert_eq!(fence[1]["spec"]["policyName"], "ctl-fence");
        assert!(crate::fence::check(&m).is_empty());
    }

    #[test]
    fn a_fence_without_a_label_or_with_a_bad_one_is_refused() {
        let mut m = manifest();
        m.managed_namespaces = None;
        let problems = deploy_files("d", "gen", &m).unwrap_err();
        assert!(problems.contains("`namespaces` is fenced"), "{problems}");
        m.managed_namespaces = Some(ManagedLabel {
            key: "it's",
            value: "a b",
        });
        let problems = deploy_files("d", "gen", &m).unwrap_err();
        assert!(
            problems.contains("key `it's` is not a label key"),
            "{problems}"
        );
        assert!(problems.contains("value `a b` is not"), "{problems}");
    }
}
