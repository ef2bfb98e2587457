//! The Backup API, `backups.example.org/v1`: a schedule for backing up a
//! namespace. The CRD in `config/crds/` is generated from these types by
//! `cargo xtask gen`.

use crdforge::crd::Definition;
use crdforge::{CustomResource, KubeSchema};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use serde::{Deserialize, Serialize};

// ANCHOR: types
/// A backup schedule for the namespace it lives in.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[crd(
    group = "example.org",
    version = "v1",
    kind = "Backup",
    namespaced,
    status = "BackupStatus",
    printcolumn(name = "Schedule", type_ = "string", json_path = ".spec.schedule")
)]
#[serde(rename_all = "camelCase")]
pub struct BackupSpec {
    /// When to run, in cron syntax.
    #[crd(min_length = 9, max_length = 64)]
    pub schedule: String,
    /// How many backups to keep.
    #[crd(minimum = 1, maximum = 100)]
    pub keep: i32,
}

/// What the controller last did.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BackupStatus {
    /// The generation the conditions describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` once the schedule's ConfigMap is in place.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}
// ANCHOR_END: types

/// Every custom resource version of this API, for `cargo xtask gen`.
pub fn definitions() -> Vec<Definition> {
    vec![Backup::definition()]
}

/// What the controller needs to run, for `cargo xtask gen`.
#[cfg(feature = "deploy")]
pub mod deploy {
    use crdforge_gen::rbac::{ControllerManifest, Op, Pod, Uses};

    // ANCHOR: deploy
    /// The controller's permissions and Deployment, declared as what its
    /// code does per resource; the verbs are derived from that.
    pub fn controller() -> ControllerManifest {
        ControllerManifest {
            name: "backup-controller",
            namespace: "backup-system",
            image: "registry.example.org/backup-controller:0.1.0",
            uses: vec![
                Uses::new(
                    "example.org",
                    "backups",
                    &[Op::Watch, Op::PatchStatus, Op::OwnsChildren],
                ),
                Uses::new("", "configmaps", &[Op::Watch, Op::Apply]),
            ],
            own_namespace_uses: vec![],
            managed_namespaces: None,
            replicas: 1,
            args: vec![],
            metrics_port: 8080,
            // This small controller serves no /healthz or /readyz, so no probes.
            probes: None,
            // The controller alone in its pod: no volumes, ports or sidecars.
            pod: Pod::default(),
        }
    }
    // ANCHOR_END: deploy
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CRD is one the apiserver accepts (structural schema, valid
    /// rules), checked offline; `cargo xtask gen` refuses to write it
    /// otherwise.
    #[test]
    fn the_crd_passes_the_offline_apiserver_check() {
        if let Err(problems) = crdforge_gen::checked_crd::<Backup>() {
            panic!("{problems:?}");
        }
    }

    /// What the apiserver would refuse is refused offline too.
    #[test]
    fn a_backup_keeping_nothing_is_refused() {
        let definition = Backup::definition();
        let (schema, _) = crdforge::crd::final_schema(&definition.versions[0]);
        let backup =
            |keep: i32| serde_json::json!({"spec": {"schedule": "0 3 * * *", "keep": keep}});
        assert!(crdforge_gen::validate::admit(&schema, &backup(7)).is_ok());
        let errors = crdforge_gen::validate::admit(&schema, &backup(0)).unwrap_err();
        assert!(errors.iter().any(|e| e.contains("spec.keep")), "{errors:?}");
    }
}
