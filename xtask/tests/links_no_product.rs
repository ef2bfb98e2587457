//! `cargo xtask envtest …` and `cargo xtask ci` must work while the derive,
//! the generator or the runtime does not compile — that is when they are
//! needed. Cargo builds only a package's own dependency graph, so it is
//! enough that xtask's graph holds none of the product crates: a broken
//! derive is then never compiled by `cargo xtask`. Commands that need the
//! product (`gen`, `bench`) build and spawn it.

use std::process::Command;

const PRODUCT: &[&str] = &[
    "crdforge",
    "crdforge-schema",
    "crdforge-derive",
    "crdforge-gen",
    "crdforge-runtime",
    "crdforge-fixtures",
    "crdforge-compare",
    "crdforge-bench",
    "user-api",
    "user-controller",
    "xtask-gen",
];

#[test]
fn xtask_builds_without_any_product_crate() {
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--package",
            "xtask",
            "--edges",
            "normal,build",
            "--prefix",
            "none",
        ])
        .output()
        .expect("running cargo tree");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let listing = String::from_utf8(output.stdout).unwrap();
    for line in listing.lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        assert!(
            !PRODUCT.contains(&name),
            "xtask depends on {name}, so a compile error there breaks every xtask command:\n{listing}"
        );
    }
    assert!(listing.contains("crdforge-envtest"), "{listing}");
}
