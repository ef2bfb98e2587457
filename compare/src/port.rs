//! kube-derive 5 code moved over by changing one import: `port/types.rs`,
//! ten kinds written as a kube-derive user writes them (schemars and serde
//! on every type), is compiled once with kube-derive and once with
//! crdforge. With crdforge, every nested type falls back to schemars on its
//! own (`crdforge::__private::fallback`); `tests/port.rs` checks that the
//! CRDs pass crdforge's checks and `tests/port_e2e.rs` that objects
//! round-trip on a real apiserver.

/// The types with kube-derive 5.
pub mod with_kube {
    use kube::CustomResource;
    include!("port/types.rs");
}

/// The same types with crdforge. Each nested field falls back to schemars
/// and says so with a `deprecated` note; they are the point here, so they
/// are allowed (tests/port.rs shows one).
#[allow(deprecated)]
pub mod with_crdforge {
    use crdforge::CustomResource;
    include!("port/types.rs");
}
