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
