//! `cargo xtask envtest …`: start, inspect, restart and stop control planes.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use crdforge_envtest::assets::{self, Provenance};
use crdforge_envtest::{Component, Instance};

#[derive(Subcommand)]
pub(crate) enum Cmd {
    /// Build the binaries if needed, start a control plane, wait until it is
    /// ready and print how to use it.
    Up {
        /// Instance name; several can run side by side.
        #[arg(long, default_value = "default")]
        name: String,
    },
    /// Stop every process of an instance.
    Down {
        #[arg(long, default_value = "default")]
        name: String,
    },
    /// Show what runs, where, and its kubeconfig.
    Status {
        #[arg(long, default_value = "default")]
        name: String,
    },
    /// Stop one component and start it again (as after a crash with --crash).
    Restart {
        /// etcd, kube-apiserver or kube-controller-manager.
        component: String,
        #[arg(long, default_value = "default")]
        name: String,
        /// SIGKILL instead of a graceful stop.
        #[arg(long)]
        crash: bool,
    },
    /// Start a private control plane, run a command with KUBECONFIG set, stop
    /// the control plane, and exit with the command's code.
    Run {
        /// The command and its arguments, after `--`.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Only build (or find) the binaries and print where they are.
    Build,
}

pub(crate) fn run(cmd: Cmd) -> Result<ExitCode> {
    match cmd {
        Cmd::Up { name } => {
            let instance = Instance::named(&name);
            let started = instance.start()?;
            crdforge_envtest::report_start(&instance, &started);
            println!(
                "Use it with:\n  export KUBECONFIG={}",
                instance.kubeconfig().display()
            );
            println!(
                "Stop it with:\n  cargo xtask envtest down{}",
                name_flag(&name)
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Down { name } => {
            let stopped = Instance::named(&name).stop()?;
            if stopped.is_empty() {
                println!("envtest {name}: nothing was running");
            } else {
                let names: Vec<_> = stopped.iter().map(|c| c.name()).collect();
                println!("envtest {name}: stopped {}", names.join(", "));
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Status { name } => {
            let instance = Instance::named(&name);
            let Some(state) = instance.state()? else {
                println!(
                    "envtest {name}: never started ({})",
                    instance.dir().display()
                );
                return Ok(ExitCode::from(3));
            };
            let running = instance.running()?;
            for component in Component::ALL {
                match running.iter().find(|(c, _)| *c == component) {
                    Some((_, l)) => println!("{:<24} running, pid {}", component.name(), l.pid),
                    None => println!("{:<24} stopped", component.name()),
                }
            }
            println!("apiserver:  https://127.0.0.1:{}", state.ports.apiserver);
            println!("kubeconfig: {}", instance.kubeconfig().display());
            println!("kubectl:    {}", state.binaries.join("kubectl").display());
            println!("logs:       {}/*.log", instance.dir().display());
            Ok(if running.len() == Component::ALL.len() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            })
        }
        Cmd::Restart {
            component,
            name,
            crash,
        } => {
            let component = Component::parse(&component)?;
            Instance::named(&name).restart(component, crash)?;
            println!("envtest {name}: {} restarted and ready", component.name());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Run { command } => run_with_control_plane(&command),
        Cmd::Build => {
            let (binaries, provenance) = assets::ensure()?;
            match provenance {
                Provenance::Cached => println!("cached: {}", binaries.dir.display()),
                Provenance::Built(took) => {
                    println!(
                        "built in {:.0} s: {}",
                        took.as_secs_f64(),
                        binaries.dir.display()
                    )
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn name_flag(name: &str) -> String {
    if name == "default" {
        String::new()
    } else {
        format!(" --name {name}")
    }
}

/// `envtest run`: a private instance, named after our pid so it never touches
/// one that `envtest up` started.
fn run_with_control_plane(command: &[String]) -> Result<ExitCode> {
    let (program, args) = command.split_first().context("no command given")?;
    let running = Instance::named(&format!("run-{}", std::process::id())).start_scoped(&[])?;
    let instance = running.instance().clone();
    let status = running
        .command(program)
        .args(args)
        .status()
        .with_context(|| format!("running `{program}`"))?;
    drop(running);
    if status.success() {
        let _ = std::fs::remove_dir_all(instance.dir());
    } else {
        eprintln!(
            "envtest: the command failed; control-plane logs kept in {}",
            instance.dir().display()
        );
    }
    Ok(match status.code() {
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::FAILURE,
    })
}
