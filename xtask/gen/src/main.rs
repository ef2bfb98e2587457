//! `cargo xtask gen`: writes every generated artifact of this repository.
//! `--check` writes nothing and fails, with a unified diff and the command
//! that fixes it, when a file is stale, missing or no longer generated.
//!
//! Generation is a library call (`crdforge_gen::generate`) and so is the
//! drift check (`crdforge_gen::drift`); this program is only the registry of
//! what this repository generates.

use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Parser;
use crdforge_gen::drift::{self, Outcome};
use crdforge_gen::generate::{self, GeneratedFile};

mod bench;

/// The directories whose every file `gen` owns: a file there that is no
/// longer generated is removed (or, with `--check`, reported).
const OWNED_DIRS: &[&str] = &[
    "generated/crds",
    "generated/deploy/user-controller",
    "generated/deploy/fixtures-webhooks",
    "generated/deploy/rule-loader",
];

/// The comparison with kube-derive, rendered from `crdforge-compare`.
const COMPARISON: &str = "docs/kube-derive-comparison.md";

#[derive(Parser)]
#[command(
    name = "cargo xtask gen",
    about = "write or check every generated file"
)]
struct Args {
    /// Change nothing; exit non-zero with a diff if anything is stale.
    #[arg(long)]
    check: bool,
    /// Instead of generating: time generation (the example API and a
    /// synthetic 100-kind API) and the derive's compile time against
    /// kube-derive's, as ratios in one run; writes docs/gen-benchmark.md.
    #[arg(long, conflicts_with = "check")]
    bench: bool,
}

/// Every generated file: the CRDs of every registered API, the manifests
/// of the User controller and the Rule Loader, and the kube-derive
/// comparison. The one registry
/// `gen`, `gen --check` and the `generated_is_fresh` test share.
fn generated_files() -> Result<Vec<GeneratedFile>> {
    let definitions = crdforge_fixtures::definitions()
        .into_iter()
        .chain(user_api::definitions())
        .collect();
    let mut files = match generate::crd_files(definitions) {
        Ok(files) => files,
        Err(errors) => {
            for error in &errors {
                eprintln!("error: {error}");
            }
            bail!("{} CRD(s) could not be generated", errors.len());
        }
    };
    files.extend(
        crdforge_gen::rbac::deploy_files(&user_api::deploy::controller_manifest())
            .map_err(|e| anyhow::anyhow!("rendering the user-controller manifests: {e}"))?,
    );
    files.extend(
        crdforge_gen::webhooks::webhook_files(
            "fixtures-webhooks",
            &crdforge_fixtures::member::webhooks(crdforge_fixtures::member::in_cluster()),
        )
        .map_err(|e| anyhow::anyhow!("rendering the fixture webhooks: {e}"))?,
    );
    files.extend(
        crdforge_gen::rbac::deploy_files(&rule_loader_api::deploy::controller_manifest())
            .map_err(|e| anyhow::anyhow!("rendering the rule-loader manifests: {e}"))?,
    );
    files.push(GeneratedFile {
        path: COMPARISON.into(),
        contents: crdforge_compare::report(),
    });
    Ok(files)
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<ExitCode> {
    if args.bench {
        bench::run()?;
        return Ok(ExitCode::SUCCESS);
    }
    let root = crdforge_envtest::workspace_root()?;
    let files = generated_files()?;
    let mut stale = 0;
    for (path, outcome) in drift::sync(&root, &files, OWNED_DIRS, args.check)? {
        match outcome {
            Outcome::Unchanged => println!("unchanged {path}"),
            Outcome::Written => println!("written   {path}"),
            Outcome::Removed => println!("removed   {path}"),
            Outcome::Stale(diff) => {
                stale += 1;
                println!("stale     {path}");
                print!("{diff}");
            }
        }
    }
    if stale > 0 {
        eprintln!(
            "error: {stale} generated file(s) are stale; run `cargo xtask gen` and commit the result"
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plain `cargo test` catches a forgotten `cargo xtask gen`.
    #[test]
    fn generated_is_fresh() {
        let files = generated_files().unwrap();
        let root = crdforge_envtest::workspace_root().unwrap();
        let stale: Vec<String> = drift::sync(&root, &files, OWNED_DIRS, true)
            .unwrap()
            .into_iter()
            .filter(|(_, outcome)| matches!(outcome, Outcome::Stale(_)))
            .map(|(path, _)| path)
            .collect();
        assert!(
            stale.is_empty(),
            "stale: {stale:?}; run `cargo xtask gen` and commit the result"
        );
    }
}
