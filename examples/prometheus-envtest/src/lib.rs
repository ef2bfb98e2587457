//! A real Prometheus for tests: built from the Go module proxy into a cache,
//! started on loopback with a generated configuration, waited for with
//! bounded waits, and killed when dropped.
//!
//! Nothing is downloaded as a binary: [`ensure`] runs `go install
//! github.com/prometheus/prometheus/cmd/prometheus@VERSION` (the module's
//! own `go.sum` pins every dependency, and the Go toolchain checks the module
//! against the checksum database through the proxy) into a temporary
//! directory that is renamed into place only when the binary is there, the
//! way `crdforge-envtest` builds the control plane.
#![warn(missing_docs)]

mod assets;
mod server;

pub use assets::{
    BUILD_TAGS, MODULE, PROMETHEUS_RELEASE, Provenance, VERSION, binary_path, cache_root, ensure,
};
pub use server::{Prometheus, PrometheusConfig, http_get, http_post};
