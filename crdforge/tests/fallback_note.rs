//! The note of the schemars fallback: a field whose type derives only
//! schemars' `JsonSchema` gets a `deprecated` warning at the field, naming
//! the type and what crdforge's derive would add; a field marked
//! `#[crd(schemars)]` or of a native type gets none. The case denies the
//! lint so that trybuild sees it. Re-bless with `TRYBUILD=overwrite cargo
//! test -p crdforge --features schemars --test fallback_note`.
//!
//! The `.stderr` is pinned to the rustc the derive's UI tests are pinned to
//! (`derive/tests/ui/RUSTC_VERSION`, one file for both), for the reason
//! given in `derive/tests/ui.rs`.

use std::process::Command;

const PINNED: &str = include_str!("../../derive/tests/ui/RUSTC_VERSION");

#[test]
fn the_fallback_warns_where_it_is_taken_and_errors_stay_where_not() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let output = Command::new(rustc).arg("--version").output().unwrap();
    let running = String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        running,
        PINNED.trim(),
        "tests/ui/fallback_note.stderr is pinned to rustc {}: re-bless on this rustc with \
         TRYBUILD=overwrite and update derive/tests/ui/RUSTC_VERSION with the derive's files",
        PINNED.trim()
    );
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
