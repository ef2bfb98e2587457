//! The User controller's webhooks on the real apiserver, which calls them
//! over TLS (URL client config on loopback, a test CA as `caBundle`): Users
//! created as v1 read back as v2 and the reverse, equal after conversion,
//! with v1 what is stored; the controller, on v1, provisions Users written
//! as v2; `kubectl get` in either version; a failed conversion's message
//! reaches the client; the validator denies a domain
//! the policy ConfigMap does not list, with its message through kubectl,
//! and allows it once the ConfigMap lists it, without a restart; an update
//! that keeps the email passes whatever the policy; the defaulter's quota
//! and warning; a dry-run create is defaulted and leaves nothing behind;
//! with the webhooks down, v1 reads and the controller (without webhooks)
//! carry on, v2 reads and creates fail saying why; restarted with a renewed
//! certificate, both resume.

use std::collections::BTreeMap;
use std::time::Duration;

use crdforge::webhook::{ClientConfig, Target, Webhooks};
use crdforge_envtest::pki::ServingPki;
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::api::rbac::v1::RoleBinding;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use user_controller::api::conversion::{CONVERSION_DATA, converter};
use user_controller::api::webhooks::{
    self, ALLOWED_DOMAINS_KEY, CONVERT_PATH, DEFAULT_QUOTA_KEY, POLICY_CONFIGMAP,
};
use user_controller::api::{Role, User, v2};

use crate::harness::*;

const V1: &str = "example.com/v1";
const V2: &str = "example.com/v2";
/// The field manager the harness applies the CRD with: applying the URL
/// form as the same manager lets the next `client()` put the generated
/// Service form back whole.
const CRD_MANAGER: &str = "user-controller-e2e";

/// The policy ConfigMap with these data, applied.
async fn set_policy(client: &Client, data: &[(&str, &str)]) {
    let config_map = ConfigMap {
        metadata: kube::api::ObjectMeta {
            name: Some(POLICY_CONFIGMAP.into()),
            namespace: Some(CONTROLLER_NAMESPACE.into()),
            ..Default::default()
        },
        data: Some(
            data.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        ),
        ..Default::default()
    };
    Api::<ConfigMap>::namespaced(client.clone(), CONTROLLER_NAMESPACE)
        .patch(
            POLICY_CONFIGMAP,
            &PatchParams::apply("user-webhooks-e2e").force(),
            &Patch::Apply(&config_map),
        )
        .await
        .unwrap();
}

/// The generated CRD with its conversion webhook at `hooks`' URL.
async fn register(client: &Client, hooks: &Webhooks) {
    let yaml =
        std::fs::read_to_string(workspace().join("generated/crds/users.example.com.yaml")).unwrap();
    let mut crd: CustomResourceDefinition = serde_saphyr::from_str(&yaml).unwrap();
    crd.spec.conversion = Some(hooks.conversion(CONVERT_PATH).to_crd());
    // Another suite on this control plane (fixtures' e2e applies every
    // generated CRD) may own `clientConfig.service` under its own manager;
    // our URL beside it would be refused ("exactly one of url or service").
    // Conversion off for a moment drops the client config whoever owns it.
    Api::<CustomResourceDefinition>::all(client.clone())
        .patch(
            "users.example.com",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({
                "spec": {"conversion": {"strategy": "None", "webhook": null}}
            })),
        )
        .await
        .unwrap();
    Api::<CustomResourceDefinition>::all(client.clone())
        .patch(
            "users.example.com",
            &PatchParams::apply(CRD_MANAGER).force(),
            &Patch::Apply(&crd),
        )
        .await
        .unwrap();
    let manifests = hooks.manifests();
    let params = PatchParams::apply("user-webhooks-e2e").force();
    let validating = manifests.validating.unwrap();
    Api::<ValidatingWebhookConfiguration>::all(client.clone())
        .patch(&validating.name_any(), &params, &Patch::Apply(&validating))
        .await
        .unwrap();
    let mutating = manifests.mutating.unwrap();
    Api::<MutatingWebhookConfiguration>::all(client.clone())
        .patch(&mutating.name_any(), &params, &Patch::Apply(&mutating))
        .await
        .unwrap();
}

