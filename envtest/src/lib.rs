#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod assets;
#[cfg(feature = "client")]
mod client;
pub mod instance;
pub mod pki;
pub mod process;
#[cfg(feature = "client")]
pub mod proxy;
mod scoped;
mod workspace;

#[cfg(feature = "client")]
pub use client::{apply_crd, client, config, proxied_client};
pub use instance::{Component, Instance, Started};
pub use scoped::{Running, report_start};
pub use workspace::{find_root, target_dir, workspace_root};
