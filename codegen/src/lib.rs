//! crdforge's generator: annotated Rust types become a validated model, and the
//! model becomes structural OpenAPI v3 schemas, CustomResourceDefinitions,
//! RBAC, docs and Rust code. Everything here is pure and deterministic; only
//! `xtask` writes files.
#![warn(missing_docs)]
