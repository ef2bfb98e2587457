//! The `example.com/v1` User as plain serde structs with a hand-written
//! `kube::Resource` impl, and the objects the User controller makes for one,
//! for the controller benchmark's contenders that must not use crdforge's
//! generated code: the limit client and the kube-runtime peer. The harness
//! uses the same type to create and watch Users.
//!
//! Every object here is the one `examples/user-controller/src/reconcile.rs`
//! writes, field for field (labels, owner reference, subjects, quota,
//! condition), so the apiserver does the same work whoever writes it.

use std::borrow::Cow;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Event, EventSource, Namespace, ObjectReference, ResourceQuota, ResourceQuotaSpec,
};
use k8s_openapi::api::rbac::v1::{RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    Condition, MicroTime, ObjectMeta, OwnerReference, Time,
};
use kube::core::ClusterResourceScope;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

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
/// Label the harness puts on the Users it creates, to delete them after.
pub const BENCH_LABEL: &str = "bench.crdforge.dev/macro";

/// A User, as the apiserver serves it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct User {
    /// Always `example.com/v1`.
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// Always `User`.
    pub kind: String,
    /// Object metadata.
    pub metadata: ObjectMeta,
    /// What the User asks for.
    pub spec: UserSpec,
    /// What the controller last did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<UserStatus>,
}

/// `spec` of a User.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserSpec {
    /// The name people know the developer by.
    pub display_name: String,
    /// Where to reach the developer.
    pub email: String,
    /// `admin`, `edit` or `view`: the ClusterRole bound in the namespace.
    #[serde(default = "admin")]
    pub role: String,
    /// Groups bound to the same role.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Hard limits of a ResourceQuota, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<BTreeMap<String, Quantity>>,
}

fn admin() -> String {
    "admin".into()
}

/// `status` of a User.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserStatus {
    /// The namespace provisioned for the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The spec generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` says whether the user can work.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

impl kube::Resource for User {
    type DynamicType = ();
    type Scope = ClusterResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        "User".into()
    }
    fn group(_: &()) -> Cow<'_, str> {
        "example.com".into()
    }
    fn version(_: &()) -> Cow<'_, str> {
        "v1".into()
    }
    fn plural(_: &()) -> Cow<'_, str> {
        "users".into()
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl User {
    /// The benchmark's User `name`: one group and a quota, so that the
    /// controller writes all three kinds of child object.
    pub fn fixture(name: &str) -> Self {
        Self {
            api_version: "example.com/v1".into(),
            kind: "User".into(),
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some(BTreeMap::from([(BENCH_LABEL.into(), "true".into())])),
                ..ObjectMeta::default()
            },
            spec: UserSpec {
                display_name: format!("{name} (bench)"),
                email: format!("{name}@example.com"),
                role: "admin".into(),
                groups: vec!["developers".into()],
                quota: Some(BTreeMap::from([("pods".into(), Quantity("10".into()))])),
            },
            status: None,
        }
    }

    /// The name.
    pub fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or_default()
    }

    /// Whether the `Ready` condition is `True`.
    pub fn is_ready(&self) -> bool {
        self.status
            .iter()
            .flat_map(|s| &s.conditions)
            .any(|c| c.type_ == "Ready" && c.status == "True")
    }

    /// Whether the finalizer is set.
    pub fn has_finalizer(&self) -> bool {
        self.metadata
            .finalizers
            .iter()
            .flatten()
            .any(|f| f == FINALIZER)
    }

    /// The ClusterRole the spec names (`admin` for anything unknown, as the
    /// CRD's enum allows nothing else).
    pub fn cluster_role(&self) -> &str {
        match self.spec.role.as_str() {
            "edit" => "edit",
            "view" => "view",
            _ => "admin",
        }
    }
}

