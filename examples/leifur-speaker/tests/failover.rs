//! Failover time, measured in the L2 lab of `tests/l2.rs`
//! (`common::l2lab`): the elected speaker is SIGKILLed; the test records how
//! long until the client's neighbour entry for the address points at the
//! successor's MAC (the successor's gratuitous ARP, unless the client asked
//! first) and until the client's next TCP connection reaches the successor;
//! then the killed speaker is started again, takes its address back, and
//! the next round begins. `LEIFUR_FAILOVER_ROUNDS` rounds (default 1, at
//! most 20); the figures go to stdout on one line starting with
//! `LEIFUR_FAILOVER `, which `cargo xtask bench --only leifur` reads
//! (`cargo xtask envtest run -- cargo test -p leifur-speaker --features e2e --test failover -- --nocapture`).
//! The speakers run with the e2e tests' 2 s Lease, renewed every 400 ms.

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use common::eventually;
use common::l2lab::{L2Lab, VIP, reached};
use leifur_speaker::election::elect;

/// How long one failover may take before the round fails.
const LIMIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_successor_answers_within_seconds_of_a_sigkill() -> Result<()> {
    let rounds: usize = match std::env::var("LEIFUR_FAILOVER_ROUNDS") {
        Ok(value) => value.parse().context("LEIFUR_FAILOVER_ROUNDS")?,
        Err(_) => 1,
    };
    ensure!(
        (1..=20).contains(&rounds),
        "LEIFUR_FAILOVER_ROUNDS must be 1 to 20"
    );
    let mut l2 = L2Lab::start().await?;
    let client = l2.client.clone();
    let vip: IpAddr = VIP.parse()?;
    let nodes: Vec<String> = l2.nodes().into_iter().map(str::to_owned).collect();
    let elected = elect(nodes.iter().map(String::as_str), vip)
        .unwrap()
        .to_owned();
    let rest: Vec<&str> = nodes
        .iter()
        .map(String::as_str)
        .filter(|n| *n != elected)
        .collect();
    let successor = elect(rest.iter().copied(), vip).unwrap().to_owned();
    let successor_mac = l2.macs[&successor].clone();

    let mut neighbour = Vec::new();
    let mut connect = Vec::new();
    for round in 0..rounds {
        eventually(
            "the client reaches the elected node",
            Duration::from_secs(30),
            async || Ok(reached(&client).ok().filter(|node| *node == elected)),
        )
        .await?;
        l2.speakers.get_mut(&elected).unwrap().kill()?;
        let killed = Instant::now();
        let (mut moved, mut reached_at) = (None, None);
        // Bounded: LIMIT, polled every 20 ms at most.
        for _ in 0..(LIMIT.as_millis() / 20) {
            if moved.is_none() && client.ip(&["neigh", "show", VIP])?.contains(&successor_mac) {
                moved = Some(killed.elapsed());
            }
            if reached_at.is_none() && reached(&client).ok().as_deref() == Some(successor.as_str())
            {
                reached_at = Some(killed.elapsed());
            }
            if (moved.is_some() && reached_at.is_some()) || killed.elapsed() > LIMIT {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let moved = moved.with_context(|| format!("round {round}: ARP never moved"))?;
        let reached_at =
            reached_at.with_context(|| format!("round {round}: the successor never answered"))?;
        println!(
            "round {round}: neighbour entry moved after {moved:?}, connection after {reached_at:?}"
        );
        neighbour.push(moved.as_secs_f64());
        connect.push(reached_at.as_secs_f64());
        // Back to three speakers: the killed node rejoins and, elected
        // again, takes its address back.
        let ns = l2.namespaces[&elected].clone();
        l2.speakers
            .insert(elected.clone(), common::speaker(&elected, &ns, &[])?);
        let all: Vec<&str> = nodes.iter().map(String::as_str).collect();
        common::full_membership(&all, Duration::from_secs(30)).await?;
    }
    println!(
        "LEIFUR_FAILOVER {}",
        serde_json::json!({"neighbour_seconds": neighbour, "connect_seconds": connect})
    );
    Ok(())
}
