// Written as a kube-derive 5 user writes it: schemars' `JsonSchema` and
// serde on the spec and on every nested type, `#[kube(...)]` keys, doc
// comments and `#[schemars(...)]` attributes. `crate::port` includes this
// file twice, once after `use kube::CustomResource;` and once after
// `use crdforge::CustomResource;`: the one line a user changes.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A managed database.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "port.crdforge.dev",
    version = "v1",
    kind = "Database",
    namespaced,
    status = "DatabaseStatus",
    shortname = "db"
)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseSpec {
    /// Which engine runs it.
    pub engine: Engine,
    /// How many instances.
    pub replicas: i32,
    /// Where the data lives.
    pub storage: Storage,
    /// Backups, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupPolicy>,
    /// Accounts to create.
    #[serde(default)]
    pub users: Vec<DatabaseUser>,
    /// Engine parameters.
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
}

/// A database engine.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
pub enum Engine {
    /// PostgreSQL.
    Postgres,
    /// MySQL.
    Mysql,
}

/// Persistent storage.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Storage {
    /// A size such as `10Gi`.
    #[schemars(length(min = 1))]
    pub size: String,
    /// The storage class; the cluster's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_name: Option<String>,
}

/// When to back up and for how long to keep it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupPolicy {
    /// A cron schedule.
    pub schedule: String,
    /// Days to keep each backup.
    #[schemars(range(min = 1, max = 365))]
    pub retention_days: u32,
}

/// A database account.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
pub struct DatabaseUser {
    /// The login.
    pub name: String,
    /// Privileges granted.
    #[serde(default)]
    pub privileges: Vec<Privilege>,
}

/// A privilege.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Privilege {
    /// Read.
    Read,
    /// Write.
    Write,
    /// Everything.
    Admin,
}

/// What the controller observed.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseStatus {
    /// Instances ready.
    #[serde(default)]
    pub ready_replicas: i32,
    /// Standard conditions.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// The endpoint, once serving.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<Endpoint>,
}

/// Where clients connect.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct Endpoint {
    /// Host name.
    pub host: String,
    /// Port.
    pub port: u16,
}

/// An in-memory cache.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(group = "port.crdforge.dev", version = "v1", kind = "Cache", namespaced)]
#[serde(rename_all = "camelCase")]
pub struct CacheSpec {
    /// Memory, such as `512Mi`.
    pub memory: String,
    /// What to evict when full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eviction: Option<Eviction>,
    /// Ports to listen on.
    pub ports: Vec<Port>,
}

/// An eviction policy.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Eviction {
    /// Least recently used.
    AllKeysLru,
    /// Never evict.
    NoEviction,
}

/// A named port.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
pub struct Port {
    /// Its name.
    pub name: String,
    /// Its number.
    #[schemars(range(min = 1, max = 65535))]
    pub number: i32,
}

/// A static website.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(group = "port.crdforge.dev", version = "v1", kind = "Website", namespaced)]
#[serde(rename_all = "camelCase")]
pub struct WebsiteSpec {
    /// Host names served.
    pub domains: Vec<String>,
    /// TLS settings; plain HTTP when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<Tls>,
    /// Routes, in order.
    #[serde(default)]
    pub routes: Vec<Route>,
}

/// TLS settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tls {
    /// The secret holding the certificate.
    pub secret_name: String,
    /// Redirect HTTP to HTTPS.
    #[serde(default)]
    pub redirect: bool,
}

/// One route.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
pub struct Route {
    /// The path prefix.
    pub path: String,
    /// The backend service.
    pub backend: String,
    /// Headers to add.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// A message queue.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(group = "port.crdforge.dev", version = "v1", kind = "Queue", namespaced)]
pub struct QueueSpec {
    /// Topics by name.
    pub topics: BTreeMap<String, Topic>,
}

/// A topic.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
pub struct Topic {
    /// Partitions.
    pub partitions: u16,
    /// How long messages stay.
    pub retention: Retention,
}

/// Message retention.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Retention {
    /// Hours.
    pub hours: u32,
    /// Compact instead of delete.
    #[serde(default)]
    pub compact: bool,
}

