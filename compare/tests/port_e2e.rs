//! kube-derive 5 code moved over by one import, on a real apiserver: each
//! of the ten kinds of `crdforge_compare::port` gets crdforge's CRD
//! (checked by crdforge-gen first), an object of it is created through the
//! typed API and read back unchanged, statuses of schemars-only types are
//! applied whole through the status subresource, and the schemars
//! validation of a nested type is enforced by the apiserver.
//!
//! Run with `cargo xtask envtest run -- cargo test -p crdforge-compare
//! --features e2e --test port_e2e`.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;

use crdforge_compare::port::with_crdforge as port;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

const MANAGER: &str = "port-e2e";
const NAMESPACE: &str = "default";

async fn install<K: crdforge::CustomResource>(client: &Client) {
    let crd = crdforge_gen::checked_crd::<K>().unwrap_or_else(|e| panic!("{e}"));
    crdforge_envtest::apply_crd(client, MANAGER, &crd)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
}

/// The object as the Rust type writes it, without what the apiserver adds.
fn written<K: Serialize>(object: &K) -> Value {
    let mut value = serde_json::to_value(object).unwrap();
    value.as_object_mut().unwrap().remove("metadata");
    value
}

/// Creates `object`, reads it back through the Rust type, and checks that
/// it is what was sent; returns what was read.
async fn round_trip<K>(client: &Client, api: Api<K>, mut object: K) -> K
where
    K: crdforge::CustomResource + Resource<DynamicType = ()>,
    K: Clone + Debug + Serialize + DeserializeOwned,
{
    install::<K>(client).await;
    if let Some(namespace) = api.namespace() {
        object.meta_mut().namespace = Some(namespace.to_owned());
    }
    let name = object.name_any();
    let _ = api.delete(&name, &DeleteParams::default()).await;
    api.create(&PostParams::default(), &object)
        .await
        .unwrap_or_else(|e| panic!("creating {name}: {e}"));
    let read = api.get(&name).await.unwrap();
    assert_eq!(written(&read), written(&object), "{name} came back changed");
    read
}

fn database_spec() -> port::DatabaseSpec {
    port::DatabaseSpec {
        engine: port::Engine::Postgres,
        replicas: 3,
        storage: port::Storage {
            size: "10Gi".into(),
            class_name: Some("fast".into()),
        },
        backup: Some(port::BackupPolicy {
            schedule: "@daily".into(),
            retention_days: 30,
        }),
        users: vec![port::DatabaseUser {
            name: "app".into(),
            privileges: vec![port::Privilege::Read, port::Privilege::Write],
        }],
        parameters: BTreeMap::from([("max_connections".into(), "200".into())]),
    }
}

