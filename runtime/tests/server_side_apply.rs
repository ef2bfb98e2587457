//! The derives' apply configurations sent by the typed client to a real
//! apiserver: two field managers applying disjoint partial configurations
//! both keep their fields (down to single items of a `list_type = "map"`
//! list), a manager that leaves out a field it applied before removes it,
//! status goes through the status subresource, and a conflict is a 409
//! unless forced.

use std::time::Duration;

use crdforge::{CustomResource, KubeSchema};
use crdforge_runtime::client::{ApplyOptions, TypedClient, Verbs};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::runtime::wait::{await_condition, conditions};
use serde::{Deserialize, Serialize};
use serde_json::json;

const NAMESPACE: &str = "server-side-apply";

/// A namespaced kind with optional fields, a keyed list and a status.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[crd(
    group = "apply.crdforge.dev",
    version = "v1",
    kind = "Sprocket",
    namespaced,
    status = "SprocketStatus"
)]
pub struct SprocketSpec {
    /// How big.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i32>,
    /// What colour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colour: Option<String>,
    /// Ports, merged item by item on `name`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[crd(list_type = "map", list_map_key = "name")]
    pub ports: Vec<Port>,
}

/// One port.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Port {
    /// The key.
    pub name: String,
    /// The number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    /// The protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

/// What the sprocket reports.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct SprocketStatus {
    /// Whether it turns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<bool>,
}

async fn setup() -> kube::Client {
    let client = crdforge_envtest::client()
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let crd = crdforge_gen::checked_crd::<Sprocket>().unwrap_or_else(|e| panic!("{e}"));
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.patch(
        "sprockets.apply.crdforge.dev",
        &PatchParams::apply("apply-e2e").force(),
        &Patch::Apply(&crd),
    )
    .await
    .unwrap();
    tokio::time::timeout(
        Duration::from_secs(30),
        await_condition(
            crds,
            "sprockets.apply.crdforge.dev",
            conditions::is_crd_established(),
        ),
    )
    .await
    .unwrap()
    .unwrap();
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": NAMESPACE}})).unwrap();
    let _ = Api::<Namespace>::all(client.clone())
        .create(&Default::default(), &ns)
        .await;
    client
}

fn manager(client: &kube::Client, name: &str) -> Verbs<Sprocket> {
    TypedClient::<Sprocket>::new(client.clone(), name).namespace(NAMESPACE)
}

fn port(name: &str) -> PortApply {
    PortApply::default().with_name(name)
}

fn is_conflict(result: kube::Result<Sprocket>) -> bool {
    matches!(result, Err(kube::Error::Api(s)) if s.code == 409)
}

#[tokio::test]
async fn field_managers_own_what_their_configurations_set() {
    let client = setup().await;
    let a = manager(&client, "manager-a");
    let b = manager(&client, "manager-b");
    let name = "s1";
    // A clean slate, whatever an earlier run against this instance left.
    let _ = a.delete(name, &DeleteParams::default()).await;
    tokio::time::timeout(Duration::from_secs(30), async {
        while a.get_opt(name).await.unwrap().is_some() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .unwrap();
    let object = || SprocketApply::new(name, NAMESPACE);
    let plain = ApplyOptions::default();

    // Two managers, disjoint fields: both keep theirs, down to the items of
    // a keyed list and the fields within one item.
    a.apply_configuration(
        &object().with_spec(
            SprocketSpecApply::default()
                .with_size(1)
                .with_ports(vec![port("http").with_port(80)]),
        ),
        &plain,
    )
    .await
    .unwrap();
    let both = b
        .apply_configuration(
            &object().with_label("team", "b").with_spec(
                SprocketSpecApply::default()
                    .with_colour("red")
                    .with_ports(vec![
                        port("metrics").with_port(9090),
                        port("http").with_protocol("TCP"),
                    ]),
            ),
            &plain,
        )
        .await
        .unwrap();
    assert_eq!(both.spec.size, Some(1));
    assert_eq!(both.spec.colour.as_deref(), Some("red"));
    assert_eq!(both.labels().get("team").map(String::as_str), Some("b"));
    let http = Port {
        name: "http".into(),
        port: Some(80),
        protocol: Some("TCP".into()),
    };
    let metrics = Port {
        name: "metrics".into(),
        port: Some(9090),
        protocol: None,
    };
    // Item order follows the merge, which is not what this test is about.
    let mut ports = both.spec.ports.clone();
    ports.sort_by(|x, y| x.name.cmp(&y.name));
    assert_eq!(ports, vec![http, metrics]);

    // A manager that leaves out what it applied before gives it up, and
    // with no other owner the apiserver removes it; the other manager's
    // fields stay.
    let fewer = b
        .apply_configuration(
            &object().with_spec(SprocketSpecApply::default().with_colour("red")),
            &plain,
        )
        .await
        .unwrap();
    assert_eq!(fewer.spec.size, Some(1));
    assert_eq!(fewer.spec.colour.as_deref(), Some("red"));
    assert!(!fewer.labels().contains_key("team"));
    assert_eq!(
        fewer.spec.ports,
        vec![Port {
            name: "http".into(),
            port: Some(80),
            protocol: None,
        }]
    );

    // Status goes through the status subresource, which ignores the spec.
    let status = a
        .apply_status_configuration(
            &object()
                .with_spec(SprocketSpecApply::default().with_size(99))
                .with_status(SprocketStatusApply::default().with_ready(true)),
            &plain,
        )
        .await
        .unwrap();
    assert_eq!(status.status, Some(SprocketStatus { ready: Some(true) }));
    assert_eq!(
        status.spec.size,
        Some(1),
        "the status subresource ignores the spec"
    );
    assert!(status.managed_fields().iter().any(|f| {
        f.manager.as_deref() == Some("manager-a")
            && f.operation.as_deref() == Some("Apply")
            && f.subresource.as_deref() == Some("status")
    }));

    // A field another manager owns: 409 without force, taken over with it.
    let size_2 = object().with_spec(SprocketSpecApply::default().with_colour("red").with_size(2));
    assert!(is_conflict(b.apply_configuration(&size_2, &plain).await));
    assert_eq!(a.get(name).await.unwrap().spec.size, Some(1));
    let forced = b
        .apply_configuration(&size_2, &ApplyOptions::force())
        .await
        .unwrap();
    assert_eq!(forced.spec.size, Some(2));
    // The force moved the ownership: now the first manager conflicts.
    let size_1 = object().with_spec(
        SprocketSpecApply::default()
            .with_size(1)
            .with_ports(vec![port("http").with_port(80)]),
    );
    assert!(is_conflict(a.apply_configuration(&size_1, &plain).await));

    a.delete(name, &DeleteParams::default()).await.unwrap();
}
