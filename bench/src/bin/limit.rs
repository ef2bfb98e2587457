//! The limit of the controller benchmark: the writes the User controller
//! makes for each User, issued by a tight concurrent client with no
//! controller logic (no caches, no queue, no comparisons, no retries).
//!
//! It watches Users only to learn their UIDs, which every owner reference
//! needs. For each User it has not seen, it runs the controller's write
//! sequence once, `--concurrency` Users at a time: the finalizer patch,
//! the Namespace, the `Created` Event, the RoleBinding and ResourceQuota
//! (server-side apply, as the controller does) and the `Ready` status. A
//! failed write is fatal: a limit that silently skipped work would flatter
//! itself.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;
use crdforge_bench::probe::Probe;
use crdforge_bench::user::{self, MANAGER, QUOTA, ROLE_BINDING, User};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Event, Namespace, ResourceQuota};
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::api::{Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use kube::{Api, Client};
use serde_json::json;
use tokio::sync::Semaphore;

#[derive(Parser)]
#[command(about = "The write limit of the User controller benchmark")]
struct Args {
    /// Address of /readyz and /metrics.
    #[arg(long)]
    metrics_addr: SocketAddr,
    /// Users provisioned at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let client = Client::try_default().await?;
    let probe = Probe::default();
    probe.clone().serve(args.metrics_addr).await?;
    let permits = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let mut seen = HashSet::new();
    let users: Api<User> = Api::all(client.clone());
    let mut events = std::pin::pin!(watcher(users, watcher::Config::default()));
    while let Some(event) = events.next().await {
        let user = match event.context("watching Users")? {
            watcher::Event::InitDone => {
                probe.set_ready();
                continue;
            }
            watcher::Event::Apply(u) | watcher::Event::InitApply(u) => u,
            watcher::Event::Init | watcher::Event::Delete(_) => continue,
        };
        if user.metadata.deletion_timestamp.is_some() || !seen.insert(user.name().to_string()) {
            continue;
        }
        let permit = Arc::clone(&permits).acquire_owned().await?;
        let (client, probe) = (client.clone(), probe.clone());
        tokio::spawn(async move {
            if let Err(err) = provision(client, &user).await {
                eprintln!("limit: provisioning {}: {err:#}", user.name());
                std::process::exit(1);
            }
            probe.reconciled();
            drop(permit);
        });
    }
    Ok(())
}

async fn provision(client: Client, user: &User) -> Result<()> {
    let name = user.name();
    // The field manager of every write, as the User controller's clients set it.
    let apply = PatchParams::apply(MANAGER).force();
    let post = PostParams {
        field_manager: Some(MANAGER.into()),
        ..PostParams::default()
    };
    let users: Api<User> = Api::all(client.clone());
    users
        .patch(
            name,
            &PatchParams::apply(MANAGER),
            &Patch::Merge(user::add_finalizer_patch(user)),
        )
        .await
        .context("adding the finalizer")?;
    Api::<Namespace>::all(client.clone())
        .create(&post, &user::namespace(user))
        .await
        .context("creating the namespace")?;
    Api::<Event>::namespaced(client.clone(), "default")
        .create(
            &post,
            &user::event(
                user,
                "Created",
                &format!("created namespace {name}"),
                "bench-limit",
            ),
        )
        .await
        .context("publishing the event")?;
    Api::<RoleBinding>::namespaced(client.clone(), name)
        .patch(
            ROLE_BINDING,
            &apply,
            &Patch::Apply(user::role_binding(user)),
        )
        .await
        .context("applying the role binding")?;
    if let Some(quota) = user::quota(user) {
        Api::<ResourceQuota>::namespaced(client.clone(), name)
            .patch(QUOTA, &apply, &Patch::Apply(quota))
            .await
            .context("applying the quota")?;
    }
    let status = user::desired_status(
        user,
        Some(name),
        true,
        "Provisioned",
        &user::provisioned_message(user),
    )
    .context("a new User has no status to keep")?;
    users
        .patch_status(
            name,
            // Forced server-side apply, as the User controller writes its
            // status, so that every contender makes the same kind of write.
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(json!({
                "apiVersion": "example.com/v1",
                "kind": "User",
                "metadata": { "name": name },
                "status": status,
            })),
        )
        .await
        .context("writing the status")?;
    Ok(())
}
