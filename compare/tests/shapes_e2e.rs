//! The serde-shapes corpus through kube-derive 5's CRDs on a real control
//! plane: every sample of `crdforge_fixtures::shapes` (and every value of
//! `shapes::refused()`) is created with the CRD kube-derive derives for the
//! same Rust type, read back and compared as the Rust type. The verdicts
//! form docs/serde-shapes-kube-derive.md; this test fails when they differ
//! from the checked-in file (`CRDFORGE_BLESS=1` rewrites it), so the table
//! is always what the apiserver did.
//!
//! Run with `cargo xtask envtest run -- cargo test -p crdforge-compare
//! --features e2e --test shapes_e2e -- --nocapture`.

use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crdforge_compare::shapes::{self, KubeKind};
use crdforge_fixtures::shapes as corpus;
use kube::Client;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, PostParams};
use serde_json::{Value, json};

const TABLE: &str = "docs/serde-shapes-kube-derive.md";

/// What happened to one value.
async fn verdict(
    client: &Client,
    kind: &KubeKind,
    plural: &str,
    name: &str,
    spec: &Value,
    should_refuse: bool,
) -> String {
    // A value to refuse is sent as it is (it is no value of the type, or
    // not one the type writes); a sample as the type writes it.
    let wire = if should_refuse {
        spec.clone()
    } else {
        match (kind.written)(spec) {
            Ok(wire) => wire,
            Err(e) => return format!("not a value of the type: {e}"),
        }
    };
    let gvk = GroupVersionKind::gvk(shapes::GROUP, "v1", kind.kind);
    let resource = ApiResource::from_gvk_with_plural(&gvk, plural);
    // kube-derive's kinds are cluster-scoped unless `namespaced`.
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
    let object: DynamicObject = serde_json::from_value(json!({
        "apiVersion": format!("{}/v1", shapes::GROUP),
        "kind": kind.kind,
        "metadata": {"name": name},
        "spec": wire,
    }))
    .unwrap();
    let _ = api.delete(name, &DeleteParams::default()).await;
    let created = api.create(&PostParams::default(), &object).await;
    let got = match created {
        Ok(_) => api.get(name).await,
        Err(e) => Err(e),
    };
    let _ = api.delete(name, &DeleteParams::default()).await;
    let stored = match got {
        Ok(o) => o.data.get("spec").cloned().unwrap_or(Value::Null),
        Err(kube::Error::Api(status)) => {
            let cause = status
                .details
                .as_ref()
                .and_then(|d| d.causes.first())
                .map(|c| format!("{}: {}", c.field, c.message))
                .unwrap_or(status.message);
            let cause = short(&cause);
            let what = if should_refuse {
                "refused"
            } else {
                "**refuses a valid value**"
            };
            return format!(
                "{what} ({status_code}: `{cause}`)",
                status_code = status.code
            );
        }
        Err(e) => return format!("error: {e}"),
    };
    if should_refuse {
        return match (kind.written)(&stored) {
            Ok(_) => "**stored**: the Rust type reads it with a loss".into(),
            Err(e) => format!("**stored**, unreadable: {}", short(&e)),
        };
    }
    match (kind.same)(spec, &stored) {
        Ok(true) => "round-trips".into(),
        Ok(false) => format!("**changed**: stored `{}`", short(&stored.to_string())),
        Err(e) => format!("**stored, unreadable**: {}", short(&e)),
    }
}

/// One line of at most 200 characters, fit for a table cell.
fn short(text: &str) -> String {
    let line = text
        .replace('\n', " ")
        .replace('|', "\\|")
        .replace('`', "'");
    match line.char_indices().nth(200) {
        Some((end, _)) => format!("{}…", &line[..end]),
        None => line,
    }
}

#[tokio::test]
async fn the_serde_shapes_corpus_through_kube_derives_crds() {
    let client = crdforge_envtest::client()
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let samples = corpus::samples();
    let refused = corpus::refused();
    let mut table = String::from(
        "# The serde-shapes corpus through kube-derive 5's CRDs\n\n\
         <!-- Written by compare/tests/shapes_e2e.rs (CRDFORGE_BLESS=1); do not edit. -->\n\n\
         Each sample of the serde-shapes corpus (`crdforge_fixtures::shapes`; crdforge's own\n\
         CRDs round-trip every one of them and refuse every value below, see\n\
         [serde-shapes.md](serde-shapes.md)), sent through the CRD kube-derive 5 (+ schemars 1)\n\
         derives for the same Rust type (`crdforge_compare::shapes`, one kind per `Variants`\n\
         field), created on kube-apiserver 1.36, read back and compared as the Rust type.\n\
         \"Values to refuse\" are values the Rust type cannot read back whole.\n\n\
         | kind | value | kube-derive 5 |\n|---|---|---|\n",
    );
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let derived: Vec<(KubeKind, Result<_, String>)> = shapes::kinds()
        .into_iter()
        .map(|k| {
            let crd = catch_unwind(AssertUnwindSafe(k.crd)).map_err(|panic| {
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            });
            (k, crd)
        })
        .collect();
    std::panic::set_hook(previous);
    for (kind, crd) in &derived {
        let crd = match crd {
            Ok(crd) => crd,
            Err(message) => {
                let _ = writeln!(
                    table,
                    "| {} | every value | `crd()` **panics**: `{}` |",
                    kind.kind,
                    short(message)
                );
                continue;
            }
        };
        if let Err(e) = crdforge_envtest::apply_crd(&client, "crdforge-compare", crd).await {
            // The apiserver's own words, without the client's wrapping.
            let e = format!("{e:#}");
            let said = e
                .split("is invalid: ")
                .nth(1)
                .and_then(|rest| rest.split(": Invalid").next())
                .unwrap_or(&e);
            let _ = writeln!(
                table,
                "| {} | every value | **CRD refused**: `{}` |",
                kind.kind,
                short(said)
            );
            continue;
        }
        let plural = crd.spec.names.plural.clone();
        let values = samples
            .iter()
            .filter(|s| s.kind == kind.corpus_kind)
            .map(|s| (s.name, s.spec.clone(), false))
            .chain(
                refused
                    .iter()
                    .filter(|r| r.kind == kind.corpus_kind)
                    .map(|r| (r.name, r.spec.clone(), true)),
            );
        let mut seen: Vec<Value> = Vec::new();
        for (name, spec, should_refuse) in values {
            let Some(spec) = shapes::spec_of(kind, &spec) else {
                continue;
            };
            // A Variants field kind gets each distinct value once.
            if seen.contains(&spec) {
                continue;
            }
            seen.push(spec.clone());
            let v = verdict(&client, kind, &plural, name, &spec, should_refuse).await;
            let label = if should_refuse {
                format!("{name} (to refuse)")
            } else {
                name.to_owned()
            };
            let _ = writeln!(table, "| {} | {label} | {v} |", kind.kind);
        }
    }
    println!("{table}");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(TABLE);
    if std::env::var_os("CRDFORGE_BLESS").is_some() {
        std::fs::write(&path, &table).unwrap();
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == table,
        "{TABLE} is not what the apiserver did; rerun with CRDFORGE_BLESS=1 and commit it"
    );
}
