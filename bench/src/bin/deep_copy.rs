//! Nanoseconds per copy of `DeepCopy::deep_copy_into` against `clone` and
//! `clone_from`, on the workloads of `crdforge_bench::deep_copy`. The system
//! allocator, uninstrumented: allocations are counted by
//! `bench-deep-copy-allocs`, whose counting allocator would slow down the
//! allocating contenders here.

use std::time::Instant;

use anyhow::{Result, ensure};
use clap::Parser;
use crdforge::DeepCopy;
use crdforge_bench::deep_copy::{Method, Workload, check, run, user, widgets};
use crdforge_bench::emit;
use serde::Serialize;

#[derive(Parser)]
#[command(about = "Deep-copy time per copy (JSON lines on stdout)")]
struct Args {
    #[arg(long = "impl", value_enum)]
    method: Method,
    #[arg(long, value_enum)]
    workload: Workload,
    /// Copies per measured run.
    #[arg(long, default_value_t = 100_000)]
    copies: u64,
    /// Items in the `list` workload.
    #[arg(long, default_value_t = 1_000)]
    items: usize,
    /// Measured runs (one unreported warm-up run goes first).
    #[arg(long, default_value_t = 1)]
    iters: usize,
}

#[derive(Serialize)]
struct TimeResult {
    suite: &'static str,
    #[serde(rename = "impl")]
    implementation: &'static str,
    workload: Workload,
    copies: u64,
    seconds: f64,
    ns_per_copy: f64,
}

fn measure<T: DeepCopy + Clone + Serialize>(args: &Args, versions: [T; 2]) -> Result<()> {
    let mut dst = versions[1].deep_copy();
    run(args.method, &versions, &mut dst, args.copies.min(1_000));
    for _ in 0..args.iters {
        let started = Instant::now();
        run(args.method, &versions, &mut dst, args.copies);
        let seconds = started.elapsed().as_secs_f64();
        check(&versions, &dst, args.copies)?;
        emit(&TimeResult {
            suite: "deep-copy-time",
            implementation: args.method.name(),
            workload: args.workload,
            copies: args.copies,
            seconds,
            ns_per_copy: seconds * 1e9 / args.copies as f64,
        })?;
    }
    Ok(())
}

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(args.copies > 0, "--copies must be positive");
    match args.workload {
        Workload::User => measure(&args, [user(0), user(1)]),
        Workload::List => measure(&args, [widgets(args.items, 0), widgets(args.items, 1)]),
    }
}
