//! Leifur's API, `leifur.crdforge.dev/v1alpha1`: the pools of addresses
//! that LoadBalancer Services get, and how each pool is announced.
//!
//! The CRD in `generated/crds/ippools.leifur.crdforge.dev.yaml` is
//! generated from these types by `cargo xtask gen`; the IPAM controller
//! (`examples/leifur-controller`) and the per-node speaker
//! (`examples/leifur-speaker`) both use them. Which pool an address belongs
//! to is never stored: it is derived with [`IPPool::contains`] from the
//! pools' `spec.addresses` and the Services' `status.loadBalancer`.
//!
//! The schema refuses what it can on its own: every address entry is checked
//! by CEL with Kubernetes' IP and CIDR library (`isCIDR`, `isIP`, `cidr()`,
//! `ip()`) — malformed, host bits set, mixed family, first after last — and
//! each refusal names the entry's index. Overlap between entries or pools
//! spans objects, which CEL cannot see; the controller reports it.
#![warn(missing_docs)]

pub mod addresses;
#[cfg(feature = "deploy")]
pub mod deploy;

use std::net::IpAddr;

use crdforge::crd::Definition;
use crdforge::webhook::{Admission, AdmissionKind, ClientConfig, Target, Webhooks};
use crdforge::{CustomResource, KubeSchema};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector};
use serde::{Deserialize, Serialize};

pub use addresses::{AddressError, AddressRange, Family};

/// The API group.
pub const GROUP: &str = "leifur.crdforge.dev";

/// The `spec.loadBalancerClass` that names Leifur. Services of another
/// class are not Leifur's; Services with none are.
pub const LOAD_BALANCER_CLASS: &str = "leifur.crdforge.dev/leifur";

/// Annotation on a Service naming the pool to take its addresses from.
pub const POOL_ANNOTATION: &str = "leifur.crdforge.dev/pool";

/// Annotation on a Service requesting addresses, comma-separated, at most
/// one per family (the dual-stack form of `spec.loadBalancerIP`).
pub const ADDRESSES_ANNOTATION: &str = "leifur.crdforge.dev/addresses";

/// Annotation on a Service that lets it share its address with other
/// Services carrying the same key, when their ports do not clash and one
/// set of nodes can serve them all: every one `externalTrafficPolicy:
/// Cluster`, or every one `Local` with the same pod selector.
pub const ALLOW_SHARED_IP_ANNOTATION: &str = "leifur.crdforge.dev/allow-shared-ip";

/// Name of the IPAM controller: field manager, ServiceAccount, Lease,
/// Deployment.
pub const CONTROLLER_NAME: &str = "leifur-controller";

/// Namespace of the speakers' membership Leases, by default.
pub const SPEAKER_NAMESPACE: &str = "leifur-system";

/// The name of a node's speaker Lease.
pub fn speaker_lease_name(node: &str) -> String {
    format!("leifur-speaker-{node}")
}

/// Whether a Service with this `spec.loadBalancerClass` is Leifur's.
pub fn is_our_class(class: Option<&str>) -> bool {
    class.is_none_or(|c| c == LOAD_BALANCER_CLASS)
}

/// The path of the validating webhook that refuses a pool overlapping
/// another (a rule across objects, which CEL cannot state).
pub const VALIDATE_POOLS_PATH: &str = "/validate/ippools";

/// The Service in front of the controller's webhook server, and the
/// cert-manager `Certificate` whose Secret the controller mounts.
pub const WEBHOOK_SERVICE: &str = "leifur-webhooks";
/// The port the webhook server listens on in the controller's pod.
pub const WEBHOOK_PORT: u16 = 9443;

/// Where the webhook runs in a cluster: the controller's Service in
/// [`SPEAKER_NAMESPACE`], its CA injected by cert-manager.
pub fn in_cluster() -> ClientConfig {
    ClientConfig {
        target: Target::Service {
            namespace: SPEAKER_NAMESPACE.into(),
            name: WEBHOOK_SERVICE.into(),
            port: 443,
            path: "/".into(),
        },
        ca_bundle: None,
    }
}

