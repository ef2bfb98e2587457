//! Front-end tests without a compiler: `parse_quote!` input to the model,
//! asserting fields, rules and error counts. The trybuild tests in
//! crdforge-derive show the same errors as a user sees them.

use quote::ToTokens;
use syn::{DeriveInput, parse_quote};

use super::parse;
use crate::model::{Body, Derive, Input, Requirement, Tagging, VariantShape};
use crdforge_schema::ListType;

fn ok(input: DeriveInput, derive: Derive) -> Input {
    match parse(&input, derive) {
        Ok(model) => model,
        Err(errors) => panic!(
            "unexpected errors: {:?}",
            errors
                .into_vec()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        ),
    }
}

fn errors(input: DeriveInput, derive: Derive) -> Vec<String> {
    match parse(&input, derive) {
        Ok(_) => panic!("expected errors"),
        Err(errors) => errors.into_vec().iter().map(ToString::to_string).collect(),
    }
}

fn fields(model: &Input) -> &[crate::model::Field] {
    match &model.body {
        Body::Struct(fields) => fields,
        _ => panic!("not a struct"),
    }
}

#[test]
fn a_spec_becomes_a_resource_with_defaults_filled_in() {
    let model = ok(
        parse_quote! {
            /// A network policy.
            #[kube(group = "example.com", version = "v1", kind = "Policy", namespaced, shortname = "pol")]
            #[serde(rename_all = "camelCase")]
            pub struct PolicySpec {
                /// Who may connect.
                #[crd(max_items = 10, items(max_length = 63))]
                pub allowed_peers: Vec<String>,
                #[serde(skip)]
                pub cache: u32,
                #[serde(default)]
                pub dry_run: bool,
            }
        },
        Derive::CustomResource,
    );
    let r = model.resource.as_ref().unwrap();
    assert_eq!(
        (r.plural.as_str(), r.singular.as_str()),
        ("policies", "policy")
    );
    assert_eq!(r.root.to_string(), "Policy");
    assert!(r.namespaced && r.storage && r.served);
    assert_eq!(r.shortnames, ["pol"]);
    assert_eq!(
        model.constraints.description.as_deref(),
        Some("A network policy.")
    );
    let fields = fields(&model);
    assert_eq!(
        fields.len(),
        2,
        "the serde-skipped field is not on the wire"
    );
    assert_eq!(fields[0].wire_name, "allowedPeers");
    assert_eq!(fields[0].required, Requirement::ByType);
    assert_eq!(fields[0].constraints.max_items, Some(10));
    assert_eq!(
        fields[0].constraints.items.as_ref().unwrap().max_length,
        Some(63)
    );
    assert_eq!(
        fields[0].constraints.description.as_deref(),
        Some("Who may connect.")
    );
    assert_eq!(
        fields[1].required,
        Requirement::Optional,
        "serde(default) makes it optional"
    );
}

#[test]
fn crd_and_kube_attributes_say_the_same_things() {
    let via_kube = ok(
        parse_quote! {
            #[kube(group = "example.com", version = "v1", kind = "User", namespaced = false, category = "all")]
            pub struct UserSpec { pub name: String }
        },
        Derive::CustomResource,
    );
    let via_crd = ok(
        parse_quote! {
            #[crd(group = "example.com", version = "v1", kind = "User", scope = "Cluster", category = "all")]
            pub struct UserSpec { pub name: String }
        },
        Derive::CustomResource,
    );
    let (a, b) = (via_kube.resource.unwrap(), via_crd.resource.unwrap());
    assert_eq!((a.namespaced, &a.categories), (b.namespaced, &b.categories));
}

