//! Every class of user error is a compile error at the right span, with a
//! message that says what to do. One case per class, in
//! `tests/ui/<area>/<case>.rs` with its `.stderr`; `many_errors` shows that
//! errors accumulate. Re-bless with `TRYBUILD=overwrite cargo test -p
//! crdforge-derive --test ui` after reviewing the new messages.
//!
//! The `.stderr` files are pinned on purpose to the rustc in
//! `tests/ui/RUSTC_VERSION`: another rustc words trait errors differently,
//! and a silent mismatch would read as a regression of ours. On another
//! toolchain this test fails at once saying so; re-bless there and update
//! the file in the same commit.

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
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*/*.rs");
    // What a check judged by name must still let through.
    t.pass("tests/ui-pass/*.rs");
}
