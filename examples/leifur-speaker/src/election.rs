//! Which node announces an address: rendezvous (highest-random-weight)
//! hashing of (node, address) among the candidate nodes.
//!
//! Guarantees, each tested by name below:
//! - **deterministic**: every speaker computes the same winner from the same
//!   candidates, whatever order it lists them in, in any process or version
//!   (the hash is xxh3, a fixed algorithm, never std's randomly seeded one);
//! - **minimal disruption**: a node leaving moves only the addresses it held;
//!   a node joining takes over only addresses it now wins, from anyone;
//! - **spread**: addresses divide roughly evenly among candidates.

use std::net::IpAddr;

/// The weight of `node` for `address`. Node names cannot contain NUL, so
/// the separator makes (node, address) pairs hash unambiguously.
pub fn weight(node: &str, address: IpAddr) -> u64 {
    let mut bytes = Vec::with_capacity(node.len() + 17);
    bytes.extend_from_slice(node.as_bytes());
    bytes.push(0);
    match address {
        IpAddr::V4(v4) => bytes.extend_from_slice(&v4.octets()),
        IpAddr::V6(v6) => bytes.extend_from_slice(&v6.octets()),
    }
    xxhash_rust::xxh3::xxh3_64(&bytes)
}

/// The candidate with the highest weight for `address` (ties, which need a
/// 64-bit collision, go to the greater name), or `None` without candidates.
pub fn elect<'a>(
    candidates: impl IntoIterator<Item = &'a str>,
    address: IpAddr,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .max_by_key(|node| (weight(node, address), *node))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn nodes() -> impl Strategy<Value = Vec<String>> {
        proptest::collection::btree_set("[a-z][a-z0-9-]{0,12}", 1..8)
            .prop_map(|set| set.into_iter().collect())
    }

    fn address() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(IpAddr::from),
            any::<[u8; 16]>().prop_map(IpAddr::from),
        ]
    }

    #[test]
    fn nobody_is_elected_among_no_candidates() {
        assert_eq!(elect([], "192.0.2.1".parse().unwrap()), None);
    }

    #[test]
    fn the_weight_is_a_fixed_function() {
        // Pinned: a change of hash would make speakers of two versions
        // disagree during a rolling update.
        expect_test::expect!["0xebf1dc7aa8d67283"].assert_eq(&format!(
            "{:#018x}",
            weight("node-a", "192.0.2.10".parse().unwrap())
        ));
    }

    #[test]
    fn spread() {
        let candidates = ["node-a", "node-b", "node-c"];
        let mut wins = [0u32; 3];
        for i in 0..3000u32 {
            let address = IpAddr::from((0xc000_0200u32 + i).to_be_bytes());
            let winner = elect(candidates, address).unwrap();
            wins[candidates.iter().position(|n| *n == winner).unwrap()] += 1;
        }
        for count in wins {
            assert!((850..1150).contains(&count), "{wins:?}");
        }
    }

    proptest! {
        #[test]
        fn deterministic(nodes in nodes(), address in address()) {
            let winner = elect(nodes.iter().map(String::as_str), address).unwrap();
            prop_assert!(nodes.iter().any(|n| n == winner));
            let reversed = elect(nodes.iter().rev().map(String::as_str), address).unwrap();
            prop_assert_eq!(winner, reversed);
        }

        #[test]
        fn minimal_disruption_on_leave(nodes in nodes(), address in address(), gone in any::<usize>()) {
            let winner = elect(nodes.iter().map(String::as_str), address).unwrap().to_owned();
            let gone = &nodes[gone % nodes.len()];
            let rest = nodes.iter().filter(|n| *n != gone).map(String::as_str);
            let after = elect(rest, address);
            if *gone != winner {
                prop_assert_eq!(after, Some(winner.as_str()));
            }
        }

        #[test]
        fn minimal_disruption_on_join(nodes in nodes(), address in address(), new in "[A-Z]{1,5}") {
            let winner = elect(nodes.iter().map(String::as_str), address).unwrap();
            let after = elect(nodes.iter().map(String::as_str).chain([new.as_str()]), address).unwrap();
            prop_assert!(after == winner || after == new);
        }
    }
}
