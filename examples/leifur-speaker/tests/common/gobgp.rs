//! GoBGP (Debian's `gobgpd`) as the speakers' BGP peer in a client
//! namespace: its config, and what the tests read back through its `gobgp`
//! CLI (the RIB, a neighbor's session state).

use std::path::Path;

use anyhow::{Context, Result};
use netns_harness::debian::Gobgp;
use netns_harness::{Netns, Process};
use serde_json::Value;

/// GoBGP's session state Established (`apipb.PeerState.SessionState`).
pub const ESTABLISHED: u64 = 6;

/// One neighbor of GoBGP: a node's address, and the TCP MD5 password GoBGP
/// requires of it (`auth-password`), if any.
pub struct Neighbor<'a> {
    pub address: &'a str,
    pub password: Option<&'a str>,
}

/// Starts GoBGP at `router` in AS `asn`, passive towards each neighbor (the
/// speakers connect; hold time 9 s), with its gRPC API on the client
/// namespace's loopback. Config and log go to `dir`.
pub fn start_gobgpd(
    gobgp: &Gobgp,
    client: &Netns,
    dir: &Path,
    router: &str,
    asn: u32,
    neighbors: &[Neighbor<'_>],
) -> Result<Process> {
    let mut config = format!(
        "[global.config]\n  as = {asn}\n  router-id = \"{router}\"\n  local-address-list = [\"{router}\"]\n"
    );
    for neighbor in neighbors {
        config.push_str(&format!(
            "[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{}\"\n    peer-as = {asn}\n",
            neighbor.address
        ));
        if let Some(password) = neighbor.password {
            config.push_str(&format!("    auth-password = \"{password}\"\n"));
        }
        config.push_str(
            "  [neighbors.transport.config]\n    passive-mode = true\n  \
             [neighbors.timers.config]\n    hold-time = 9\n    keepalive-interval = 3\n",
        );
    }
    let path = dir.join("gobgpd.toml");
    std::fs::write(&path, config)?;
    let log = std::fs::File::options()
        .create(true)
        .append(true)
        .open(dir.join("gobgpd.log"))?;
    let mut command = client.command(&gobgp.gobgpd);
    command
        .arg("-f")
        .arg(&path)
        .args(["-p", "--pprof-disable", "--api-hosts", "127.0.0.1:50051"])
        .stdout(log.try_clone()?)
        .stderr(log);
    Netns::spawn(&mut command)
}

/// `gobgp <args> -j` in the client namespace, parsed; empty output (an
/// empty RIB) is `Null`. Anything else must parse, or a withdrawal would be
/// "seen" in output the test failed to read.
fn json(gobgp: &Gobgp, client: &Netns, args: &[&str]) -> Result<Value> {
    let mut all = vec!["-u", "127.0.0.1", "-p", "50051"];
    all.extend_from_slice(args);
    all.push("-j");
    let out = client.exec(gobgp.gobgp.to_str().context("gobgp path")?, &all)?;
    Ok(match out.trim() {
        "" => Value::Null,
        text => serde_json::from_str(text).with_context(|| format!("gobgp {args:?}: {text}"))?,
    })
}

/// The paths GoBGP holds for `prefix` (`gobgp global rib -j`).
pub fn paths(gobgp: &Gobgp, client: &Netns, prefix: &str) -> Result<Vec<Value>> {
    Ok(json(gobgp, client, &["global", "rib"])?
        .get(prefix)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default())
}

/// GoBGP's view of its session with `neighbor`: the session state (see
/// [`ESTABLISHED`]) and how many OPEN messages it has received from it.
pub fn neighbor(gobgp: &Gobgp, client: &Netns, neighbor: &str) -> Result<(u64, u64)> {
    let all = json(gobgp, client, &["neighbor"])?;
    let entry = all
        .as_array()
        .into_iter()
        .flatten()
        .find(|n| n["conf"]["neighbor_address"].as_str() == Some(neighbor))
        .with_context(|| format!("GoBGP has no neighbor {neighbor}: {all}"))?;
    let state = &entry["state"];
    // Protobuf's JSON leaves zero values out.
    Ok((
        state["session_state"].as_u64().unwrap_or(0),
        state["messages"]["received"]["open"]
            .as_u64()
            .or_else(|| state["messages"]["received"]["open"].as_str()?.parse().ok())
            .unwrap_or(0),
    ))
}
