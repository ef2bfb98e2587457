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
const ROUNDS: usize = 3;
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
                "gen: round {round}: {} in {:.2} s",
                krate.display(),
                took.as_secs_f64()
            );
            times.push(took);
        }
    }
    let report = report(generation, &ours_times, &theirs_times);
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
        let files = crdforge_gen::generate::crd_files(crdforge_fixtures::definitions())
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

fn build(krate: &Path, target: &Path) -> Result<Duration> {
    let started = Instant::now();
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--manifest-path"])
        .arg(krate.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target)
        .status()
        .context("running cargo")?;
    if !status.success() {
        bail!("building {} failed ({status})", krate.display());
    }
    Ok(started.elapsed())
}

fn report(generation: Duration, ours_times: &[Duration], theirs_times: &[Duration]) -> String {
    let (ours, theirs) = (median(ours_times.to_vec()), median(theirs_times.to_vec()));
    let ratio = ours.as_secs_f64() / theirs.as_secs_f64().max(f64::EPSILON);
    let rounds = |times: &[Duration]| {
        times
            .iter()
            .map(|t| format!("{:.1}", t.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "# Generator benchmark\n\n\
         Written by `cargo xtask gen --bench` (one run on this machine; medians).\n\n\
         | measure | value |\n|---|---|\n\
         | full generation of the fixture API (4 CRDs, 6 versions), in process | {:.1} ms |\n\
         | compile {TYPES} resource types, crdforge derive | {:.2} s |\n\
         | compile {TYPES} resource types, kube-derive 5 + schemars | {:.2} s |\n\
         | crdforge / kube-derive compile time | {ratio:.2} |\n\n\
         Rounds (s): crdforge {}; kube-derive {}. The machine is shared with other builds, so\n\
         single rounds are noisy; the medians are what to compare.\n\n\
         Each type: a spec with a validated string and integer, a list, a map, a unit enum, an\n\
         optional nested struct, and a status. Dependencies are built before timing; each of\n\
         {ROUNDS} interleaved rounds rebuilds only the crate of {TYPES} types (debug profile).\n",
        ms(generation),
        ours.as_secs_f64(),
        theirs.as_secs_f64(),
        rounds(ours_times),
        rounds(theirs_times),
    )
}
