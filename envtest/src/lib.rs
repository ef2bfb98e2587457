#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod assets;
#[cfg(feature = "audit")]
pub mod audit;
#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "client")]
mod client;
pub mod instance;
#[cfg(all(feature = "audit", feature = "client"))]
pub mod manifests;
pub mod pki;
pub mod process;
#[cfg(feature = "client")]
pub mod proxy;
mod scoped;
mod tool;
mod workspace;

#[cfg(feature = "client")]
pub use client::{apply_crd, client, config, proxied_client, wait_until_gc_watches};
pub use instance::{Component, Instance, Started};
pub use scoped::{Running, report_start};
pub use tool::{TOOL_ENV, set_tool_name, tool_name};
pub use workspace::{find_root, target_dir, workspace_root};
