//! A real Kubernetes control plane for tests, built from source.
//!
//! Like controller-runtime's envtest, but nothing is downloaded: etcd,
//! kube-apiserver, kube-controller-manager and kubectl are built from Go
//! modules (see [`assets`]) and cached per version outside the work tree. An
//! [`Instance`] starts them on loopback with freshly generated certificates
//! (see [`pki`]), waits until each is ready, and records everything in its
//! directory so other processes can restart or stop it.
//!
//! kube-controller-manager is part of it on purpose. Without its garbage
//! collector, ownerReference cascades never happen; without its namespace
//! controller, a deleted namespace stays `Terminating` for ever. The
//! `envtest` crate from kube-rs starts only etcd and the apiserver.
//!
//! With the `client` feature, [`client`] gives a test a `kube::Client` for the
//! running instance.
//!
//! Errors are `anyhow` errors: this crate is developer tooling whose every
//! failure ends in a message for a person, never in a branch of code.
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
pub use client::{client, config, proxied_client};
pub use instance::{Component, Instance, Started};
pub use scoped::{Running, report_start};
pub use workspace::{find_root, target_dir, workspace_root};
