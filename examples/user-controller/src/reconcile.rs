//! Reconciling one User: level-triggered and idempotent. Every call reads
//! the current state from the informer caches, compares it with what the
//! User asks for, and writes only the difference, so a repeated call for an
//! unchanged User makes no request at all.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crdforge_runtime::client::{ApplyOptions, TypedClient};
use crdforge_runtime::controller::Action;
use crdforge_runtime::lister::Lister;
use k8s_openapi::api::core::v1::{Namespace, ResourceQuota, ResourceQuotaSpec};
use k8s_openapi::api::rbac::v1::{RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, OwnerReference, Time};
use kube::api::{DeleteParams, ObjectMeta, Patch};
use kube::core::PartialObjectMeta;
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::api::{User, UserApply, UserStatus, UserStatusApply};
use crate::directory::{Account, AccountDirectory, DirectoryError};
use crate::events::{EventType, Recorder};

/// The field manager of every write, and the value of the managed-by label.
pub const MANAGER: &str = "user-controller";
/// Label on every object the controller makes.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// Label naming the User an object belongs to.
pub const USER_LABEL: &str = "example.com/user";
/// The finalizer that holds a User until its account is removed.
pub const FINALIZER: &str = "example.com/account-directory";
/// The RoleBinding in each user's namespace.
pub const ROLE_BINDING: &str = "user-access";
/// The ResourceQuota in each user's namespace.
pub const QUOTA: &str = "user-quota";

/// Condition reasons.
pub mod reason {
    /// Everything is provisioned.
    pub const PROVISIONED: &str = "Provisioned";
    /// A namespace of that name exists and is not ours.
    pub const NAMESPACE_CONFLICT: &str = "NamespaceConflict";
    /// The user's name cannot name a namespace.
    pub const INVALID_NAME: &str = "InvalidName";
    /// Our namespace is being deleted; it will be made again.
    pub const NAMESPACE_TERMINATING: &str = "NamespaceTerminating";
}

/// Everything reconcile needs: caches to read, clients to write.
pub struct Context {
    /// Users.
    pub users: Lister<User>,
    /// Namespaces (all of them, to see conflicts).
    /// Metadata only: nothing else of a Namespace is read.
    pub namespaces: Lister<PartialObjectMeta<Namespace>>,
    /// Our RoleBindings.
    pub role_bindings: Lister<RoleBinding>,
    /// Our ResourceQuotas.
    pub quotas: Lister<ResourceQuota>,
    /// Writes to Users.
    pub user_client: TypedClient<User>,
    /// Writes to Namespaces.
    pub namespace_client: TypedClient<Namespace>,
    /// Writes to RoleBindings.
    pub role_binding_client: TypedClient<RoleBinding>,
    /// Writes to ResourceQuotas.
    pub quota_client: TypedClient<ResourceQuota>,
    /// The external account directory.
    pub directory: Arc<dyn AccountDirectory>,
    /// Event recorder.
    pub recorder: Recorder,
}

/// Why a reconcile failed. Every variant is transient: the key goes back to
/// the rate-limited queue and the next attempt starts from fresh cache state.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The apiserver refused or failed a request (409 conflicts included).
    #[error("{action}: {source}")]
    Kube {
        /// What was being done.
        action: &'static str,
        /// The error.
        source: kube::Error,
    },
    /// The account directory failed.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
}

