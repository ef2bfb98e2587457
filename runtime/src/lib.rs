#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod cache;
pub mod client;
pub mod controller;
pub mod informer;
pub mod leader;
pub mod lister;
#[cfg(feature = "server")]
pub mod server;
pub mod workqueue;
