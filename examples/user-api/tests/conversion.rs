//! v1 ⇄ v2 of User without an apiserver: lossless round trips on generated
//! values of both versions, what a conversion keeps and carries, and the
//! CRD both versions make.

use proptest::prelude::*;
use serde_json::json;
use user_api::conversion::{self, CONVERSION_DATA};
use user_api::{User, v2, webhooks};

const V1: &str = "example.com/v1";
const V2: &str = "example.com/v2";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// v1 → v2 → v1 is the identity: v2 can say everything v1 can.
    #[test]
    fn v1_to_v2_to_v1_is_the_identity(user in crdforge::testing::valid::<User>()) {
        let converter = conversion::converter();
        let original = serde_json::to_value(&user).unwrap();
        let spoke = converter.convert(original.clone(), V2).unwrap();
        prop_assert_eq!(&spoke["apiVersion"], V2);
        prop_assert_eq!(&spoke["spec"]["access"]["role"], &original["spec"]["role"]);
        let back = converter.convert(spoke, V1).unwrap();
        prop_assert_eq!(back, original);
    }

    /// v2 → v1 → v2 is the identity: v2's `team` survives v1 in the
    /// annotation, which the way back removes again.
    #[test]
    fn v2_to_v1_to_v2_is_the_identity(user in crdforge::testing::valid::<v2::User>()) {
        let converter = conversion::converter();
        let original = serde_json::to_value(&user).unwrap();
        let hub = converter.convert(original.clone(), V1).unwrap();
        prop_assert_eq!(&hub["apiVersion"], V1);
        prop_assert_eq!(
            hub["metadata"]["annotations"].get(CONVERSION_DATA).is_some(),
            user.spec.team.is_some()
        );
        let back = converter.convert(hub, V2).unwrap();
        prop_assert_eq!(back, original);
    }
}

#[test]
fn conversion_moves_access_keeps_metadata_and_status_and_carries_the_team() {
    let converter = conversion::converter();
    let v2 = json!({
        "apiVersion": V2, "kind": "User",
        "metadata": {"name": "ada", "uid": "uid-ada", "resourceVersion": "7",
                     "labels": {"team": "a"}, "annotations": {"note": "kept"}},
        "spec": {"displayName": "Ada", "email": "ada@example.com",
                 "access": {"role": "edit", "groups": ["dev"]},
                 "quota": {"pods": "10"}, "team": "compilers"},
        "status": {"namespace": "ada", "observedGeneration": 3}
    });
    let v1 = converter.convert(v2.clone(), V1).unwrap();
    assert_eq!(
        v1["spec"],
        json!({"displayName": "Ada", "email": "ada@example.com", "role": "edit",
               "groups": ["dev"], "quota": {"pods": "10"}})
    );
    assert_eq!(v1["status"], v2["status"]);
    let meta = &v1["metadata"];
    assert_eq!(
        (&meta["uid"], &meta["resourceVersion"], &meta["labels"]),
        (&json!("uid-ada"), &json!("7"), &json!({"team": "a"}))
    );
    assert_eq!(
        meta["annotations"],
        json!({"note": "kept", CONVERSION_DATA: r#"{"team":"compilers"}"#})
    );
    assert_eq!(converter.convert(v1, V2).unwrap(), v2);
}

#[test]
fn a_stale_annotation_on_a_v2_object_does_not_come_back_as_the_team() {
    let converter = conversion::converter();
    let v2 = json!({
        "apiVersion": V2, "kind": "User",
        "metadata": {"name": "ada", "annotations": {CONVERSION_DATA: r#"{"team":"old"}"#}},
        "spec": {"displayName": "Ada", "email": "ada@example.com", "access": {"role": "view"}}
    });
    let v1 = converter.convert(v2, V1).unwrap();
    assert!(v1["metadata"].get("annotations").is_none(), "{v1}");
    let back = converter.convert(v1, V2).unwrap();
    assert!(back["spec"].get("team").is_none(), "{back}");
}

#[test]
fn an_annotation_that_does_not_parse_is_an_error_naming_it() {
    let converter = conversion::converter();
    let v1 = json!({
        "apiVersion": V1, "kind": "User",
        "metadata": {"name": "ada", "annotations": {CONVERSION_DATA: "{not json"}},
        "spec": {"displayName": "Ada", "email": "ada@example.com"}
    });
    let error = converter.convert(v1, V2).unwrap_err();
    assert!(error.message.contains("User ada"), "{error}");
    assert!(error.message.contains(CONVERSION_DATA), "{error}");
}

#[test]
fn the_annotation_is_the_conventional_one() {
    assert_eq!(
        CONVERSION_DATA,
        crdforge::conversion::conversion_data_key::<User>()
    );
}

#[test]
fn the_crd_serves_both_versions_stores_v1_and_converts_by_webhook() {
    let crd = crdforge_gen::crd::build(&webhooks::definition(webhooks::in_cluster()))
        .unwrap_or_else(|e| panic!("{e}"));
    crdforge_gen::crd::check_crd(&crd).unwrap_or_else(|p| panic!("{p:?}"));
    let versions: Vec<_> = crd
        .spec
        .versions
        .iter()
        .map(|v| (v.name.as_str(), v.served, v.storage))
        .collect();
    // Listed by version priority, as the apiserver orders them.
    assert_eq!(versions, [("v2", true, false), ("v1", true, true)]);
    let conversion = crd.spec.conversion.as_ref().unwrap();
    assert_eq!(conversion.strategy, "Webhook");
    let webhook = conversion.webhook.as_ref().unwrap();
    assert_eq!(webhook.conversion_review_versions, ["v1"]);
    let service = webhook
        .client_config
        .as_ref()
        .unwrap()
        .service
        .as_ref()
        .unwrap();
    assert_eq!(
        (
            service.namespace.as_str(),
            service.name.as_str(),
            service.path.as_deref()
        ),
        (
            user_api::CONTROLLER_NAMESPACE,
            webhooks::SERVICE,
            Some(webhooks::CONVERT_PATH)
        )
    );
}
