//! The scope rules of the typed client are compile errors, each with the
//! error it must be (a typo in a case fails with another one): one case per
//! rule in `tests/ui/scope/<case>.rs` with its `.stderr`. Re-bless with
//! `TRYBUILD=overwrite cargo test -p crdforge-runtime --test ui` after
//! reading the new messages.
//!
//! The `.stderr` files are pinned to the rustc in `tests/ui/RUSTC_VERSION`,
//! as the derive's UI tests are: another rustc words errors differently.

use std::process::Command;

/// The rustc the `.stderr` files were blessed with.
const PINNED: &str = include_str!("ui/RUSTC_VERSION");

fn rustc_version() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let output = Command::new(rustc)
        .arg("--version")
        .output()
        .expect("running rustc --version");
    // "rustc 1.95.0 (59807616e 2026-04-14)" -> "1.95.0"
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn ui() {
    let pinned = PINNED.trim();
    let running = rustc_version();
    assert_eq!(
        running, pinned,
        "the UI test's .stderr files are pinned to rustc {pinned} (tests/ui/RUSTC_VERSION), \
         this is rustc {running}: use rustc {pinned}, or re-bless with TRYBUILD=overwrite and \
         update RUSTC_VERSION in the same commit"
    );
    trybuild::TestCases::new().compile_fail("tests/ui/*/*.rs");
}
