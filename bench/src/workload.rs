//! Inputs shared by the suites, computed identically on the Go side.

/// The keyspace of the work-queue suite: `ns-NN/object-NNNNNN` keys, built
/// before timing. Go: `makeKeys` in `go/workqueue.go`.
pub fn queue_keys(keyspace: u64) -> Vec<String> {
    (0..keyspace)
        .map(|i| format!("ns-{:02}/object-{i:06}", i % 50))
        .collect()
}

/// Which key each add uses: splitmix64 of the add's index, modulo the
/// keyspace, so duplicates arrive as they would at random. Go: `keyOrder`.
pub fn key_order(ops: u64, keyspace: u64) -> Vec<u32> {
    assert!(
        keyspace > 0 && keyspace <= u64::from(u32::MAX),
        "keyspace out of range"
    );
    (0..ops)
        .map(|j| {
            let mut z = (j + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            u32::try_from(z % keyspace).expect("below the keyspace, which fits u32")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_matches_splitmix64_reference_values() {
        // splitmix64 seeded with 0 yields these first outputs (Vigna's
        // reference implementation); the Go side must agree.
        let raw = key_order(3, u64::from(u32::MAX));
        let expect = [
            0xE220_A839_7B1D_CDAF_u64,
            0x6E78_9E6A_A1B9_65F4,
            0x06C4_5D18_8009_454F,
        ];
        for (got, want) in raw.iter().zip(expect) {
            assert_eq!(u64::from(*got), want % u64::from(u32::MAX));
        }
    }

    #[test]
    fn keys_are_distinct_and_namespaced() {
        let keys = queue_keys(120);
        assert_eq!(keys[0], "ns-00/object-000000");
        assert_eq!(keys[51], "ns-01/object-000051");
        let unique: std::collections::HashSet<_> = keys.iter().collect();
        assert_eq!(unique.len(), 120);
    }
}
