//! The Deployment of a controller (and the ConfigMaps generated with it),
//! rendered from a declaration [`crate::pod::check`] has passed: nothing
//! here validates or fails.

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource, EnvVar,
    EnvVarSource, HTTPGetAction, KeyToPath, ObjectFieldSelector, PodSpec, PodTemplateSpec, Probe,
    SecretVolumeSource, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::pod::{METRICS_PORT_NAME, Mount, Port, Source, pod_labels, workload_name};
use crate::rbac::{ControllerManifest, Probes, labels, tagged};

/// The ConfigMaps the pod declares, then the Deployment: the controller's
/// ServiceAccount, the pod's name and namespace for leader election, the
/// probes the manifest declares (if any), and the pod's volumes, mounts,
/// ports and other containers.
pub fn objects(m: &ControllerManifest) -> Vec<serde_json::Value> {
    let mut objects: Vec<serde_json::Value> = m
        .pod
        .config_maps
        .iter()
        .map(|config| {
            tagged(
                "v1",
                "ConfigMap",
                ConfigMap {
                    metadata: ObjectMeta {
                        name: Some(config.name.into()),
                        namespace: Some(m.namespace.into()),
                        labels: Some(labels(m)),
                        ..ObjectMeta::default()
                    },
                    data: Some(config.data.clone()),
                    ..ConfigMap::default()
                },
            )
        })
        .collect();
    objects.push(deployment(m));
    objects
}

/// The Deployment alone (see [`objects`]).
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
    let pod = &m.pod;
    let controller_ports: Vec<Port> = std::iter::once(Port {
        name: METRICS_PORT_NAME,
        port: u16::try_from(m.metrics_port).unwrap_or_default(),
    })
    .chain(pod.ports.iter().cloned())
    .collect();
    let controller = Container {
        name: m.name.into(),
        image: Some(m.image.into()),
        args: Some(m.args.clone()),
        env: Some(vec![
            field_env("POD_NAME", "metadata.name"),
            field_env("POD_NAMESPACE", "metadata.namespace"),
        ]),
        ports: Some(ports(&controller_ports)),
        volume_mounts: mounts(&pod.mounts),
        liveness_probe: m
            .probes
            .as_ref()
            .map(|p| probe(p.liveness, METRICS_PORT_NAME, p)),
        readiness_probe: m
            .probes
            .as_ref()
            .map(|p| probe(p.readiness, METRICS_PORT_NAME, p)),
        ..Container::default()
    };
    let sides = pod.containers.iter().map(|side| Container {
        name: side.name.into(),
        image: Some(side.image.into()),
        args: (!side.args.is_empty()).then(|| side.args.clone()),
        ports: (!side.ports.is_empty()).then(|| ports(&side.ports)),
        volume_mounts: mounts(&side.mounts),
        liveness_probe: side
            .probes
            .as_ref()
            .map(|(port, p)| probe(p.liveness, port, p)),
        readiness_probe: side
            .probes
            .as_ref()
            .map(|(port, p)| probe(p.readiness, port, p)),
        ..Container::default()
    });
    let volumes: Vec<Volume> = pod.volumes.iter().map(volume).collect();
    tagged(
        "apps/v1",
        "Deployment",
        Deployment {
            metadata: ObjectMeta {
                name: Some(workload_name(m).into()),
                namespace: Some(m.namespace.into()),
                labels: Some(pod_labels(m)),
                ..ObjectMeta::default()
            },
            spec: DeploymentSpec {
                replicas: Some(m.replicas),
                selector: LabelSelector {
                    match_labels: Some(pod_labels(m)),
                    match_expressions: None,
                },
                strategy: Some(DeploymentStrategy {
                    type_: Some("RollingUpdate".into()),
                    ..DeploymentStrategy::default()
                }),
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(pod_labels(m)),
                        ..ObjectMeta::default()
                    }),
                    spec: Some(PodSpec {
                        service_account_name: Some(m.name.into()),
                        containers: std::iter::once(controller).chain(sides).collect(),
                        volumes: (!volumes.is_empty()).then_some(volumes),
                        ..PodSpec::default()
                    }),
                },
                ..DeploymentSpec::default()
            },
            status: None,
        },
    )
}

fn probe(path: &str, port: &str, probes: &Probes) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String(port.into()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(probes.period_seconds),
        ..Probe::default()
    }
}

fn ports(ports: &[Port]) -> Vec<ContainerPort> {
    ports
        .iter()
        .map(|p| ContainerPort {
            name: Some(p.name.into()),
            container_port: i32::from(p.port),
            ..ContainerPort::default()
        })
        .collect()
}

fn mounts(mounts: &[Mount]) -> Option<Vec<VolumeMount>> {
    (!mounts.is_empty()).then(|| {
        mounts
            .iter()
            .map(|mount| VolumeMount {
                name: mount.volume.into(),
                mount_path: mount.path.into(),
                read_only: mount.read_only.then_some(true),
                ..VolumeMount::default()
            })
            .collect()
    })
}

fn items(items: &[(&str, &str)]) -> Option<Vec<KeyToPath>> {
    (!items.is_empty()).then(|| {
        items
            .iter()
            .map(|(key, path)| KeyToPath {
                key: (*key).into(),
                path: (*path).into(),
                ..KeyToPath::default()
            })
            .collect()
    })
}

fn volume(v: &crate::pod::Volume) -> Volume {
    let mut volume = Volume {
        name: v.name.into(),
        ..Volume::default()
    };
    match &v.source {
        Source::Secret {
            secret_name,
            items: keys,
        } => {
            volume.secret = Some(SecretVolumeSource {
                secret_name: Some((*secret_name).into()),
                items: items(keys),
                ..SecretVolumeSource::default()
            });
        }
        Source::ConfigMap { name, items: keys } => {
            volume.config_map = Some(ConfigMapVolumeSource {
                name: (*name).into(),
                items: items(keys),
                ..ConfigMapVolumeSource::default()
            });
        }
        Source::EmptyDir => volume.empty_dir = Some(EmptyDirVolumeSource::default()),
    }
    volume
}
