#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod cache;
#[cfg(feature = "cli")]
pub mod cli;
pub mod client;
pub mod controller;
pub mod informer;
pub mod leader;
pub mod lister;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "webhook")]
pub mod webhook;
pub mod workqueue;