#[tokio::test]
async fn ten_kube_derive_kinds_round_trip_with_crdforge() {
    let client = crdforge_envtest::client()
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));

    let database = round_trip(
        &client,
        Api::namespaced(client.clone(), NAMESPACE),
        port::Database::new("orders", database_spec()),
    )
    .await;
    round_trip(
        &client,
        Api::namespaced(client.clone(), NAMESPACE),
        port::Cache::new(
            "sessions",
            port::CacheSpec {
                memory: "512Mi".into(),
                eviction: Some(port::Eviction::AllKeysLru),
                ports: vec![port::Port {
                    name: "redis".into(),
                    number: 6379,
                }],
            },
        ),
    )
    .await;
    round_trip(
        &client,
        Api::namespaced(client.clone(), NAMESPACE),
        port::Website::new(
            "docs",
            port::WebsiteSpec {
                domains: vec!["docs.example.com".into()],
                tls: Some(port::Tls {
                    secret_name: "docs-tls".into(),
                    redirect: true,
                }),
                routes: vec![port::Route {
                    path: "/api".into(),
                    backend: "api".into(),
                    headers: BTreeMap::from([("x-env".into(), "prod".into())]),
                }],
            },
        ),
    )
    .await;
    round_trip(
        &client,
        Api::namespaced(client.clone(), NAMESPACE),
        port::Queue::new(
            "events",
            port::QueueSpec {
                topics: BTreeMap::from([(
                    "audit".into(),
                    port::Topic {
                        partitions: 12,
                        retention: port::Retention {
                            hours: 168,
                            compact: true,
                        },
                    },
                )]),
            },
        ),
    )
    .await;
    round_trip(
        &client,
        Api::namespaced(client.clone(), NAMESPACE),
        port::Schedule::new(
            "nightly",
            port::ScheduleSpec {
                schedule: "0 3 * * *".into(),
                job: port::JobTemplate {
                    image: "busybox".into(),
                    args: vec!["echo".into(), "hi".into()],
                    env: vec![
                        port::EnvVar {
                            name: "A".into(),
                            value: Some("1".into()),
                        },
                        port::EnvVar {
                            name: "B".into(),
                            value: None,
                        },
                    ],
                },
                concurrency: port::ConcurrencyPolicy::Forbid,
            },
        ),
    )
    .await;
    round_trip(
        &client,
        Api::all(client.clone()),
        port::Certificate::new(
            "wildcard",
            port::CertificateSpec {
                dns_names: vec!["*.example.com".into()],
                issuer: port::IssuerRef {
                    name: "letsencrypt".into(),
                    kind: Some("ClusterIssuer".into()),
                },
                renew_before_days: Some(15),
            },
        ),
    )
    .await;
    round_trip(
        &client,
        Api::namespaced(client.clone(), NAMESPACE),
        port::Budget::new(
            "q3",
            port::BudgetSpec {
                teams: HashMap::from([(
                    "search".into(),
                    port::Limits {
                        cpu_millis: 4000,
                        memory_bytes: 8 << 30,
                        share: Some(0.25),
                    },
                )]),
            },
        ),
    )
    .await;
    round_trip(
        &client,
        Api::namespaced(client.clone(), NAMESPACE),
        port::AlertGroup::new(
            "latency",
            port::AlertGroupSpec {
                rules: vec![port::AlertRule {
                    alert: "SlowRequests".into(),
                    expr: "p99 > 1".into(),
                    severity: port::Severity::Critical,
                    for_seconds: Some(300),
                    labels: BTreeMap::from([("team".into(), "search".into())]),
                }],
            },
        ),
    )
    .await;
    round_trip(
        &client,
        Api::namespaced(client.clone(), NAMESPACE),
        port::Mirror::new(
            "upstream",
            port::MirrorSpec {
                source: port::Source {
                    git: Some(port::GitSource {
                        url: "https://example.com/repo.git".into(),
                        branch: None,
                    }),
                    oci: None,
                },
                interval_minutes: 10,
            },
        ),
    )
    .await;
    let tenant = round_trip(
        &client,
        Api::all(client.clone()),
        port::Tenant::new(
            "acme",
            port::TenantSpec {
                display_name: "ACME".into(),
                members: vec![port::Member {
                    email: "a@acme.example".into(),
                    role: port::Role::Owner,
                }],
                quota: Some(port::Quota {
                    namespaces: 5,
                    pods_per_namespace: 50,
                }),
            },
        ),
    )
    .await;

    // Statuses of schemars-only types go through the status subresource
    // whole (their configuration is the value) and come back unchanged.
    let condition = Condition {
        type_: "Ready".into(),
        status: "True".into(),
        reason: "Serving".into(),
        message: "all replicas ready".into(),
        last_transition_time: Time(
            k8s_openapi::jiff::Timestamp::from_second(1_700_000_000).unwrap(),
        ),
        observed_generation: Some(1),
    };
    let status = port::DatabaseStatus {
        ready_replicas: 3,
        conditions: vec![condition.clone()],
        endpoint: Some(port::Endpoint {
            host: "orders.default.svc".into(),
            port: 5432,
        }),
    };
    let databases: Api<port::Database> = Api::namespaced(client.clone(), NAMESPACE);
    let apply =
        port::DatabaseApply::new(&database.name_any(), NAMESPACE).with_status(status.clone());
    databases
        .patch_status(
            "orders",
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&apply),
        )
        .await
        .unwrap_or_else(|e| panic!("applying the status: {e}"));
    let read = databases.get("orders").await.unwrap();
    assert_eq!(read.status, Some(status));
    assert_eq!(
        read.spec, database.spec,
        "the status apply left the spec alone"
    );

    let tenants: Api<port::Tenant> = Api::all(client.clone());
    let tenant_status = port::TenantStatus {
        namespaces: vec!["acme-dev".into()],
        conditions: vec![condition],
    };
    tenants
        .patch_status(
            "acme",
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(
                &port::TenantApply::new(&tenant.name_any()).with_status(tenant_status.clone()),
            ),
        )
        .await
        .unwrap_or_else(|e| panic!("applying the tenant status: {e}"));
    assert_eq!(
        tenants.get("acme").await.unwrap().status,
        Some(tenant_status)
    );

    // A server-side apply of the spec with a schemars-only field set whole.
    let spec = port::DatabaseSpecApply::default()
        .with_replicas(5)
        .with_storage(port::Storage {
            size: "20Gi".into(),
            class_name: None,
        });
    databases
        .patch(
            "orders",
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&port::DatabaseApply::new("orders", NAMESPACE).with_spec(spec)),
        )
        .await
        .unwrap_or_else(|e| panic!("applying the spec: {e}"));
    let read = databases.get("orders").await.unwrap();
    assert_eq!(read.spec.replicas, 5);
    assert_eq!(read.spec.storage.size, "20Gi");

    // The nested type's `#[schemars(length(min = 1))]` is in the CRD, so
    // the apiserver enforces it.
    let mut bad = database_spec();
    bad.storage.size = String::new();
    let mut object = port::Database::new("empty-size", bad);
    object.metadata.namespace = Some(NAMESPACE.to_owned());
    let refused = databases
        .create(&PostParams::default(), &object)
        .await
        .expect_err("an empty size is refused");
    assert!(
        refused.to_string().contains("spec.storage.size"),
        "{refused}"
    );
}
