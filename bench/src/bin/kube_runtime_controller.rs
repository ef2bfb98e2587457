//! The kube-runtime peer of the controller benchmark: the User controller's
//! reconcile logic (`examples/user-controller/src/reconcile.rs`, step for
//! step) on kube-runtime's `Controller` and reflector stores, with no
//! crdforge code: the User is the plain serde type of `crdforge_bench::user`.
//!
//! As in the User controller, four caches feed one controller: Users, all
//! Namespaces (to see conflicts), and the RoleBindings and ResourceQuotas
//! labelled as ours. The reflectors' stores are shared with the controller
//! through kube-runtime's `for_stream`/`watches_stream`
//! (feature `unstable-runtime-stream-control`), which is how kube-runtime
//! lets a reconciler read the caches that trigger it without a second
//! watch of each kind.

use std::fs;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use crdforge_bench::probe::Probe;
use crdforge_bench::user::{self, MANAGED_BY, MANAGER, QUOTA, ROLE_BINDING, User};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Event, Namespace, ResourceQuota};
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Config as ControllerConfig, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use serde_json::json;

#[derive(Parser)]
#[command(about = "The User controller on kube-runtime (benchmark peer)")]
struct Args {
    /// Folder of the file-backed account directory.
    #[arg(long)]
    directory: PathBuf,
    /// Concurrent reconciles.
    #[arg(long, default_value_t = 4)]
    workers: u16,
    /// Address of /readyz and /metrics.
    #[arg(long)]
    metrics_addr: SocketAddr,
}

struct Context {
    /// True once every cache has synced; reconciles wait for it (see
    /// [`Synced`]).
    synced: tokio::sync::watch::Receiver<bool>,
    client: Client,
    namespaces: Store<Namespace>,
    role_bindings: Store<RoleBinding>,
    quotas: Store<ResourceQuota>,
    directory: PathBuf,
    instance: String,
}

