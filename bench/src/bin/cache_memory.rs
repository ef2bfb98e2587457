//! Heap bytes per object of an informer cache holding the ConfigMaps of
//! `crdforge_bench::objects`, counted by a counting global allocator:
//!
//! * `crdforge`: `crdforge_runtime::cache::Store` with the namespace, owner-UID and
//!   `app` label indexes;
//! * `crdforge-transform`: the same, each object first put through the
//!   informer transform `drop_managed_fields`, as an informer with
//!   `InformerOptions::drop_managed_fields` does before caching;
//! * `kube-runtime`: kube's reflector `Writer`/`Store` (no indexes; it has
//!   none), fed with `watcher::Event`s;
//! * `bare-arcs`: the objects alone in a `Vec<Arc<ConfigMap>>`, the floor
//!   that any cache sharing objects by `Arc` sits on.
//!
//! Workloads: `watch` applies one object per watch event; `relist` hands the
//! store the whole list at once (`replace`; `Init`, `InitApply`…, `InitDone`).
//!
//! The count is of bytes requested from the allocator while the cache is
//! live, measured from just before the cache is built to just after, with the
//! inputs dropped; the allocator's own rounding and headers are not included.

use std::alloc::System;
use std::sync::Arc;

use anyhow::{Result, ensure};
use clap::{Parser, ValueEnum};
use crdforge_bench::{emit, objects::config_map};
use crdforge_runtime::cache::{Indexers, Store};
use crdforge_runtime::informer::drop_managed_fields;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::runtime::reflector::store::Writer;
use kube::runtime::watcher::Event;
use serde::Serialize;
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[derive(Parser)]
#[command(about = "Informer-cache heap bytes per object (JSON lines on stdout)")]
struct Args {
    #[arg(long = "impl", value_enum)]
    implementation: Impl,
    #[arg(long, value_enum, default_value = "watch")]
    workload: Workload,
    /// ConfigMaps to cache.
    #[arg(long, default_value_t = 10_000)]
    objects: usize,
}

#[derive(Clone, Copy, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Impl {
    Crdforge,
    CrdforgeTransform,
    KubeRuntime,
    BareArcs,
}

#[derive(Clone, Copy, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Workload {
    Watch,
    Relist,
}

/// One measurement; the Go side prints the same fields.
#[derive(Serialize)]
struct MemResult {
    suite: &'static str,
    #[serde(rename = "impl")]
    implementation: Impl,
    workload: Workload,
    objects: usize,
    bytes: u64,
    bytes_per_object: f64,
    /// Live allocations per object: each costs the allocator a header and
    /// rounding on top of `bytes` (glibc: 8 to 23 bytes).
    blocks_per_object: f64,
}

/// Bytes and blocks currently allocated through the global allocator.
fn live() -> (i128, i128) {
    let s = GLOBAL.stats();
    // Reallocations are already folded into both byte totals.
    (
        s.bytes_allocated as i128 - s.bytes_deallocated as i128,
        s.allocations as i128 - s.deallocations as i128,
    )
}

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(args.objects > 0, "--objects must be positive");
    let n = args.objects;
    let before = live();
    let (held, after): (usize, (i128, i128)) = match (args.implementation, args.workload) {
        (implementation @ (Impl::Crdforge | Impl::CrdforgeTransform), workload) => {
            let transform = matches!(implementation, Impl::CrdforgeTransform);
            // The informer transforms each object as it arrives, before
            // caching (or buffering a list): so does this.
            let object = |i: usize| {
                let mut obj = config_map(i);
                if transform {
                    drop_managed_fields(&mut obj);
                }
                obj
            };
            let store = Store::new(Indexers::default().label("app"));
            match workload {
                Workload::Watch => {
                    for i in 0..n {
                        store.apply(object(i));
                    }
                }
                Workload::Relist => {
                    let diff = store.replace((0..n).map(object).collect());
                    ensure!(diff.added.len() == n, "replace added {}", diff.added.len());
                }
            }
            let after = live();
            (store.len(), after)
        }
        (Impl::KubeRuntime, workload) => {
            let mut writer = Writer::<ConfigMap>::default();
            match workload {
                Workload::Watch => {
                    for i in 0..n {
                        writer.apply_watcher_event(&Event::Apply(config_map(i)));
                    }
                }
                Workload::Relist => {
                    writer.apply_watcher_event(&Event::Init);
                    for i in 0..n {
                        writer.apply_watcher_event(&Event::InitApply(config_map(i)));
                    }
                    writer.apply_watcher_event(&Event::InitDone);
                }
            }
            let after = live();
            (writer.as_reader().len(), after)
        }
        (Impl::BareArcs, workload) => {
            let objects: Vec<Arc<ConfigMap>> = match workload {
                // One at a time, as events come: the Vec grows by doubling.
                Workload::Watch => {
                    let mut v = Vec::new();
                    for i in 0..n {
                        v.push(Arc::new(config_map(i)));
                    }
                    v
                }
                Workload::Relist => (0..n).map(|i| Arc::new(config_map(i))).collect(),
            };
            let after = live();
            (objects.len(), after)
        }
    };
    ensure!(held == n, "the cache holds {held} objects, expected {n}");
    let bytes = u64::try_from(after.0 - before.0)?;
    let blocks = u64::try_from(after.1 - before.1)?;
    emit(&MemResult {
        suite: "cache-memory",
        implementation: args.implementation,
        workload: args.workload,
        objects: n,
        bytes,
        bytes_per_object: bytes as f64 / n as f64,
        blocks_per_object: blocks as f64 / n as f64,
    })
}
