#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod access;
pub mod agent;
pub mod compat;
pub mod crd;
pub mod deployment;
pub mod docs;
pub mod drift;
pub mod fence;
pub mod generate;
pub mod pod;
pub mod rbac;
pub mod registry;
pub mod validate;
pub mod webhooks;

pub use crd::checked_crd;
pub use registry::{Options, Registry, Report};
