//! The `crdforge-envtest` command line: start, inspect, restart and stop
//! control planes, or run one command with a private one. Any repository can
//! use it (`cargo install crdforge-envtest --features cli`, or `cargo run -p
//! crdforge-envtest --features cli --`); crdforge's own `cargo xtask envtest`
//! is the same code under another name, set with
//! [`crate::set_tool_name`], so every
//! message names the command the reader actually has.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;

use crate::assets::{self, Provenance, Release};
use crate::tool::tool_name;
use crate::{Component, Instance};

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the binaries if needed, start a control plane, wait until it is
    /// ready and print how to use it.
    Up {
        /// Instance name; several can run side by side.
        #[arg(long, default_value = "default")]
        name: String,
        /// The Kubernetes release.
        #[command(flatten)]
        release: ReleaseArg,
    },
    /// Stop every process of an instance.
    Down {
        /// Instance name.
        #[arg(long, default_value = "default")]
        name: String,
    },
    /// Show what runs, where, its kubeconfig and kubectl.
    Status {
        /// Instance name.
        #[arg(long, default_value = "default")]
        name: String,
    },
    /// Stop one component and start it again (as after a crash with --crash).
    Restart {
        /// etcd, kube-apiserver or kube-controller-manager.
        component: String,
        /// Instance name.
        #[arg(long, default_value = "default")]
        name: String,
        /// SIGKILL instead of a graceful stop.
        #[arg(long)]
        crash: bool,
    },
    /// Start a private control plane, run a command with KUBECONFIG set, stop
    /// the control plane, and exit with the command's code.
    Run {
        /// The Kubernetes release.
        #[command(flatten)]
        release: ReleaseArg,
        /// The command and its arguments, after `--`.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Only build (or find) the binaries and print where they are.
    Build {
        /// The Kubernetes release.
        #[command(flatten)]
        release: ReleaseArg,
        /// Every release the control plane can run, not only one.
        #[arg(long, conflicts_with = "kubernetes")]
        all: bool,
    },
}

/// Which Kubernetes release to run.
#[derive(Debug, Clone, clap::Args)]
pub struct ReleaseArg {
    /// Kubernetes release, e.g. `1.35` or `v1.37.2` (default: $CRDFORGE_KUBERNETES_VERSION,
    /// else the release this crate pins).
    #[arg(long, value_name = "VERSION")]
    kubernetes: Option<String>,
}

impl ReleaseArg {
    /// The release asked for, or the selected one.
    pub fn release(&self) -> Result<Release> {
        match &self.kubernetes {
            Some(version) => Release::parse(version),
            None => Release::selected(),
        }
    }
}

/// Runs one subcommand.
pub fn run(cmd: Command) -> Result<ExitCode> {
    match cmd {
        Command::Up { name, release } => {
            let instance = Instance::named(&name).with_release(release.release()?);
            let started = instance.start()?;
            crate::report_start(&instance, &started);
            println!(
                "Use it with:\n  export KUBECONFIG={}",
                instance.kubeconfig().display()
            );
            println!("Stop it with:\n  {} down{}", tool_name(), name_flag(&name));
            Ok(ExitCode::SUCCESS)
        }
        Command::Down { name } => {
            let stopped = Instance::named(&name).stop()?;
            if stopped.is_empty() {
                println!("envtest {name}: nothing was running");
            } else {
                let names: Vec<_> = stopped.iter().map(|c| c.name()).collect();
                println!("envtest {name}: stopped {}", names.join(", "));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { name } => status(&name),
        Command::Restart {
            component,
            name,
            crash,
        } => {
            let component = Component::parse(&component)?;
            Instance::named(&name).restart(component, crash)?;
            println!("envtest {name}: {} restarted and ready", component.name());
            Ok(ExitCode::SUCCESS)
        }
        Command::Run { release, command } => run_with_control_plane(release.release()?, &command),
        Command::Build { release, all } => {
            let releases = if all {
                assets::RELEASES.to_vec()
            } else {
                vec![release.release()?]
            };
            for release in releases {
                let (binaries, provenance) = assets::ensure_release(release)?;
                let version = release.kubernetes;
                match provenance {
                    Provenance::Cached => {
                        println!("{version} cached: {}", binaries.dir.display())
                    }
                    Provenance::Built(took) => println!(
                        "{version} built in {:.0} s: {}",
                        took.as_secs_f64(),
                        binaries.dir.display()
                    ),
                }
                println!("{version} kubectl: {}", binaries.kubectl().display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `status`: exit 0 when every component runs, 3 otherwise (as `systemctl
/// status` does), so scripts can test it. kubectl's path is printed even
/// for an instance never started, since a user needs it either way.
fn status(name: &str) -> Result<ExitCode> {
    let instance = Instance::named(name);
    let state = instance.state()?;
    let kubectl = match &state {
        Some(state) => Some(state.binaries.join("kubectl")),
        None => assets::cache_dir()
            .ok()
            .map(|dir| assets::Binaries { dir }.kubectl())
            .filter(|path| path.is_file()),
    };
    let Some(state) = state else {
        println!(
            "envtest {name}: never started ({}); start it with `{} up{}`",
            instance.dir().display(),
            tool_name(),
            name_flag(name)
        );
        match kubectl {
            Some(path) => println!("kubectl:    {}", path.display()),
            None => println!(
                "kubectl:    not built yet (`{} build` builds it)",
                tool_name()
            ),
        }
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
    if let Some(kubectl) = kubectl {
        println!("kubectl:    {}", kubectl.display());
    }
    println!("logs:       {}/*.log", instance.dir().display());
    Ok(if running.len() == Component::ALL.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

fn name_flag(name: &str) -> String {
    if name == "default" {
        String::new()
    } else {
        format!(" --name {name}")
    }
}

/// `run`: a private instance, named after our pid so it never touches one
/// that `up` started.
fn run_with_control_plane(release: Release, command: &[String]) -> Result<ExitCode> {
    let (program, args) = command.split_first().context("no command given")?;
    let running = Instance::named(&format!("run-{}", std::process::id()))
        .with_release(release)
        .start_scoped(&[])?;
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