#[test]
fn every_error_is_collected() {
    let found = errors(
        parse_quote! {
            #[kube(group = "example.com", version = "v1", kind = "User", shortnmae = "u")]
            pub struct UserSpec {
                #[crd(max_length = 3, max_length = 4)]
                pub name: String,
                #[crd(minimum = "one")]
                pub replicas: i32,
                pub ratio: f64,
                #[crd(list_type = "map")]
                pub items: Vec<String>,
            }
        },
        Derive::CustomResource,
    );
    assert_eq!(found.len(), 5, "{found:#?}");
    assert!(found[0].contains("did you mean `shortname`"));
    assert!(
        found
            .iter()
            .any(|e| e.contains("duplicate key `max_length`"))
    );
    assert!(found.iter().any(|e| e.contains("`minimum` takes a number")));
    assert!(
        found
            .iter()
            .any(|e| e.contains("needs #[crd(allow_float)]"))
    );
    assert!(
        found
            .iter()
            .any(|e| e.contains("needs at least one `list_map_key"))
    );
}

#[test]
fn resource_keys_on_a_schema_type_are_refused_with_their_home() {
    let found = errors(
        parse_quote! {
            #[crd(group = "example.com")]
            pub struct Inner { pub a: String }
        },
        Derive::Schema,
    );
    assert_eq!(
        found,
        [
            "`group` cannot be used on a type deriving KubeSchema; it belongs on the spec struct of #[derive(CustomResource)]"
        ]
    );
}

#[test]
fn enums_keep_their_serde_representation() {
    let model = ok(
        parse_quote! {
            #[serde(tag = "kind", content = "spec", rename_all = "snake_case")]
            pub enum Source {
                GitRepo { url: String },
                Inline(InlineSource),
                Empty,
                #[serde(skip)]
                Hidden,
            }
        },
        Derive::Schema,
    );
    let Body::Enum { tagging, variants } = &model.body else {
        panic!()
    };
    assert_eq!(*tagging, Tagging::Adjacent("kind".into(), "spec".into()));
    let names: Vec<_> = variants.iter().map(|v| v.wire_name.as_str()).collect();
    assert_eq!(names, ["git_repo", "inline", "empty"]);
    assert!(matches!(variants[0].shape, VariantShape::Struct(_)));
    assert!(matches!(variants[1].shape, VariantShape::Newtype(_)));
    assert!(matches!(variants[2].shape, VariantShape::Unit));
}

#[test]
fn immutable_optional_fields_and_field_groups_become_cel_rules() {
    let model = ok(
        parse_quote! {
            #[crd(exactly_one_of(http, tcp))]
            #[serde(rename_all = "camelCase")]
            pub struct Probe {
                #[crd(immutable)]
                pub zone_name: Option<String>,
                pub http: Option<String>,
                pub tcp: Option<String>,
            }
        },
        Derive::Schema,
    );
    let rules: Vec<_> = model
        .constraints
        .validations
        .iter()
        .map(|r| r.rule.as_str())
        .collect();
    assert_eq!(
        rules,
        [
            "has(self.zoneName) == has(oldSelf.zoneName)",
            "[has(self.http), has(self.tcp)].exists_one(x, x)"
        ]
    );
    assert_eq!(
        fields(&model)[0].constraints.validations[0].rule,
        "self == oldSelf"
    );
}

#[test]
fn list_and_map_keys_parse_into_constraints() {
    let model = ok(
        parse_quote! {
            pub struct S {
                #[crd(list_type = "map", list_map_key = "name", list_map_key = "port")]
                pub ports: Vec<Port>,
                #[crd(enum = ["a", "b"], example = "a", default_json = r#""b""#)]
                pub letter: String,
                #[crd(minimum = -5, maximum = 2.5, allow_float)]
                pub level: f32,
            }
        },
        Derive::Schema,
    );
    let f = fields(&model);
    assert_eq!(f[0].constraints.list_type, Some(ListType::Map));
    assert_eq!(f[0].constraints.list_map_keys, ["name", "port"]);
    assert_eq!(
        f[1].constraints.enum_,
        [serde_json::json!("a"), serde_json::json!("b")]
    );
    assert_eq!(f[1].constraints.default, Some(serde_json::json!("b")));
    assert_eq!(
        (f[2].constraints.minimum, f[2].constraints.maximum),
        (Some(-5.0), Some(2.5))
    );
    assert!(f[2].allow_float);
}

