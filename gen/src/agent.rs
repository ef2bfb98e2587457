//! Manifests for a per-node agent (a load balancer's speaker, a CNI or log
//! shipper): the same declaration as a controller ([`ControllerManifest`]:
//! what it does, hence its RBAC), run as a DaemonSet — one pod per node,
//! optionally on the node's network with extra Linux capabilities.

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetSpec, DaemonSetUpdateStrategy};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EnvVar, EnvVarSource, HTTPGetAction,
    ObjectFieldSelector, PodSpec, PodTemplateSpec, Probe, SecurityContext,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::generate::{GeneratedFile, join, render_yaml};
use crate::rbac::{ControllerManifest, labels, meta, rbac_objects, tagged};

/// A per-node agent.
#[derive(Debug, Clone)]
pub struct AgentManifest {
    /// Name, namespace, image, arguments, RBAC and probes, as for a
    /// controller. `replicas` must be 1 (a DaemonSet runs one pod per node);
    /// the metrics port is declared only with probes, since an agent
    /// without probes serves nothing on it.
    pub controller: ControllerManifest,
    /// Whether the pod uses the node's network namespace.
    pub host_network: bool,
    /// Linux capabilities added to the container (all others dropped),
    /// e.g. `NET_RAW` for raw sockets.
    pub capabilities: Vec<&'static str>,
}

/// The DaemonSet: the controller's ServiceAccount, the node's name
/// (`NODE_NAME`, from `spec.nodeName`) and the pod's, its capabilities.
pub fn daemon_set(agent: &AgentManifest) -> serde_json::Value {
    let m = &agent.controller;
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
    let probe = |path: &str, period: i32| Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::Int(m.metrics_port),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        ..Probe::default()
    };
    tagged(
        "apps/v1",
        "DaemonSet",
        DaemonSet {
            metadata: meta(m, true),
            spec: DaemonSetSpec {
                selector: LabelSelector {
                    match_labels: Some(labels(m)),
                    match_expressions: None,
                },
                update_strategy: Some(DaemonSetUpdateStrategy {
                    type_: Some("RollingUpdate".into()),
                    ..DaemonSetUpdateStrategy::default()
                }),
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(labels(m)),
                        ..ObjectMeta::default()
                    }),
                    spec: Some(PodSpec {
                        service_account_name: Some(m.name.into()),
                        host_network: agent.host_network.then_some(true),
                        // A pod on the host's network still resolves
                        // cluster names (the apiserver's Service) only
                        // with this policy.
                        dns_policy: agent.host_network.then(|| "ClusterFirstWithHostNet".into()),
                        containers: vec![Container {
                            name: m.name.into(),
                            image: Some(m.image.into()),
                            args: Some(m.args.clone()),
                            env: Some(vec![
                                field_env("NODE_NAME", "spec.nodeName"),
                                field_env("POD_NAME", "metadata.name"),
                                field_env("POD_NAMESPACE", "metadata.namespace"),
                            ]),
                            ports: m.probes.as_ref().map(|_| {
                                vec![ContainerPort {
                                    name: Some("metrics".into()),
                                    container_port: m.metrics_port,
                                    ..ContainerPort::default()
                                }]
                            }),
                            liveness_probe: m
                                .probes
                                .as_ref()
                                .map(|p| probe(p.liveness, p.period_seconds)),
                            readiness_probe: m
                                .probes
                                .as_ref()
                                .map(|p| probe(p.readiness, p.period_seconds)),
                            security_context: Some(SecurityContext {
                                capabilities: Some(Capabilities {
                                    add: (!agent.capabilities.is_empty()).then(|| {
                                        agent.capabilities.iter().map(|c| c.to_string()).collect()
                                    }),
                                    drop: Some(vec!["ALL".into()]),
                                }),
                                ..SecurityContext::default()
                            }),
                            ..Container::default()
                        }],
                        ..PodSpec::default()
                    }),
                },
                ..DaemonSetSpec::default()
            },
            status: None,
        },
    )
}

