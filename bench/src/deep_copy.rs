//! The objects and copy methods of the deep-copy suite.
//!
//! Each workload has two versions of one value, as an informer sees an
//! object change: same shape (keys, lengths, variants), new contents. A
//! measured step copies one version into a destination that holds the other,
//! alternating, so every step does real work and the destination ends equal
//! to its source whichever method ran:
//!
//! * `deep-copy-into`: `DeepCopy::deep_copy_into(src, dst)`, reusing `dst`;
//! * `clone`: `*dst = src.clone()`, the old value dropped;
//! * `clone-from`: `dst.clone_from(src)`, which for `#[derive(Clone)]` types
//!   (k8s-openapi's, and the derive's root struct) is the default
//!   `*dst = src.clone()`.

use std::hint::black_box;

use clap::ValueEnum;
use crdforge::DeepCopy;
use crdforge::crd::final_schema;
use crdforge_fixtures::cases;
use crdforge_fixtures::widget::v1::{Phase, Widget, WidgetStatus};
use crdforge_gen::validate::admit;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, OwnerReference, Time};
use k8s_openapi::jiff::Timestamp;
use serde::Serialize;
use serde_json::json;
use user_api::User;

/// The value copied.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// One `User` as the apiserver returns it.
    User,
    /// 1,000 fixture `Widget`s in a `Vec`.
    List,
}

/// How it is copied.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// `DeepCopy::deep_copy_into`.
    DeepCopyInto,
    /// `*dst = src.clone()`.
    Clone,
    /// `dst.clone_from(src)`.
    CloneFrom,
}

impl Method {
    /// The contender name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Method::DeepCopyInto => "deep_copy_into",
            Method::Clone => "clone",
            Method::CloneFrom => "clone_from",
        }
    }
}

/// Copies `src` into `dst` with `method`.
#[inline(never)]
pub fn copy<T: DeepCopy + Clone>(method: Method, src: &T, dst: &mut T) {
    let src = black_box(src);
    match method {
        Method::DeepCopyInto => src.deep_copy_into(dst),
        Method::Clone => *dst = src.clone(),
        Method::CloneFrom => dst.clone_from(src),
    }
    black_box(dst);
}

/// Runs `steps` alternating copies of `versions` into `dst` (which starts
/// as a copy of `versions[1]`).
pub fn run<T: DeepCopy + Clone>(method: Method, versions: &[T; 2], dst: &mut T, steps: u64) {
    for i in 0..steps {
        copy(method, &versions[(i % 2) as usize], dst);
    }
}

/// Fails unless `dst` equals the version the last of `steps` copies came
/// from, compared as JSON (the root types derive no `PartialEq`).
pub fn check<T: Serialize>(versions: &[T; 2], dst: &T, steps: u64) -> anyhow::Result<()> {
    let last = &versions[((steps + 1) % 2) as usize];
    anyhow::ensure!(
        serde_json::to_value(dst)? == serde_json::to_value(last)?,
        "the copy differs from its source"
    );
    Ok(())
}

