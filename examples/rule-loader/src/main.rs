//! The Rule Loader's binary: flags, logging, signals; the rest is in the
//! library.

use clap::Parser;
use rule_loader::cli::Args;
use rule_loader::run;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,kube=warn".into()),
        )
        .init();
    let options = Args::parse().options().map_err(anyhow::Error::msg)?;
    let client = kube::Client::try_default().await?;
    let result = run::run(client, options, shutdown_signal()).await;
    if let Err(err) = &result {
        tracing::error!(error = %format!("{err:#}"), "stopping");
    }
    result
}

/// SIGTERM (from the kubelet) or Ctrl-C.
async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing a SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    tracing::info!("shutting down: draining the queue");
}
