//! What Leifur's speaker needs to run, rendered by `cargo xtask gen` into
//! `generated/deploy/leifur-speaker/`: a DaemonSet on the host's network
//! with `NET_RAW` (AF_PACKET sockets for ARP/NDP) and `NET_ADMIN`, and
//! RBAC for exactly the calls the speaker makes, and probes of its
//! `/healthz` and `/readyz`.
//!
//! The declaration lives outside the speaker crate so that generating
//! manifests compiles no Kubernetes client; the list below mirrors
//! `leifur_speaker::speaker` call by call, and the speaker's
//! `rbac_minimality` test checks it against the audit log of its
//! end-to-end tests, which run it as this ServiceAccount.

#![warn(missing_docs)]

use crdforge_gen::agent::AgentManifest;
use crdforge_gen::rbac::{ControllerManifest, Op, Probes, Uses};

/// Name of the speaker's ServiceAccount, roles and DaemonSet.
pub const NAME: &str = "leifur-speaker";
/// Namespace the speakers run in, and where their membership Leases live
/// (the speaker's `--namespace` default, `leifur_api::SPEAKER_NAMESPACE`).
pub const NAMESPACE: &str = "leifur-system";

/// The speaker's manifest.
pub fn agent_manifest() -> AgentManifest {
    AgentManifest {
        controller: ControllerManifest {
            name: NAME,
            namespace: NAMESPACE,
            image: "ghcr.io/crdforge/leifur-speaker:0.1.0",
            // Every read goes through an informer (list + watch).
            uses: vec![
                Uses::new("leifur.crdforge.dev", "ippools", &[Op::Watch]),
                Uses::new("", "services", &[Op::Watch]),
                Uses::new("", "nodes", &[Op::Watch]),
                // Warning Events about pools (in `default`, where kubectl
                // looks for a cluster-scoped object's Events).
                Uses::new("", "events", &[Op::Create]),
            ],
            // Membership: every speaker watches the Leases, applies its own
            // (server-side apply creates it the first time) and deletes it
            // when it shuts down, so that the others take over at once.
            own_namespace_uses: vec![
                Uses::new(
                    "coordination.k8s.io",
                    "leases",
                    &[Op::Watch, Op::Apply, Op::Delete],
                ),
                // BGP peers' TCP MD5 passwords, through an informer (list +
                // watch; no `get`, which the speaker never calls), in its
                // own namespace only.
                Uses::new("", "secrets", &[Op::Watch]),
            ],
            managed_namespaces: None,
            replicas: 1,
            args: vec![],
            // `leifur_speaker::METRICS_PORT`, held to it by the speaker's
            // tests. Ready means synced caches and a live membership Lease.
            metrics_port: 7472,
            probes: Some(Probes::HEALTHZ_READYZ),
            pod: crdforge_gen::rbac::Pod::default(),
        },
        host_network: true,
        capabilities: vec!["NET_RAW", "NET_ADMIN"],
    }
}