/// The controller owner reference to `user`.
pub fn owner_reference(user: &User) -> OwnerReference {
    OwnerReference {
        api_version: "example.com/v1".into(),
        kind: "User".into(),
        name: user.name().into(),
        uid: user.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// The labels of every child of `user`.
pub fn labels(user: &User) -> BTreeMap<String, String> {
    BTreeMap::from([
        (MANAGED_BY.to_string(), MANAGER.to_string()),
        (USER_LABEL.to_string(), user.name().to_string()),
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

/// Whether `meta` is controlled by `user`.
pub fn owned_by(meta: &ObjectMeta, user: &User) -> bool {
    meta.owner_references.iter().flatten().any(|o| {
        o.controller == Some(true) && o.kind == "User" && Some(&o.uid) == user.metadata.uid.as_ref()
    })
}

/// Whether `meta` has every label of a child of `user`.
pub fn has_labels(meta: &ObjectMeta, user: &User) -> bool {
    let have = meta.labels.clone().unwrap_or_default();
    labels(user).iter().all(|(k, v)| have.get(k) == Some(v))
}

/// The user's namespace.
pub fn namespace(user: &User) -> Namespace {
    Namespace {
        metadata: child_meta(user, user.name(), None),
        ..Namespace::default()
    }
}

/// The RoleBinding granting the user's role in its namespace.
pub fn role_binding(user: &User) -> RoleBinding {
    let name = user.name();
    let mut subjects = vec![Subject {
        api_group: Some("rbac.authorization.k8s.io".into()),
        kind: "User".into(),
        name: name.into(),
        namespace: None,
    }];
    subjects.extend(user.spec.groups.iter().map(|group| Subject {
        api_group: Some("rbac.authorization.k8s.io".into()),
        kind: "Group".into(),
        name: group.clone(),
        namespace: None,
    }));
    RoleBinding {
        metadata: child_meta(user, ROLE_BINDING, Some(name)),
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".into()),
            kind: "ClusterRole".into(),
            name: user.cluster_role().into(),
        },
        subjects: Some(subjects),
    }
}

/// The user's ResourceQuota, if its spec asks for one.
pub fn quota(user: &User) -> Option<ResourceQuota> {
    let hard = user.spec.quota.clone()?;
    Some(ResourceQuota {
        metadata: child_meta(user, QUOTA, Some(user.name())),
        spec: Some(ResourceQuotaSpec {
            hard: Some(hard),
            ..ResourceQuotaSpec::default()
        }),
        ..ResourceQuota::default()
    })
}

/// The Event the controller publishes in `default` when it acts on `user`.
pub fn event(user: &User, reason: &str, message: &str, instance: &str) -> Event {
    let now = k8s_openapi::jiff::Timestamp::now();
    Event {
        metadata: ObjectMeta {
            name: Some(format!("{}.{:x}", user.name(), now.as_nanosecond())),
            namespace: Some("default".into()),
            ..ObjectMeta::default()
        },
        involved_object: ObjectReference {
            api_version: Some("example.com/v1".into()),
            kind: Some("User".into()),
            name: Some(user.name().into()),
            uid: user.metadata.uid.clone(),
            resource_version: user.metadata.resource_version.clone(),
            ..ObjectReference::default()
        },
        reason: Some(reason.into()),
        message: Some(message.into()),
        type_: Some("Normal".into()),
        source: Some(EventSource {
            component: Some(MANAGER.into()),
            host: None,
        }),
        reporting_component: Some(MANAGER.into()),
        reporting_instance: Some(instance.into()),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        event_time: Some(MicroTime(now)),
        action: Some(reason.into()),
        count: Some(1),
        ..Event::default()
    }
}

/// The merge patch adding the finalizer, with the resourceVersion as a
/// precondition, as the User controller sends it.
pub fn add_finalizer_patch(user: &User) -> Value {
    let mut finalizers = user.metadata.finalizers.clone().unwrap_or_default();
    finalizers.push(FINALIZER.into());
    json!({"metadata": {"finalizers": finalizers, "resourceVersion": user.metadata.resource_version}})
}

/// The status the controller writes, or `None` when the stored one already
/// says the same (then it writes nothing). `lastTransitionTime` is kept
/// while the condition's status stays the same.
pub fn desired_status(
    user: &User,
    namespace: Option<&str>,
    ready: bool,
    reason: &str,
    message: &str,
) -> Option<UserStatus> {
    let current = user.status.clone().unwrap_or_default();
    let previous = current.conditions.iter().find(|c| c.type_ == "Ready");
    let status = if ready { "True" } else { "False" };
    let unchanged =
        previous.is_some_and(|c| c.status == status && c.reason == reason && c.message == message);
    let generation = user.metadata.generation;
    let desired = UserStatus {
        namespace: namespace.map(str::to_string),
        observed_generation: generation,
        conditions: vec![Condition {
            type_: "Ready".into(),
            status: status.into(),
            reason: reason.into(),
            message: message.into(),
            observed_generation: generation,
            last_transition_time: match previous {
                Some(c) if c.status == status => c.last_transition_time.clone(),
                _ => Time(k8s_openapi::jiff::Timestamp::now()),
            },
        }],
    };
    let same = unchanged
        && current.namespace == desired.namespace
        && current.observed_generation == desired.observed_generation;
    (!same).then_some(desired)
}

/// The `Provisioned` message of a ready User.
pub fn provisioned_message(user: &User) -> String {
    format!(
        "namespace {} with role {}",
        user.name(),
        user.cluster_role()
    )
}

/// Whether `name` can name a namespace (an RFC 1123 label).
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