/// The admission webhooks of IPPool, reached at `client`: one validating
/// webhook on create and update that refuses overlap with another pool.
pub fn webhooks(client: ClientConfig) -> Webhooks {
    Webhooks {
        name: WEBHOOK_SERVICE.into(),
        client,
        selector: [(
            "app.kubernetes.io/name".to_string(),
            CONTROLLER_NAME.to_string(),
        )]
        .into(),
        target_port: WEBHOOK_PORT,
        inject_ca_from: Some(format!("{SPEAKER_NAMESPACE}/{WEBHOOK_SERVICE}")),
        admission: vec![
            Admission::for_kind::<IPPool>(
                AdmissionKind::Validating,
                "validate.ippools.leifur.crdforge.dev",
                VALIDATE_POOLS_PATH,
            )
            .timeout_seconds(5),
        ],
    }
}

/// Every custom resource version of this API, for `cargo xtask gen`.
pub fn definitions() -> Vec<Definition> {
    vec![<IPPool as crdforge::CustomResource>::definition()]
}

/// A pool of addresses for LoadBalancer Services, and how they are made
/// reachable.
// Clippy's `duplicated_attributes` reads two printer columns that share a
// `type_` inside one helper attribute as a repeated attribute; they are not.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[crd(
    group = "leifur.crdforge.dev",
    version = "v1alpha1",
    kind = "IPPool",
    plural = "ippools",
    shortname = "ipp",
    status = "IPPoolStatus",
    printcolumn(name = "Addresses", type_ = "string", json_path = ".spec.addresses"),
    printcolumn(
        name = "Auto Assign",
        type_ = "boolean",
        json_path = ".spec.autoAssign"
    ),
    printcolumn(
        name = "Assigned IPv4",
        type_ = "integer",
        json_path = ".status.assignedIPv4"
    ),
    printcolumn(
        name = "Assigned IPv6",
        type_ = "integer",
        json_path = ".status.assignedIPv6"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct IPPoolSpec {
    /// The addresses, each a CIDR (`192.0.2.0/24`, `2001:db8::/120`) or a
    /// range `first-last` of one family (`192.0.2.10-192.0.2.20`).
    #[crd(
        min_items = 1,
        max_items = 64,
        list_type = "set",
        items(
            max_length = 81,
            pattern = "^[0-9A-Fa-f.:/-]+$",
            validation(
                rule = "isCIDR(self) || (self.split('-').size() == 2 && isIP(self.split('-')[0]) && isIP(self.split('-')[1]))",
                message = "must be a CIDR (192.0.2.0/24) or a range first-last of two IP addresses (192.0.2.10-192.0.2.20)"
            ),
            validation(
                rule = "!isCIDR(self) || cidr(self) == cidr(self).masked()",
                message = "host bits are set: write the network address (192.0.2.0/24, not 192.0.2.1/24)"
            ),
            validation(
                rule = "isCIDR(self) || !(self.split('-').size() == 2 && isIP(self.split('-')[0]) && isIP(self.split('-')[1])) || ip(self.split('-')[0]).family() == ip(self.split('-')[1]).family()",
                message = "first and last must be of the same IP family"
            ),
            // No CEL function orders two addresses, so: first <= last when
            // they are equal, or when at the first bit n where they differ
            // (the longest prefix of first that still contains last), first
            // has a 0 (first/n+1 holds the network address of first/n).
            // The prefix lengths are string literals, not `string(n)`: the
            // apiserver's cost estimate takes a converted int for a string
            // of unbounded size and refuses the rule.
            validation(
                rule = r#"isCIDR(self) || !(self.split('-').size() == 2 && isIP(self.split('-')[0]) && isIP(self.split('-')[1]))
                  || ip(self.split('-')[0]).family() != ip(self.split('-')[1]).family()
                  || ip(self.split('-')[0]) == ip(self.split('-')[1])
                  || [
                       '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12', '13', '14', '15', '16', '17', '18', '19', '20', '21', '22', '23',
                       '24', '25', '26', '27', '28', '29', '30', '31', '32', '33', '34', '35', '36', '37', '38', '39', '40', '41', '42', '43', '44', '45', '46', '47',
                       '48', '49', '50', '51', '52', '53', '54', '55', '56', '57', '58', '59', '60', '61', '62', '63', '64', '65', '66', '67', '68', '69', '70', '71',
                       '72', '73', '74', '75', '76', '77', '78', '79', '80', '81', '82', '83', '84', '85', '86', '87', '88', '89', '90', '91', '92', '93', '94', '95',
                       '96', '97', '98', '99', '100', '101', '102', '103', '104', '105', '106', '107', '108', '109', '110', '111', '112', '113', '114', '115', '116', '117', '118', '119',
                       '120', '121', '122', '123', '124', '125', '126', '127', '128'
                     ].exists(n, int(n) < (ip(self.split('-')[0]).family() == 4 ? 32 : 128)
                     && cidr(self.split('-')[0] + '/' + n).containsIP(self.split('-')[1])
                     && !cidr(self.split('-')[0] + '/' + [
                       '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12', '13', '14', '15', '16', '17', '18', '19', '20', '21', '22', '23',
                       '24', '25', '26', '27', '28', '29', '30', '31', '32', '33', '34', '35', '36', '37', '38', '39', '40', '41', '42', '43', '44', '45', '46', '47',
                       '48', '49', '50', '51', '52', '53', '54', '55', '56', '57', '58', '59', '60', '61', '62', '63', '64', '65', '66', '67', '68', '69', '70', '71',
                       '72', '73', '74', '75', '76', '77', '78', '79', '80', '81', '82', '83', '84', '85', '86', '87', '88', '89', '90', '91', '92', '93', '94', '95',
                       '96', '97', '98', '99', '100', '101', '102', '103', '104', '105', '106', '107', '108', '109', '110', '111', '112', '113', '114', '115', '116', '117', '118', '119',
                       '120', '121', '122', '123', '124', '125', '126', '127', '128'
                     ][int(n) + 1]).containsIP(self.split('-')[1])
                     && cidr(self.split('-')[0] + '/' + [
                       '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12', '13', '14', '15', '16', '17', '18', '19', '20', '21', '22', '23',
                       '24', '25', '26', '27', '28', '29', '30', '31', '32', '33', '34', '35', '36', '37', '38', '39', '40', '41', '42', '43', '44', '45', '46', '47',
                       '48', '49', '50', '51', '52', '53', '54', '55', '56', '57', '58', '59', '60', '61', '62', '63', '64', '65', '66', '67', '68', '69', '70', '71',
                       '72', '73', '74', '75', '76', '77', '78', '79', '80', '81', '82', '83', '84', '85', '86', '87', '88', '89', '90', '91', '92', '93', '94', '95',
                       '96', '97', '98', '99', '100', '101', '102', '103', '104', '105', '106', '107', '108', '109', '110', '111', '112', '113', '114', '115', '116', '117', '118', '119',
                       '120', '121', '122', '123', '124', '125', '126', '127', '128'
                     ][int(n) + 1]).containsIP(cidr(self.split('-')[0] + '/' + n).masked().ip()))"#,
                message = "first address must not be after the last"
            )
        )
    )]
    pub addresses: Vec<String>,

    /// Whether Services that name no pool may get addresses from this one.
    #[serde(default = "default_true")]
    #[crd(default = true)]
    pub auto_assign: bool,

    /// Skip IPv4 addresses ending in `.0` and `.255`, which some old
    /// clients take for network or broadcast addresses.
    #[serde(default)]
    #[crd(default = false)]
    pub avoid_buggy_ips: bool,

    /// Lower is preferred when several pools may serve a Service; pools
    /// without a priority come after those with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,

    /// Which Services may take addresses from this pool; everyone when
    /// absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_allocation: Option<ServiceAllocation>,

    /// How the pool's addresses are made reachable.
    pub announce: Announce,
}

