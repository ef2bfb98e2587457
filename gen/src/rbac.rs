//! Deployment manifests for a controller, from what it declares it needs:
//! a ServiceAccount, a ClusterRole with exactly the declared cluster-wide
//! rules and a binding, a Role and binding for what it does in its own
//! namespace (its Lease), and a Deployment.
//!
//! Least privilege comes from the declaration being the only source: nothing
//! here adds a verb or resource the controller did not name, and the
//! controller's end-to-end tests run under these very rules, so a missing
//! permission fails CI rather than production.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, EnvVarSource, HTTPGetAction, Namespace, ObjectFieldSelector,
    PodSpec, PodTemplateSpec, Probe, ServiceAccount,
};
use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;

use crate::generate::{GeneratedFile, YAML_HEADER};

/// One permission: verbs on resources of an API group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    /// API group; `""` for the core group.
    pub group: &'static str,
    /// Resources, with subresources as `users/status`.
    pub resources: &'static [&'static str],
    /// Verbs.
    pub verbs: &'static [&'static str],
    /// Only these objects, when not empty (e.g. `bind` on named roles).
    pub resource_names: &'static [&'static str],
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
    /// Rules it needs across the cluster.
    pub cluster_rules: Vec<Permission>,
    /// Rules it needs in its own namespace only (its Lease, say).
    pub namespace_rules: Vec<Permission>,
    /// Replicas of the Deployment (more than one needs leader election).
    pub replicas: i32,
    /// Container arguments.
    pub args: Vec<&'static str>,
    /// Port of `/metrics`, `/healthz` and `/readyz`.
    pub metrics_port: i32,
}

fn rules(permissions: &[Permission]) -> Vec<PolicyRule> {
    permissions
        .iter()
        .map(|p| PolicyRule {
            api_groups: Some(vec![p.group.to_string()]),
            resources: Some(p.resources.iter().map(|r| r.to_string()).collect()),
            verbs: p.verbs.iter().map(|v| v.to_string()).collect(),
            resource_names: (!p.resource_names.is_empty())
                .then(|| p.resource_names.iter().map(|n| n.to_string()).collect()),
            non_resource_urls: None,
        })
        .collect()
}

fn meta(m: &ControllerManifest, namespaced: bool) -> ObjectMeta {
    ObjectMeta {
        name: Some(m.name.to_string()),
        namespace: namespaced.then(|| m.namespace.to_string()),
        labels: Some(labels(m)),
        ..ObjectMeta::default()
    }
}

fn labels(m: &ControllerManifest) -> BTreeMap<String, String> {
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
                rules: Some(rules(&m.cluster_rules)),
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
    if !m.namespace_rules.is_empty() {
        objects.push(tagged(
            "rbac.authorization.k8s.io/v1",
            "Role",
            Role {
                metadata: meta(m, true),
                rules: Some(rules(&m.namespace_rules)),
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

/// The Deployment: the ServiceAccount above, the pod's name and namespace
/// for leader election, probes on `/healthz` and `/readyz`.
pub fn deployment(m: &ControllerManifest) -> serde_json::Value {
    let field_env = |name: &str, path: &str| EnvVar {
        name: name.into(),
        value: None,
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: path.into(),
                api_version: None,
            }),
            ..EnvVarSource::default()
        }),
    };
    let probe = |path: &str| Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::Int(m.metrics_port),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(10),
        ..Probe::default()
    };
    tagged(
        "apps/v1",
        "Deployment",
        Deployment {
            metadata: meta(m, true),
            spec: Some(DeploymentSpec {
                replicas: Some(m.replicas),
                selector: LabelSelector {
                    match_labels: Some(labels(m)),
                    match_expressions: None,
                },
                strategy: Some(DeploymentStrategy {
                    type_: Some("RollingUpdate".into()),
                    ..DeploymentStrategy::default()
                }),
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(labels(m)),
                        ..ObjectMeta::default()
                    }),
                    spec: Some(PodSpec {
                        service_account_name: Some(m.name.into()),
                        containers: vec![Container {
                            name: m.name.into(),
                            image: Some(m.image.into()),
                            args: Some(m.args.iter().map(|a| a.to_string()).collect()),
                            env: Some(vec![
                                field_env("POD_NAME", "metadata.name"),
                                field_env("POD_NAMESPACE", "metadata.namespace"),
                            ]),
                            ports: Some(vec![ContainerPort {
                                name: Some("metrics".into()),
                                container_port: m.metrics_port,
                                ..ContainerPort::default()
                            }]),
                            liveness_probe: Some(probe("/healthz")),
                            readiness_probe: Some(probe("/readyz")),
                            ..Container::default()
                        }],
                        ..PodSpec::default()
                    }),
                },
                ..DeploymentSpec::default()
            }),
            status: None,
        },
    )
}

/// k8s-openapi types leave apiVersion and kind to their Resource trait; a
/// manifest needs them written out.
fn tagged(api_version: &str, kind: &str, object: impl Serialize) -> serde_json::Value {
    let mut value = serde_json::to_value(object).expect("k8s-openapi types serialize");
    if let Some(map) = value.as_object_mut() {
        map.insert("apiVersion".into(), api_version.into());
        map.insert("kind".into(), kind.into());
    }
    value
}

/// `generated/deploy/<name>/rbac.yaml` and `deployment.yaml`.
pub fn deploy_files(m: &ControllerManifest) -> Result<Vec<GeneratedFile>, String> {
    let render = |objects: &[serde_json::Value]| -> Result<String, String> {
        let mut out = String::from(YAML_HEADER);
        for (i, object) in objects.iter().enumerate() {
            if i > 0 {
                out.push_str("---\n");
            }
            let yaml = serde_saphyr::to_string(object).map_err(|e| e.to_string())?;
            out.push_str(yaml.trim_end_matches('\n'));
            out.push('\n');
        }
        Ok(out)
    };
    Ok(vec![
        GeneratedFile {
            path: format!("generated/deploy/{}/rbac.yaml", m.name),
            contents: render(&rbac_objects(m))?,
        },
        GeneratedFile {
            path: format!("generated/deploy/{}/deployment.yaml", m.name),
            contents: render(&[deployment(m)])?,
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> ControllerManifest {
        ControllerManifest {
            name: "ctl",
            namespace: "ctl-system",
            image: "example/ctl:1",
            cluster_rules: vec![Permission {
                group: "",
                resources: &["namespaces"],
                verbs: &["get", "list", "watch", "create"],
                resource_names: &[],
            }],
            namespace_rules: vec![Permission {
                group: "coordination.k8s.io",
                resources: &["leases"],
                verbs: &["get", "create", "update"],
                resource_names: &[],
            }],
            replicas: 2,
            args: vec!["--leader-elect"],
            metrics_port: 8080,
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
            serde_json::json!(["get", "list", "watch", "create"])
        );
        assert!(objects[2]["rules"][0].get("resourceNames").is_none());
        assert_eq!(objects[4]["metadata"]["namespace"], "ctl-system");
        assert_eq!(objects[3]["subjects"][0]["namespace"], "ctl-system");
    }

    #[test]
    fn files_are_multi_document_yaml_with_the_header() {
        let files = deploy_files(&manifest()).unwrap();
        assert_eq!(files[0].path, "generated/deploy/ctl/rbac.yaml");
        assert!(files[0].contents.starts_with(YAML_HEADER));
        assert_eq!(files[0].contents.matches("\n---\n").count(), 5);
        assert!(files[1].contents.contains("serviceAccountName: ctl"));
        assert!(files[1].contents.contains("fieldPath: metadata.name"));
    }
}
