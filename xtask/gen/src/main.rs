//! `cargo xtask gen`: writes every generated artifact of this repository.
//! `--check` writes nothing and fails, with a unified diff and the command
//! that fixes it, when a file is stale, missing or no longer generated.
//!
//! Generation is a library call (`crdforge_gen::generate`) and so is the
//! drift check (`crdforge_gen::drift`); this program is only the registry of
//! what this repository generates.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use crdforge_gen::{Options, Registry};

mod bench;
mod cel_oracle;

/// The command named in every generated file and in every message that
/// says how to fix one.
const COMMAND: &str = "cargo xtask gen";

/// The comparison with kube-derive, rendered from `crdforge-compare`.
const COMPARISON: &str = "docs/kube-derive-comparison.md";

/// Breaking changes of the checked-in CRDs accepted on review.
const ALLOW_LIST: &str = "xtask/gen/compat-allow.yaml";

#[derive(Parser)]
#[command(
    name = "cargo xtask gen",
    about = "write or check every generated file"
)]
struct Args {
    /// Change nothing; exit non-zero with a diff if anything is stale, and
    /// list the breaking changes a stale CRD would make.
    #[arg(long)]
    check: bool,
    /// Change nothing; list the breaking changes of the CRDs against BASE:
    /// a git revision (its committed generated/crds) or a CRD YAML file or
    /// folder. Fails on any not accepted in xtask/gen/compat-allow.yaml.
    #[arg(long, value_name = "BASE", conflicts_with = "bench")]
    compat: Option<String>,
    /// Instead of generating: time generation (the example API and a
    /// synthetic 100-kind API) and the derive's compile time against
    /// kube-derive's, as ratios in one run; writes docs/gen-benchmark.md.
    #[arg(long, conflicts_with = "check")]
    bench: bool,
    /// Instead of generating: price every CEL rule of the corpus and the
    /// checked-in APIs with the apiserver's estimator at ORACLE (built by
    /// `cargo xtask cel-oracle`) and fail on any cost the offline check
    /// does not reproduce.
    #[arg(long, value_name = "ORACLE", conflicts_with_all = ["check", "bench", "compat"])]
    cel_oracle: Option<std::path::PathBuf>,
}

/// The APIs whose CRDs are checked in.
fn apis() -> Vec<crdforge::crd::Definition> {
    crdforge_fixtures::definitions()
        .into_iter()
        .chain(user_api::definitions())
        .chain(leifur_api::definitions())
        .collect()
}

/// Every generated file of this repository: the CRDs and the API
/// reference of the fixture and User APIs, the User controller's manifests
/// and webhooks, the Rule Loader's manifests, Leifur's speaker's DaemonSet,
/// the fixture webhooks, and the kube-derive comparison. The one registry `gen`, `gen --check`, `gen --compat` and
/// the `generated_is_fresh` test share, on crdforge-gen's library like any
/// user's.
fn registry(root: &Path) -> Registry {
    Registry::new(root, COMMAND)
        .crds("generated/crds", apis())
        .controller(
            "generated/deploy/user-controller",
            user_api::deploy::controller_manifest(),
        )
        .controller(
            "generated/deploy/rule-loader",
            rule_loader_api::deploy::controller_manifest(),
        )
        .controller(
            "generated/deploy/leifur-controller",
            leifur_api::deploy::controller_manifest(),
        )
        .agent(
            "generated/deploy/leifur-speaker",
            leifur_speaker_deploy::agent_manifest(),
        )
        .webhooks(
            "generated/deploy/leifur-webhooks",
            leifur_api::webhooks(leifur_api::in_cluster()),
        )
        .webhooks(
            "generated/deploy/user-webhooks",
            user_api::webhooks::webhooks(user_api::webhooks::in_cluster()),
        )
        .webhooks(
            "generated/deploy/fixtures-webhooks",
            crdforge_fixtures::member::webhooks(crdforge_fixtures::member::in_cluster()),
        )
        .docs("generated/docs", apis())
        .file(COMPARISON, crdforge_compare::report())
        .allow_list(ALLOW_LIST)
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
    if let Some(oracle) = &args.cel_oracle {
        cel_oracle::run(oracle)?;
        return Ok(ExitCode::SUCCESS);
    }
    let root = crdforge_envtest::workspace_root()?;
    let report = registry(&root).run(&Options {
        check: args.check,
        compat: args.compat,
    });
    report.print();
    Ok(report.exit_code())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plain `cargo test` catches a forgotten `cargo xtask gen`.
    #[test]
    fn generated_is_fresh() {
        let root = crdforge_envtest::workspace_root().unwrap();
        let report = registry(&root).check();
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let stale: Vec<&String> = report
            .outcomes
            .iter()
            .filter(|(_, outcome)| matches!(outcome, crdforge_gen::drift::Outcome::Stale(_)))
            .map(|(path, _)| path)
            .collect();
        assert!(
            stale.is_empty(),
            "stale: {stale:?}; run `cargo xtask gen` and commit the result"
        );
    }
}