fn default_true() -> bool {
    true
}

/// Which Services may use a pool: all of the given conditions hold.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAllocation {
    /// Namespaces whose Services may use the pool; any when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[crd(
        list_type = "set",
        max_items = 64,
        items(
            min_length = 1,
            max_length = 63,
            pattern = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
        )
    )]
    pub namespaces: Vec<String>,
    /// Labels of the namespaces whose Services may use the pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
    /// Labels of the Services that may use the pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_selector: Option<LabelSelector>,
}

/// How a pool's addresses are announced: over L2 (ARP/NDP), BGP, or both.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[crd(at_least_one_of(l2, bgp))]
pub struct Announce {
    /// Answer ARP/NDP for each address from one elected node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l2: Option<L2Announce>,
    /// Advertise each address as a host route to BGP peers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bgp: Option<BgpAnnounce>,
}

/// L2 announcement.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct L2Announce {
    /// Nodes that may be elected; all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<LabelSelector>,
    /// Interfaces to answer on; all when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[crd(
        list_type = "set",
        max_items = 16,
        items(min_length = 1, max_length = 15, pattern = "^[^/\\s:]+$")
    )]
    pub interfaces: Vec<String>,
}

/// BGP announcement.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BgpAnnounce {
    /// Our autonomous system number.
    #[serde(rename = "myASN")]
    #[crd(minimum = 1)]
    pub my_asn: u32,
    /// The peers to advertise to.
    #[crd(
        min_items = 1,
        max_items = 16,
        list_type = "map",
        list_map_key = "address"
    )]
    pub peers: Vec<BgpPeer>,
    /// BGP communities attached to every route, `65000:100` form.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[crd(
        list_type = "set",
        max_items = 16,
        items(
            max_length = 11,
            pattern = "^[0-9]{1,5}:[0-9]{1,5}$",
            validation(
                rule = "self.split(':').all(p, int(p) <= 65535)",
                message = "each half of a community must be at most 65535"
            )
        )
    )]
    pub communities: Vec<String>,
    /// LOCAL_PREF attached to every route (iBGP only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_pref: Option<u32>,
}

