//! The generated code names everything by absolute path: it compiles in a
//! module that shadows the prelude's `Result`, `Option`, `String`, `Vec`,
//! `Box`, `Some`, `None`, `Ok`, `Err` and `Default`, and in one without the
//! implicit prelude at all.

#![allow(dead_code, non_camel_case_types, unreachable_pub)]

mod shadowed {
    pub struct Result;
    pub struct Option;
    pub struct String;
    pub struct Vec;
    pub struct Box;
    pub struct Some;
    pub struct None;
    pub struct Ok;
    pub struct Err;
    pub trait Default {}
    pub struct Context;
    pub struct Schema;
    pub mod serde {}
    pub mod core {}
    pub mod std {}

    #[derive(crdforge::CustomResource, ::serde::Serialize, ::serde::Deserialize, Clone, Debug)]
    #[kube(
        group = "hygiene.crdforge.dev",
        version = "v1",
        kind = "Clean",
        status = "CleanStatus"
    )]
    pub struct CleanSpec {
        #[crd(max_length = 10, default = "x")]
        pub name: ::std::string::String,
        pub size: ::std::option::Option<i32>,
        pub inner: Inner,
    }

    #[derive(crdforge::KubeSchema, ::serde::Serialize, ::serde::Deserialize, Clone, Debug)]
    #[serde(tag = "kind")]
    pub enum Inner {
        A { x: i32 },
        B,
    }

    #[derive(crdforge::KubeSchema, ::serde::Serialize, ::serde::Deserialize, Clone, Debug)]
    pub struct CleanStatus {
        pub ok: bool,
    }
}

mod bare {
    #![no_implicit_prelude]

    #[derive(::crdforge::KubeSchema)]
    pub struct Bare<T> {
        #[crd(minimum = 1)]
        pub n: i32,
        pub items: ::std::vec::Vec<T>,
    }
}

#[test]
fn shadowing_names_does_not_break_the_generated_code() {
    let crd = crdforge_gen::checked_crd::<shadowed::Clean>().expect("a valid CRD");
    assert_eq!(crd.spec.names.plural, "cleans");
    let mut ctx = crdforge::schema::Context::new();
    let schema = <bare::Bare<bool> as crdforge::KubeSchema>::kube_schema(&mut ctx);
    assert_eq!(
        schema.properties["items"]
            .items
            .as_ref()
            .unwrap()
            .type_name(),
        "boolean"
    );
    // The DeepCopy impls, also generated in both modules, work too.
    let bare = bare::Bare {
        n: 1,
        items: vec![true],
    };
    let mut out = bare::Bare {
        n: 0,
        items: vec![],
    };
    crdforge::DeepCopy::deep_copy_into(&bare, &mut out);
    assert_eq!((out.n, out.items), (1, vec![true]));
}

/// A `macro_rules!` that receives the derive list from its caller and adds
/// fields of its own: the derive's call site is the caller's, the fields'
/// spans are partly the macro's, so a local the expansion spelled with a
/// field's span would not resolve.
macro_rules! with_common_fields {
    ($(#[$attr:meta])* $vis:vis struct $name:ident { $($field:ident: $ty:ty),* $(,)? }) => {
        $(#[$attr])*
        $vis struct $name {
            /// Added by the macro.
            pub generation: i64,
            /// Added by the macro, with a default.
            #[crd(default = 3)]
            pub retries: i32,
            $(pub $field: $ty),*
        }
    };
}

mod in_macro {
    with_common_fields! {
        #[derive(crdforge::CustomResource, ::serde::Serialize, ::serde::Deserialize, Clone, Debug, PartialEq)]
        #[kube(group = "hygiene.crdforge.dev", version = "v1", kind = "Made", status = "MadeStatus")]
        pub struct MadeSpec {
            name: String,
            labels: std::collections::BTreeMap<String, String>,
        }
    }

    with_common_fields! {
        #[derive(crdforge::KubeSchema, ::serde::Serialize, ::serde::Deserialize, Clone, Debug, PartialEq)]
        pub struct MadeStatus {
            ready: bool,
        }
    }
}

#[test]
fn derives_handed_to_a_macro_rules_expand() {
    let crd = crdforge_gen::checked_crd::<in_macro::Made>().expect("a valid CRD");
    assert_eq!(crd.spec.names.plural, "mades");
    let spec = in_macro::MadeSpec {
        generation: 1,
        retries: 2,
        name: "n".into(),
        labels: [("a".to_owned(), "b".to_owned())].into(),
    };
    let mut copy = spec.clone();
    copy.name.clear();
    crdforge::DeepCopy::deep_copy_into(&spec, &mut copy);
    assert_eq!(copy, spec);
    let apply = in_macro::MadeSpecApply::default();
    assert!(format!("{apply:?}").contains("MadeSpecApply"));
}

/// A `macro_rules!` that passes its `$x:literal` and `$x:expr` fragments on
/// as attribute values: each reaches the derive inside an invisible group,
/// which every key that takes a literal looks through.
macro_rules! kind {
    (
        $kind:literal, $short:literal, $doc:literal, $max:literal, $default:expr,
        $column:literal, $annotation:literal, $flag:literal, $rule:expr
    ) => {
        #[doc = $doc]
        #[derive(
            crdforge::CustomResource, ::serde::Serialize, ::serde::Deserialize, Clone, Debug,
        )]
        #[kube(group = "literal.crdforge.dev", version = "v1", kind = $kind, shortname = $short,
                       namespaced = $flag, annotation($annotation, $doc),
                       printcolumn(name = $column, type_ = "string", json_path = ".spec.name"))]
        #[crd(validation(rule = $rule, message = $doc))]
        pub struct LiteralSpec {
            #[doc = $doc]
            #[crd(max_length = $max, default = $default)]
            #[serde(default)]
            pub name: String,
        }
    };
}

