//! The naive baseline of the Rule Loader benchmark: what a first script
//! does. It watches the labelled ConfigMaps, writes every data key to a file
//! as each event arrives and asks Prometheus to reload after every event:
//! no validation, no debounce, no queue, no leader election.
//!
//! It exists only to be measured beside the Rule Loader (`cargo xtask
//! bench`, suite `rules`): the same source objects, the same Prometheus,
//! the same way of counting reloads (Prometheus' own log).

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Parser;
use futures::TryStreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, ResourceExt};

#[derive(Parser)]
#[command(about = "Reloads Prometheus after every change of a labelled ConfigMap")]
struct Args {
    /// The directory Prometheus loads `*.yaml` rule files from.
    #[arg(long)]
    rules_dir: PathBuf,
    /// Prometheus' address, `http://host:port` on loopback.
    #[arg(long)]
    prometheus_url: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = Args::parse();
    let prometheus = prometheus_addr(&args.prometheus_url)?;
    fs::create_dir_all(&args.rules_dir)?;
    let client = Client::try_default().await?;
    let api: Api<ConfigMap> = Api::all(client);
    let config = watcher::Config::default().labels(&rule_loader_api::rules_selector());
    let mut events = std::pin::pin!(watcher::watcher(api, config));
    while let Some(event) = events.try_next().await? {
        match event {
            Event::Apply(cm) | Event::InitApply(cm) => write_files(&args.rules_dir, &cm)?,
            Event::Delete(cm) => remove_files(&args.rules_dir, &prefix(&cm), &[])?,
            // The initial list: the files are written as it arrives, the
            // reload comes after its end.
            Event::Init => continue,
            Event::InitDone => {}
        }
        reload(prometheus).await?;
    }
    bail!("the ConfigMap watch ended")
}

/// `http://127.0.0.1:9090` → its socket address.
fn prometheus_addr(url: &str) -> Result<SocketAddr> {
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .with_context(|| format!("--prometheus-url {url:?} must be http://<ip>:<port>"))
}

/// Files of one ConfigMap start with `<namespace>_<name>_`.
fn prefix(cm: &ConfigMap) -> String {
    format!("{}_{}_", cm.namespace().unwrap_or_default(), cm.name_any())
}

/// Writes every data key as `<namespace>_<name>_<key>.yaml` and removes the
/// files of keys the ConfigMap no longer has.
fn write_files(dir: &Path, cm: &ConfigMap) -> Result<()> {
    let prefix = prefix(cm);
    let mut kept = Vec::new();
    for (key, text) in cm.data.iter().flatten() {
        let name = format!("{prefix}{}.yaml", key.replace(['/', '.'], "_"));
        fs::write(dir.join(&name), text)?;
        kept.push(name);
    }
    remove_files(dir, &prefix, &kept)
}

fn remove_files(dir: &Path, prefix: &str, keep: &[String]) -> Result<()> {
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.starts_with(prefix) && !keep.contains(&name) {
            fs::remove_file(dir.join(&name))?;
        }
    }
    Ok(())
}

/// `POST /-/reload`; a failure is printed and the next event tries again.
async fn reload(prometheus: SocketAddr) -> Result<()> {
    let answer =
        tokio::task::spawn_blocking(move || prometheus_envtest::http_post(prometheus, "/-/reload"))
            .await?;
    match answer {
        Ok((200, _)) => {}
        Ok((status, body)) => eprintln!("reload refused ({status}): {}", body.trim()),
        Err(e) => eprintln!("reload failed: {e:#}"),
    }
    Ok(())
}
