//! What a controller's pod needs besides the controller's own defaults:
//! volumes and where each container mounts them, named ports, other
//! containers (a sidecar, or the program the controller sits beside), the
//! webhooks it serves and ConfigMaps generated with it.
//!
//! A [`Pod`] is a declaration; [`check`] validates it against the rest of
//! the [`ControllerManifest`] once, collecting every problem (each naming
//! the controller and the field), and only a declaration it passes is
//! rendered ([`crate::deployment`]), so a Deployment whose mount names no
//! volume, whose webhook Service points at a port no container exposes, or
//! whose certificate is not the one the webhook configurations trust never
//! reaches a file.
//!
//! The webhook Service itself is rendered from the same
//! [`crdforge::webhook::Webhooks`] declaration as the webhook
//! configurations (`crate::webhooks`); what this module adds is the pod's
//! side of the same facts: the Service's `targetPort` must be a port of the
//! controller's container, its selector must select this pod, and the
//! Secret mounted as the serving certificate must be the one whose CA the
//! configurations are told to trust (`inject_ca_from`).

use std::collections::{BTreeMap, BTreeSet};

use crdforge::webhook::{Target, Webhooks};

use crate::rbac::{ControllerManifest, Probes};

/// Name of the controller container's port of `/metrics` and the probes.
pub const METRICS_PORT_NAME: &str = "metrics";

/// What the controller's pod holds beyond the controller's container with
/// its arguments, metrics port and probes. `Pod::default()` is a pod of the
/// controller alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pod {
    /// The Deployment's name and its pods' `app.kubernetes.io/name` label
    /// when the pod is another program's that the controller runs beside
    /// (Prometheus, for the Rule Loader); `None` uses the controller's name.
    pub name: Option<&'static str>,
    /// The pod's volumes.
    pub volumes: Vec<Volume>,
    /// Where the controller's container mounts them.
    pub mounts: Vec<Mount>,
    /// The controller container's ports besides `metrics`.
    pub ports: Vec<Port>,
    /// The other containers of the pod.
    pub containers: Vec<SideContainer>,
    /// The webhooks the controller's container serves.
    pub webhooks: Option<WebhookServing>,
    /// ConfigMaps rendered with the Deployment, in its namespace (a
    /// configuration file a container reads from a [`Source::ConfigMap`]
    /// volume).
    pub config_maps: Vec<ConfigFiles>,
}

impl Pod {
    /// Whether this is a pod of the controller alone.
    pub fn is_empty(&self) -> bool {
        *self == Pod::default()
    }
}

/// One volume of the pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    /// The volume's name, which mounts refer to (a DNS label).
    pub name: &'static str,
    /// What it holds.
    pub source: Source,
}

/// Where a volume's files come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A Secret's keys as files; only `items` when not empty.
    Secret {
        /// The Secret's name, in the controller's namespace.
        secret_name: &'static str,
        /// `(key, relative path)` pairs; empty projects every key.
        items: Vec<(&'static str, &'static str)>,
    },
    /// A ConfigMap's keys as files; only `items` when not empty.
    ConfigMap {
        /// The ConfigMap's name, in the controller's namespace.
        name: &'static str,
        /// `(key, relative path)` pairs; empty projects every key.
        items: Vec<(&'static str, &'static str)>,
    },
    /// An empty directory that lives as long as the pod, shared by the
    /// containers that mount it.
    EmptyDir,
}

/// A volume mounted in a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The volume's name.
    pub volume: &'static str,
    /// Absolute path in the container.
    pub path: &'static str,
    /// Mounted read-only.
    pub read_only: bool,
}

impl Mount {
    /// `volume` at `path`, writable.
    pub fn writable(volume: &'static str, path: &'static str) -> Self {
        Self {
            volume,
            path,
            read_only: false,
        }
    }

    /// `volume` at `path`, read-only.
    pub fn read_only(volume: &'static str, path: &'static str) -> Self {
        Self {
            volume,
            path,
            read_only: true,
        }
    }
}

