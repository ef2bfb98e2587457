//! Every class of user error is a compile error at the right span, with a
//! message that says what to do. One case per class, in
//! `tests/ui/<area>/<case>.rs` with its `.stderr`; `many_errors` shows that
//! errors accumulate. Re-bless with `TRYBUILD=overwrite cargo test -p
//! crdforge-derive --test ui` after reviewing the new messages.
//!
//! The messages are pinned to the workspace's toolchain (rust-toolchain
//! from `rustc --version` at the time of blessing: 1.95.0); another rustc
//! may word the trait errors differently.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*/*.rs");
}
