//! Work-queue throughput of `crdforge_runtime::workqueue::WorkQueue`, on the same
//! workloads as client-go's in `go/workqueue.go`:
//!
//! * `single`: one task adds a key, gets it and marks it done, `ops` times;
//! * `batch`: one task adds `batch` keys (with duplicates), then gets and
//!   finishes everything queued, until `ops` adds were made;
//! * `concurrent`: `producers` tasks add `ops` keys in total, yielding after
//!   every `burst` adds, while `workers` tasks get and finish keys; the queue
//!   is shut down with drain once the producers are finished.
//!
//! `single` and `batch` run on a current-thread runtime (one thread, as the
//! Go side runs them on one goroutine); `concurrent` on a multi-thread
//! runtime with one thread per core (Go's default GOMAXPROCS).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use clap::{Parser, ValueEnum};
use crdforge_bench::{emit, workload};
use crdforge_runtime::workqueue::WorkQueue;
use serde::Serialize;

#[derive(Parser)]
#[command(about = "Work-queue throughput (JSON lines on stdout)")]
struct Args {
    #[arg(long, value_enum, default_value = "single")]
    workload: Workload,
    /// Adds in total.
    #[arg(long, default_value_t = 1_000_000)]
    ops: u64,
    /// Distinct keys.
    #[arg(long, default_value_t = 10_000)]
    keyspace: u64,
    /// Adds per round (`batch`).
    #[arg(long, default_value_t = 1_000)]
    batch: u64,
    /// Producer tasks (`concurrent`).
    #[arg(long, default_value_t = 2)]
    producers: u64,
    /// Worker tasks (`concurrent`).
    #[arg(long, default_value_t = 4)]
    workers: u64,
    /// Adds between yields of a producer (`concurrent`).
    #[arg(long, default_value_t = 100)]
    burst: u64,
    /// Unreported runs first.
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// Reported runs.
    #[arg(long, default_value_t = 1)]
    iters: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Workload {
    Single,
    Batch,
    Concurrent,
}

/// One measured run; the Go side prints the same fields.
#[derive(Serialize)]
struct RunResult {
    suite: &'static str,
    #[serde(rename = "impl")]
    implementation: &'static str,
    workload: Workload,
    ops: u64,
    gets: u64,
    threads: usize,
    seconds: f64,
    ops_per_sec: f64,
}

type Key = Arc<str>;

fn main() -> Result<()> {
    let args = Args::parse();
    if [
        args.ops,
        args.keyspace,
        args.batch,
        args.producers,
        args.workers,
        args.burst,
    ]
    .contains(&0)
    {
        bail!("every count must be positive");
    }
    let keys: Arc<[Key]> = workload::queue_keys(args.keyspace)
        .into_iter()
        .map(Key::from)
        .collect();
    let order: Arc<[u32]> = workload::key_order(args.ops, args.keyspace).into();
    let threads = match args.workload {
        Workload::Single | Workload::Batch => 1,
        Workload::Concurrent => std::thread::available_parallelism()?.get(),
    };
    let runtime = if threads == 1 {
        tokio::runtime::Builder::new_current_thread().build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .build()?
    };
    for run in 0..args.warmup + args.iters {
        let (gets, took) = runtime.block_on(async {
            match args.workload {
                Workload::Single => single(&keys, &order).await,
                Workload::Batch => batch(&keys, &order, args.batch).await,
                Workload::Concurrent => concurrent(&keys, &order, &args).await,
            }
        })?;
        if run < args.warmup {
            continue;
        }
        let seconds = took.as_secs_f64();
        emit(&RunResult {
            suite: "workqueue",
            implementation: "crdforge",
            workload: args.workload,
            ops: args.ops,
            gets,
            threads,
            seconds,
            ops_per_sec: args.ops as f64 / seconds,
        })?;
    }
    Ok(())
}

fn key(keys: &[Key], order: &[u32], j: usize) -> Key {
    Key::clone(&keys[order[j] as usize])
}

/// Gets a key that the caller knows is queued.
async fn get_queued(queue: &WorkQueue<Key>) -> Result<Key> {
    match queue.get().await {
        Some(key) => Ok(key),
        None => bail!("the queue handed out nothing while a key was queued"),
    }
}

async fn single(keys: &[Key], order: &[u32]) -> Result<(u64, Duration)> {
    let queue = WorkQueue::new();
    let start = Instant::now();
    for j in 0..order.len() {
        queue.add(key(keys, order, j));
        let got = get_queued(&queue).await?;
        queue.done(&got);
    }
    let took = start.elapsed();
    queue.shut_down();
    Ok((order.len() as u64, took))
}

async fn batch(keys: &[Key], order: &[u32], batch: u64) -> Result<(u64, Duration)> {
    let queue = WorkQueue::new();
    let batch = usize::try_from(batch)?;
    let mut gets = 0;
    let start = Instant::now();
    let mut j = 0;
    while j < order.len() {
        let end = (j + batch).min(order.len());
        for j in j..end {
            queue.add(key(keys, order, j));
        }
        j = end;
        while !queue.is_empty() {
            let got = get_queued(&queue).await?;
            queue.done(&got);
            gets += 1;
        }
    }
    let took = start.elapsed();
    queue.shut_down();
    Ok((gets, took))
}

async fn concurrent(keys: &Arc<[Key]>, order: &Arc<[u32]>, args: &Args) -> Result<(u64, Duration)> {
    let queue = WorkQueue::<Key>::new();
    let start = Instant::now();
    let workers: Vec<_> = (0..args.workers)
        .map(|_| {
            let queue = queue.clone();
            tokio::spawn(async move {
                let mut gets = 0u64;
                while let Some(got) = queue.get().await {
                    queue.done(&got);
                    gets += 1;
                }
                gets
            })
        })
        .collect();
    let producers: Vec<_> = (0..args.producers)
        .map(|p| {
            let (queue, keys, order) = (queue.clone(), Arc::clone(keys), Arc::clone(order));
            let (stride, burst) = (args.producers as usize, args.burst);
            tokio::spawn(async move {
                // Producer p makes adds p, p+P, p+2P, ... of the sequence.
                let mut since_yield = 0;
                for j in (p as usize..order.len()).step_by(stride) {
                    queue.add(key(&keys, &order, j));
                    since_yield += 1;
                    if since_yield == burst {
                        since_yield = 0;
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    for producer in producers {
        producer.await?;
    }
    queue.shut_down_with_drain().await;
    let mut gets = 0;
    for worker in workers {
        gets += worker.await?;
    }
    Ok((gets, start.elapsed()))
}