#[test]
fn expansion_is_valid_rust_and_uses_the_crate_override() {
    let input: DeriveInput = parse_quote! {
        #[kube(group = "example.com", version = "v1", kind = "User", status = "UserStatus")]
        #[crd(crate = "::my_crdforge")]
        pub struct UserSpec { pub name: String }
    };
    let tokens = crate::emit::expand_custom_resource(input.to_token_stream()).unwrap();
    let file: syn::File = syn::parse2(tokens.clone()).expect("the expansion parses as items");
    assert!(file.items.len() >= 3);
    let text = tokens.to_string();
    assert!(text.contains(":: my_crdforge :: KubeSchema"));
    assert!(
        !text.contains(":: crdforge ::"),
        "every path goes through the override"
    );
}

#[test]
fn the_rust_view_keeps_skipped_fields_and_variants_with_their_copy_mode() {
    use crate::model::{DeepCopyMode, RustBody, RustFields};
    let model = ok(
        parse_quote! {
            pub struct Spec {
                pub name: String,
                #[serde(skip)]
                #[crd(deep_copy = "clone")]
                pub cache: Foreign,
            }
        },
        Derive::Schema,
    );
    assert_eq!(fields(&model).len(), 1, "the wire sees one field");
    let RustBody::Struct(RustFields::Named(rust)) = &model.rust else {
        panic!("named struct")
    };
    let modes: Vec<_> = rust.iter().map(|f| f.deep_copy).collect();
    assert_eq!(modes, [DeepCopyMode::Deep, DeepCopyMode::Clone]);

    let model = ok(
        parse_quote! {
            #[serde(tag = "kind")]
            pub enum Source {
                Git { url: String },
                #[serde(skip)]
                Local(#[crd(deep_copy = "clone")] Handle, u8),
            }
        },
        Derive::Schema,
    );
    let Body::Enum { variants, .. } = &model.body else {
        panic!("enum")
    };
    assert_eq!(variants.len(), 1, "the wire sees one variant");
    let RustBody::Enum(rust) = &model.rust else {
        panic!("enum")
    };
    assert_eq!(rust.len(), 2);
    let RustFields::Unnamed(local) = &rust[1].fields else {
        panic!("tuple variant")
    };
    assert_eq!(local[0].deep_copy, DeepCopyMode::Clone);
    assert_eq!(local[1].deep_copy, DeepCopyMode::Deep);
}

#[test]
fn deep_copy_takes_deep_or_clone_and_only_it_applies_to_skipped_fields() {
    let errs = errors(
        parse_quote! {
            pub struct Spec {
                #[crd(deep_copy = "shallow")]
                pub a: String,
                #[serde(skip)]
                #[crd(deep_copy = "clone", max_length = 3)]
                pub b: String,
            }
        },
        Derive::Schema,
    );
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(errs[0].contains("unknown deep_copy mode `shallow`; expected \"deep\" or \"clone\""));
    assert!(errs[1].contains("only `deep_copy` applies"));
}

#[test]
fn variants_of_different_json_types_are_errors_where_syntax_shows_them() {
    // Untagged: a string beside an object.
    let found = errors(
        parse_quote! {
            #[serde(untagged)]
            pub enum Source { Full { name: String }, Bare(String) }
        },
        Derive::Schema,
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("variant `Bare` of this untagged enum is written as a string"));
    // Adjacent: the content of one variant a string, of another an object.
    let found = errors(
        parse_quote! {
            #[serde(tag = "t", content = "c")]
            pub enum Body { Object { text: String }, Inline(String), Nothing }
        },
        Derive::Schema,
    );
    assert_eq!(found.len(), 1, "{found:?}");
    // Structural ones stay: untagged integer-or-string, externally tagged
    // mixed payloads, and anything marked schemaless.
    ok(
        parse_quote! {
            #[serde(untagged)]
            pub enum Port { Number(i32), Name(String) }
        },
        Derive::Schema,
    );
    ok(
        parse_quote! {
            pub enum Source { Bare(String), Full { name: String } }
        },
        Derive::Schema,
    );
    ok(
        parse_quote! {
            #[crd(schemaless)]
            #[serde(untagged)]
            pub enum Source { Full { name: String }, Bare(String) }
        },
        Derive::Schema,
    );
}

#[test]
fn wide_integers_need_a_range_within_int64() {
    let found = errors(
        parse_quote! {
            pub struct Spec {
                pub a: u64,
                pub b: Option<usize>,
                pub c: Vec<i128>,
                #[crd(maximum = 9223372036854775807)]
                pub d: u64,
            }
        },
        Derive::Schema,
    );
    assert_eq!(found.len(), 4, "{found:?}");
    assert!(
        found[2].contains("minimum = -9223372036854774784"),
        "{}",
        found[2]
    );
    ok(
        parse_quote! {
            pub struct Spec {
                #[crd(maximum = 9223372036854774784)]
                pub a: u64,
                #[crd(items(minimum = 0, maximum = 100))]
                pub c: Vec<i128>,
                #[crd(no_format)]
                pub n: i64,
                pub d: i64,
                pub e: u32,
            }
        },
        Derive::Schema,
    );
}

#[test]
fn a_default_literal_of_another_type_is_an_error() {
    let found = errors(
        parse_quote! {
            pub struct Spec {
                #[crd(default = "7")]
                pub a: i32,
                #[crd(default = 7)]
                pub b: String,
                #[crd(default = true)]
                pub c: Option<u32>,
            }
        },
        Derive::Schema,
    );
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found[0].contains("`default = 7`"));
    ok(
        parse_quote! {
            pub struct Spec {
                #[crd(default = 7)]
                pub a: i32,
                #[crd(default = "x")]
                pub b: String,
                #[crd(default = Role::Admin)]
                pub c: Role,
            }
        },
        Derive::Schema,
    );
}