fn v1_user(name: &str, role: Role, groups: &[&str]) -> User {
    user(name).role(role).groups(groups).build()
}

/// A v1 User with this email, to dry-run as a probe of the policy in force.
fn probe(email: &str) -> User {
    let mut user = user("hook-probe").build();
    user.spec.email = email.into();
    user
}

fn v2_user(name: &str, email: &str, team: Option<&str>) -> v2::User {
    v2::User::new(
        name,
        v2::UserSpec {
            display_name: format!("{name} (v2)"),
            email: email.into(),
            access: v2::Access {
                role: Role::View,
                groups: vec!["ops".into()],
            },
            quota: Some(BTreeMap::from([("pods".into(), Quantity("2".into()))])),
            team: team.map(Into::into),
        },
    )
}

/// `kubectl create -f` of an object; returns success and stderr.
fn kubectl_create(dir: &std::path::Path, object: &Value) -> (bool, String) {
    let path = dir.join("object.json");
    std::fs::write(&path, object.to_string()).unwrap();
    let out = kubectl(&["create", "-f", path.to_str().unwrap()]);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `(apiVersion, name)` of the Users kubectl lists as `resource` whose name
/// starts with `hook-`.
fn kubectl_list(resource: &str) -> Vec<(String, String)> {
    let out = kubectl(&["get", resource, "-o", "json"]);
    assert!(
        out.status.success(),
        "kubectl get {resource}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["apiVersion"].as_str().unwrap().to_owned(),
                i["metadata"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .filter(|(_, name)| name.starts_with("hook-"))
        .collect()
}

/// The object as etcd holds it, read over etcd's JSON gateway.
async fn from_etcd(key: &str) -> Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let state = crdforge_envtest::Instance::from_env()
        .state()
        .unwrap()
        .unwrap();
    // k8s-openapi's ByteString serializes as base64, which the gateway wants.
    let b64 = |bytes: &[u8]| serde_json::to_value(k8s_openapi::ByteString(bytes.to_vec())).unwrap();
    let body = json!({"key": b64(key.as_bytes())}).to_string();
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", state.ports.etcd_client))
        .await
        .unwrap();
    // HTTP/1.0: the answer is never chunked.
    let request = format!(
        "POST /v3/kv/range HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let answer: Value = serde_json::from_str(response.split_once("\r\n\r\n").unwrap().1).unwrap();
    let value: k8s_openapi::ByteString = serde_json::from_value(answer["kvs"][0]["value"].clone())
        .unwrap_or_else(|e| panic!("{e}: {answer}"));
    serde_json::from_slice(&value.0).unwrap()
}

/// Reads `name` as v1 and as v2 until both reads are of the same state
/// (the controller may write between them) and the v1 read, converted by
/// the webhook's own converter, is the v2 read.
async fn read_both(v1s: &Api<User>, v2s: &Api<v2::User>, name: &str) -> (User, v2::User) {
    eventually(
        &format!("{name} read as v1 and v2, equal after conversion"),
        Duration::from_secs(30),
        || async {
            let v1 = v1s.get(name).await.ok()?;
            let v2 = v2s.get(name).await.ok()?;
            let converted = converter()
                .convert(serde_json::to_value(&v1).unwrap(), V2)
                .unwrap();
            (converted == serde_json::to_value(&v2).unwrap()).then_some((v1, v2))
        },
    )
    .await
}

#[tokio::test]
async fn users_convert_between_v1_and_v2_and_are_admitted_by_the_controllers_webhooks() {
    let _serial = SERIAL.lock().await;
    let started = std::time::Instant::now();
    let client = client().await;
    // The controller's namespace, where the policy lives, comes with its RBAC.
    controller_kubeconfig();
    let dir = test_dir("webhooks");
    let pki = ServingPki::generate(&dir.join("pki"), &["127.0.0.1"]).unwrap();
    let port = free_port();
    set_policy(
        &client,
        &[
            (ALLOWED_DOMAINS_KEY, "example.com"),
            (DEFAULT_QUOTA_KEY, r#"{"pods": "10"}"#),
        ],
    )
    .await;
    let controller = ControllerProcess::start(
        &dir,
        &ControllerOptions {
            webhook: Some((port, pki.cert.clone(), pki.key.clone())),
            ..Default::default()
        },
    );
    // Ready includes "the certificate is loaded".
    controller.wait_ready().await;
    let hooks = webhooks::webhooks(ClientConfig {
        target: Target::Url(format!("https://127.0.0.1:{port}/")),
        ca_bundle: Some(pki.ca_pem.clone().into_bytes()),
    });
    register(&client, &hooks).await;
    let v1s: Api<User> = Api::all(client.clone());
    let v2s: Api<v2::User> = Api::all(client.clone());
    let dry = PostParams {
        dry_run: true,
        ..PostParams::default()
    };

    // The configurations take effect once the apiserver has seen them.
    eventually(
        "the validating webhook denies",
        Duration::from_secs(30),
        || async {
            match v1s.create(&dry, &probe("x@evil.test")).await {
                Err(kube::Error::Api(s)) if s.message.contains("evil.test") => Some(()),
                _ => None,
            }
        },
    )
    .await;

    // Created as v1, without a quota: defaulted, read back as v2.
    v1s.create(
        &PostParams::default(),
        &v1_user("hook-ada", Role::Edit, &["dev"]),
    )
    .await
    .unwrap();
    wait_ready(&v1s, "hook-ada", "True", "Provisioned").await;
    let (ada_v1, ada_v2) = read_both(&v1s, &v2s, "hook-ada").await;
    assert_eq!(ada_v2.spec.access.role, Role::Edit);
    assert_eq!(ada_v2.spec.access.groups, ["dev"]);
    assert_eq!(ada_v2.spec.team, None);
    let ten = BTreeMap::from([("pods".to_owned(), Quantity("10".into()))]);
    assert_eq!(ada_v2.spec.quota.as_ref(), Some(&ten), "defaulted");
    assert_eq!(ada_v1.spec.quota.as_ref(), Some(&ten));
    assert!(ada_v1.annotations().get(CONVERSION_DATA).is_none());

    // Created as v2, with a team v1 cannot hold: read back as v1 (the team
    // in the annotation), and as v2 unchanged. The controller, on v1,
    // provisions it with the role v2 put under `access`.
    let grace = v2_user("hook-grace", "grace@example.com", Some("compilers"));
    v2s.create(&PostParams::default(), &grace).await.unwrap();
    wait_ready(&v1s, "hook-grace", "True", "Provisioned").await;
    let (grace_v1, grace_v2) = read_both(&v1s, &v2s, "hook-grace").await;
    assert_eq!(grace_v2.spec, grace.spec);
    assert_eq!(
        (grace_v1.spec.role, grace_v1.spec.groups.clone()),
        (Role::View, vec!["ops".to_owned()])
    );
    assert_eq!(
        grace_v1
            .annotations()
            .get(CONVERSION_DATA)
            .map(String::as_str),
        Some(r#"{"team":"compilers"}"#)
    );
    let binding = Api::<RoleBinding>::namespaced(client.clone(), "hook-grace")
        .get("user-access")
        .await
        .unwrap();
    assert_eq!(binding.role_ref.name, "view");

    // v1 is the storage version, whatever version was written: etcd holds
    // the v2-written User as v1, its team in the annotation.
    let stored = from_etcd("/registry/example.com/users/hook-grace").await;
    assert_eq!(stored["apiVersion"], V1);
    assert_eq!(stored["spec"]["role"], "view");
    assert_eq!(
        stored["metadata"]["annotations"][CONVERSION_DATA],
        r#"{"team":"compilers"}"#
    );
    let crd = Api::<CustomResourceDefinition>::all(client.clone())
        .get("users.example.com")
        .await
        .unwrap();
    assert_eq!(
        crd.status.unwrap().stored_versions,
        Some(vec!["v1".to_owned()])
    );

    // kubectl in both versions.
    for (resource, version) in [("users.v1.example.com", V1), ("users.v2.example.com", V2)] {
        assert_eq!(
            kubectl_list(resource),
            [
                (version.to_owned(), "hook-ada".to_owned()),
                (version.to_owned(), "hook-grace".to_owned())
            ],
            "{resource}"
        );
    }

    // A conversion that fails: a v1 client wrote an annotation v2 cannot
    // read. v1 is unaffected; the v2 read gets the webhook's message, which
    // names the object and the annotation.
    let mut bad = v1_user("hook-bad", Role::View, &[]);
    bad.metadata.annotations = Some([(CONVERSION_DATA.to_owned(), "{not json".to_owned())].into());
    v1s.create(&PostParams::default(), &bad).await.unwrap();
    let error = v2s.get("hook-bad").await.unwrap_err().to_string();
    assert!(
        error.contains(&format!("User hook-bad: example.com/v1 to example.com/v2: annotation {CONVERSION_DATA} does not hold the stashed fields")),
        "{error}"
    );
    delete_users(&v1s, &["hook-bad"]).await;

    // Discovery prefers v2 (the highest version, whatever is stored): a
    // request naming no version, such as `kubectl get users`, is converted.
    let out = kubectl(&["get", "--raw", "/apis/example.com"]);
    let group: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(group["preferredVersion"]["version"], "v2", "{group}");

    // A domain the policy does not list: denied with the webhook's message,
    // through kubectl, in v2 as in v1.
    let eve = serde_json::to_value(v2_user("hook-eve", "eve@evil.test", None)).unwrap();
    let (created, stderr) = kubectl_create(&dir, &eve);
    assert!(!created);
    assert!(
        stderr.contains(
            "admission webhook \"validate.users.example.com\" denied the request: spec.email: the domain of `eve@evil.test` is not one this cluster allows (example.com)"
        ),
        "{stderr}"
    );

    // The policy lists it: allowed, with no restart of the controller.
    set_policy(
        &client,
        &[
            (ALLOWED_DOMAINS_KEY, "example.com, evil.test"),
            (DEFAULT_QUOTA_KEY, r#"{"pods": "10"}"#),
        ],
    )
    .await;
    let eve: v2::User = serde_json::from_value(eve).unwrap();
    eventually(
        "the new policy allows evil.test",
        Duration::from_secs(30),
        || async { v2s.create(&PostParams::default(), &eve).await.ok() },
    )
    .await;

    // The policy drops it again: an update that keeps the email passes (the
    // match condition does not even call the webhook), a new email is
    // checked against the old object.
    set_policy(&client, &[(ALLOWED_DOMAINS_KEY, "example.com")]).await;
    eventually(
        "the policy drops evil.test",
        Duration::from_secs(30),
        || async {
            match v1s.create(&dry, &probe("x@evil.test")).await {
                Err(kube::Error::Api(s)) if s.message.contains("evil.test") => Some(()),
                _ => None,
            }
        },
    )
    .await;
    v1s.patch(
        "hook-eve",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"displayName": "Eve, renamed"}})),
    )
    .await
    .unwrap();
    let error = v1s
        .patch(
            "hook-ada",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"email": "ada@evil.test"}})),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("the domain of `ada@evil.test`"), "{error}");

    // A new default quota: a dry-run create is defaulted in the answer,
    // stores nothing and provisions nothing.
    set_policy(
        &client,
        &[
            (ALLOWED_DOMAINS_KEY, "example.com"),
            (DEFAULT_QUOTA_KEY, r#"{"pods": "3"}"#),
        ],
    )
    .await;
    let three = BTreeMap::from([("pods".to_owned(), Quantity("3".into()))]);
    let mut dora = v2_user("hook-dora", "dora@example.com", None);
    dora.spec.quota = None;
    eventually("the new default quota", Duration::from_secs(30), || async {
        let answered = v2s.create(&dry, &dora).await.ok()?;
        (answered.spec.quota.as_ref() == Some(&three)).then_some(())
    })
    .await;
    assert!(v2s.get_opt("hook-dora").await.unwrap().is_none());

    // The defaulter's warning reaches kubectl.
    let kim = json!({"apiVersion": V1, "kind": "User", "metadata": {"name": "hook-kim"},
                     "spec": {"displayName": "Kim", "email": "kim@example.com"}});
    let (created, stderr) = kubectl_create(&dir, &kim);
    assert!(created, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "Warning: spec.quota defaulted to pods=3 (ConfigMap {POLICY_CONFIGMAP} key {DEFAULT_QUOTA_KEY})"
        )),
        "{stderr}"
    );
    let kim = wait_ready(&v1s, "hook-kim", "True", "Provisioned").await;
    assert_eq!(kim.spec.quota.as_ref(), Some(&three));
    // By now the controller has had every event before kim's: the dry run
    // left it nothing to act on.
    assert!(
        Api::<Namespace>::all(client.clone())
            .get_opt("hook-dora")
            .await
            .unwrap()
            .is_none()
    );

    // The webhooks down, still registered: v1, the storage version, reads
    // as before and v2 reads fail naming the conversion webhook; a create
    // fails (the defaulter fails closed); a controller serving no webhook
    // keeps working on v1 — its finalizer patches keep the email, so the
    // match condition calls no webhook — and deletion completes.
    drop(controller);
    assert_eq!(v1s.get("hook-grace").await.unwrap().spec, grace_v1.spec);
    let error = v2s.get("hook-grace").await.unwrap_err().to_string();
    assert!(error.contains("conversion webhook"), "{error}");
    let error = v1s
        .create(
            &PostParams::default(),
            &v1_user("hook-ivy", Role::View, &[]),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("failed calling webhook"), "{error}");
    let controller = ControllerProcess::start(&dir, &ControllerOptions::default());
    controller.wait_ready().await;
    delete_users(&v1s, &["hook-ada", "hook-grace", "hook-kim"]).await;
    drop(controller);

    // Restarted with a renewed certificate from the same CA on the same
    // port: conversion and admission resume with no step but the restart.
    pki.renew().unwrap();
    let controller = ControllerProcess::start(
        &dir,
        &ControllerOptions {
            webhook: Some((port, pki.cert.clone(), pki.key.clone())),
            ..Default::default()
        },
    );
    controller.wait_ready().await;
    let eve = eventually("conversion resumes", Duration::from_secs(30), || async {
        v2s.get("hook-eve").await.ok()
    })
    .await;
    assert_eq!(eve.spec.email, "eve@evil.test");
    eventually("admission resumes", Duration::from_secs(30), || async {
        match v1s.create(&dry, &probe("x@evil.test")).await {
            Err(kube::Error::Api(s)) if s.message.contains("evil.test") => Some(()),
            _ => None,
        }
    })
    .await;
    delete_users(&v1s, &["hook-eve"]).await;

    // Clean up, then put the generated CRD back (`harness::client` applies
    // it).
    remove_admission_webhooks(&client).await;
    let _ = Api::<ConfigMap>::namespaced(client.clone(), CONTROLLER_NAMESPACE)
        .delete(POLICY_CONFIGMAP, &Default::default())
        .await;
    crate::harness::client().await;
    drop(controller);
    eprintln!("user webhooks e2e took {:?}", started.elapsed());
}
