//! The webhooks the User controller serves, declared once: the CRD's
//! conversion webhook, a validating webhook (an email's domain must be one
//! the cluster's policy allows) and a defaulting one (a User without a quota
//! gets the policy's default quota). `cargo xtask gen` renders the CRD's
//! `spec.conversion` and `generated/deploy/user-webhooks/webhooks.yaml`
//! from here; the controller serves the paths; the end-to-end test
//! registers the same declaration with a URL on loopback.
//!
//! The admission webhooks are declared on the hub v1 with `matchPolicy:
//! Equivalent`: a v2 request is converted to v1 before they see it, so each
//! rule is written once, on one type.
//!
//! The Deployment's side of it is generated too
//! (`generated/deploy/user-controller/deployment.yaml`, from
//! [`crate::deploy`]): the certificate's Secret mounted read-only, the
//! webhook flags, the `webhook` port that the Service's `targetPort` names;
//! `cargo xtask gen` refuses a declaration whose pod and this one disagree.

use std::collections::BTreeMap;

use crdforge::crd::Definition;
use crdforge::webhook::{Admission, AdmissionKind, ClientConfig, Target, Webhooks};

use crate::{CONTROLLER_NAMESPACE, User, conversion};

/// The conversion webhook's path.
pub const CONVERT_PATH: &str = "/convert/users";
/// The validating webhook's path.
pub const VALIDATE_PATH: &str = "/validate/users";
/// The defaulting webhook's path.
pub const DEFAULT_PATH: &str = "/default/users";
/// The Service in front of the controller's webhook server (and the
/// cert-manager Certificate whose Secret it mounts).
pub const SERVICE: &str = "user-controller-webhooks";
/// The port the webhook server listens on in the pod.
pub const PORT: u16 = 9443;

/// The ConfigMap, in [`CONTROLLER_NAMESPACE`], that holds the admission
/// policy. The controller watches it: a change applies to the next request,
/// without a restart.
pub const POLICY_CONFIGMAP: &str = "user-policy";
/// Key of [`POLICY_CONFIGMAP`]: the email domains a User may have, separated
/// by commas or whitespace (`example.com, example.org`). Without the key
/// (or the ConfigMap) every domain is allowed; with it, only those listed.
pub const ALLOWED_DOMAINS_KEY: &str = "allowedDomains";
/// Key of [`POLICY_CONFIGMAP`]: the quota a User created without one gets,
/// as a JSON object of quantities (`{"pods": "10"}`).
pub const DEFAULT_QUOTA_KEY: &str = "defaultQuota";

/// Where the webhooks run in a cluster: the controller's Service, its CA
/// injected by cert-manager.
pub fn in_cluster() -> ClientConfig {
    ClientConfig {
        target: Target::Service {
            namespace: CONTROLLER_NAMESPACE.into(),
            name: SERVICE.into(),
            port: 443,
            path: "/".into(),
        },
        ca_bundle: None,
    }
}

/// The admission webhooks of User, reached at `client`.
pub fn webhooks(client: ClientConfig) -> Webhooks {
    Webhooks {
        name: SERVICE.into(),
        client,
        selector: BTreeMap::from([("app.kubernetes.io/name".into(), "user-controller".into())]),
        target_port: PORT,
        inject_ca_from: Some(format!("{CONTROLLER_NAMESPACE}/{SERVICE}")),
        admission: vec![
            // Only a new email is checked: the controller's own finalizer
            // patches (and every other update) do not call the webhook, so
            // they neither wait for it nor fail with it, and a User whose
            // domain the policy later drops can still be edited and deleted.
            Admission::for_kind::<User>(
                AdmissionKind::Validating,
                "validate.users.example.com",
                VALIDATE_PATH,
            )
            .timeout_seconds(5)
            .match_condition(
                "email-set-or-changed",
                "request.operation == 'CREATE' || object.spec.email != oldObject.spec.email",
            ),
            Admission::for_kind::<User>(
                AdmissionKind::Mutating,
                "default.users.example.com",
                DEFAULT_PATH,
            )
            .operations(&["CREATE"])
            .timeout_seconds(5),
        ],
    }
}

/// The CRD's definition: v1 (hub, storage) and v2, converted by the webhook
/// at `client`.
pub fn definition(client: ClientConfig) -> Definition {
    conversion::converter()
        .definition(webhooks(client).conversion(CONVERT_PATH))
        .expect("v1 and v2 of User merge")
}
