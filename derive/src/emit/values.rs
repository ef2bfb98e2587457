//! Model values as Rust expressions in generated code: JSON values, CEL
//! rules and whole `Constraints` literals. Every path is absolute and goes
//! through the crdforge crate path, so user code can shadow nothing.

use proc_macro2::TokenStream;
use quote::quote;
use serde_json::Value;
use syn::Path;

use crdforge_schema::{Constraints, ListType, MapType, Rule};

/// A `serde_json::Value` expression.
pub(crate) fn json(value: &Value, krate: &Path) -> TokenStream {
    let v = quote!(#krate::__private::serde_json::Value);
    match value {
        Value::Null => quote!(#v::Null),
        Value::Bool(b) => quote!(#v::Bool(#b)),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                quote!(#v::from(#i))
            } else if let Some(u) = n.as_u64() {
                quote!(#v::from(#u))
            } else {
                // JSON numbers parsed by serde_json are finite.
                let f = n.as_f64().unwrap_or_default();
                quote!(#v::from(#f))
            }
        }
        Value::String(s) => quote!(#v::String(::std::string::String::from(#s))),
        Value::Array(items) => {
            let items = items.iter().map(|i| json(i, krate));
            quote!(#v::Array(#krate::__private::vec([#(#items),*])))
        }
        Value::Object(map) => {
            let keys = map.keys();
            let values = map.values().map(|i| json(i, krate));
            quote!({
                let mut map = #krate::__private::serde_json::Map::new();
                #(map.insert(::std::string::String::from(#keys), #values);)*
                #v::Object(map)
            })
        }
    }
}

/// A `Rule` expression: the rule and whichever options are set.
pub(crate) fn rule(rule: &Rule, krate: &Path) -> TokenStream {
    let ty = quote!(#krate::schema::Rule);
    let text = &rule.rule;
    let strings = [
        ("message", &rule.message),
        ("message_expression", &rule.message_expression),
        ("reason", &rule.reason),
        ("field_path", &rule.field_path),
    ];
    let mut set: Vec<TokenStream> = strings
        .into_iter()
        .filter_map(|(name, value)| {
            let name = syn::Ident::new(name, proc_macro2::Span::call_site());
            let value = value.as_ref()?;
            Some(quote!(#name: ::core::option::Option::Some(::std::string::String::from(#value))))
        })
        .collect();
    if let Some(optional_old_self) = rule.optional_old_self {
        set.push(quote!(optional_old_self: ::core::option::Option::Some(#optional_old_self)));
    }
    quote!(#ty {
        rule: ::std::string::String::from(#text),
        #(#set,)*
        ..#ty::DEFAULT
    })
}

/// A `Constraints` expression naming only the keys that are set, the rest
/// from the constant `Constraints::DEFAULT`: most fields set one or two
/// keys, and every key spelled out cost every user crate compile time (a
/// 2-field spec expanded to ~740 lines).
pub(crate) fn constraints(c: &Constraints, krate: &Path) -> TokenStream {
    let ty = quote!(#krate::schema::Constraints);
    let default = quote!(#ty::DEFAULT);
    if *c == Constraints::default() {
        return default;
    }
    let mut set: Vec<TokenStream> = Vec::new();
    let mut field = |name: &str, value: TokenStream| {
        let name = syn::Ident::new(name, proc_macro2::Span::call_site());
        set.push(quote!(#name: #value));
    };
    let some = |value: TokenStream| quote!(::core::option::Option::Some(#value));
    let string = |text: &String| some(quote!(::std::string::String::from(#text)));
    let strings = [
        ("description", &c.description),
        ("title", &c.title),
        ("format", &c.format),
        ("pattern", &c.pattern),
    ];
    for (name, value) in strings {
        if let Some(text) = value {
            field(name, string(text));
        }
    }
    let numbers = [
        ("minimum", c.minimum),
        ("maximum", c.maximum),
        ("multiple_of", c.multiple_of),
    ];
    for (name, value) in numbers {
        if let Some(n) = value {
            field(name, some(quote!(#n)));
        }
    }
    let counts = [
        ("min_length", c.min_length),
        ("max_length", c.max_length),
        ("min_items", c.min_items),
        ("max_items", c.max_items),
        ("min_properties", c.min_properties),
        ("max_properties", c.max_properties),
    ];
    for (name, value) in counts {
        if let Some(n) = value {
            field(name, some(quote!(#n)));
        }
    }
    let flags = [
        ("no_format", c.no_format),
        ("exclusive_minimum", c.exclusive_minimum),
        ("exclusive_maximum", c.exclusive_maximum),
        ("unique_items", c.unique_items),
        ("nullable", c.nullable),
        ("schemaless", c.schemaless),
        ("preserve_unknown_fields", c.preserve_unknown_fields),
        ("embedded_resource", c.embedded_resource),
        ("int_or_string", c.int_or_string),
    ];
    for (name, value) in flags {
        if value {
            field(name, quote!(true));
        }
    }
    let vec = |items: Vec<TokenStream>| quote!(#krate::__private::vec([#(#items),*]));
    if !c.enum_.is_empty() {
        field(
            "enum_",
            vec(c.enum_.iter().map(|v| json(v, krate)).collect()),
        );
    }
    if let Some(items) = &c.items {
        let items = constraints(items, krate);
        field("items", some(quote!(::std::boxed::Box::new(#items))));
    }
    for (name, value) in [("default", &c.default), ("example", &c.example)] {
        if let Some(v) = value {
            field(name, some(json(v, krate)));
        }
    }
    if let Some(list_type) = c.list_type {
        let variant = match list_type {
            ListType::Atomic => quote!(Atomic),
            ListType::Set => quote!(Set),
            ListType::Map => quote!(Map),
        };
        field(
            "list_type",
            some(quote!(#krate::schema::ListType::#variant)),
        );
    }
    if !c.list_map_keys.is_empty() {
        let keys = c
            .list_map_keys
            .iter()
            .map(|k| quote!(::std::string::String::from(#k)))
            .collect();
        field("list_map_keys", vec(keys));
    }
    for (name, value) in [("map_type", c.map_type), ("struct_type", c.struct_type)] {
        if let Some(map_type) = value {
            let variant = match map_type {
                MapType::Atomic => quote!(Atomic),
                MapType::Granular => quote!(Granular),
            };
            field(name, some(quote!(#krate::schema::MapType::#variant)));
        }
    }
    if !c.validations.is_empty() {
        field(
            "validations",
            vec(c.validations.iter().map(|r| rule(r, krate)).collect()),
        );
    }
    quote!(#ty { #(#set,)* ..#default })
}
