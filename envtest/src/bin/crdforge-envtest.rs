//! `crdforge-envtest`: a real control plane (etcd, kube-apiserver,
//! kube-controller-manager, built from Go modules) on loopback, for any
//! repository's end-to-end tests.

use std::process::ExitCode;

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "crdforge-envtest",
    about = "A real Kubernetes control plane on loopback, built from Go modules",
    version
)]
struct Cli {
    #[command(subcommand)]
    command: crdforge_envtest::cli::Command,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match crdforge_envtest::cli::run(cli.command) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