/// One BGP peer.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BgpPeer {
    /// The peer's address.
    #[crd(
        max_length = 39,
        validation(rule = "isIP(self)", message = "must be an IP address")
    )]
    pub address: String,
    /// The peer's autonomous system number.
    #[crd(minimum = 1)]
    pub asn: u32,
    /// The peer's TCP port.
    #[serde(default = "default_bgp_port")]
    #[crd(default = 179u16, minimum = 1)]
    pub port: u16,
    /// Hold time proposed to the peer: 0s (no keepalives) or 3s to 65535s.
    #[serde(default = "default_hold_time")]
    #[crd(
        default = "90s".to_string(),
        max_length = 16,
        pattern = "^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$",
        validation(
            rule = "duration(self) == duration('0s') || (duration(self) >= duration('3s') && duration(self) <= duration('65535s'))",
            message = "must be 0s or between 3s and 65535s"
        )
    )]
    pub hold_time: String,
    /// The Secret key holding the TCP MD5 password (RFC 2385, 1 to 80
    /// bytes), in the speaker's namespace; a changed Secret restarts the
    /// session with the new password. When the Secret or key is missing,
    /// leifur-speaker opens no session with the peer and says so (Warning
    /// Event `BGPPeerRefused` on the pool, its log,
    /// `leifur_speaker_refused_bgp_peers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret_ref: Option<SecretKeyRef>,
}

fn default_bgp_port() -> u16 {
    179
}

fn default_hold_time() -> String {
    "90s".to_string()
}

/// A key of a Secret.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// The Secret's name.
    #[crd(min_length = 1, max_length = 253)]
    pub name: String,
    /// The key within the Secret.
    #[crd(min_length = 1, max_length = 253)]
    pub key: String,
}

/// What the controller observes of a pool. Counts above 2^63 - 1 (an IPv6
/// pool of more addresses) saturate there.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IPPoolStatus {
    /// Standard conditions: `Valid` (the entries parse and overlap no
    /// other pool's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[crd(list_type = "map", list_map_key = "type", max_items = 8)]
    pub conditions: Vec<Condition>,
    /// IPv4 addresses assigned to Services.
    #[serde(
        rename = "assignedIPv4",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub assigned_ipv4: Option<i64>,
    /// IPv6 addresses assigned to Services.
    #[serde(
        rename = "assignedIPv6",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub assigned_ipv6: Option<i64>,
    /// IPv4 addresses still free.
    #[serde(
        rename = "availableIPv4",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub available_ipv4: Option<i64>,
    /// IPv6 addresses still free.
    #[serde(
        rename = "availableIPv6",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub available_ipv6: Option<i64>,
}

impl IPPool {
    /// The pool's entries as ranges, in order; the first entry that does
    /// not parse is the error (the apiserver's CEL rules refuse such a pool,
    /// so this only fails on objects stored before them).
    pub fn ranges(&self) -> Result<Vec<AddressRange>, AddressError> {
        self.spec
            .addresses
            .iter()
            .map(|entry| AddressRange::parse(entry))
            .collect()
    }

