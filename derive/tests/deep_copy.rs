//! The derived `DeepCopy` on the shapes the derives accept: serde-skipped
//! fields are copied too, a foreign type without `DeepCopy` is copied by
//! `Clone` when marked, generic parameters get the bound, enums copy the
//! same variant in place and replace a different one, skipped variants
//! included.

use std::time::{Duration, Instant};

use crdforge::{DeepCopy, KubeSchema};
use serde::{Deserialize, Serialize};

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Spec<T> {
    pub items: Vec<T>,
    pub source: Source,
    pub name: Name,
    /// Rust-only state: not on the wire, but part of the value.
    #[serde(skip)]
    pub hits: u64,
    /// A std type with no `DeepCopy` impl, copied by `Clone`.
    #[serde(skip)]
    #[crd(deep_copy = "clone")]
    pub seen: Option<Instant>,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Name(pub String);

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind")]
pub enum Source {
    Git {
        url: String,
        #[serde(skip)]
        #[crd(deep_copy = "clone")]
        fetched: Option<Instant>,
    },
    Empty,
    /// Never written: Rust-only.
    #[serde(skip)]
    Local {
        path: String,
        #[crd(deep_copy = "clone")]
        at: Instant,
    },
}

fn spec(items: Vec<i32>, source: Source, hits: u64) -> Spec<i32> {
    Spec {
        items,
        source,
        name: Name(format!("n{hits}")),
        hits,
        seen: hits.is_multiple_of(2).then(Instant::now),
    }
}

#[test]
fn every_field_is_copied_including_skipped_ones() {
    let now = Instant::now();
    let values = [
        spec(vec![], Source::Empty, 0),
        spec(vec![1, 2, 3], Source::Empty, 1),
        spec(
            vec![4],
            Source::Git {
                url: "https://example.com/a.git".into(),
                fetched: Some(now),
            },
            2,
        ),
        spec(
            vec![5, 6],
            Source::Git {
                url: "b".into(),
                fetched: None,
            },
            3,
        ),
        spec(
            vec![7],
            Source::Local {
                path: "/src".into(),
                at: now + Duration::from_secs(1),
            },
            4,
        ),
    ];
    for a in &values {
        assert_eq!(&a.deep_copy(), a);
        for b in &values {
            let mut out = b.clone();
            a.deep_copy_into(&mut out);
            assert_eq!(&out, a);
        }
    }
}

#[test]
fn the_same_variant_is_copied_in_place() {
    let a = Source::Git {
        url: "short".into(),
        fetched: None,
    };
    let mut out = Source::Git {
        url: String::with_capacity(64),
        fetched: Some(Instant::now()),
    };
    let Source::Git { url, .. } = &out else {
        unreachable!()
    };
    let buffer = url.as_ptr();
    a.deep_copy_into(&mut out);
    assert_eq!(out, a);
    let Source::Git { url, .. } = &out else {
        unreachable!()
    };
    assert_eq!(url.as_ptr(), buffer, "the destination's String was reused");
}
