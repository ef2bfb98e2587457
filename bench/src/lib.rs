//! The Rust contenders of `cargo xtask bench`. Each suite is a binary that
//! runs one workload and prints one JSON line per measured run; `xtask`
//! interleaves them with the Go contenders (`go/`) and writes the report.
//! The workloads here and in `go/` are built to be the same, step for step.

pub mod audit;
pub mod deep_copy;
pub mod objects;
pub mod probe;
pub mod process;
pub mod user;
pub mod workload;

use serde::Serialize;

/// Prints `result` as one JSON line on stdout.
pub fn emit(result: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(result)?);
    Ok(())
}
