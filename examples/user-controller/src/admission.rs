//! The User admission webhooks, on the hub v1 (the apiserver converts a v2
//! request before calling): a validating one — a User's email must have a
//! domain the cluster's policy allows — and a defaulting one — a User
//! created without a quota gets the policy's default quota.
//!
//! The policy is the ConfigMap [`POLICY_CONFIGMAP`] in the controller's
//! namespace, read from an informer's cache on every request, so an edit
//! applies to the next request without a restart. Its keys:
//! - [`ALLOWED_DOMAINS_KEY`]: domains separated by commas or whitespace,
//!   compared without case (domains are case-insensitive). Absent (or no
//!   ConfigMap): every domain is allowed.
//! - [`DEFAULT_QUOTA_KEY`]: a JSON object of quantities. Absent: no default.
//!
//! A policy that does not parse denies every request it would decide,
//! naming the key, rather than admitting unchecked; so does a cache not yet
//! synced (the client sees the message and tries again).
//!
//! Neither webhook has side effects, so both are called for dry-run
//! requests too and answer them as they would the real one.

use std::collections::BTreeMap;
use std::sync::Arc;

use crdforge_runtime::cache::Store;
use crdforge_runtime::webhook::{Context, Denial, Warning};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::api::User;
pub use crate::api::webhooks::{ALLOWED_DOMAINS_KEY, DEFAULT_QUOTA_KEY, POLICY_CONFIGMAP};

/// The admission policy, as the ConfigMap states it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Policy {
    /// Lowercase domains an email may have; `None` allows every domain.
    pub allowed_domains: Option<Vec<String>>,
    /// The quota of a User created without one.
    pub default_quota: Option<BTreeMap<String, Quantity>>,
}

impl Policy {
    /// Reads the policy from the ConfigMap, or the empty policy without
    /// one; an error names the ConfigMap and the key.
    pub fn from_config_map(config_map: Option<&ConfigMap>) -> Result<Self, String> {
        let Some(config_map) = config_map else {
            return Ok(Self::default());
        };
        let data = config_map.data.clone().unwrap_or_default();
        let at = |key: &str| {
            format!(
                "ConfigMap {}/{} key {key}",
                config_map.metadata.namespace.as_deref().unwrap_or_default(),
                config_map.metadata.name.as_deref().unwrap_or_default()
            )
        };
        let allowed_domains = data.get(ALLOWED_DOMAINS_KEY).map(|list| {
            list.split(|c: char| c == ',' || c.is_whitespace())
                .filter(|d| !d.is_empty())
                .map(str::to_ascii_lowercase)
                .collect::<Vec<_>>()
        });
        let default_quota = data
            .get(DEFAULT_QUOTA_KEY)
            .map(|json| {
                serde_json::from_str::<BTreeMap<String, Quantity>>(json).map_err(|e| {
                    format!(
                        "{}: not a JSON object of quantities: {e}",
                        at(DEFAULT_QUOTA_KEY)
                    )
                })
            })
            .transpose()?;
        Ok(Self {
            allowed_domains,
            default_quota,
        })
    }

    /// Denies an email whose domain is not allowed.
    pub fn check_email(&self, email: &str) -> Result<(), Denial> {
        let Some(allowed) = &self.allowed_domains else {
            return Ok(());
        };
        let domain = email.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase());
        if domain.as_ref().is_some_and(|d| allowed.contains(d)) {
            return Ok(());
        }
        Err(Denial::new(format!(
            "spec.email: the domain of `{email}` is not one this cluster allows ({}); see ConfigMap {POLICY_CONFIGMAP} key {ALLOWED_DOMAINS_KEY}",
            if allowed.is_empty() {
                "none is".to_owned()
            } else {
                allowed.join(", ")
            }
        )))
    }
}

/// Where the webhooks read the policy: the cache of an informer on the
/// policy ConfigMap, and whether it has synced.
#[derive(Clone)]
pub struct PolicySource {
    store: Store<ConfigMap>,
    synced: Arc<dyn Fn() -> bool + Send + Sync>,
    namespace: String,
}

