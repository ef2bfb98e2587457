//! Counting a contender's requests in the apiserver's audit log, shared
//! by the harnesses that run controllers (the controller and Leifur
//! benchmarks): the control plane logs one event per request of its admin
//! user, and the harness's own requests carry [`HARNESS_AGENT`] and are left
//! out.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::Path;

use anyhow::{Context, Result};
use kube::Client;
use serde::{Deserialize, Serialize};

/// The User-Agent of the harness's own requests, which the request count
/// leaves out.
pub const HARNESS_AGENT: &str = "crdforge-bench-harness";
/// The user every contender and the harness authenticate as (envtest's admin).
pub const ADMIN_USER: &str = "crdforge-admin";

/// Requests in a slice of the audit log.
#[derive(Serialize, Default, Debug)]
pub struct Requests {
    /// Every request.
    pub total: u64,
    /// Creates, updates, patches and deletes.
    pub writes: u64,
    /// `verb resource[/subresource]` → count.
    pub by_kind: BTreeMap<String, u64>,
}

/// A client for the control plane in `KUBECONFIG`, whose requests carry
/// [`HARNESS_AGENT`].
pub async fn harness_client() -> Result<Client> {
    let mut config = kube::Config::infer().await.context("loading KUBECONFIG")?;
    config.headers.push((
        http::header::USER_AGENT,
        http::HeaderValue::from_static(HARNESS_AGENT),
    ));
    Client::try_from(config).context("building the harness's client")
}

pub fn file_len(path: &Path) -> Result<u64> {
    Ok(fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len())
}

/// One audit event, the fields counted.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuditEvent {
    #[serde(rename = "auditID")]
    audit_id: String,
    verb: String,
    #[serde(default)]
    user_agent: String,
    user: AuditUser,
    #[serde(default)]
    object_ref: Option<AuditObjectRef>,
}

#[derive(Deserialize)]
struct AuditUser {
    #[serde(default)]
    username: String,
}

#[derive(Deserialize)]
struct AuditObjectRef {
    #[serde(default)]
    resource: String,
    #[serde(default)]
    subresource: String,
}

/// Counts the contender's requests in the audit log from byte `start` on.
pub fn count_requests(path: &Path, start: u64) -> Result<Requests> {
    let mut file = fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    file.seek(SeekFrom::Start(start))?;
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    tally(&text)
}

/// Requests in audit-log lines, each counted once by `auditID` (a watch
/// logs both `ResponseStarted` and `ResponseComplete`), leaving out other
/// users and the harness. A partial last line (still being written) is
/// skipped.
pub fn tally(text: &str) -> Result<Requests> {
    let mut seen = HashSet::new();
    let mut requests = Requests::default();
    for line in text.lines().filter(|l| l.ends_with('}')) {
        let event: AuditEvent =
            serde_json::from_str(line).with_context(|| format!("parsing audit line {line}"))?;
        if event.user.username != ADMIN_USER
            || event.user_agent.starts_with(HARNESS_AGENT)
            || !seen.insert(event.audit_id)
        {
            continue;
        }
        requests.total += 1;
        if matches!(
            event.verb.as_str(),
            "create" | "update" | "patch" | "delete" | "deletecollection"
        ) {
            requests.writes += 1;
        }
        let resource = event.object_ref.map_or_else(String::new, |o| {
            if o.subresource.is_empty() {
                o.resource
            } else {
                format!("{}/{}", o.resource, o.subresource)
            }
        });
        *requests
            .by_kind
            .entry(format!("{} {resource}", event.verb))
            .or_default() += 1;
    }
    Ok(requests)
}
