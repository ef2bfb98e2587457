//! A control plane for the length of a scope: started (after stopping what
//! a run killed mid-way left behind), reported, and stopped when dropped, so
//! that an error, a panic or Ctrl-C between start and stop cannot leave
//! processes behind. Every command that needs a control plane for a while
//! (`xtask ci`, `envtest run`, the benchmarks, the demo) goes through this.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Result;

use crate::assets::Provenance;
use crate::{Instance, Started};

/// A running instance, stopped on drop unless [`Running::keep`] is called.
pub struct Running {
    instance: Instance,
    started: Started,
    armed: bool,
}

impl Instance {
    /// Stops any leftovers of this instance, starts it with extra
    /// kube-apiserver flags, prints how the start went, and keeps this
    /// process alive through Ctrl-C and SIGTERM (the children still get
    /// them) so that the returned guard can stop the control plane.
    pub fn start_scoped(&self, apiserver_args: &[String]) -> Result<Running> {
        self.stop()?;
        let started = self.start_with_apiserver_args(apiserver_args)?;
        report_start(self, &started);
        survive_interrupts();
        Ok(Running {
            instance: self.clone(),
            started,
            armed: true,
        })
    }
}

impl Running {
    /// The instance.
    pub fn instance(&self) -> &Instance {
        &self.instance
    }

    /// How the start went.
    pub fn started(&self) -> &Started {
        &self.started
    }

    /// `program` with `KUBECONFIG` and `CRDFORGE_ENVTEST_DIR` pointing at
    /// this instance, as tests and controllers expect, the release it runs
    /// ([`crate::assets::RELEASE_ENV`]), so that control planes the program
    /// starts itself run the same one, and the tool's name
    /// ([`crate::TOOL_ENV`]) for their messages.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command
            .env("KUBECONFIG", self.instance.kubeconfig())
            .env("CRDFORGE_ENVTEST_DIR", self.instance.dir())
            .env(crate::assets::RELEASE_ENV, self.started.release.kubernetes)
            .env(crate::TOOL_ENV, crate::tool_name());
        command
    }

    /// Leaves the control plane running after the guard is gone.
    pub fn keep(mut self) -> Instance {
        self.armed = false;
        self.instance.clone()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Err(err) = self.instance.stop() {
            eprintln!(
                "envtest: stopping {}: {err:#}",
                self.instance.dir().display()
            );
        }
    }
}

/// Prints whether the binaries were cached or built, and how long the
/// control plane took to become ready.
pub fn report_start(instance: &Instance, started: &Started) {
    match started.provenance {
        Provenance::Cached => println!("envtest: binaries cached"),
        Provenance::Built(took) => {
            println!(
                "envtest: binaries built from Go modules in {:.0} s",
                took.as_secs_f64()
            )
        }
    }
    println!(
        "envtest: Kubernetes {} ready in {:.1} s ({})",
        started.release.kubernetes,
        started.ready_in.as_secs_f64(),
        instance.dir().display()
    );
}

/// Ignores Ctrl-C and SIGTERM in this process (the child still gets them from
/// the terminal or the process group), so that we live to stop the control
/// plane after the child exits. Installing twice is harmless.
fn survive_interrupts() {
    let seen = Arc::new(AtomicBool::new(false));
    let _ = ctrlc::set_handler(move || {
        if !seen.swap(true, Ordering::SeqCst) {
            eprintln!("envtest: interrupted; stopping the control plane once the command exits");
        }
    });
}
