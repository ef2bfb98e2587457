//! Every `#[kube(...)]` key kube-derive 5 accepts, and what crdforge does
//! with it: the one list the docs table, the README's claim and the key
//! tests (`tests/kube_derive_keys.rs`) are made from. That test checks it
//! against kube-derive's own attribute struct, so a key kube-derive adds
//! fails it until it is listed here.

/// How crdforge takes one kube-derive key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// Accepted in `#[kube(...)]` with kube-derive's meaning: the test
    /// derives a type both ways and compares the CRDs.
    Same,
    /// Accepted, but a value means something else; says what.
    Differs(&'static str),
    /// A compile error at the key, with this explanation.
    Refused(&'static str),
}

/// kube-derive 5's keys, in the order of its `KubeAttrs`.
pub const KUBE_DERIVE_5_KEYS: &[(&str, Support)] = &[
    ("group", Support::Same),
    ("version", Support::Same),
    ("kind", Support::Same),
    ("doc", Support::Same),
    ("root", Support::Same),
    (
        "plural",
        Support::Differs(
            "the same value; the default is the plural of the singular as in kube-derive, except \
             that a kind ending in a single `s` (not `-ss`, `-us`) is taken as already plural \
             (`Endpoints` → `endpoints`, kube-derive: `endpointses`): write `plural` when moving \
             such a kind, or its CRD gets a new name",
        ),
    ),
    ("singular", Support::Same),
    ("namespaced", Support::Same),
    ("no_spec", Support::Same),
    ("derive", Support::Same),
    ("attr", Support::Same),
    (
        "schema",
        Support::Differs(
            "`\"derived\"` as in kube-derive; `\"disabled\"` writes a spec that keeps any fields \
             (`x-kubernetes-preserve-unknown-fields`) where kube-derive writes no schema, which the \
             apiserver refuses until one is added; with `\"manual\"` you implement \
             `crdforge::KubeSchema` for the spec, not `schemars::JsonSchema`",
        ),
    ),
    ("status", Support::Same),
    ("category", Support::Same),
    ("shortname", Support::Same),
    ("printcolumn", Support::Same),
    ("selectable", Support::Same),
    ("scale", Support::Same),
    (
        "crates",
        Support::Refused(
            "crdforge reaches kube-core, k8s-openapi and serde through its own crate: \
             `#[crd(crate = \"path::to::crdforge\")]`",
        ),
    ),
    ("annotation", Support::Same),
    ("label", Support::Same),
    ("validation", Support::Same),
    (
        "cel",
        Support::Refused(
            "client-side CEL is not generated; the apiserver evaluates the `validation` rules, \
             and `gen` checks them offline",
        ),
    ),
    ("storage", Support::Same),
    ("served", Support::Same),
    ("deprecated", Support::Same),
];

/// The Markdown table of [`KUBE_DERIVE_5_KEYS`].
pub fn table() -> String {
    let mut out = String::from("| kube-derive 5 key | in crdforge |\n|---|---|\n");
    for (key, support) in KUBE_DERIVE_5_KEYS {
        let what = match support {
            Support::Same => "accepted, same meaning".to_owned(),
            Support::Differs(how) => format!("accepted: {how}"),
            Support::Refused(why) => format!("**refused** at compile time: {why}"),
        };
        out.push_str(&format!("| `{key}` | {what} |\n"));
    }
    out
}
