//! Derive macros for crdforge. Each entry point only converts token streams;
//! the work is done by `crdforge-codegen`.
