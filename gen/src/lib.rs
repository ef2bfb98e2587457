#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod access;
pub mod crd;
pub mod drift;
pub mod fence;
pub mod generate;
pub mod rbac;
pub mod validate;
pub mod webhooks;

pub use crd::checked_crd;
