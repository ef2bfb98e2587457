//! The User controller's webhook routes over HTTP on loopback, without an
//! apiserver: one conversion review of mixed versions, in both directions;
//! the validator's verdict and message, dry run or not; the defaulter's
//! patch. The apiserver's side is `tests/e2e/webhooks.rs`.

use crdforge_runtime::cache::Store;
use crdforge_runtime::server::{Running, Server};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::ObjectMeta;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use user_controller::admission::{
    ALLOWED_DOMAINS_KEY, DEFAULT_QUOTA_KEY, POLICY_CONFIGMAP, PolicySource,
};
use user_controller::api::conversion::CONVERSION_DATA;
use user_controller::api::webhooks::{CONVERT_PATH, DEFAULT_PATH, VALIDATE_PATH};

const V1: &str = "example.com/v1";
const V2: &str = "example.com/v2";

async fn serve() -> Running {
    let store = Store::default();
    store.apply(ConfigMap {
        metadata: ObjectMeta {
            name: Some(POLICY_CONFIGMAP.into()),
            namespace: Some("system".into()),
            ..Default::default()
        },
        data: Some(
            [
                (ALLOWED_DOMAINS_KEY.to_owned(), "example.com".to_owned()),
                (DEFAULT_QUOTA_KEY.to_owned(), r#"{"pods": "5"}"#.to_owned()),
            ]
            .into(),
        ),
        ..Default::default()
    });
    let policy = PolicySource::new(store, || true, "system");
    user_controller::run::webhook_routes(Server::new(), policy)
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// One POST on a fresh connection: status and JSON body.
async fn post(addr: std::net::SocketAddr, path: &str, body: &Value) -> (u16, Value) {
    let body = body.to_string();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = response.split_once("\r\n\r\n").unwrap().1;
    (status, serde_json::from_str(body).unwrap())
}

fn v1_user(name: &str, email: &str) -> Value {
    json!({"apiVersion": V1, "kind": "User",
           "metadata": {"name": name, "uid": format!("uid-{name}")},
           "spec": {"displayName": name, "email": email, "role": "edit", "groups": ["dev"]}})
}

fn v2_user(name: &str) -> Value {
    json!({"apiVersion": V2, "kind": "User",
           "metadata": {"name": name, "uid": format!("uid-{name}")},
           "spec": {"displayName": name, "email": format!("{name}@example.com"),
                    "access": {"role": "view"}, "team": "compilers"}})
}

fn conversion_review(objects: Vec<Value>, desired: &str) -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
           "request": {"uid": "review-1", "desiredAPIVersion": desired, "objects": objects}})
}

fn admission_review(object: &Value, dry_run: bool) -> Value {
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
           "request": {"uid": "adm-1",
                       "kind": {"group": "example.com", "version": "v1", "kind": "User"},
                       "resource": {"group": "example.com", "version": "v1", "resource": "users"},
                       "name": object["metadata"]["name"], "operation": "CREATE",
                       "userInfo": {"username": "tester"}, "object": object, "dryRun": dry_run}})
}

#[tokio::test]
async fn one_review_of_mixed_versions_converts_both_ways() {
    let server = serve().await;
    let addr = server.local_addr();
    let mixed = vec![v1_user("ada", "ada@example.com"), v2_user("grace")];

    let (status, answer) = post(addr, CONVERT_PATH, &conversion_review(mixed.clone(), V2)).await;
    assert_eq!(status, 200);
    let response = &answer["response"];
    assert_eq!(
        (&response["uid"], &response["result"]["status"]),
        (&json!("review-1"), &json!("Success"))
    );
    let converted = response["convertedObjects"].as_array().unwrap();
    assert_eq!(
        converted[0]["spec"],
        json!({"displayName": "ada", "email": "ada@example.com",
               "access": {"role": "edit", "groups": ["dev"]}})
    );
    assert_eq!(converted[0]["apiVersion"], V2);
    assert_eq!(converted[1], mixed[1], "already v2: unchanged");

    let (_, answer) = post(addr, CONVERT_PATH, &conversion_review(mixed.clone(), V1)).await;
    let converted = answer["response"]["convertedObjects"].as_array().unwrap();
    assert_eq!(converted[0], mixed[0], "already v1: unchanged");
    assert_eq!(converted[1]["spec"]["role"], "view");
    assert_eq!(
        converted[1]["metadata"]["annotations"][CONVERSION_DATA],
        r#"{"team":"compilers"}"#
    );
    assert_eq!(converted[1]["metadata"]["uid"], "uid-grace");
}

#[tokio::test]
async fn the_validator_denies_a_domain_the_policy_does_not_list_dry_run_or_not() {
    let server = serve().await;
    let addr = server.local_addr();
    for dry_run in [false, true] {
        let (status, answer) = post(
            addr,
            VALIDATE_PATH,
            &admission_review(&v1_user("eve", "eve@evil.test"), dry_run),
        )
        .await;
        assert_eq!(status, 200);
        let response = &answer["response"];
        assert_eq!(response["allowed"], false, "{answer}");
        assert_eq!(response["status"]["code"], 403);
        assert!(
            response["status"]["message"]
                .as_str()
                .unwrap()
                .starts_with("spec.email: the domain of `eve@evil.test` is not one this cluster allows (example.com)"),
            "{answer}"
        );
        let (_, answer) = post(
            addr,
            VALIDATE_PATH,
            &admission_review(&v1_user("ada", "ada@Example.COM"), dry_run),
        )
        .await;
        assert_eq!(answer["response"]["allowed"], true, "{answer}");
    }
}

#[tokio::test]
async fn the_defaulter_patches_in_the_default_quota_only() {
    let server = serve().await;
    let addr = server.local_addr();
    let (_, answer) = post(
        addr,
        DEFAULT_PATH,
        &admission_review(&v1_user("ada", "ada@example.com"), false),
    )
    .await;
    let response = &answer["response"];
    assert_eq!(response["allowed"], true);
    assert_eq!(response["patchType"], "JSONPatch");
    // kube-core writes the patch's bytes as a JSON array of numbers, not
    // base64; the apiserver applies it all the same (tests/e2e/webhooks.rs).
    let bytes: Vec<u8> = serde_json::from_value(response["patch"].clone()).unwrap();
    let patch: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        patch,
        json!([{"op": "add", "path": "/spec/quota", "value": {"pods": "5"}}])
    );
    assert!(
        response["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("spec.quota defaulted to pods=5"),
        "{answer}"
    );

    let mut own = v1_user("bob", "bob@example.com");
    own["spec"]["quota"] = json!({"pods": "1"});
    let (_, answer) = post(addr, DEFAULT_PATH, &admission_review(&own, false)).await;
    assert_eq!(answer["response"]["allowed"], true);
    assert!(answer["response"].get("patch").is_none(), "{answer}");
}
