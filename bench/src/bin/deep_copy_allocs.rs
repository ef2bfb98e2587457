//! Heap allocations per copy of `DeepCopy::deep_copy_into` against `clone`
//! and `clone_from`, counted by a counting global allocator over the steady
//! state (after one warm-up pass, in which `deep_copy_into` may still grow
//! the destination's buffers to the larger of the two versions).

use std::alloc::System;

use anyhow::{Result, ensure};
use clap::Parser;
use crdforge::DeepCopy;
use crdforge_bench::deep_copy::{Method, Workload, check, run, user, widgets};
use crdforge_bench::emit;
use serde::Serialize;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[derive(Parser)]
#[command(about = "Deep-copy allocations per copy (JSON lines on stdout)")]
struct Args {
    #[arg(long = "impl", value_enum)]
    method: Method,
    #[arg(long, value_enum)]
    workload: Workload,
    /// Copies counted.
    #[arg(long, default_value_t = 1_000)]
    copies: u64,
    /// Items in the `list` workload.
    #[arg(long, default_value_t = 1_000)]
    items: usize,
}

#[derive(Serialize)]
struct AllocResult {
    suite: &'static str,
    #[serde(rename = "impl")]
    implementation: &'static str,
    workload: Workload,
    copies: u64,
    /// `alloc` plus `realloc` calls per copy.
    allocs_per_copy: f64,
    bytes_per_copy: f64,
}

fn count<T: DeepCopy + Clone + Serialize>(args: &Args, versions: [T; 2]) -> Result<()> {
    let mut dst = versions[1].deep_copy();
    run(args.method, &versions, &mut dst, 2);
    let region = Region::new(GLOBAL);
    run(args.method, &versions, &mut dst, args.copies);
    let stats = region.change();
    check(&versions, &dst, args.copies)?;
    let copies = args.copies as f64;
    emit(&AllocResult {
        suite: "deep-copy-allocs",
        implementation: args.method.name(),
        workload: args.workload,
        copies: args.copies,
        allocs_per_copy: (stats.allocations + stats.reallocations) as f64 / copies,
        bytes_per_copy: stats.bytes_allocated as f64 / copies,
    })
}

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(args.copies > 0, "--copies must be positive");
    match args.workload {
        Workload::User => count(&args, [user(0), user(1)]),
        Workload::List => count(&args, [widgets(args.items, 0), widgets(args.items, 1)]),
    }
}