#[test]
fn paths_may_name_fields_of_a_flattened_spec_struct() {
    // Only `gen` sees the flattened struct's fields; the front end lets
    // any first field through when the spec flattens one.
    ok(
        parse_quote! {
            #[crd(group = "a.example.com", version = "v1", kind = "Thing",
                  printcolumn(name = "Zone", type_ = "string", json_path = ".spec.zone"),
                  selectable = ".spec.zone")]
            pub struct ThingSpec {
                pub name: String,
                #[serde(flatten)]
                pub placement: Placement,
            }
        },
        Derive::CustomResource,
    );
    let found = errors(
        parse_quote! {
            #[crd(group = "a.example.com", version = "v1", kind = "Thing",
                  selectable = ".spec.zone")]
            pub struct ThingSpec {
                pub name: String,
            }
        },
        Derive::CustomResource,
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("names no field of the spec"),
        "{}",
        found[0]
    );
}

/// What a `macro_rules!` hands on for `$x:literal` or `$x:expr`: the
/// tokens inside an invisible group.
fn invisible(tokens: proc_macro2::TokenStream) -> proc_macro2::TokenTree {
    proc_macro2::Group::new(proc_macro2::Delimiter::None, tokens).into()
}

#[test]
fn literals_in_invisible_groups_are_read_and_anything_else_is_one_error() {
    let (kind, max, doc) = (
        invisible(quote::quote!("Widget")),
        invisible(quote::quote!(12)),
        invisible(quote::quote!("A widget.")),
    );
    let input: DeriveInput = parse_quote! {
        #[doc = #doc]
        #[kube(group = "example.com", version = "v1", kind = #kind)]
        pub struct WidgetSpec {
            #[crd(max_length = #max)]
            pub name: String,
        }
    };
    let model = ok(input, Derive::CustomResource);
    assert_eq!(model.resource.as_ref().unwrap().kind, "Widget");
    assert_eq!(model.constraints.description.as_deref(), Some("A widget."));
    assert_eq!(fields(&model)[0].constraints.max_length, Some(12));

    // A path where a literal belongs: one error at it, and the keys after
    // it are still read (none is reported missing).
    let path = invisible(quote::quote!(KIND));
    let input: DeriveInput = parse_quote! {
        #[kube(kind = #path, group = "example.com", version = "v1")]
        pub struct WidgetSpec {
            pub name: String,
        }
    };
    let errors = errors(input, Derive::CustomResource);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("`kind` takes a string literal"),
        "{errors:?}"
    );
}
