//! Derives the same resources with kube-derive 5 and with crdforge and
//! reports, per case, what each produced: the CRD, whether crdforge's
//! offline apiserver-equivalent check accepts it, or the panic. The report
//! is `docs/kube-derive-comparison.md`, written (and checked for drift) by
//! `cargo xtask gen`.
//!
//! Everything sits behind the `compare` feature, so that a plain
//! `cargo build --workspace` does not build kube-derive and schemars.
#![cfg(feature = "compare")]

use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

pub mod keys;
pub mod port;
pub mod shapes;
mod with_crdforge;
mod with_kube;

/// One type, derived both ways.
struct Case {
    title: &'static str,
    kube: fn() -> CustomResourceDefinition,
    crdforge: fn() -> Result<CustomResourceDefinition, String>,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            title: "Internally tagged enum (`#[serde(tag = \"type\")]`)",
            kube: with_kube::internal,
            crdforge: with_crdforge::internal,
        },
        Case {
            title: "Externally tagged enum mixing unit and struct variants",
            kube: with_kube::mixed,
            crdforge: with_crdforge::mixed,
        },
        Case {
            title: "Untagged enum of an integer and a string",
            kube: with_kube::untagged,
            crdforge: with_crdforge::untagged,
        },
        Case {
            title: "Optional fields, sets, floats and serde defaults",
            kube: with_kube::fields,
            crdforge: with_crdforge::fields,
        },
        Case {
            title: "Validation keys",
            kube: with_kube::validation,
            crdforge: with_crdforge::validation,
        },
        Case {
            title: "Moving over: nested types that derive only `JsonSchema`",
            kube: with_kube::migrated,
            crdforge: with_crdforge::migrated,
        },
        Case {
            title: "Adjacently tagged enum and a flattened struct",
            kube: with_kube::shaped,
            crdforge: with_crdforge::shaped,
        },
        Case {
            title: "Kubernetes types: a Quantity map, IntOrString, Conditions",
            kube: with_kube::kubernetes_types,
            crdforge: with_crdforge::kubernetes_types,
        },
        Case {
            title: "Untagged struct variants in the orders serde reads back, and a catch-all (the `Orders` kind)",
            kube: with_kube::orders,
            crdforge: with_crdforge::orders,
        },
        Case {
            title: "A CEL rule naming a field that does not exist",
            kube: with_kube::cel_typo,
            crdforge: with_crdforge::cel_typo,
        },
    ]
}

fn yaml(crd: &CustomResourceDefinition) -> String {
    serde_saphyr::to_string(&crd.spec.versions[0].schema)
        .unwrap_or_else(|e| format!("(cannot render: {e})"))
}