/// A named TCP port a container listens on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    /// The port's name (an IANA service name: at most 15 characters,
    /// lowercase letters, digits and `-`, with at least one letter).
    pub name: &'static str,
    /// The port.
    pub port: u16,
}

/// A container of the pod other than the controller's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SideContainer {
    /// The container's name (a DNS label, not the controller's).
    pub name: &'static str,
    /// Its image.
    pub image: &'static str,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its ports.
    pub ports: Vec<Port>,
    /// Its mounts.
    pub mounts: Vec<Mount>,
    /// HTTP probes on one of its ports, named; `None` for none.
    pub probes: Option<(&'static str, Probes)>,
}

/// The webhooks the controller serves: the declaration the webhook
/// configurations and Service are rendered from, and the pod's side of it.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookServing {
    /// The same declaration the registry renders `webhooks.yaml` from.
    pub webhooks: Webhooks,
    /// Name of the controller container's port the server listens on; its
    /// number must be the declaration's `target_port`.
    pub port: &'static str,
    /// The Secret volume holding the serving certificate, mounted read-only
    /// in the controller's container.
    pub cert_volume: &'static str,
}

/// A ConfigMap generated with the Deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFiles {
    /// The ConfigMap's name.
    pub name: &'static str,
    /// File name to contents.
    pub data: BTreeMap<String, String>,
}

/// The Deployment's name and the pod's `app.kubernetes.io/name`.
pub fn workload_name(m: &ControllerManifest) -> &'static str {
    m.pod.name.unwrap_or(m.name)
}

/// The labels of the pod (and of the Deployment's selector).
pub fn pod_labels(m: &ControllerManifest) -> BTreeMap<String, String> {
    BTreeMap::from([(
        "app.kubernetes.io/name".to_string(),
        workload_name(m).to_string(),
    )])
}