impl PolicySource {
    /// The policy in `namespace`, from `store` once `synced` says so.
    pub fn new(
        store: Store<ConfigMap>,
        synced: impl Fn() -> bool + Send + Sync + 'static,
        namespace: &str,
    ) -> Self {
        Self {
            store,
            synced: Arc::new(synced),
            namespace: namespace.to_owned(),
        }
    }

    /// The policy now in force.
    pub fn current(&self) -> Result<Policy, Denial> {
        if !(self.synced)() {
            return Err(Denial::new(
                "the user-controller has not read its policy yet; try again",
            ));
        }
        let config_map = self
            .store
            .get_named(Some(&self.namespace), POLICY_CONFIGMAP);
        Policy::from_config_map(config_map.as_deref()).map_err(Denial::new)
    }
}

/// The validating webhook: a new or changed email must have an allowed
/// domain. An update that keeps the email is allowed whatever the policy
/// says now (the declaration's match condition does not even send it), so
/// tightening the policy never blocks edits or the deletion of existing
/// Users.
pub fn validate(
    policy: &PolicySource,
    new: &User,
    old: Option<&User>,
    _ctx: &Context,
) -> Result<Vec<Warning>, Denial> {
    if old.is_some_and(|old| old.spec.email == new.spec.email) {
        return Ok(Vec::new());
    }
    policy.current()?.check_email(&new.spec.email)?;
    Ok(Vec::new())
}