    /// The first entry of this pool that overlaps an entry of `other`, as
    /// a message naming the field: `spec.addresses[i]: A overlaps B of
    /// IPPool other`. Entries that do not parse overlap nothing.
    pub fn overlap_with(&self, other: &IPPool) -> Option<String> {
        let theirs: Vec<AddressRange> = other
            .spec
            .addresses
            .iter()
            .filter_map(|e| AddressRange::parse(e).ok())
            .collect();
        self.spec
            .addresses
            .iter()
            .enumerate()
            .find_map(|(i, entry)| {
                let mine = AddressRange::parse(entry).ok()?;
                let hit = theirs.iter().find(|r| r.overlaps(&mine))?;
                Some(format!(
                    "spec.addresses[{i}]: {entry} overlaps {hit} of IPPool {}",
                    other.metadata.name.as_deref().unwrap_or_default()
                ))
            })
    }

    /// Whether `ip` is in one of the pool's ranges (entries that do not
    /// parse hold nothing).
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.spec
            .addresses
            .iter()
            .filter_map(|entry| AddressRange::parse(entry).ok())
            .any(|range| range.contains(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(addresses: &[&str]) -> IPPool {
        IPPool::new(
            "p",
            IPPoolSpec {
                addresses: addresses.iter().map(|s| s.to_string()).collect(),
                auto_assign: true,
                avoid_buggy_ips: false,
                priority: None,
                service_allocation: None,
                announce: Announce {
                    l2: Some(L2Announce::default()),
                    bgp: None,
                },
            },
        )
    }

    #[test]
    fn the_crd_passes_the_offline_apiserver_checks() {
        let crd = crdforge_gen::checked_crd::<IPPool>().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            crd.metadata.name.as_deref(),
            Some("ippools.leifur.crdforge.dev")
        );
        assert_eq!(crd.spec.scope, "Cluster");
        assert!(
            crd.spec.versions[0]
                .subresources
                .as_ref()
                .unwrap()
                .status
                .is_some()
        );
    }

    #[test]
    fn defaults_fill_in_on_read() {
        let spec: IPPoolSpec = serde_json::from_value(serde_json::json!({
            "addresses": ["192.0.2.0/24"],
            "announce": {"bgp": {"myASN": 64512, "peers": [{"address": "192.0.2.1", "asn": 64513}]}}
        }))
        .unwrap();
        assert!(spec.auto_assign && !spec.avoid_buggy_ips);
        let peer = &spec.announce.bgp.as_ref().unwrap().peers[0];
        assert_eq!((peer.port, peer.hold_time.as_str()), (179, "90s"));
        let back = serde_json::to_value(&spec).unwrap();
        assert_eq!(back["announce"]["bgp"]["myASN"], 64512);
    }

    #[test]
    fn a_pool_contains_what_its_entries_hold() {
        let p = pool(&["192.0.2.0/30", "2001:db8::10-2001:db8::1f"]);
        assert!(p.contains("192.0.2.3".parse().unwrap()));
        assert!(!p.contains("192.0.2.4".parse().unwrap()));
        assert!(p.contains("2001:db8::1a".parse().unwrap()));
        assert_eq!(p.ranges().unwrap().len(), 2);
        assert!(pool(&["nonsense"]).ranges().is_err());
        assert!(!pool(&["nonsense"]).contains("192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn overlap_names_the_entry_and_the_other_pool() {
        let mut other = pool(&["198.51.100.0/24", "192.0.2.0/25"]);
        other.metadata.name = Some("other".into());
        let mine = pool(&["203.0.113.0/24", "192.0.2.100-192.0.2.200"]);
        assert_eq!(
            mine.overlap_with(&other).as_deref(),
            Some(
                "spec.addresses[1]: 192.0.2.100-192.0.2.200 overlaps 192.0.2.0/25 of IPPool other"
            )
        );
        assert_eq!(pool(&["203.0.113.0/24"]).overlap_with(&other), None);
    }

    #[test]
    fn classes() {
        assert!(is_our_class(None));
        assert!(is_our_class(Some(LOAD_BALANCER_CLASS)));
        assert!(!is_our_class(Some("example.com/other")));
        assert_eq!(speaker_lease_name("n1"), "leifur-speaker-n1");
    }
}