/// Every reason the pod of `m` cannot be rendered, each naming the
/// controller and the field at fault; empty when it can.
pub fn check(m: &ControllerManifest) -> Vec<String> {
    let mut problems = Vec::new();
    let mut at = |field: String, message: String| {
        problems.push(format!("controller {}: {field}: {message}", m.name));
    };
    let pod = &m.pod;

    // Names of the Deployment, volumes and containers are DNS labels, which
    // is what the apiserver demands of them.
    if let Some(name) = pod.name
        && !is_dns_label(name)
    {
        at("pod.name".into(), format!("`{name}` is not a DNS label"));
    }

    // Volumes: unique names, sources that can be projected.
    let mut volumes: BTreeMap<&str, &Volume> = BTreeMap::new();
    for (i, volume) in pod.volumes.iter().enumerate() {
        let field = format!("pod.volumes[{i}] (`{}`)", volume.name);
        if !is_dns_label(volume.name) {
            at(field.clone(), "the name is not a DNS label".into());
        }
        if volumes.insert(volume.name, volume).is_some() {
            at(field.clone(), "a second volume of this name".into());
        }
        let items = match &volume.source {
            Source::Secret { items, .. } | Source::ConfigMap { items, .. } => items.as_slice(),
            Source::EmptyDir => &[],
        };
        for (key, path) in items {
            if key.is_empty() {
                at(field.clone(), "an item with an empty key".into());
            }
            if path.is_empty() || path.starts_with('/') || path.split('/').any(|p| p == "..") {
                at(
                    field.clone(),
                    format!("item path `{path}` must be relative, without `..`"),
                );
            }
        }
        // A generated ConfigMap's items must be keys it has.
        if let Source::ConfigMap { name, items } = &volume.source
            && let Some(config) = pod.config_maps.iter().find(|c| c.name == *name)
        {
            for (key, _) in items {
                if !config.data.contains_key(*key) {
                    at(
                        field.clone(),
                        format!(
                            "item key `{key}` is not a key of the generated ConfigMap `{name}`"
                        ),
                    );
                }
            }
        }
    }

    // Containers: the controller's first, then the others, with unique
    // names; every mount names a volume; ports unique across the pod (the
    // containers share one network namespace, and a Service's targetPort
    // by name must mean one port).
    let controller_ports: Vec<Port> = std::iter::once(Port {
        name: METRICS_PORT_NAME,
        port: u16::try_from(m.metrics_port).unwrap_or(0),
    })
    .chain(pod.ports.iter().cloned())
    .collect();
    if !(1..=65535).contains(&m.metrics_port) {
        at(
            "metrics_port".into(),
            format!("{} is not a TCP port", m.metrics_port),
        );
    }
    let containers: Vec<(String, &str, &[Mount], &[Port])> = std::iter::once((
        "pod".to_string(),
        m.name,
        pod.mounts.as_slice(),
        controller_ports.as_slice(),
    ))
    .chain(pod.containers.iter().enumerate().map(|(i, c)| {
        (
            format!("pod.containers[{i}] (`{}`)", c.name),
            c.name,
            c.mounts.as_slice(),
            c.ports.as_slice(),
        )
    }))
    .collect();
    let mut container_names = BTreeSet::new();
    let mut port_names: BTreeMap<&str, String> = BTreeMap::new();
    let mut port_numbers: BTreeMap<u16, String> = BTreeMap::new();
    let mut mounted = BTreeSet::new();
    for (field, name, mounts, ports) in &containers {
        if !is_dns_label(name) {
            at(
                field.clone(),
                format!("container name `{name}` is not a DNS label"),
            );
        }
        if !container_names.insert(*name) {
            at(field.clone(), format!("a second container named `{name}`"));
        }
        let mut paths = BTreeSet::new();
        for (i, mount) in mounts.iter().enumerate() {
            let field = format!("{field}.mounts[{i}]");
            if !volumes.contains_key(mount.volume) {
                at(
                    field.clone(),
                    format!(
                        "names no volume `{}`; the volumes are {}",
                        mount.volume,
                        list(volumes.keys())
                    ),
                );
            }
            mounted.insert(mount.volume);
            if !mount.path.starts_with('/') {
                at(
                    field.clone(),
                    format!("path `{}` is not absolute", mount.path),
                );
            }
            if !paths.insert(mount.path) {
                at(field, format!("path `{}` is mounted twice", mount.path));
            }
        }
        for port in ports.iter() {
            let port_field = format!("{field}.ports (`{}`)", port.name);
            if !is_port_name(port.name) {
                at(
                    port_field.clone(),
                    "not a port name (at most 15 lowercase letters, digits and `-`, one letter at least)".into(),
                );
            }
            if port.port == 0 {
                at(port_field.clone(), "port 0 is not a TCP port".into());
            }
            if let Some(first) = port_names.insert(port.name, field.clone()) {
                at(
                    port_field.clone(),
                    format!(
                        "a second port named `{}` (the first is in {first})",
                        port.name
                    ),
                );
            }
            if let Some(first) = port_numbers.insert(port.port, field.clone()) {
                at(
                    port_field,
                    format!("port {} is already taken in {first}", port.port),
                );
            }
        }
    }
    for volume in volumes.keys() {
        if !mounted.contains(volume) {
            at(
                format!("pod.volumes (`{volume}`)"),
                "is mounted by no container".into(),
            );
        }
    }
    for (i, side) in pod.containers.iter().enumerate() {
        if let Some((port, _)) = &side.probes
            && !side.ports.iter().any(|p| p.name == *port)
        {
            at(
                format!("pod.containers[{i}] (`{}`).probes", side.name),
                format!("port `{port}` is not a port of this container"),
            );
        }
    }
    let mut config_names = BTreeSet::new();
    for (i, config) in pod.config_maps.iter().enumerate() {
        if !is_dns_subdomain(config.name) {
            at(
                format!("pod.config_maps[{i}]"),
                format!("`{}` is not a DNS subdomain", config.name),
            );
        }
        if !config_names.insert(config.name) {
            at(
                format!("pod.config_maps[{i}]"),
                format!("a second ConfigMap named `{}`", config.name),
            );
        }
    }

    if let Some(serving) = &pod.webhooks {
        check_webhooks(m, serving, &volumes, &mut at);
    }
    problems
}

