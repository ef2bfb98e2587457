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
        bail!(
            "no envtest control plane is running in {}: start one with `cargo xtask envtest up`, \
             or run the tests under `cargo xtask envtest run -- cargo test …`",
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
