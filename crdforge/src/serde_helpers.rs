//! serde helpers for shapes whose plain derive loses a value the schema
//! keeps. Name them in `#[serde(with = "...")]`; the derives recognise them.

/// `Option<Option<T>>` as three states: absent (`None`), `null`
/// (`Some(None)`) and a value (`Some(Some(v))`).
///
/// serde's derive reads `null` into an `Option<Option<T>>` as `None`, so
/// the `Some(None)` a field exists for — a `null` the apiserver keeps under
/// `nullable: true` — comes back as `None`. The derive therefore refuses an
/// `Option<Option<T>>` field unless it is written
///
/// ```
/// # #[derive(serde::Serialize, serde::Deserialize)]
/// # struct Spec {
/// #[serde(default, skip_serializing_if = "Option::is_none",
///         with = "crdforge::serde_helpers::double_option")]
/// nickname: Option<Option<String>>,
/// # }
/// ```
///
/// `default` reads an absent field as `None`, `skip_serializing_if` writes
/// `None` as absent, and this module reads `null` as `Some(None)`.
/// (serde_with's `rust::double_option` does the same; it is not a
/// dependency here because this crate is what API crates link, and the
/// two functions below are all it takes.)
pub mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Writes `Some(None)` as `null` and `Some(Some(v))` as `v`. `None`
    /// is left out by `skip_serializing_if`; were it not, it would be
    /// written as `null` too.
    pub fn serialize<T, S>(value: &Option<Option<T>>, serializer: S) -> Result<S::Ok, S::Error>
    where
        T: Serialize,
        S: Serializer,
    {
        match value {
            Some(Some(v)) => serializer.serialize_some(v),
            Some(None) | None => serializer.serialize_none(),
        }
    }

    /// Reads a present field: `null` as `Some(None)`, a value as
    /// `Some(Some(v))` (an absent field is `None` by `#[serde(default)]`).
    pub fn deserialize<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
    where
        T: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Option::<T>::deserialize(deserializer).map(Some)
    }

    #[cfg(test)]
    mod tests {
        use serde::{Deserialize, Serialize};
        use serde_json::json;

        #[derive(Serialize, Deserialize, Debug, PartialEq)]
        struct S {
            #[serde(default, skip_serializing_if = "Option::is_none", with = "super")]
            v: Option<Option<i32>>,
        }

        #[test]
        fn absent_null_and_a_value_are_three_values() {
            for (json, value) in [
                (json!({}), None),
                (json!({"v": null}), Some(None)),
                (json!({"v": 7}), Some(Some(7))),
            ] {
                let read: S = serde_json::from_value(json.clone()).unwrap();
                assert_eq!(read.v, value);
                assert_eq!(serde_json::to_value(&read).unwrap(), json);
            }
        }
    }
}