/// crdforge's offline check run on a CRD from anywhere, through the same
/// serde form the apiserver receives.
fn offline_verdict(crd: &CustomResourceDefinition) -> String {
    match crdforge_gen::validate::check_crd(crd) {
        Ok(()) => "accepted by the offline apiserver-equivalent check".into(),
        Err(problems) => format!(
            "**refused** by the offline apiserver-equivalent check:\n{}",
            problems
                .iter()
                .map(|p| format!("- `{p}`"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

/// What the cases below show, and what the two derives offer beyond them.
const SUMMARY: &str = "\
## Summary

What kube-derive 5 produces that crdforge does not:
- a run-time **panic** from `crd()` for internally and adjacently tagged enums (kube-rs #1279)
  and for enums mixing unit and struct variants; crdforge gives a structural `oneOf` for the
  first two and a compile error at the unit variant for the third;
- for an untagged integer-or-string enum, an `anyOf` of untyped branches that is not a
  structural schema (crdforge: `x-kubernetes-int-or-string`);
- for untagged struct variants (the `Orders` kind), an `anyOf` whose later, shorter branch
  admits a value serde reads as that variant with a loss: `{\"name\": \"a\", \"uid\": \"u\"}` is
  stored and read back as `Short`, without its `uid` (crdforge's branch refuses the fields
  only the earlier variants have);
- `nullable: true` on every `Option` (crdforge: only with `#[crd(nullable)]`; the apiserver
  prunes nulls of non-nullable fields);
- float fields without an opt-in (crdforge: `#[crd(allow_float)]`, as controller-gen);
- a root `title` (the kind) and a generated root description;
- schema defaults taken from `#[serde(default = ...)]` (crdforge: only from `#[crd(default =
  ...)]` or `default_json`, so what the apiserver fills in is always written down);
- client-side CEL (`#[kube(cel)]`) and `crates(...)`, which crdforge refuses with a pointer
  to its own mechanism, and schemars-based `schema = \"manual\"` (crdforge's `manual` means
  an impl of its own `KubeSchema`); see the key table below.

What crdforge produces that kube-derive does not:
- `x-kubernetes-list-type: set` for `BTreeSet`/`HashSet` of scalars;
- `apiVersion`, `kind` and `metadata` in the root schema;
- the controller-gen keys as attributes (`list_type`, `list_map_key`, `map_type`,
  `struct_type`, `embedded_resource`, `int_or_string`, `schemaless`, `immutable`,
  `exactly_one_of`/`at_most_one_of`/`at_least_one_of`, `items(...)`, typed `default`, ...);
- the validation Kubernetes declares on its own types: Quantity's pattern, Condition's
  lengths, patterns and enum (kube-derive: descriptions only);
- compile errors for misused keys (with spans and suggestions), and an offline
  apiserver-equivalent check before anything is written, CEL rules typed against the schema
  included (a rule naming a missing field is refused at `gen`, not at `kubectl apply`).

Moving over: nested types that derive only `schemars::JsonSchema` keep working through
`#[crd(schemars)]` on the field (feature `schemars`); the schema matches kube-derive's except
that an `Option` field is optional rather than `nullable`.

Equal: validation keywords (lengths, ranges, patterns) and root CEL rules from
`#[kube(validation = ...)]`.
";

/// The comparison report, as Markdown.
pub fn report() -> String {
    // The panics are part of the report; keep them off stderr while the
    // cases run, and put the previous hook back afterwards.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut out = String::new();
    let _ = writeln!(out, "# kube-derive 5 and crdforge, type by type\n");
    let _ = writeln!(
        out,
        "Generated by `cargo xtask gen` (crate `crdforge-compare`). Each case derives the same \
         Rust type with kube-derive 5 (+ schemars 1) and with crdforge, and shows the spec schema \
         each produces and what crdforge's offline apiserver-equivalent check says about it.\n"
    );
    let _ = writeln!(out, "{SUMMARY}");
    let _ = writeln!(
        out,
        "## Every `#[kube(...)]` key\n\nEach key kube-derive 5 accepts (the list is checked \
         against kube-derive's own attribute struct), and what crdforge does with it; every \
         accepted key has a test that derives one type both ways and compares the CRDs \
         (`compare/tests/kube_derive_keys.rs`).\n\n{}",
        keys::table()
    );
    for case in cases() {
        let _ = writeln!(out, "## {}\n", case.title);
        match catch_unwind(AssertUnwindSafe(case.kube)) {
            Ok(crd) => {
                let _ = writeln!(out, "**kube-derive**: {}\n", offline_verdict(&crd));
                let _ = writeln!(out, "```yaml\n{}```\n", yaml(&crd));
            }
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "**kube-derive**: `crd()` **panics** at run time: `{message}`\n"
                );
            }
        }
        match (case.crdforge)() {
            Ok(crd) => {
                let _ = writeln!(out, "**crdforge**: {}\n", offline_verdict(&crd));
                let _ = writeln!(out, "```yaml\n{}```\n", yaml(&crd));
            }
            Err(e) => {
                let _ = writeln!(out, "**crdforge**: {e}\n");
            }
        }
    }
    std::panic::set_hook(previous);
    out
}
