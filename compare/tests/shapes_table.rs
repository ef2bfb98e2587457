//! docs/serde-shapes-kube-derive.md (written by `tests/shapes_e2e.rs` on a
//! real apiserver) still covers the corpus: every kube-derive kind and every
//! corpus sample and refused value has a row, and no row names one that is
//! gone. The e2e test itself fails when a verdict changes.

#[test]
fn the_kube_derive_table_covers_the_corpus() {
    let table = include_str!("../../docs/serde-shapes-kube-derive.md");
    let rows: Vec<(&str, &str)> = table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| kind"))
        .filter_map(|l| {
            let mut cells = l.split(" | ");
            Some((cells.next()?.trim_start_matches("| "), cells.next()?))
        })
        .collect();
    let samples = crdforge_fixtures::shapes::samples();
    let refused = crdforge_fixtures::shapes::refused();
    for kind in crdforge_compare::shapes::kinds() {
        let of_kind: Vec<&str> = rows
            .iter()
            .filter(|(k, _)| *k == kind.kind)
            .map(|(_, v)| *v)
            .collect();
        assert!(!of_kind.is_empty(), "no row for {}", kind.kind);
        if of_kind == ["every value"] {
            continue;
        }
        for value in &of_kind {
            let name = value.trim_end_matches(" (to refuse)");
            assert!(
                samples
                    .iter()
                    .any(|s| s.name == name && s.kind == kind.corpus_kind)
                    || refused
                        .iter()
                        .any(|r| r.name == name && r.kind == kind.corpus_kind),
                "{}: row {name} names no sample of the corpus",
                kind.kind
            );
        }
        if kind.field.is_none() {
            for s in samples.iter().filter(|s| s.kind == kind.corpus_kind) {
                assert!(
                    of_kind.contains(&s.name),
                    "{}: sample {} has no row",
                    kind.kind,
                    s.name
                );
            }
        }
    }
}