mod literal {
    kind!(
        "Literal",
        "lit",
        "Made from literals.",
        12,
        "x",
        "Name",
        "literal.crdforge.dev/made",
        true,
        "self.name != ''"
    );
}

#[test]
fn literal_fragments_of_a_macro_rules_are_read_as_literals() {
    let crd = crdforge_gen::checked_crd::<literal::Literal>().expect("a valid CRD");
    assert_eq!(crd.spec.names.kind, "Literal");
    assert_eq!(crd.spec.names.short_names, Some(vec!["lit".to_owned()]));
    assert_eq!(crd.spec.scope, "Namespaced");
    assert_eq!(
        crd.metadata.annotations.unwrap()["literal.crdforge.dev/made"],
        "Made from literals."
    );
    let version = &crd.spec.versions[0];
    assert_eq!(
        version.additional_printer_columns.as_ref().unwrap()[0].name,
        "Name"
    );
    let root = version
        .schema
        .as_ref()
        .unwrap()
        .open_api_v3_schema
        .as_ref()
        .unwrap();
    let spec = &root.properties.as_ref().unwrap()["spec"];
    assert_eq!(spec.description.as_deref(), Some("Made from literals."));
    assert_eq!(
        spec.x_kubernetes_validations.as_ref().unwrap()[0].rule,
        "self.name != ''"
    );
    let name = &spec.properties.as_ref().unwrap()["name"];
    assert_eq!(name.max_length, Some(12));
    assert_eq!(name.description.as_deref(), Some("Made from literals."));
    assert_eq!(name.default.as_ref().unwrap().0, serde_json::json!("x"));
}

/// A recursive type (its recursive fields schemaless, as the derive asks:
/// no structural schema is infinite): deep copy and apply configuration of
/// a field that names the type itself ask for the impls being derived,
/// which the compiler resolves without a cycle.
mod recursive {
    #[derive(
        crdforge::KubeSchema, ::serde::Serialize, ::serde::Deserialize, Clone, Debug, PartialEq,
    )]
    pub struct Node {
        pub name: String,
        #[crd(schemaless)]
        pub children: Vec<Node>,
        #[crd(schemaless)]
        pub next: Option<Box<Node>>,
    }
}

#[test]
fn recursive_types_derive() {
    let node = recursive::Node {
        name: "a".into(),
        children: vec![recursive::Node {
            name: "b".into(),
            children: vec![],
            next: None,
        }],
        next: None,
    };
    assert_eq!(crdforge::DeepCopy::deep_copy(&node), node);
    // A schemaless field is applied as the JSON it holds.
    let apply = recursive::NodeApply::default()
        .with_name("a".to_owned())
        .with_next(serde_json::json!({"name": "c"}));
    assert_eq!(
        serde_json::to_value(&apply).unwrap(),
        serde_json::json!({"name": "a", "next": {"name": "c"}})
    );
}