/// `<dir>/rbac.yaml` and `<dir>/daemonset.yaml`, headed as written by
/// `command`; an error when the declaration cannot be an agent.
pub fn agent_files(
    dir: &str,
    command: &str,
    agent: &AgentManifest,
) -> Result<Vec<GeneratedFile>, String> {
    let m = &agent.controller;
    if m.replicas != 1 {
        return Err(format!(
            "replicas is {}, but an agent runs one pod per node: set it to 1",
            m.replicas
        ));
    }
    if !m.pod.is_empty() {
        return Err(
            "pod (volumes, ports, other containers, webhooks) is rendered for Deployments only, not yet for an agent's DaemonSet".into(),
        );
    }
    if m.managed_namespaces.is_some() {
        return Err("managed_namespaces (a fence) is for controllers, not agents".into());
    }
    for capability in &agent.capabilities {
        if capability.is_empty()
            || !capability
                .chars()
                .all(|c| c.is_ascii_uppercase() || c == '_')
        {
            return Err(format!(
                "capability {capability:?} is not a Linux capability name like NET_RAW"
            ));
        }
    }
    Ok(vec![
        GeneratedFile {
            path: join(dir, "rbac.yaml"),
            contents: render_yaml(command, &rbac_objects(m))?,
        },
        GeneratedFile {
            path: join(dir, "daemonset.yaml"),
            contents: render_yaml(command, &[daemon_set(agent)])?,
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rbac::{Op, Uses};

    fn agent() -> AgentManifest {
        AgentManifest {
            controller: ControllerManifest {
                name: "speaker",
                namespace: "lb-system",
                image: "example/speaker:1",
                uses: vec![Uses::new("", "nodes", &[Op::Watch])],
                own_namespace_uses: vec![Uses::new(
                    "coordination.k8s.io",
                    "leases",
                    &[Op::Watch, Op::Apply],
                )],
                managed_namespaces: None,
                replicas: 1,
                args: vec!["--verbose".into()],
                metrics_port: 7472,
                probes: None,
                pod: crate::rbac::Pod::default(),
            },
            host_network: true,
            capabilities: vec!["NET_RAW", "NET_ADMIN"],
        }
    }

    /// The rendered DaemonSet, pinned.
    #[test]
    fn daemon_set_golden() {
        let files = agent_files("deploy/speaker", "cargo xtask gen", &agent()).unwrap();
        assert_eq!(files[0].path, "deploy/speaker/rbac.yaml");
        assert_eq!(files[1].path, "deploy/speaker/daemonset.yaml");
        expect_test::expect![[r#"
            # Generated by `cargo xtask gen` from annotated Rust types.
            # Do not edit: change the types and run `cargo xtask gen` again.
            apiVersion: apps/v1
            kind: DaemonSet
            metadata:
              labels:
                app.kubernetes.io/name: speaker
              name: speaker
              namespace: lb-system
            spec:
              selector:
                matchLabels:
                  app.kubernetes.io/name: speaker
              template:
                metadata:
                  labels:
                    app.kubernetes.io/name: speaker
                spec:
                  containers:
                  - args:
                    - --verbose
                    env:
                    - name: NODE_NAME
                      valueFrom:
                        fieldRef:
                          fieldPath: spec.nodeName
                    - name: POD_NAME
                      valueFrom:
                        fieldRef:
                          fieldPath: metadata.name
                    - name: POD_NAMESPACE
                      valueFrom:
                        fieldRef:
                          fieldPath: metadata.namespace
                    image: example/speaker:1
                    name: speaker
                    securityContext:
                      capabilities:
                        add:
                        - NET_RAW
                        - NET_ADMIN
                        drop:
                        - ALL
                  dnsPolicy: ClusterFirstWithHostNet
                  hostNetwork: true
                  serviceAccountName: speaker
              updateStrategy:
                type: RollingUpdate
        "#]]
        .assert_eq(&files[1].contents);
    }

    #[test]
    fn without_host_network_the_pod_keeps_its_own() {
        let ds = daemon_set(&AgentManifest {
            host_network: false,
            ..agent()
        });
        let pod = &ds["spec"]["template"]["spec"];
        assert!(pod.get("hostNetwork").is_none(), "{pod}");
        assert!(pod.get("dnsPolicy").is_none(), "{pod}");
    }

    #[test]
    fn bad_declarations_are_refused_with_the_reason() {
        let mut two = agent();
        two.controller.replicas = 2;
        let err = agent_files("d", "c", &two).unwrap_err();
        assert!(err.contains("replicas is 2"), "{err}");
        let mut lower = agent();
        lower.capabilities = vec!["net_raw"];
        let err = agent_files("d", "c", &lower).unwrap_err();
        assert!(err.contains("\"net_raw\""), "{err}");
    }
}
