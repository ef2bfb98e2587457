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

/// Waits until kube-controller-manager's garbage collector watches the
/// kind of `probe`, and returns how long that took.
///
/// The collector starts watching a kind only when it re-reads discovery,
/// every 30 s (a constant in kube-controller-manager, not a flag). Until
/// then it learns of an owner's deletion only by polling the owner with a
/// growing back-off, so the dependents of a new CRD's object outlive it by
/// up to about half a minute, and a test that deletes an owner and waits a
/// fixed 20 s for its dependents fails at random (measured 20–41 s).
///
/// This waits by construction instead of by a guess: it creates `probe`
/// (any valid object of the kind; its name is replaced) and deletes it with
/// foreground propagation. The apiserver then keeps the object, with the
/// `foregroundDeletion` finalizer, until the collector observes it through
/// its watch and removes the finalizer, which it cannot do before it
/// watches the kind. Once the probe is gone, cascades of that kind take
/// seconds. Fails after `limit`; the probe is then left for the collector.
pub async fn wait_until_gc_watches(
    client: &kube::Client,
    resource: &kube::api::ApiResource,
    namespace: Option<&str>,
    probe: &kube::api::DynamicObject,
    limit: Duration,
) -> Result<Duration> {
    use kube::api::{DeleteParams, DynamicObject, PostParams};

    let started = std::time::Instant::now();
    let api: Api<DynamicObject> = match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, resource),
        None => Api::all_with(client.clone(), resource),
    };
    let name = format!(
        "crdforge-gc-probe-{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_micros()
    );
    let mut object = probe.clone();
    object.metadata.name = Some(name.clone());
    object.metadata.namespace = namespace.map(str::to_string);
    object.metadata.resource_version = None;
    object.metadata.uid = None;
    api.create(&PostParams::default(), &object)
        .await
        .with_context(|| {
            format!(
                "creating the garbage-collector probe {} {name}",
                resource.kind
            )
        })?;
    api.delete(&name, &DeleteParams::foreground())
        .await
        .with_context(|| format!("deleting the probe {} {name}", resource.kind))?;
    // Bounded by `limit`, polled every 250 ms.
    while started.elapsed() < limit {
        if api
            .get_opt(&name)
            .await
            .with_context(|| format!("reading the probe {} {name}", resource.kind))?
            .is_none()
        {
            return Ok(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    bail!(
        "the garbage collector did not watch {} within {limit:?} (it re-reads discovery \
         every 30 s; is kube-controller-manager running?)",
        resource.kind
    )
}
