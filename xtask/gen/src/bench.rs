//! `cargo xtask gen --bench`: how long generation takes, and how long 100
//! generated-like resource types take to compile with crdforge's derive
//! versus kube-derive 5, as ratios from one run. A benchmark, not a test:
//! it prints and writes `docs/gen-benchmark.md` and asserts nothing.
//!
//! The two crates are written to a temporary directory, each its own
//! workspace with a shared target directory, so the workspace's lockfile and
//! build are untouched. Dependencies are built once, untimed; each timed
//! round touches the crate's source and rebuilds only it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Types per crate.
const TYPES: usize = 100;
/// Timed rebuilds per crate, interleaved.
const ROUNDS: usize = 5;
/// In-process generations timed.
const GENERATIONS: usize = 20;

pub(crate) fn run() -> Result<()> {
    let root = crdforge_envtest::workspace_root()?;
    let generation = time_generation()?;
    println!("gen: median {:.1} ms per full generation", ms(generation));

    let dir = std::env::temp_dir().join("crdforge-gen-bench");
    let target = root.join("target/gen-bench");
    let ours = write_crate(&dir.join("with-crdforge"), Flavor::Crdforge, &root)?;
    let theirs = write_crate(&dir.join("with-kube-derive"), Flavor::KubeDerive, &root)?;
    for krate in [&ours, &theirs] {
        println!(
            "gen: building dependencies of {} (untimed)",
            krate.display()
        );
        build(krate, &target)?;
    }
    let (mut ours_times, mut theirs_times) = (Vec::new(), Vec::new());
    for round in 1..=ROUNDS {
        for (krate, times) in [(&ours, &mut ours_times), (&theirs, &mut theirs_times)] {
            touch(krate)?;
            let took = build(krate, &target)?;
            println!(
                "gen: round {round}: {} in {:.2} s wall, {:.2} s CPU",
                krate.display(),
                took.wall.as_secs_f64(),
                took.cpu.as_secs_f64()
            );
            times.push(took);
        }
    }
    let report = report(generation, &ours_times, &theirs_times, &machine());
    print!("{report}");
    let path = root.join("docs/gen-benchmark.md");
    std::fs::write(&path, report).with_context(|| format!("writing {}", path.display()))?;
    println!("gen: wrote {}", path.display());
    Ok(())
}

fn time_generation() -> Result<Duration> {
    let mut times = Vec::new();
    for _ in 0..GENERATIONS {
        let started = Instant::now();
        let files = crdforge_gen::generate::crd_files(
            "generated/crds",
            crate::COMMAND,
            crdforge_fixtures::definitions(),
        )
        .map_err(|errors| anyhow::anyhow!("generation failed: {errors:?}"))?;
        times.push(started.elapsed());
        std::hint::black_box(files);
    }
    Ok(median(times))
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    Crdforge,
    KubeDerive,
}

/// A crate of `TYPES` resources, each with a nested struct, an enum, a list,
/// a map and validated fields, in the flavour's own attribute syntax.
fn source(flavor: Flavor) -> String {
    let mut s = String::from(
        "#![allow(dead_code)]\nuse std::collections::BTreeMap;\nuse serde::{Deserialize, Serialize};\n",
    );
    let (imports, schema_derive, length, range) = match flavor {
        Flavor::Crdforge => (
            "use crdforge::{CustomResource, KubeSchema};\n",
            "KubeSchema",
            "#[crd(min_length = 1, max_length = 63)]",
            "#[crd(minimum = 0, maximum = 100)]",
        ),
        Flavor::KubeDerive => (
            "use kube::CustomResource;\nuse schemars::JsonSchema;\n",
            "JsonSchema",
            "#[schemars(length(min = 1, max = 63))]",
            "#[schemars(range(min = 0, max = 100))]",
        ),
    };
    s.push_str(imports);
    // kube-derive needs JsonSchema on the spec too; crdforge's derive
    // implements its schema trait for the spec itself.
    let spec_extra = if flavor == Flavor::KubeDerive {
        ", JsonSchema"
    } else {
        ""
    };
    for i in 0..TYPES {
        let _ = write!(
            s,
            r#"
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug{spec_extra})]
#[kube(group = "bench.crdforge.dev", version = "v1", kind = "Kind{i}", namespaced, status = "Kind{i}Status")]
#[serde(rename_all = "camelCase")]
pub struct Kind{i}Spec {{
    {length}
    pub name: String,
    {range}
    pub replicas: i32,
    pub tags: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub mode: Mode{i},
    pub nested: Option<Nested{i}>,
}}

#[derive({schema_derive}, Serialize, Deserialize, Clone, Debug)]
pub enum Mode{i} {{ Fast, Slow, Off }}

#[derive({schema_derive}, Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Nested{i} {{
    pub address: Option<String>,
    pub port_number: i64,
}}

#[derive({schema_derive}, Serialize, Deserialize, Clone, Debug, Default)]
pub struct Kind{i}Status {{
    pub ready: bool,
}}
"#
        );
    }
    s
}

