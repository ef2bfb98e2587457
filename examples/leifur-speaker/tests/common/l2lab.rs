//! The L2 lab of `tests/l2.rs` and `tests/failover.rs`: a client namespace
//! and three node namespaces on one bridge, a speaker per node, an L2 pool
//! and a Service holding `VIP`.
//!
//! Each node namespace plays kube-proxy: it accepts traffic for the Service
//! address (on its loopback) with `arp_ignore=1`/`arp_announce=2`, so the
//! kernel never answers ARP for it — only the elected speaker does — and a
//! listener there tells the client which node it reached.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::Result;
use netns_harness::{Lab, Netns, Process};

use super::{Cluster, Listeners};

pub const VIP: &str = "192.0.2.100";
pub const PORT: u16 = 8080;

/// Fields drop in order: speakers and listeners first, the lab last.
pub struct L2Lab {
    pub speakers: BTreeMap<String, Process>,
    pub listeners: Listeners,
    pub cluster: Cluster,
    pub client: Netns,
    /// Node name → its MAC on the bridge.
    pub macs: BTreeMap<String, String>,
    pub namespaces: BTreeMap<String, Netns>,
    pub service: String,
    pub lab: Lab,
}

/// The node the client reaches on VIP:PORT with one connection attempt.
pub fn reached(client: &Netns) -> Result<String> {
    let addr = SocketAddr::new(VIP.parse()?, PORT);
    client.tcp_get(addr, 1, Duration::from_secs(2))
}

impl L2Lab {
    /// Builds the network and the nodes; checks nothing answers for VIP
    /// before any speaker runs; then makes the pool, starts the speakers,
    /// waits until they all see each other, and gives the Service VIP.
    pub async fn start() -> Result<Self> {
        let kube = super::setup().await?;
        let lab = Lab::new()?;
        let mut cluster = Cluster::new(kube);
        let client = lab.namespace("client")?;
        lab.attach(&client, "eth0", &["192.0.2.1/24"])?;

        let mut listeners = Listeners::default();
        let mut macs = BTreeMap::new();
        let mut namespaces = BTreeMap::new();
        for (i, role) in ["a", "b", "c"].into_iter().enumerate() {
            let ns = lab.namespace(role)?;
            let port = lab.attach(&ns, "eth0", &[&format!("192.0.2.{}/24", 11 + i)])?;
            for key in ["all", "eth0"] {
                ns.sysctl(&format!("net.ipv4.conf.{key}.arp_ignore"), "1")?;
                ns.sysctl(&format!("net.ipv4.conf.{key}.arp_announce"), "2")?;
            }
            ns.ip(&["addr", "add", &format!("{VIP}/32"), "dev", "lo"])?;
            let node = format!("{}-{role}", lab.id());
            listeners.serve(&ns, SocketAddr::new(VIP.parse()?, PORT), node.clone())?;
            cluster.node(&node).await?;
            macs.insert(node.clone(), port.mac);
            namespaces.insert(node, ns);
        }
        // Nothing answers for the address yet: the kernels stay quiet.
        anyhow::ensure!(
            reached(&client).is_err(),
            "the VIP answered before any speaker"
        );

        let pool = format!("{}-l2", lab.id());
        cluster
            .pool(
                &pool,
                serde_json::json!({
                    "addresses": ["192.0.2.96/28"],
                    "announce": {"l2": {"nodeSelector": {"matchLabels": {"leifur-e2e": "true"}}}}
                }),
            )
            .await?;
        let mut speakers = BTreeMap::new();
        for (node, ns) in &namespaces {
            speakers.insert(node.clone(), super::speaker(node, ns, &[])?);
        }
        let nodes: Vec<&str> = namespaces.keys().map(String::as_str).collect();
        super::full_membership(&nodes, Duration::from_secs(30)).await?;
        let service = format!("{}-web", lab.id());
        let vip: IpAddr = VIP.parse()?;
        cluster.service(&service, &[vip]).await?;
        Ok(Self {
            speakers,
            listeners,
            cluster,
            client,
            macs,
            namespaces,
            service,
            lab,
        })
    }

    /// The nodes' names, sorted.
    pub fn nodes(&self) -> Vec<&str> {
        self.namespaces.keys().map(String::as_str).collect()
    }
}
