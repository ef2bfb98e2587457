//! Golden files of the derives' output, formatted with prettyplease, so a
//! change to generated code shows up as a reviewable diff. Re-bless with
//! `UPDATE_EXPECT=1 cargo test -p crdforge-derive`.

use expect_test::expect_file;
use quote::ToTokens;
use syn::{DeriveInput, parse_quote};

fn pretty(tokens: proc_macro2::TokenStream) -> String {
    let file: syn::File = syn::parse2(tokens).expect("the expansion parses as a file");
    prettyplease::unparse(&file)
}

#[test]
fn custom_resource_expansion() {
    let input: DeriveInput = parse_quote! {
        /// A user.
        #[kube(group = "example.com", version = "v1", kind = "User", namespaced,
               status = "UserStatus", shortname = "usr", derive = "PartialEq",
               printcolumn(name = "Login", type_ = "string", json_path = ".spec.login"))]
        #[serde(rename_all = "camelCase")]
        pub struct UserSpec {
            /// The login name.
            #[crd(max_length = 63, pattern = "^[a-z]+$", immutable)]
            pub login: String,
            #[crd(default = 1, minimum = 0)]
            pub replicas: Option<i32>,
        }
    };
    let tokens = super::expand_custom_resource(input.to_token_stream()).unwrap();
    expect_file!["../../tests/snapshots/custom_resource.expanded.rs"].assert_eq(&pretty(tokens));
}

#[test]
fn enum_schema_expansion() {
    let input: DeriveInput = parse_quote! {
        #[serde(tag = "type", rename_all = "camelCase")]
        pub enum Source {
            /// From git.
            Git { url: String },
            Empty,
        }
    };
    let tokens = super::expand_schema(input.to_token_stream()).unwrap();
    expect_file!["../../tests/snapshots/enum_schema.expanded.rs"].assert_eq(&pretty(tokens));
}

#[test]
fn deep_copy_expansion() {
    // Generics, a serde-skipped field copied by Clone, and an enum with a
    // skipped tuple variant; only the DeepCopy impls are kept, the schemas
    // have the snapshots above.
    let inputs: [DeriveInput; 2] = [
        parse_quote! {
            pub struct Wrapper<T> {
                pub items: Vec<T>,
                #[serde(skip)]
                #[crd(deep_copy = "clone")]
                pub handle: Handle,
            }
        },
        parse_quote! {
            #[serde(tag = "kind")]
            pub enum Source {
                Git { url: String },
                #[serde(skip)]
                Local(PathBuf, u8),
            }
        },
    ];
    let mut items = Vec::new();
    for input in inputs {
        let tokens = super::expand_schema(input.to_token_stream()).unwrap();
        let file: syn::File = syn::parse2(tokens).unwrap();
        for item in file.items {
            let syn::Item::Const(c) = item else { continue };
            let syn::Expr::Block(block) = *c.expr else {
                continue;
            };
            for stmt in block.block.stmts {
                if let syn::Stmt::Item(syn::Item::Impl(imp)) = stmt
                    && imp.trait_.as_ref().is_some_and(|(_, path, _)| {
                        path.segments.last().is_some_and(|s| s.ident == "DeepCopy")
                    })
                {
                    items.push(syn::Item::Impl(imp));
                }
            }
        }
    }
    let file = syn::File {
        shebang: None,
        attrs: Vec::new(),
        items,
    };
    expect_file!["../../tests/snapshots/deep_copy.expanded.rs"]
        .assert_eq(&prettyplease::unparse(&file));
}

/// The size of what the derives write for the fixture API and the User
/// API — every type in them, expanded and formatted — as a golden file,
/// so that a change that grows or shrinks the expansion (which every user
/// crate pays for in compile time) shows up in review with its figure.
#[test]
fn expansion_size_of_the_fixture_api() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let files = [
        "fixtures/src/widget/v1alpha1.rs",
        "fixtures/src/widget/v1beta1.rs",
        "fixtures/src/widget/v1.rs",
        "fixtures/src/policy.rs",
        "fixtures/src/proxy.rs",
        "examples/user-api/src/lib.rs",
    ];
    let mut report = String::from("file | types | input lines | expanded lines\n");
    let (mut all_types, mut all_input, mut all_output) = (0, 0, 0);
    for path in files {
        let source = std::fs::read_to_string(root.join(path)).unwrap();
        let file: syn::File = syn::parse_file(&source).unwrap();
        let (mut types, mut input, mut output) = (0, 0, 0);
        for item in file.items {
            let input_item: DeriveInput = match item {
                syn::Item::Struct(s) => s.into(),
                syn::Item::Enum(e) => e.into(),
                _ => continue,
            };
            let derives = |name: &str| {
                input_item.attrs.iter().any(|a| {
                    a.path().is_ident("derive") && a.to_token_stream().to_string().contains(name)
                })
            };
            let expanded = if derives("CustomResource") {
                super::expand_custom_resource(input_item.to_token_stream())
            } else if derives("KubeSchema") {
                super::expand_schema(input_item.to_token_stream())
            } else {
                continue;
            };
            types += 1;
            let item_file = syn::File {
                shebang: None,
                attrs: Vec::new(),
                items: vec![syn::parse2(input_item.to_token_stream()).unwrap()],
            };
            input += prettyplease::unparse(&item_file).lines().count();
            output += pretty(expanded.unwrap()).lines().count();
        }
        report.push_str(&format!("{path} | {types} | {input} | {output}\n"));
        (all_types, all_input, all_output) =
            (all_types + types, all_input + input, all_output + output);
    }
    report.push_str(&format!(
        "total | {all_types} | {all_input} | {all_output}\n"
    ));
    expect_file!["../../tests/snapshots/expansion_size.txt"].assert_eq(&report);
}