fn write_crate(dir: &Path, flavor: Flavor, root: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir.join("src"))
        .with_context(|| format!("creating {}", dir.display()))?;
    let path = |p: &str| root.join(p).display().to_string();
    let deps = match flavor {
        Flavor::Crdforge => format!("crdforge = {{ path = {:?} }}\n", path("crdforge")),
        Flavor::KubeDerive => "kube = { version = \"5.0.0\", default-features = false, features = [\"derive\"] }\nschemars = \"1.2\"\n".to_owned(),
    };
    let manifest = format!(
        "[package]\nname = \"gen-bench-{}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [workspace]\n\n[dependencies]\n{deps}serde = {{ version = \"1\", features = [\"derive\"] }}\n\
         serde_json = \"1\"\nk8s-openapi = {{ version = \"0.29.0\", features = [\"v1_36\"] }}\n",
        match flavor {
            Flavor::Crdforge => "crdforge",
            Flavor::KubeDerive => "kube-derive",
        }
    );
    std::fs::write(dir.join("Cargo.toml"), manifest)?;
    std::fs::write(dir.join("src/lib.rs"), source(flavor))?;
    Ok(dir.to_path_buf())
}

/// Changes the source's mtime so cargo rebuilds the crate (and only it).
fn touch(krate: &Path) -> Result<()> {
    let lib = krate.join("src/lib.rs");
    let text = std::fs::read_to_string(&lib)?;
    std::fs::write(&lib, text)?;
    Ok(())
}

/// What one build took: wall-clock time, and the CPU time (user + system)
/// of cargo and every rustc it ran, which a loaded machine disturbs far
/// less than the wall clock.
#[derive(Clone, Copy)]
struct Took {
    wall: Duration,
    cpu: Duration,
}

/// CPU time of every child process this one has waited for, and of theirs
/// (`cutime` + `cstime` of /proc/self/stat, in clock ticks).
fn children_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // cutime and cstime are fields 16 and 17 of the whole line, 14 and 15 here.
    let ticks: u64 = [13, 14]
        .iter()
        .filter_map(|i| fields.get(*i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    let per_second = rustix::param::clock_ticks_per_second().max(1);
    Duration::from_millis(ticks * 1000 / per_second)
}

/// The CPU model and the load average, for the report: ratios taken on a
/// loaded machine have been off by more than 2x here.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    format!(
        "{cpu}, {cores} cores; load average at the end {}",
        load.join(" ")
    )
}

fn build(krate: &Path, target: &Path) -> Result<Took> {
    let started = Instant::now();
    let cpu_before = children_cpu();
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--manifest-path"])
        .arg(krate.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target)
        .status()
        .context("running cargo")?;
    if !status.success() {
        bail!("building {} failed ({status})", krate.display());
    }
    Ok(Took {
        wall: started.elapsed(),
        cpu: children_cpu() - cpu_before,
    })
}

fn report(generation: Duration, ours: &[Took], theirs: &[Took], machine: &str) -> String {
    let secs = |d: Duration| d.as_secs_f64();
    let wall = |t: &[Took]| median(t.iter().map(|t| t.wall).collect());
    let cpu = |t: &[Took]| median(t.iter().map(|t| t.cpu).collect());
    // Paired per round, so a round that both contenders spent on a busy
    // machine cancels out; the spread says how far to trust the median.
    let ratios = |f: fn(&Took) -> Duration| {
        let mut r: Vec<f64> = ours
            .iter()
            .zip(theirs)
            .map(|(o, t)| secs(f(o)) / secs(f(t)).max(f64::EPSILON))
            .collect();
        r.sort_by(f64::total_cmp);
        (r[r.len() / 2], r[0], r[r.len() - 1])
    };
    let (cpu_ratio, cpu_min, cpu_max) = ratios(|t| t.cpu);
    let (wall_ratio, wall_min, wall_max) = ratios(|t| t.wall);
    let rounds = |times: &[Took]| {
        times
            .iter()
            .map(|t| format!("{:.1}/{:.1}", secs(t.wall), secs(t.cpu)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "# Generator benchmark\n\n\
         Written by `cargo xtask gen --bench`: one run, {ROUNDS} interleaved rounds, medians.\n\
         Machine: {machine}.\n\n\
         | measure | crdforge | kube-derive 5 + schemars | crdforge / kube-derive (min–max of rounds) |\n\
         |---|---|---|---|\n\
         | compile {TYPES} resource types, CPU time (user + sys) | {:.2} s | {:.2} s | **{cpu_ratio:.2}** ({cpu_min:.2}–{cpu_max:.2}) |\n\
         | compile {TYPES} resource types, wall clock | {:.2} s | {:.2} s | {wall_ratio:.2} ({wall_min:.2}–{wall_max:.2}) |\n\n\
         Full generation of the fixture API (its CRDs, every version), in process: {:.1} ms.\n\n\
         Rounds (wall/CPU s): crdforge {}; kube-derive {}. The CPU time counts cargo and every\n\
         rustc it ran; it is what to compare when the machine is not quiet.\n\n\
         Each type: a spec with a validated string and integer, a list, a map, a unit enum, an\n\
         optional nested struct, and a status. Dependencies are built before timing; each round\n\
         rebuilds only the crate of {TYPES} types (debug profile). kube-derive's crate derives\n\
         `JsonSchema` on every type, as kube-derive requires; crdforge's derives `KubeSchema`\n\
         (schema, deep copy and apply configuration).\n",
        secs(cpu(ours)),
        secs(cpu(theirs)),
        secs(wall(ours)),
        secs(wall(theirs)),
        ms(generation),
        rounds(ours),
        rounds(theirs),
    )
}