/// The pod's side of the webhook declaration: the Service is in the
/// controller's namespace and selects this pod, its `targetPort` is a port
/// of the controller's container, and the certificate mounted is the one
/// the configurations trust.
fn check_webhooks(
    m: &ControllerManifest,
    serving: &WebhookServing,
    volumes: &BTreeMap<&str, &Volume>,
    at: &mut impl FnMut(String, String),
) {
    let hooks = &serving.webhooks;
    match &hooks.client.target {
        Target::Service {
            namespace, name, ..
        } => {
            if namespace != m.namespace {
                at(
                    "pod.webhooks".into(),
                    format!(
                        "the Service `{name}` is in namespace `{namespace}`, but the controller runs in `{}`",
                        m.namespace
                    ),
                );
            }
        }
        Target::Url(url) => at(
            "pod.webhooks".into(),
            format!(
                "the webhooks are reached at the URL `{url}`, not through a Service in front of this pod"
            ),
        ),
    }
    let labels = pod_labels(m);
    for (key, value) in &hooks.selector {
        if labels.get(key) != Some(value) {
            at(
                "pod.webhooks".into(),
                format!(
                    "the Service selects `{key}={value}`, which the pod (labels {}) does not carry",
                    list(labels.iter().map(|(k, v)| format!("{k}={v}")))
                ),
            );
        }
    }
    if hooks.selector.is_empty() {
        at(
            "pod.webhooks".into(),
            "the Service has an empty selector".into(),
        );
    }
    match m.pod.ports.iter().find(|p| p.name == serving.port) {
        None => at(
            "pod.webhooks.port".into(),
            format!(
                "`{}` is not a port of the controller's container (its ports are {})",
                serving.port,
                list(m.pod.ports.iter().map(|p| p.name))
            ),
        ),
        Some(port) if port.port != hooks.target_port => at(
            "pod.webhooks.port".into(),
            format!(
                "port `{}` is {}, but the Service's targetPort is {}",
                port.name, port.port, hooks.target_port
            ),
        ),
        Some(_) => {}
    }
    let secret = match volumes.get(serving.cert_volume).map(|v| &v.source) {
        Some(Source::Secret { secret_name, .. }) => Some(*secret_name),
        Some(_) => {
            at(
                "pod.webhooks.cert_volume".into(),
                format!("volume `{}` is not a Secret", serving.cert_volume),
            );
            None
        }
        None => {
            at(
                "pod.webhooks.cert_volume".into(),
                format!("names no volume `{}`", serving.cert_volume),
            );
            None
        }
    };
    if let (Some(secret), Some(from)) = (secret, &hooks.inject_ca_from) {
        // cert-manager's injector trusts the CA of the Certificate
        // `namespace/name`; this project's convention (and what its docs
        // tell an installer) is a Certificate whose Secret has its name.
        let expected = format!("{}/{secret}", m.namespace);
        if *from != expected {
            at(
                "pod.webhooks.cert_volume".into(),
                format!(
                    "mounts the Secret `{secret}`, but the webhook configurations trust the CA of the Certificate `{from}` (expected `{expected}`)"
                ),
            );
        }
    }
    match m
        .pod
        .mounts
        .iter()
        .find(|mount| mount.volume == serving.cert_volume)
    {
        None => at(
            "pod.webhooks.cert_volume".into(),
            format!(
                "volume `{}` is not mounted in the controller's container",
                serving.cert_volume
            ),
        ),
        Some(mount) if !mount.read_only => at(
            "pod.webhooks.cert_volume".into(),
            format!("volume `{}` must be mounted read-only", serving.cert_volume),
        ),
        Some(_) => {}
    }
}

