//! A `kube::Client` for the running control plane, for tests.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::{Component, Instance};

/// Connects to the instance tests should use ([`Instance::from_env`]).
///
/// Fails with one sentence saying how to start a control plane when none is
/// running, so that a test run without one is never mistaken for a product
/// failure.
pub async fn client() -> Result<kube::Client> {
    kube::Client::try_from(config().await?)
        .context("building a client for the envtest control plane")
}

/// The client configuration for the instance tests should use, for tests
/// that change it (point it through a [`crate::proxy::Proxy`], say).
pub async fn config() -> Result<kube::Config> {
    let instance = Instance::from_env();
    let running = instance.running()?;
    if !running.iter().any(|(c, _)| *c == Component::KubeApiserver) {
        let tool = crate::tool_name();
        bail!(
            "no envtest control plane is running in {}: start one with `{tool} up`, \
             or run the tests under `{tool} run -- cargo test …`",
            instance.dir().display()
        );
    }
    let kubeconfig = Kubeconfig::read_from(instance.kubeconfig())
        .with_context(|| format!("reading {}", instance.kubeconfig().display()))?;
    kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .context("loading the envtest kubeconfig")
}

/// A client that reaches the instance only through a [`crate::proxy::Proxy`],
/// which the test can cut to put the client out of touch with the apiserver.
pub async fn proxied_client() -> Result<(crate::proxy::Proxy, kube::Client)> {
    let state = Instance::from_env()
        .state()?
        .context("no envtest instance has been started")?;
    let proxy = crate::proxy::Proxy::start(([127, 0, 0, 1], state.ports.apiserver).into()).await?;
    let mut config = config().await?;
    config.cluster_url = format!("https://{}", proxy.addr())
        .parse()
        .context("the proxy's address as a URL")?;
    let client = kube::Client::try_from(config).context("building the proxied client")?;
    Ok((proxy, client))
}

/// Applies a CRD (server-side, as `manager`, forced) and waits until the
/// apiserver serves it (`Established`), for at most 30 s: what every test
/// does before it creates objects of a kind.
pub async fn apply_crd(
    client: &kube::Client,
    manager: &str,
    crd: &CustomResourceDefinition,
) -> Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let name = crd.metadata.name.clone().context("a CRD without a name")?;
    crds.patch(
        &name,
        &PatchParams::apply(manager).force(),
        &Patch::Apply(crd),
    )
    .await
    .with_context(|| format!("applying CRD {name}"))?;
    let established = |crd: &CustomResourceDefinition| {
        crd.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| {
                c.iter()
                    .any(|c| c.type_ == "Established" && c.status == "True")
            })
    };
    // Bounded: 150 reads 200 ms apart.
    for _ in 0..150 {
        if established(
            &crds
                .get(&name)
                .await
                .with_context(|| format!("reading CRD {name}"))?,
        ) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("CRD {name} did not become Established within 30 s")
}

/// Waits until kube-controller-manager's garbage collector can resolve
/// owners of `api_version`/`kind`, and returns how long that took.
///
/// The garbage collector learns of kinds through discovery, which it
/// re-reads every 30 s (a constant in kube-controller-manager, not a
/// flag). Until then it cannot look up an owner of a kind added since,
/// so a dependent of a new CRD's object outlives its owner by up to about
/// half a minute, and a test that deletes an owner and waits a fixed 20 s
/// for its dependents fails at random. This waits by construction instead:
/// it creates a ConfigMap in `namespace` whose only owner is an object of
/// the kind that does not exist, and returns once the collector has deleted
/// it, which it can do only once it resolves the kind. The collector
/// retries with a growing back-off meanwhile, so the figure is an upper
/// bound of when it learned the kind. Fails after `limit`, deleting the
/// probe.
pub async fn wait_until_gc_knows(
    client: &kube::Client,
    api_version: &str,
    kind: &str,
    namespace: &str,
    limit: Duration,
) -> Result<Duration> {
    use k8s_openapi::api::core::v1::ConfigMap;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
    use kube::api::{DeleteParams, PostParams};

    let started = std::time::Instant::now();
    let nonce = format!(
        "{:x}{:x}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    );
    let name = format!("crdforge-gc-probe-{}", &nonce[..nonce.len().min(40)]);
    let probe = ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            owner_references: Some(vec![OwnerReference {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
                name: "crdforge-gc-probe-absent-owner".to_string(),
                // A UID no object has: the owner is absent by construction.
                uid: format!(
                    "00000000-0000-4000-8000-{:0>12}",
                    &nonce[nonce.len().saturating_sub(12)..]
                ),
                ..OwnerReference::default()
            }]),
            ..ObjectMeta::default()
        },
        ..ConfigMap::default()
    };
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    config_maps
        .create(&PostParams::default(), &probe)
        .await
        .with_context(|| format!("creating the garbage-collector probe {namespace}/{name}"))?;
    // Bounded by `limit`, polled every 250 ms.
    while started.elapsed() < limit {
        if config_maps
            .get_opt(&name)
            .await
            .with_context(|| format!("reading the probe {namespace}/{name}"))?
            .is_none()
        {
            return Ok(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let _ = config_maps.delete(&name, &DeleteParams::default()).await;
    bail!(
        "the garbage collector did not learn {api_version}/{kind} within {limit:?} \
         (its discovery resync is every 30 s; is kube-controller-manager running?)"
    )
}