/// A scheduled job.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(group = "port.crdforge.dev", version = "v1", kind = "Schedule", namespaced)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleSpec {
    /// A cron expression.
    pub schedule: String,
    /// The job to run.
    pub job: JobTemplate,
    /// What to do when a run is still going.
    pub concurrency: ConcurrencyPolicy,
}

/// A job to run.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
pub struct JobTemplate {
    /// The image.
    pub image: String,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Its environment.
    #[serde(default)]
    pub env: Vec<EnvVar>,
}

/// One environment variable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
pub struct EnvVar {
    /// Its name.
    pub name: String,
    /// Its value; empty when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// Overlapping runs.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
pub enum ConcurrencyPolicy {
    /// Run both.
    Allow,
    /// Skip the new one.
    Forbid,
    /// Stop the old one.
    Replace,
}

/// A TLS certificate, cluster-wide.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(group = "port.crdforge.dev", version = "v1", kind = "Certificate")]
#[serde(rename_all = "camelCase")]
pub struct CertificateSpec {
    /// Names on the certificate.
    pub dns_names: Vec<String>,
    /// Who signs it.
    pub issuer: IssuerRef,
    /// Days before expiry to renew.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renew_before_days: Option<u32>,
}

/// A reference to an issuer.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
pub struct IssuerRef {
    /// Its name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Its kind; `Issuer` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// A resource budget.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(group = "port.crdforge.dev", version = "v1", kind = "Budget", namespaced)]
pub struct BudgetSpec {
    /// Limits per team.
    pub teams: HashMap<String, Limits>,
}

/// Limits.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    /// CPU in millicores.
    pub cpu_millis: u32,
    /// Memory in bytes.
    pub memory_bytes: i64,
    /// Share of the cluster, 0 to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
}

/// Alerting rules.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(group = "port.crdforge.dev", version = "v1", kind = "AlertGroup", namespaced)]
pub struct AlertGroupSpec {
    /// The rules.
    pub rules: Vec<AlertRule>,
}

/// One alert.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertRule {
    /// Its name.
    pub alert: String,
    /// The query.
    pub expr: String,
    /// How bad it is.
    pub severity: Severity,
    /// Seconds it must hold before firing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_seconds: Option<u32>,
    /// Labels to attach.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// Severity.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Look soon.
    Warning,
    /// Look now.
    Critical,
}

/// A repository mirror.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(group = "port.crdforge.dev", version = "v1", kind = "Mirror", namespaced)]
#[serde(rename_all = "camelCase")]
pub struct MirrorSpec {
    /// What to mirror.
    pub source: Source,
    /// Minutes between syncs.
    pub interval_minutes: u32,
}

/// A source to mirror.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    /// A Git repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitSource>,
    /// An OCI image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oci: Option<OciSource>,
}

/// A Git repository.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
pub struct GitSource {
    /// Its URL.
    pub url: String,
    /// A branch; the default branch when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
}

/// An OCI image.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
pub struct OciSource {
    /// The image reference.
    pub image: String,
}

/// A tenant of the cluster.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(group = "port.crdforge.dev", version = "v1", kind = "Tenant", status = "TenantStatus")]
#[serde(rename_all = "camelCase")]
pub struct TenantSpec {
    /// Display name.
    pub display_name: String,
    /// People in it.
    pub members: Vec<Member>,
    /// Its quota; unlimited when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<Quota>,
}

/// A member.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
pub struct Member {
    /// Their e-mail.
    pub email: String,
    /// Their role.
    pub role: Role,
}

/// A role.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
pub enum Role {
    /// Owns it.
    Owner,
    /// Uses it.
    Member,
}

/// A quota.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Quota {
    /// Namespaces.
    pub namespaces: u32,
    /// Pods per namespace.
    pub pods_per_namespace: u32,
}

/// What the controller observed.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantStatus {
    /// Namespaces created.
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// Standard conditions.
    #[serde(default)]
    pub conditions: Vec<Condition>,
}