trait Doing<T> {
    fn doing(self, action: &'static str) -> Result<T, Error>;
}

impl<T> Doing<T> for kube::Result<T> {
    fn doing(self, action: &'static str) -> Result<T, Error> {
        self.map_err(|source| Error::Kube { action, source })
    }
}

/// Reconciles the User named `name`.
pub async fn reconcile(name: String, ctx: Arc<Context>) -> Result<Action, Error> {
    let Some(user) = ctx.users.get(&name) else {
        // Gone: its namespace follows through the garbage collector, and
        // its account was removed before the finalizer let it go.
        return Ok(Action::Done);
    };
    if user.meta().deletion_timestamp.is_some() {
        return finalize(&user, &ctx).await;
    }
    if !user.finalizers().iter().any(|f| f == FINALIZER) {
        add_finalizer(&user, &ctx).await?;
        // The write brings the User back through the informer.
        return Ok(Action::Done);
    }
    ctx.directory.register(&Account {
        uid: user.uid().unwrap_or_default(),
        name: name.clone(),
        display_name: user.spec.display_name.clone(),
        email: user.spec.email.clone(),
    })?;

    if let Err(why) = dns_label(&name) {
        set_status(&user, &ctx, None, false, reason::INVALID_NAME, &why).await?;
        return Ok(Action::Done);
    }

    match ctx.namespaces.get(&name) {
        Some(ns) if !owned_by(ns.meta(), &user) => {
            let message = format!(
                "namespace {name} already exists and does not belong to this user; it is left alone"
            );
            if set_status(
                &user,
                &ctx,
                None,
                false,
                reason::NAMESPACE_CONFLICT,
                &message,
            )
            .await?
            {
                ctx.recorder
                    .publish(
                        &user,
                        EventType::Warning,
                        reason::NAMESPACE_CONFLICT,
                        &message,
                    )
                    .await;
            }
            return Ok(Action::Done);
        }
        Some(ns) if ns.meta().deletion_timestamp.is_some() => {
            let message = format!("namespace {name} is being deleted; it will be created again");
            set_status(
                &user,
                &ctx,
                None,
                false,
                reason::NAMESPACE_TERMINATING,
                &message,
            )
            .await?;
            return Ok(Action::RequeueAfter(Duration::from_secs(2)));
        }
        Some(ns) => {
            if !namespace_in_shape(&ns, &user) {
                apply_namespace(&user, &ctx, ns.uid()).await?;
            }
        }
        None => {
            create_namespace(&user, &ctx).await?;
            ctx.recorder
                .publish(
                    &user,
                    EventType::Normal,
                    "Created",
                    &format!("created namespace {name}"),
                )
                .await;
        }
    }

    ensure_role_binding(&user, &ctx).await?;
    ensure_quota(&user, &ctx).await?;
    let message = format!(
        "namespace {name} with role {}",
        user.spec.role.cluster_role()
    );
    set_status(
        &user,
        &ctx,
        Some(&name),
        true,
        reason::PROVISIONED,
        &message,
    )
    .await?;
    Ok(Action::Done)
}

/// The User is being deleted: remove its account, then release it.
async fn finalize(user: &User, ctx: &Context) -> Result<Action, Error> {
    if !user.finalizers().iter().any(|f| f == FINALIZER) {
        return Ok(Action::Done);
    }
    let removal = ctx.directory.remove(&user.uid().unwrap_or_default())?;
    tracing::info!(user = %user.name_any(), ?removal, "account removed");
    let remaining: Vec<&String> = user
        .finalizers()
        .iter()
        .filter(|f| *f != FINALIZER)
        .collect();
    // The resourceVersion makes this a precondition: it fails with 409
    // rather than drop a finalizer someone added since our cache read.
    let patch =
        json!({"metadata": {"finalizers": remaining, "resourceVersion": user.resource_version()}});
    ctx.user_client
        .cluster()
        .patch(&user.name_any(), &Patch::Merge(patch))
        .await
        .doing("releasing the finalizer")?;
    ctx.recorder
        .publish(
            user,
            EventType::Normal,
            "Deleted",
            "account removed; namespace left to the garbage collector",
        )
        .await;
    Ok(Action::Done)
}

async fn add_finalizer(user: &User, ctx: &Context) -> Result<(), Error> {
    let mut finalizers = user.finalizers().to_vec();
    finalizers.push(FINALIZER.into());
    let patch =
        json!({"metadata": {"finalizers": finalizers, "resourceVersion": user.resource_version()}});
    ctx.user_client
        .cluster()
        .patch(&user.name_any(), &Patch::Merge(patch))
        .await
        .doing("adding the finalizer")?;
    Ok(())
}

/// Whether the object's controller reference is this User.
fn owned_by(meta: &ObjectMeta, user: &User) -> bool {
    meta.owner_references.iter().flatten().any(|o| {
        o.controller == Some(true) && o.kind == "User" && Some(&o.uid) == user.meta().uid.as_ref()
    })
}

fn owner_reference(user: &User) -> OwnerReference {
    OwnerReference {
        api_version: User::api_version(&()).into_owned(),
        kind: User::kind(&()).into_owned(),
        name: user.name_any(),
        uid: user.uid().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

fn labels(user: &User) -> BTreeMap<String, String> {
    BTreeMap::from([
        (MANAGED_BY.to_string(), MANAGER.to_string()),
        (USER_LABEL.to_string(), user.name_any()),
    ])
}

fn child_meta(user: &User, name: &str, namespace: Option<&str>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: namespace.map(str::to_string),
        labels: Some(labels(user)),
        owner_references: Some(vec![owner_reference(user)]),
        ..ObjectMeta::default()
    }
}

fn has_labels(meta: &ObjectMeta, user: &User) -> bool {
    let have = meta.labels.clone().unwrap_or_default();
    labels(user).iter().all(|(k, v)| have.get(k) == Some(v))
}

fn namespace_in_shape(ns: &PartialObjectMeta<Namespace>, user: &User) -> bool {
    has_labels(ns.meta(), user)
}

/// The Namespace this controller keeps for `user`.
pub fn desired_namespace(user: &User) -> Namespace {
    Namespace {
        metadata: child_meta(user, &user.name_any(), None),
        ..Namespace::default()
    }
}

async fn create_namespace(user: &User, ctx: &Context) -> Result<(), Error> {
    let ns = desired_namespace(user);
    // A create, never an apply: if someone else made the namespace since our
    // cache read, this fails with 409 instead of adopting theirs, and the
    // retry sees the conflict in the cache.
    ctx.namespace_client
        .cluster()
        .create(&ns)
        .await
        .doing("creating the namespace")?;
    Ok(())
}

async fn apply_namespace(user: &User, ctx: &Context, uid: Option<String>) -> Result<(), Error> {
    let mut meta = child_meta(user, &user.name_any(), None);
    // The UID makes the apply a precondition: it fails rather than touch a
    // namespace that was replaced since the cache read.
    meta.uid = uid;
    let ns = Namespace {
        metadata: meta,
        ..Namespace::default()
    };
    ctx.namespace_client
        .cluster()
        .apply(&ns, &user.name_any(), true)
        .await
        .doing("repairing the namespace")?;
    Ok(())
}

/// The RoleBinding granting `user`'s role and groups in its namespace.
pub fn desired_role_binding(user: &User) -> RoleBinding {
    let name = user.name_any();
    let mut subjects = vec![Subject {
        api_group: Some("rbac.authorization.k8s.io".into()),
        kind: "User".into(),
        name: name.clone(),
        namespace: None,
    }];
    subjects.extend(user.spec.groups.iter().map(|group| Subject {
        api_group: Some("rbac.authorization.k8s.io".into()),
        kind: "Group".into(),
        name: group.clone(),
        namespace: None,
    }));
    RoleBinding {
        metadata: child_meta(user, ROLE_BINDING, Some(&name)),
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".into()),
            kind: "ClusterRole".into(),
            name: user.spec.role.cluster_role().into(),
        },
        subjects: Some(subjects),
    }
}

async fn ensure_role_binding(user: &User, ctx: &Context) -> Result<(), Error> {
    let name = user.name_any();
    let desired = desired_role_binding(user);
    let verbs = ctx.role_binding_client.namespace(&name);
    if let Some(current) = ctx.role_bindings.namespace(&name).get(ROLE_BINDING) {
        if current.role_ref == desired.role_ref
            && current.subjects == desired.subjects
            && has_labels(current.meta(), user)
            && owned_by(current.meta(), user)
        {
            return Ok(());
        }
        if current.role_ref != desired.role_ref {
            // roleRef is immutable: a new role means a new binding.
            verbs
                .delete(ROLE_BINDING, &DeleteParams::default())
                .await
                .doing("replacing the role binding")?;
        }
    }
    verbs
        .apply(&desired, ROLE_BINDING, true)
        .await
        .doing("applying the role binding")?;
    Ok(())
}

/// The ResourceQuota of `user`'s namespace, when its spec asks for one.
pub fn desired_quota(user: &User) -> Option<ResourceQuota> {
    let hard = user.spec.quota.clone()?;
    Some(ResourceQuota {
        metadata: child_meta(user, QUOTA, Some(&user.name_any())),
        spec: Some(ResourceQuotaSpec {
            hard: Some(hard),
            ..ResourceQuotaSpec::default()
        }),
        ..ResourceQuota::default()
    })
}

async fn ensure_quota(user: &User, ctx: &Context) -> Result<(), Error> {
    let name = user.name_any();
    let current = ctx.quotas.namespace(&name).get(QUOTA);
    let verbs = ctx.quota_client.namespace(&name);
    match &user.spec.quota {
        None => {
            if current.is_some_and(|q| owned_by(q.meta(), user)) {
                verbs
                    .delete(QUOTA, &DeleteParams::default())
                    .await
                    .doing("removing the quota")?;
            }
        }
        Some(hard) => {
            let in_shape = current.as_ref().is_some_and(|q| {
                q.spec.as_ref().and_then(|s| s.hard.as_ref()) == Some(hard)
                    && has_labels(q.meta(), user)
                    && owned_by(q.meta(), user)
            });
            if let (false, Some(quota)) = (in_shape, desired_quota(user)) {
                verbs
                    .apply(&quota, QUOTA, true)
                    .await
                    .doing("applying the quota")?;
            }
        }
    }
    Ok(())
}

/// Writes the status when it differs from what is stored; returns whether
/// it wrote (so callers publish an event once per change, not per retry).
async fn set_status(
    user: &User,
    ctx: &Context,
    namespace: Option<&str>,
    ready: bool,
    reason: &str,
    message: &str,
) -> Result<bool, Error> {
    let current = user.status.clone().unwrap_or_default();
    let previous = current.conditions.iter().find(|c| c.type_ == "Ready");
    let status = if ready { "True" } else { "False" };
    let unchanged_condition =
        previous.is_some_and(|c| c.status == status && c.reason == reason && c.message == message);
    let desired = UserStatus {
        namespace: namespace.map(str::to_string),
        observed_generation: user.meta().generation,
        conditions: vec![Condition {
            type_: "Ready".into(),
            status: status.into(),
            reason: reason.into(),
            message: message.into(),
            observed_generation: user.meta().generation,
            // Kept while the condition's status stays the same, as the
            // convention for conditions asks.
            last_transition_time: match previous {
                Some(c) if c.status == status => c.last_transition_time.clone(),
                _ => Time(k8s_openapi::jiff::Timestamp::now()),
            },
        }],
    };
    if unchanged_condition
        && current.namespace == desired.namespace
        && current.observed_generation == desired.observed_generation
    {
        return Ok(false);
    }
    // Applied rather than merged: the controller owns exactly these status
    // fields, so one it leaves out (the namespace while there is none) is
    // removed instead of lingering. Forced, because the status is the
    // controller's alone; an older controller's merge-patched fields are
    // owned by an `Update` entry that would otherwise conflict.
    let status = UserStatusApply {
        namespace: desired.namespace,
        observed_generation: desired.observed_generation,
        conditions: Some(desired.conditions),
    };
    ctx.user_client
        .cluster()
        .apply_status_configuration(
            &UserApply::new(&user.name_any()).with_status(status),
            &ApplyOptions::force(),
        )
        .await
        .doing("writing the status")?;
    Ok(true)
}

/// Checks that `name` can name a namespace: an RFC 1123 label.
pub fn dns_label(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{name}` cannot name a namespace: it must be at most 63 lower-case letters, digits \
             or '-', starting and ending with a letter or digit"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_names_must_be_dns_labels() {
        assert!(dns_label("alice").is_ok());
        assert!(dns_label("a-1").is_ok());
        for bad in ["alice.smith", "Alice", "-a", "a-", "", &"a".repeat(64)] {
            assert!(dns_label(bad).is_err(), "{bad}");
        }
        assert!(
            dns_label("alice.smith")
                .unwrap_err()
                .contains("alice.smith")
        );
    }
}
