//! Golden files of the derives' output, formatted with prettyplease, so a
//! change to generated code shows up as a reviewable diff. Re-bless with
//! `UPDATE_EXPECT=1 cargo test -p crdforge-codegen`.

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
