//! `cargo xtask cel-oracle`'s comparison: every CEL rule of the corpus and of
//! the checked-in APIs, priced by the offline check and by the apiserver's own
//! estimator (the Go program in `xtask/cel-oracle/`, built from the module
//! cache at the release the control plane runs), must cost the same.
//!
//! A rule the apiserver compiles and the offline check leaves unpriced is a
//! difference too: the promise is one verdict, and a warning is not one.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use crdforge::crd::{Definition, convert, from_props};
use serde::Deserialize;
use serde_json::json;

/// One line of the oracle's answer.
#[derive(Deserialize)]
struct Priced {
    name: String,
    path: String,
    index: usize,
    what: String,
    cost: u64,
    #[serde(default)]
    error: Option<String>,
}

/// Every definition whose rules are compared: the corpus (its cost cases
/// first of all) and every checked-in API.
fn definitions() -> Vec<Definition> {
    crdforge_fixtures::corpus::corpus()
        .into_iter()
        .map(|entry| entry.definition)
        .chain(crate::apis())
        .collect()
}

/// Runs the comparison with the oracle at `oracle`; an error lists every
/// rule whose cost differs.
pub(crate) fn run(oracle: &Path) -> Result<()> {
    let mut schemas = Vec::new();
    // Our figures by (CRD and version, path, what).
    let mut ours: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    for definition in definitions() {
        let (crd, _) = convert(&definition);
        for version in &crd.spec.versions {
            let Some(props) = version
                .schema
                .as_ref()
                .and_then(|s| s.open_api_v3_schema.as_ref())
            else {
                continue;
            };
            let name = format!(
                "{} {}",
                crd.metadata.name.as_deref().unwrap_or(""),
                version.name
            );
            for cost in crdforge_gen::validate::rule_costs(&from_props(props)) {
                ours.insert((name.clone(), cost.path, cost.what), cost.cost);
            }
            schemas.push(json!({ "name": name, "schema": props }));
        }
    }
    let mut child = Command::new(oracle)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", oracle.display()))?;
    let input = serde_json::to_vec(&schemas)?;
    let mut stdin = child.stdin.take().context("the oracle's stdin")?;
    // Written from a thread so that a large answer cannot block the write.
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output()?;
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("writing to the oracle panicked"))??;
    if !output.status.success() {
        bail!("the oracle failed ({})", output.status);
    }
    let priced: Vec<Priced> =
        serde_json::from_slice(&output.stdout).context("reading the oracle's answer")?;
    let mut compared = 0;
    let mut differences = Vec::new();
    for p in &priced {
        // A rule the apiserver refuses to compile costs nothing there; the
        // offline type check refuses it on its own (the corpus test).
        if p.error.is_some() {
            continue;
        }
        compared += 1;
        let what = format!("x-kubernetes-validations[{}].{}", p.index, p.what);
        let at = if p.path.is_empty() { "(root)" } else { &p.path };
        match ours.get(&(p.name.clone(), p.path.clone(), what.clone())) {
            Some(&cost) if cost == p.cost => {}
            Some(&cost) => differences.push(format!(
                "{} {at} {what}: apiserver {}, offline {cost}",
                p.name, p.cost
            )),
            None => differences.push(format!(
                "{} {at} {what}: apiserver {}, offline unpriced",
                p.name, p.cost
            )),
        }
    }
    println!(
        "cel-oracle: {compared} rule and message expression costs compared over {} schemas, {} differ",
        schemas.len(),
        differences.len()
    );
    if !differences.is_empty() {
        for d in &differences {
            eprintln!("  {d}");
        }
        bail!(
            "{} CEL costs differ from the apiserver's estimator",
            differences.len()
        );
    }
    Ok(())
}