/// The `User` as the apiserver returns it: labels, annotations, a finalizer,
/// an ownerReference, two managedFields entries and a Ready condition.
pub fn user(version: u32) -> User {
    let generation = i64::from(version) + 1;
    let time = format!("2026-01-0{}T00:00:00Z", version + 1);
    serde_json::from_value(json!({
        "apiVersion": "example.com/v1",
        "kind": "User",
        "metadata": {
            "name": "alice",
            "uid": "6f1c2a9e-0d7b-4d0e-9b8a-2f3c4d5e6f70",
            "resourceVersion": (40_000 + version).to_string(),
            "generation": generation,
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {
                "team": "platform",
                "tier": if version == 0 { "gold" } else { "blue" },
                "app.kubernetes.io/managed-by": "user-controller"
            },
            "annotations": {
                "example.com/owner": "ops",
                "kubectl.kubernetes.io/last-applied-configuration":
                    format!("{{\"spec\":{{\"displayName\":\"Alice {version}\"}}}}")
            },
            "finalizers": ["example.com/namespace"],
            "ownerReferences": [{
                "apiVersion": "example.com/v1", "kind": "Team", "name": "platform",
                "uid": "0a1b2c3d-0000-4000-8000-000000000001",
                "controller": true, "blockOwnerDeletion": true
            }],
            "managedFields": [{
                "manager": "kubectl", "operation": "Apply", "apiVersion": "example.com/v1",
                "time": time, "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": {"f:displayName": {}, "f:email": {}, "f:groups": {}}}
            }, {
                "manager": "user-controller", "operation": "Update",
                "apiVersion": "example.com/v1", "time": time, "fieldsType": "FieldsV1",
                "subresource": "status",
                "fieldsV1": {"f:status": {"f:conditions": {"k:{\"type\":\"Ready\"}": {}},
                             "f:namespace": {}, "f:observedGeneration": {}}}
            }]
        },
        "spec": {
            "displayName": format!("Alice {version}"),
            "email": "alice@example.com",
            "role": "edit",
            "groups": ["devs", "oncall", if version == 0 { "sre-a" } else { "sre-b" }],
            "quota": {"pods": "10", "requests.cpu": if version == 0 { "4" } else { "8" }}
        },
        "status": {
            "namespace": "alice",
            "observedGeneration": generation,
            "conditions": [{
                "type": "Ready",
                "status": if version == 0 { "False" } else { "True" },
                "reason": if version == 0 { "Provisioning" } else { "Provisioned" },
                "message": format!("namespace alice at generation {generation}"),
                "lastTransitionTime": time,
                "observedGeneration": generation
            }]
        }
    }))
    .expect("the User JSON matches the User type")
}

/// `n` Widgets: the fixture's accepted sample specs (defaulted as the
/// apiserver would), in turn, each with metadata and a status.
pub fn widgets(n: usize, version: u32) -> Vec<Widget> {
    use crdforge::CustomResource as _;
    let (schema, _) = final_schema(&Widget::definition().versions[0]);
    let specs: Vec<Widget> = cases::cases()
        .iter()
        .enumerate()
        .filter(|(_, c)| c.resource.kind == "Widget")
        .filter_map(|(i, c)| {
            let object = admit(&schema, &cases::object(c, i)).ok()?;
            serde_json::from_value(object).ok()
        })
        .collect();
    assert!(!specs.is_empty(), "no Widget samples");
    let at = Time(Timestamp::from_second(1_767_225_600 + i64::from(version)).expect("a time"));
    (0..n)
        .map(|i| {
            let mut w = specs[i % specs.len()].clone();
            let meta = &mut w.metadata;
            meta.name = Some(format!("widget-{i:04}"));
            meta.namespace = Some(format!("ns-{:02}", i % 50));
            meta.uid = Some(format!("00000000-0000-4000-8000-{i:012}"));
            meta.resource_version = Some((100_000 + 2 * i + version as usize).to_string());
            meta.generation = Some(i64::from(version) + 1);
            meta.labels = Some(
                [
                    ("app".to_owned(), format!("app-{:02}", i % 20)),
                    ("tier".to_owned(), "backend".to_owned()),
                ]
                .into(),
            );
            if i % 4 == 0 {
                meta.owner_references = Some(vec![OwnerReference {
                    api_version: "apps/v1".into(),
                    kind: "ReplicaSet".into(),
                    name: format!("owner-{:03}", (i / 4) % 250),
                    uid: format!("00000000-0000-4000-9000-{i:012}"),
                    controller: Some(true),
                    block_owner_deletion: Some(true),
                }]);
            }
            w.status = Some(WidgetStatus {
                replicas: version as i32 + 1,
                selector: Some("app=widget".into()),
                phase: Some(if version == 0 {
                    Phase::Pending
                } else {
                    Phase::Running
                }),
                conditions: vec![Condition {
                    type_: "Ready".into(),
                    status: if version == 0 { "False" } else { "True" }.into(),
                    reason: "Reconciled".into(),
                    message: format!("generation {}", version + 1),
                    observed_generation: Some(i64::from(version) + 1),
                    last_transition_time: at.clone(),
                }],
                last_seen: Some(at.clone()),
            });
            w
        })
        .collect()
}
