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
            quote!(#v::Array(<::std::vec::Vec<_> as ::core::convert::From<_>>::from([#(#items),*])))
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

fn opt_string(s: &Option<String>) -> TokenStream {
    match s {
        Some(s) => quote!(::core::option::Option::Some(::std::string::String::from(#s))),
        None => quote!(::core::option::Option::None),
    }
}

fn opt<T: quote::ToTokens>(v: &Option<T>) -> TokenStream {
    match v {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    }
}

/// A `Rule` expression.
pub(crate) fn rule(rule: &Rule, krate: &Path) -> TokenStream {
    let text = &rule.rule;
    let message = opt_string(&rule.message);
    let message_expression = opt_string(&rule.message_expression);
    let reason = opt_string(&rule.reason);
    let field_path = opt_string(&rule.field_path);
    let optional_old_self = opt(&rule.optional_old_self);
    quote!(#krate::schema::Rule {
        rule: ::std::string::String::from(#text),
        message: #message,
        message_expression: #message_expression,
        reason: #reason,
        field_path: #field_path,
        optional_old_self: #optional_old_self,
    })
}

/// A `Constraints` expression; the default value when nothing is set, to
/// keep generated code short.
pub(crate) fn constraints(c: &Constraints, krate: &Path) -> TokenStream {
    let ty = quote!(#krate::schema::Constraints);
    if *c == Constraints::default() {
        return quote!(<#ty as ::core::default::Default>::default());
    }
    let description = opt_string(&c.description);
    let title = opt_string(&c.title);
    let format = opt_string(&c.format);
    let no_format = c.no_format;
    let pattern = opt_string(&c.pattern);
    let (minimum, maximum, multiple_of) = (opt(&c.minimum), opt(&c.maximum), opt(&c.multiple_of));
    let (min_length, max_length) = (opt(&c.min_length), opt(&c.max_length));
    let (min_items, max_items) = (opt(&c.min_items), opt(&c.max_items));
    let (min_properties, max_properties) = (opt(&c.min_properties), opt(&c.max_properties));
    let (exclusive_minimum, exclusive_maximum) = (c.exclusive_minimum, c.exclusive_maximum);
    let (unique_items, nullable, schemaless) = (c.unique_items, c.nullable, c.schemaless);
    let (preserve, embedded, int_or_string) = (
        c.preserve_unknown_fields,
        c.embedded_resource,
        c.int_or_string,
    );
    let enum_ = c.enum_.iter().map(|v| json(v, krate));
    let items = match &c.items {
        Some(items) => {
            let items = constraints(items, krate);
            quote!(::core::option::Option::Some(::std::boxed::Box::new(#items)))
        }
        None => quote!(::core::option::Option::None),
    };
    let json_opt = |v: &Option<Value>| match v {
        Some(v) => {
            let v = json(v, krate);
            quote!(::core::option::Option::Some(#v))
        }
        None => quote!(::core::option::Option::None),
    };
    let default = json_opt(&c.default);
    let example = json_opt(&c.example);
    let list_type = match c.list_type {
        Some(ListType::Atomic) => {
            quote!(::core::option::Option::Some(#krate::schema::ListType::Atomic))
        }
        Some(ListType::Set) => quote!(::core::option::Option::Some(#krate::schema::ListType::Set)),
        Some(ListType::Map) => quote!(::core::option::Option::Some(#krate::schema::ListType::Map)),
        None => quote!(::core::option::Option::None),
    };
    let map_type = |m: Option<MapType>| match m {
        Some(MapType::Atomic) => {
            quote!(::core::option::Option::Some(#krate::schema::MapType::Atomic))
        }
        Some(MapType::Granular) => {
            quote!(::core::option::Option::Some(#krate::schema::MapType::Granular))
        }
        None => quote!(::core::option::Option::None),
    };
    let (map_type, struct_type) = (map_type(c.map_type), map_type(c.struct_type));
    let list_map_keys = &c.list_map_keys;
    let validations = c.validations.iter().map(|r| rule(r, krate));
    quote!(#ty {
        description: #description,
        title: #title,
        format: #format,
        no_format: #no_format,
        minimum: #minimum,
        maximum: #maximum,
        exclusive_minimum: #exclusive_minimum,
        exclusive_maximum: #exclusive_maximum,
        multiple_of: #multiple_of,
        min_length: #min_length,
        max_length: #max_length,
        pattern: #pattern,
        enum_: <::std::vec::Vec<_> as ::core::convert::From<_>>::from([#(#enum_),*]),
        min_items: #min_items,
        max_items: #max_items,
        unique_items: #unique_items,
        min_properties: #min_properties,
        max_properties: #max_properties,
        items: #items,
        nullable: #nullable,
        default: #default,
        example: #example,
        schemaless: #schemaless,
        preserve_unknown_fields: #preserve,
        embedded_resource: #embedded,
        int_or_string: #int_or_string,
        list_type: #list_type,
        list_map_keys: <::std::vec::Vec<_> as ::core::convert::From<_>>::from([#(::std::string::String::from(#list_map_keys)),*]),
        map_type: #map_type,
        struct_type: #struct_type,
        validations: <::std::vec::Vec<_> as ::core::convert::From<_>>::from([#(#validations),*]),
    })
}