#[derive(Debug, thiserror::Error)]
enum Error {
    #[error("{0}: {1}")]
    Kube(&'static str, #[source] kube::Error),
    #[error("account directory: {0}")]
    Directory(#[from] std::io::Error),
}

trait Doing<T> {
    fn doing(self, action: &'static str) -> Result<T, Error>;
}

impl<T> Doing<T> for kube::Result<T> {
    fn doing(self, action: &'static str) -> Result<T, Error> {
        self.map_err(|e| Error::Kube(action, e))
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let client = Client::try_default().await?;
    let probe = Probe::default();
    probe.clone().serve(args.metrics_addr).await?;
    fs::create_dir_all(args.directory.join("accounts"))?;

    let synced = Synced::new(4, probe.clone());
    let ours = watcher::Config::default().labels(&format!("{MANAGED_BY}={MANAGER}"));
    let (users, users_writer) = reflector::store::<User>();
    let (namespaces, ns_writer) = reflector::store::<Namespace>();
    let (role_bindings, rb_writer) = reflector::store::<RoleBinding>();
    let (quotas, quota_writer) = reflector::store::<ResourceQuota>();
    let user_stream = watcher(Api::<User>::all(client.clone()), watcher::Config::default())
        .default_backoff()
        .modify(drop_managed_fields)
        .reflect(users_writer)
        .inspect(synced.watch())
        .applied_objects();
    let ns_stream = watcher(
        Api::<Namespace>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .modify(drop_managed_fields)
    .reflect(ns_writer)
    .inspect(synced.watch())
    .touched_objects();
    let rb_stream = watcher(Api::<RoleBinding>::all(client.clone()), ours.clone())
        .default_backoff()
        .modify(drop_managed_fields)
        .reflect(rb_writer)
        .inspect(synced.watch())
        .touched_objects();
    let quota_stream = watcher(Api::<ResourceQuota>::all(client.clone()), ours)
        .default_backoff()
        .modify(drop_managed_fields)
        .reflect(quota_writer)
        .inspect(synced.watch())
        .touched_objects();

    let ctx = Arc::new(Context {
        synced: synced.subscribe(),
        client,
        namespaces,
        role_bindings,
        quotas,
        directory: args.directory,
        instance: format!("kube-runtime-{}", std::process::id()),
    });
    // A namespace event concerns the User that controls it or, for one that
    // is not ours, a User of the same name, whose conflict may be over.
    let user_store = users.clone();
    let namespace_mapper = move |ns: Namespace| -> Option<ObjectRef<User>> {
        let owner = ns
            .owner_references()
            .iter()
            .find(|o| o.controller == Some(true) && o.kind == "User")
            .map(|o| o.name.clone());
        match owner {
            Some(name) => Some(ObjectRef::new(&name)),
            None => {
                let by_name = ObjectRef::new(&ns.name_any());
                user_store.get(&by_name).map(|_| by_name)
            }
        }
    };
    // The RoleBinding and the quota concern the User that controls them.
    // Not `owns_stream`: it names the owner with the child's namespace, and
    // a User is cluster-scoped, so `ns/user` and `user` were two keys for
    // one User, reconciled concurrently (the store's lookup drops the
    // namespace, so both found it), and each wrote the status and quota
    // again from what the other had not yet seen. controller-runtime's
    // EnqueueRequestForOwner had the same flaw and dropped the namespace
    // for cluster-scoped owners; here a mapper gives the cluster-scoped key.
    let controller_of = |meta: &kube::api::ObjectMeta| -> Option<ObjectRef<User>> {
        meta.owner_references
            .iter()
            .flatten()
            .find(|o| o.controller == Some(true) && o.kind == "User")
            .map(|o| ObjectRef::new(&o.name))
    };
    Controller::for_stream(user_stream, users)
        .watches_stream(ns_stream, namespace_mapper)
        .watches_stream(rb_stream, move |rb: RoleBinding| controller_of(rb.meta()))
        .watches_stream(quota_stream, move |q: ResourceQuota| {
            controller_of(q.meta())
        })
        .with_config(ControllerConfig::default().concurrency(args.workers))
        .shutdown_on_signal()
        .run(reconcile, error_policy, ctx)
        .for_each(|result| {
            probe.reconciled();
            if let Err(err) = result {
                eprintln!("kube-runtime peer: {err}");
            }
            std::future::ready(())
        })
        .await;
    Ok(())
}

/// What the User controller's informers drop before caching (crdforge's
/// `drop_managed_fields`), done here with kube-runtime's `modify`, as a
/// kube-runtime user trimming the cache would: the peer never reads either.
fn drop_managed_fields<K: kube::Resource>(obj: &mut K) {
    let meta = obj.meta_mut();
    meta.managed_fields = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
}

/// Readiness: set once each of the reflectors has delivered its first
/// `InitDone`, i.e. every cache has synced.
///
/// kube-runtime's `Controller` waits only for the store of the reconciled
/// kind before it reconciles; a reconcile that ran before the Namespace
/// cache had synced would see no namespace and try to create one again
/// (after a restart, a 409 and a retry per User). The User controller and
/// client-go controllers wait for every cache first, so reconciles here
/// wait for this flag too.
struct Synced {
    left: Arc<AtomicUsize>,
    probe: Probe,
    all: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Synced {
    fn new(caches: usize, probe: Probe) -> Self {
        Self {
            left: Arc::new(AtomicUsize::new(caches)),
            probe,
            all: Arc::new(tokio::sync::watch::Sender::new(false)),
        }
    }

    fn subscribe(&self) -> tokio::sync::watch::Receiver<bool> {
        self.all.subscribe()
    }

    /// An `inspect` callback for one reflector's stream.
    fn watch<K>(&self) -> impl FnMut(&Result<watcher::Event<K>, watcher::Error>) + use<K> {
        let (left, probe, all) = (
            Arc::clone(&self.left),
            self.probe.clone(),
            Arc::clone(&self.all),
        );
        let mut seen = false;
        move |event| {
            if !seen && matches!(event, Ok(watcher::Event::InitDone)) {
                seen = true;
                if left.fetch_sub(1, Ordering::SeqCst) == 1 {
                    all.send_replace(true);
                    probe.set_ready();
                }
            }
        }
    }
}

/// Transient failures go back to the controller's scheduler, as the User
/// controller's go back to its rate-limited queue (whose first retry is
/// after 5 ms).
fn error_policy(_user: Arc<User>, _err: &Error, _ctx: Arc<Context>) -> Action {
    Action::requeue(Duration::from_millis(5))
}

async fn reconcile(user: Arc<User>, ctx: Arc<Context>) -> Result<Action, Error> {
    // Returns at once after the first sync; the sender lives as long as the
    // reflectors, so an error cannot happen while reconciles run.
    let _ = ctx.synced.clone().wait_for(|s| *s).await;
    let name = user.name().to_string();
    let users: Api<User> = Api::all(ctx.client.clone());
    let patch_params = PatchParams::apply(MANAGER);
    if user.metadata.deletion_timestamp.is_some() {
        if !user.has_finalizer() {
            return Ok(Action::await_change());
        }
        remove_account(&ctx.directory, &user.uid().unwrap_or_default())?;
        let remaining: Vec<&String> = user
            .finalizers()
            .iter()
            .filter(|f| *f != user::FINALIZER)
            .collect();
        let patch = json!({"metadata": {"finalizers": remaining, "resourceVersion": user.resource_version()}});
        users
            .patch(&name, &patch_params, &Patch::Merge(patch))
            .await
            .doing("releasing the finalizer")?;
        publish(&ctx, &user, "Deleted", "account removed").await;
        return Ok(Action::await_change());
    }
    if !user.has_finalizer() {
        users
            .patch(
                &name,
                &patch_params,
                &Patch::Merge(user::add_finalizer_patch(&user)),
            )
            .await
            .doing("adding the finalizer")?;
        return Ok(Action::await_change());
    }
    register_account(&ctx.directory, &user)?;
    if let Err(why) = user::dns_label(&name) {
        set_status(&ctx, &user, None, false, "InvalidName", &why).await?;
        return Ok(Action::await_change());
    }
    match ctx.namespaces.get(&ObjectRef::new(&name)) {
        Some(ns) if !user::owned_by(ns.meta(), &user) => {
            let message = format!(
                "namespace {name} already exists and does not belong to this user; it is left alone"
            );
            if set_status(&ctx, &user, None, false, "NamespaceConflict", &message).await? {
                publish(&ctx, &user, "NamespaceConflict", &message).await;
            }
            return Ok(Action::await_change());
        }
        Some(ns) if ns.meta().deletion_timestamp.is_some() => {
            let message = format!("namespace {name} is being deleted; it will be created again");
            set_status(&ctx, &user, None, false, "NamespaceTerminating", &message).await?;
            return Ok(Action::requeue(Duration::from_secs(2)));
        }
        Some(ns) => {
            if !user::has_labels(ns.meta(), &user) {
                let mut desired = user::namespace(&user);
                desired.metadata.uid = ns.uid();
                Api::<Namespace>::all(ctx.client.clone())
                    .patch(&name, &patch_params.clone().force(), &Patch::Apply(desired))
                    .await
                    .doing("repairing the namespace")?;
            }
        }
        None => {
            Api::<Namespace>::all(ctx.client.clone())
                .create(&post_params(), &user::namespace(&user))
                .await
                .doing("creating the namespace")?;
            publish(&ctx, &user, "Created", &format!("created namespace {name}")).await;
        }
    }
    ensure_role_binding(&ctx, &user).await?;
    ensure_quota(&ctx, &user).await?;
    set_status(
        &ctx,
        &user,
        Some(&name),
        true,
        "Provisioned",
        &user::provisioned_message(&user),
    )
    .await?;
    Ok(Action::await_change())
}

fn post_params() -> PostParams {
    PostParams {
        field_manager: Some(MANAGER.into()),
        ..PostParams::default()
    }
}

async fn ensure_role_binding(ctx: &Context, user: &User) -> Result<(), Error> {
    let name = user.name();
    let desired = user::role_binding(user);
    let api: Api<RoleBinding> = Api::namespaced(ctx.client.clone(), name);
    if let Some(current) = ctx
        .role_bindings
        .get(&ObjectRef::new(ROLE_BINDING).within(name))
    {
        if current.role_ref == desired.role_ref
            && current.subjects == desired.subjects
            && user::has_labels(current.meta(), user)
            && user::owned_by(current.meta(), user)
        {
            return Ok(());
        }
        if current.role_ref != desired.role_ref {
            api.delete(ROLE_BINDING, &DeleteParams::default())
                .await
                .doing("replacing the role binding")?;
        }
    }
    api.patch(
        ROLE_BINDING,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(desired),
    )
    .await
    .doing("applying the role binding")?;
    Ok(())
}

async fn ensure_quota(ctx: &Context, user: &User) -> Result<(), Error> {
    let name = user.name();
    let current = ctx.quotas.get(&ObjectRef::new(QUOTA).within(name));
    let api: Api<ResourceQuota> = Api::namespaced(ctx.client.clone(), name);
    match user::quota(user) {
        None => {
            if current.is_some_and(|q| user::owned_by(q.meta(), user)) {
                api.delete(QUOTA, &DeleteParams::default())
                    .await
                    .doing("removing the quota")?;
            }
        }
        Some(desired) => {
            let in_shape = current.as_ref().is_some_and(|q| {
                q.spec.as_ref().and_then(|s| s.hard.as_ref()) == user.spec.quota.as_ref()
                    && user::has_labels(q.meta(), user)
                    && user::owned_by(q.meta(), user)
            });
            if !in_shape {
                api.patch(
                    QUOTA,
                    &PatchParams::apply(MANAGER).force(),
                    &Patch::Apply(desired),
                )
                .await
                .doing("applying the quota")?;
            }
        }
    }
    Ok(())
}

/// Writes the status when it differs from the stored one; returns whether
/// it wrote.
async fn set_status(
    ctx: &Context,
    user: &User,
    namespace: Option<&str>,
    ready: bool,
    reason: &str,
    message: &str,
) -> Result<bool, Error> {
    let Some(status) = user::desired_status(user, namespace, ready, reason, message) else {
        return Ok(false);
    };
    Api::<User>::all(ctx.client.clone())
        .patch_status(
            user.name(),
            // Forced server-side apply, as the User controller writes its
            // status, so that every contender makes the same kind of write.
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(json!({
                "apiVersion": "example.com/v1",
                "kind": "User",
                "metadata": { "name": user.name() },
                "status": status,
            })),
        )
        .await
        .doing("writing the status")?;
    Ok(true)
}

/// Publishes an Event; failures are logged, never returned.
async fn publish(ctx: &Context, user: &User, reason: &str, message: &str) {
    let event = user::event(user, reason, message, &ctx.instance);
    if let Err(err) = Api::<Event>::namespaced(ctx.client.clone(), "default")
        .create(&post_params(), &event)
        .await
    {
        eprintln!("kube-runtime peer: could not publish an event: {err}");
    }
}

/// The account file of a UID, as the User controller's `FileDirectory`
/// names it.
fn account_path(directory: &Path, uid: &str) -> PathBuf {
    let safe: String = uid
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    directory.join("accounts").join(format!("{safe}.json"))
}

/// Creates or updates the account record, journaling a creation, as the
/// User controller's `FileDirectory::register` does.
fn register_account(directory: &Path, user: &User) -> Result<(), Error> {
    let uid = user.uid().unwrap_or_default();
    let account = json!({
        "uid": uid,
        "name": user.name(),
        "display_name": user.spec.display_name,
        "email": user.spec.email,
    });
    let path = account_path(directory, &uid);
    let existing: Option<serde_json::Value> = fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    if existing.as_ref() == Some(&account) {
        return Ok(());
    }
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    fs::write(
        &tmp,
        serde_json::to_vec_pretty(&account).map_err(std::io::Error::other)?,
    )?;
    fs::rename(tmp, &path)?;
    if existing.is_none() {
        journal(directory, "created", &uid, user.name())?;
    }
    Ok(())
}

fn remove_account(directory: &Path, uid: &str) -> Result<(), Error> {
    match fs::remove_file(account_path(directory, uid)) {
        Ok(()) => journal(directory, "removed", uid, ""),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn journal(directory: &Path, what: &str, uid: &str, name: &str) -> Result<(), Error> {
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(directory.join("journal.log"))
        .context("opening the journal")
        .map_err(|e| std::io::Error::other(format!("{e:#}")))?;
    file.write_all(format!("{what} {uid} {name}\n").as_bytes())?;
    Ok(())
}
