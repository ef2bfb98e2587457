//! The data plane's network namespace. In a real deployment the speaker
//! runs with `hostNetwork` and this is never used; in the end-to-end tests
//! the speaker runs in the host namespace (it must reach the apiserver on the
//! host's loopback) and enters a node's namespace only for its sockets.
//! `setns` changes the calling thread alone, so each such socket is opened on
//! a fresh thread that enters first; a socket keeps the namespace it was
//! opened in for its whole life.

use std::fs::File;
use std::os::fd::AsFd;
use std::path::Path;
use std::thread;

use anyhow::{Context, Result};

/// Runs `f` on a new thread inside the namespace at `netns` (or in ours
/// when `None`), and returns its result.
pub fn run_in<T: Send + 'static>(
    netns: Option<&Path>,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    let netns = netns.map(Path::to_path_buf);
    thread::Builder::new()
        .name("netns".into())
        .spawn(move || -> Result<T> {
            if let Some(path) = &netns {
                enter(path)?;
            }
            Ok(f())
        })?
        .join()
        .map_err(|_| anyhow::anyhow!("the thread opening sockets panicked"))?
}

/// Moves the calling thread (only) into the network namespace at `path`.
pub fn enter(path: &Path) -> Result<()> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    rustix::thread::move_into_link_name_space(
        file.as_fd(),
        Some(rustix::thread::LinkNameSpaceType::Network),
    )
    .with_context(|| format!("entering the network namespace {}", path.display()))
}