fn list<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    let items: Vec<String> = items.into_iter().map(|i| format!("`{i}`")).collect();
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// RFC 1123 label: what Kubernetes demands of volume and container names.
fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// RFC 1123 subdomain: what Kubernetes demands of object names.
fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// IANA service name: what Kubernetes demands of a port's name.
fn is_port_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 15
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && s.bytes().any(|b| b.is_ascii_lowercase())
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rbac::{Op, Uses};
    use crdforge::webhook::ClientConfig;

    fn webhooks(namespace: &str, target_port: u16, selector: &str) -> Webhooks {
        Webhooks {
            name: "ctl-webhooks".into(),
            client: ClientConfig {
                target: Target::Service {
                    namespace: namespace.into(),
                    name: "ctl-webhooks".into(),
                    port: 443,
                    path: "/".into(),
                },
                ca_bundle: None,
            },
            selector: BTreeMap::from([("app.kubernetes.io/name".into(), selector.into())]),
            target_port,
            inject_ca_from: Some(format!("{namespace}/ctl-webhooks")),
            admission: vec![],
        }
    }

    /// A controller serving webhooks with its certificate, beside a sidecar
    /// sharing a scratch directory, with a generated configuration file.
    fn manifest() -> ControllerManifest {
        ControllerManifest {
            name: "ctl",
            namespace: "ctl-system",
            image: "example/ctl:1",
            uses: vec![Uses::new("", "configmaps", &[Op::Watch])],
            own_namespace_uses: vec![],
            managed_namespaces: None,
            replicas: 2,
            args: vec!["--webhook-addr=0.0.0.0:9443".into()],
            metrics_port: 8080,
            probes: Some(Probes::HEALTHZ_READYZ),
            pod: Pod {
                name: None,
                volumes: vec![
                    Volume {
                        name: "tls",
                        source: Source::Secret {
                            secret_name: "ctl-webhooks",
                            items: vec![("tls.crt", "tls.crt"), ("tls.key", "tls.key")],
                        },
                    },
                    Volume {
                        name: "scratch",
                        source: Source::EmptyDir,
                    },
                    Volume {
                        name: "config",
                        source: Source::ConfigMap {
                            name: "ctl-config",
                            items: vec![("side.yml", "side.yml")],
                        },
                    },
                ],
                mounts: vec![
                    Mount::read_only("tls", "/tls"),
                    Mount::writable("scratch", "/scratch"),
                ],
                ports: vec![Port {
                    name: "webhook",
                    port: 9443,
                }],
                containers: vec![SideContainer {
                    name: "side",
                    image: "example/side:1",
                    args: vec!["--config=/config/side.yml".into()],
                    ports: vec![Port {
                        name: "side",
                        port: 9090,
                    }],
                    mounts: vec![
                        Mount::read_only("scratch", "/scratch"),
                        Mount::read_only("config", "/config"),
                    ],
                    probes: Some((
                        "side",
                        Probes {
                            liveness: "/-/healthy",
                            readiness: "/-/ready",
                            period_seconds: 5,
                        },
                    )),
                }],
                webhooks: Some(WebhookServing {
                    webhooks: webhooks("ctl-system", 9443, "ctl"),
                    port: "webhook",
                    cert_volume: "tls",
                }),
                config_maps: vec![ConfigFiles {
                    name: "ctl-config",
                    data: BTreeMap::from([("side.yml".into(), "a: 1\n".into())]),
                }],
            },
        }
    }

    fn problems_of(edit: impl FnOnce(&mut ControllerManifest)) -> String {
        let mut m = manifest();
        edit(&mut m);
        let problems = check(&m);
        assert!(!problems.is_empty(), "no problem found");
        for p in &problems {
            assert!(p.starts_with("controller ctl: "), "{p}");
        }
        problems.join("\n")
    }

    #[test]
    fn a_consistent_pod_passes() {
        assert_eq!(check(&manifest()), Vec::<String>::new());
        assert!(Pod::default().is_empty());
        assert!(!manifest().pod.is_empty());
    }

    #[test]
    fn a_mount_naming_no_volume_is_refused() {
        let p = problems_of(|m| m.pod.containers[0].mounts[1].volume = "conf");
        assert!(
            p.contains("pod.containers[0] (`side`).mounts[1]: names no volume `conf`; the volumes are `config`, `scratch`, `tls`"),
            "{p}"
        );
        // ... and the volume it meant is then mounted nowhere.
        assert!(
            p.contains("pod.volumes (`config`): is mounted by no container"),
            "{p}"
        );
    }

    #[test]
    fn two_ports_of_one_name_or_number_are_refused() {
        let p = problems_of(|m| m.pod.containers[0].ports[0].name = "webhook");
        assert!(
            p.contains("pod.containers[0] (`side`).ports (`webhook`): a second port named `webhook` (the first is in pod)"),
            "{p}"
        );
        let p = problems_of(|m| m.pod.ports[0].port = 8080);
        assert!(p.contains("port 8080 is already taken in pod"), "{p}");
        let p = problems_of(|m| m.pod.ports[0].name = "Webhook_Port_Too_Long");
        assert!(p.contains("not a port name"), "{p}");
    }

    #[test]
    fn a_webhook_service_whose_port_no_container_exposes_is_refused() {
        let p = problems_of(|m| m.pod.webhooks.as_mut().unwrap().webhooks.target_port = 9444);
        assert!(
            p.contains(
                "pod.webhooks.port: port `webhook` is 9443, but the Service's targetPort is 9444"
            ),
            "{p}"
        );
        let p = problems_of(|m| m.pod.webhooks.as_mut().unwrap().port = "hooks");
        assert!(
            p.contains("pod.webhooks.port: `hooks` is not a port of the controller's container (its ports are `webhook`)"),
            "{p}"
        );
    }

    #[test]
    fn a_certificate_the_webhook_configurations_do_not_trust_is_refused() {
        let p = problems_of(|m| {
            m.pod.volumes[0].source = Source::Secret {
                secret_name: "other-cert",
                items: vec![],
            }
        });
        assert!(
            p.contains("pod.webhooks.cert_volume: mounts the Secret `other-cert`, but the webhook configurations trust the CA of the Certificate `ctl-system/ctl-webhooks` (expected `ctl-system/other-cert`)"),
            "{p}"
        );
        let p = problems_of(|m| m.pod.webhooks.as_mut().unwrap().cert_volume = "scratch");
        assert!(p.contains("volume `scratch` is not a Secret"), "{p}");
        let p = problems_of(|m| m.pod.mounts[0].read_only = false);
        assert!(p.contains("volume `tls` must be mounted read-only"), "{p}");
    }

    #[test]
    fn a_webhook_service_elsewhere_or_selecting_another_pod_is_refused() {
        let p = problems_of(|m| {
            m.pod.webhooks.as_mut().unwrap().webhooks = webhooks("other", 9443, "someone-else")
        });
        assert!(
            p.contains("the Service `ctl-webhooks` is in namespace `other`, but the controller runs in `ctl-system`"),
            "{p}"
        );
        assert!(
            p.contains("the Service selects `app.kubernetes.io/name=someone-else`, which the pod (labels `app.kubernetes.io/name=ctl`) does not carry"),
            "{p}"
        );
        let p = problems_of(|m| {
            m.pod.webhooks.as_mut().unwrap().webhooks.client.target =
                Target::Url("https://127.0.0.1:9443/".into())
        });
        assert!(p.contains("reached at the URL"), "{p}");
    }

    #[test]
    fn bad_names_items_and_paths_are_refused() {
        let p = problems_of(|m| {
            m.pod.volumes[1].name = "Scratch";
            m.pod.mounts[1].volume = "Scratch";
            m.pod.mounts[1].path = "scratch";
            m.pod.containers[0].name = "ctl";
            m.pod.containers[0].probes.as_mut().unwrap().0 = "metrics";
            m.pod.volumes[2].source = Source::ConfigMap {
                name: "ctl-config",
                items: vec![("missing.yml", "../x")],
            };
            m.pod.config_maps.push(m.pod.config_maps[0].clone());
        });
        for expected in [
            "pod.volumes[1] (`Scratch`): the name is not a DNS label",
            "pod.mounts[1]: path `scratch` is not absolute",
            "pod.containers[0] (`ctl`): a second container named `ctl`",
            "pod.containers[0] (`ctl`).probes: port `metrics` is not a port of this container",
            "item path `../x` must be relative, without `..`",
            "item key `missing.yml` is not a key of the generated ConfigMap `ctl-config`",
            "pod.config_maps[1]: a second ConfigMap named `ctl-config`",
        ] {
            assert!(p.contains(expected), "{expected}:\n{p}");
        }
    }

    #[test]
    fn deploy_files_refuse_an_inconsistent_pod_naming_every_problem() {
        let mut m = manifest();
        m.pod.mounts.clear();
        let err = crate::rbac::deploy_files("d", "gen", &m).unwrap_err();
        assert!(
            err.contains("volume `tls` is not mounted in the controller's container"),
            "{err}"
        );
        assert!(
            err.contains("pod.volumes (`tls`): is mounted by no container"),
            "{err}"
        );
    }

    /// The rendered ConfigMap and Deployment, pinned.
    #[test]
    fn deployment_golden() {
        let files =
            crate::rbac::deploy_files("deploy/ctl", "cargo xtask gen", &manifest()).unwrap();
        assert_eq!(files[1].path, "deploy/ctl/deployment.yaml");
        expect_test::expect![[r#"
            # Generated by `cargo xtask gen` from annotated Rust types.
            # Do not edit: change the types and run `cargo xtask gen` again.
            apiVersion: v1
            data:
              side.yml: |
                a: 1
            kind: ConfigMap
            metadata:
              labels:
                app.kubernetes.io/name: ctl
              name: ctl-config
              namespace: ctl-system
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              labels:
                app.kubernetes.io/name: ctl
              name: ctl
              namespace: ctl-system
            spec:
              replicas: 2
              selector:
                matchLabels:
                  app.kubernetes.io/name: ctl
              strategy:
                type: RollingUpdate
              template:
                metadata:
                  labels:
                    app.kubernetes.io/name: ctl
                spec:
                  containers:
                  - args:
                    - --webhook-addr=0.0.0.0:9443
                    env:
                    - name: POD_NAME
                      valueFrom:
                        fieldRef:
                          fieldPath: metadata.name
                    - name: POD_NAMESPACE
                      valueFrom:
                        fieldRef:
                          fieldPath: metadata.namespace
                    image: example/ctl:1
                    livenessProbe:
                      httpGet:
                        path: /healthz
                        port: metrics
                      periodSeconds: 10
                    name: ctl
                    ports:
                    - containerPort: 8080
                      name: metrics
                    - containerPort: 9443
                      name: webhook
                    readinessProbe:
                      httpGet:
                        path: /readyz
                        port: metrics
                      periodSeconds: 10
                    volumeMounts:
                    - mountPath: /tls
                      name: tls
                      readOnly: true
                    - mountPath: /scratch
                      name: scratch
                  - args:
                    - --config=/config/side.yml
                    image: example/side:1
                    livenessProbe:
                      httpGet:
                        path: /-/healthy
                        port: side
                      periodSeconds: 5
                    name: side
                    ports:
                    - containerPort: 9090
                      name: side
                    readinessProbe:
                      httpGet:
                        path: /-/ready
                        port: side
                      periodSeconds: 5
                    volumeMounts:
                    - mountPath: /scratch
                      name: scratch
                      readOnly: true
                    - mountPath: /config
                      name: config
                      readOnly: true
                  serviceAccountName: ctl
                  volumes:
                  - name: tls
                    secret:
                      items:
                      - key: tls.crt
                        path: tls.crt
                      - key: tls.key
                        path: tls.key
                      secretName: ctl-webhooks
                  - emptyDir: {}
                    name: scratch
                  - configMap:
                      items:
                      - key: side.yml
                        path: side.yml
                      name: ctl-config
                    name: config
        "#]]
        .assert_eq(&files[1].contents);
    }
}