/// The defaulting webhook: a User created without a quota gets the
/// policy's default quota, and a warning saying so.
pub fn default(policy: &PolicySource, user: &mut User, _ctx: &Context) -> Vec<Warning> {
    if user.spec.quota.is_some() {
        return Vec::new();
    }
    // A policy that does not parse is the validator's to refuse (it names
    // the key); the defaulter leaves the object alone.
    let Ok(Policy {
        default_quota: Some(quota),
        ..
    }) = policy.current()
    else {
        return Vec::new();
    };
    let listed = quota
        .iter()
        .map(|(k, v)| format!("{k}={}", v.0))
        .collect::<Vec<_>>()
        .join(", ");
    user.spec.quota = Some(quota);
    vec![format!(
        "spec.quota defaulted to {listed} (ConfigMap {POLICY_CONFIGMAP} key {DEFAULT_QUOTA_KEY})"
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_map(data: &[(&str, &str)]) -> ConfigMap {
        ConfigMap {
            metadata: kube::api::ObjectMeta {
                name: Some(POLICY_CONFIGMAP.into()),
                namespace: Some("ns".into()),
                ..Default::default()
            },
            data: Some(
                data.iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn without_a_policy_every_domain_is_allowed_and_nothing_defaulted() {
        let policy = Policy::from_config_map(None).unwrap();
        assert_eq!(policy, Policy::default());
        policy.check_email("x@anything.test").unwrap();
        let policy = Policy::from_config_map(Some(&config_map(&[]))).unwrap();
        policy.check_email("x@anything.test").unwrap();
    }

    #[test]
    fn domains_are_listed_by_commas_or_whitespace_and_compared_without_case() {
        let policy = Policy::from_config_map(Some(&config_map(&[(
            ALLOWED_DOMAINS_KEY,
            " Example.com,example.org\n  corp.example ",
        )])))
        .unwrap();
        assert_eq!(
            policy.allowed_domains.as_deref().unwrap(),
            ["example.com", "example.org", "corp.example"]
        );
        policy.check_email("ada@EXAMPLE.com").unwrap();
        policy.check_email("ada@corp.example").unwrap();
        let denial = policy.check_email("eve@evil.test").unwrap_err();
        assert!(
            denial.message.starts_with(
                "spec.email: the domain of `eve@evil.test` is not one this cluster allows (example.com, example.org, corp.example)"
            ),
            "{denial}"
        );
        // A subdomain is another domain, and no @ means no domain.
        policy.check_email("ada@sub.example.com").unwrap_err();
        policy.check_email("example.com").unwrap_err();
    }

    #[test]
    fn an_empty_list_allows_no_domain() {
        let policy =
            Policy::from_config_map(Some(&config_map(&[(ALLOWED_DOMAINS_KEY, " ")]))).unwrap();
        let denial = policy.check_email("ada@example.com").unwrap_err();
        assert!(denial.message.contains("(none is)"), "{denial}");
    }

    #[test]
    fn the_default_quota_is_json_and_a_bad_one_names_the_key() {
        let policy = Policy::from_config_map(Some(&config_map(&[(
            DEFAULT_QUOTA_KEY,
            r#"{"pods": "10", "requests.cpu": "2"}"#,
        )])))
        .unwrap();
        assert_eq!(policy.default_quota.unwrap()["pods"], Quantity("10".into()));
        let error = Policy::from_config_map(Some(&config_map(&[(DEFAULT_QUOTA_KEY, "pods=10")])))
            .unwrap_err();
        assert!(
            error.starts_with(&format!(
                "ConfigMap ns/{POLICY_CONFIGMAP} key {DEFAULT_QUOTA_KEY}: not a JSON object"
            )),
            "{error}"
        );
    }

    fn source(data: Option<&[(&str, &str)]>, synced: bool) -> PolicySource {
        let store = Store::default();
        if let Some(data) = data {
            store.apply(config_map(data));
        }
        PolicySource::new(store, move || synced, "ns")
    }

    fn user(email: &str) -> User {
        User::new(
            "ada",
            crate::api::UserSpec {
                display_name: "Ada".into(),
                email: email.into(),
                role: Default::default(),
                groups: Vec::new(),
                quota: None,
            },
        )
    }

    fn ctx() -> Context {
        Context {
            operation: kube::core::admission::Operation::Create,
            dry_run: false,
            user: Default::default(),
            namespace: None,
            name: "ada".into(),
            sub_resource: None,
        }
    }

    #[test]
    fn the_validator_checks_new_emails_and_lets_unchanged_ones_pass() {
        let policy = source(Some(&[(ALLOWED_DOMAINS_KEY, "example.com")]), true);
        validate(&policy, &user("ada@example.com"), None, &ctx()).unwrap();
        validate(&policy, &user("ada@evil.test"), None, &ctx()).unwrap_err();
        let old = user("ada@evil.test");
        validate(&policy, &user("ada@evil.test"), Some(&old), &ctx()).unwrap();
        validate(&policy, &user("eve@evil.test"), Some(&old), &ctx()).unwrap_err();
    }

    #[test]
    fn an_unsynced_cache_or_a_broken_policy_denies_saying_why() {
        let unsynced = source(None, false);
        let denial = validate(&unsynced, &user("ada@example.com"), None, &ctx()).unwrap_err();
        assert!(
            denial.message.contains("not read its policy yet"),
            "{denial}"
        );
        let broken = source(Some(&[(DEFAULT_QUOTA_KEY, "[")]), true);
        let denial = validate(&broken, &user("ada@example.com"), None, &ctx()).unwrap_err();
        assert!(denial.message.contains(DEFAULT_QUOTA_KEY), "{denial}");
    }

    #[test]
    fn the_defaulter_fills_a_missing_quota_only() {
        let policy = source(Some(&[(DEFAULT_QUOTA_KEY, r#"{"pods": "10"}"#)]), true);
        let mut ada = user("ada@example.com");
        let warnings = default(&policy, &mut ada, &ctx());
        assert_eq!(
            ada.spec.quota,
            Some(BTreeMap::from([("pods".into(), Quantity("10".into()))]))
        );
        assert_eq!(
            warnings,
            [format!(
                "spec.quota defaulted to pods=10 (ConfigMap {POLICY_CONFIGMAP} key {DEFAULT_QUOTA_KEY})"
            )]
        );
        let mut own = user("bob@example.com");
        own.spec.quota = Some(BTreeMap::from([("pods".into(), Quantity("1".into()))]));
        let before = own.clone();
        assert!(default(&policy, &mut own, &ctx()).is_empty());
        assert_eq!(own.spec, before.spec);
        let mut none = user("carl@example.com");
        assert!(default(&source(None, true), &mut none, &ctx()).is_empty());
        assert_eq!(none.spec.quota, None);
    }
}
