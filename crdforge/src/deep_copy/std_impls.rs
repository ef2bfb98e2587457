//! [`DeepCopy`] for the standard library and `serde_json::Value`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, Hash};
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::Arc;

use super::DeepCopy;

/// Types whose copy is a plain `Copy`: nothing to reuse.
macro_rules! by_copy {
    ($($ty:ty),* $(,)?) => {
        $(
            impl DeepCopy for $ty {
                #[inline]
                fn deep_copy_into(&self, out: &mut Self) {
                    *out = *self;
                }
                #[inline]
                fn deep_copy(&self) -> Self {
                    *self
                }
            }
        )*
    };
}

by_copy!(
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    (),
    &'static str,
    std::num::NonZeroU8,
    std::num::NonZeroU16,
    std::num::NonZeroU32,
    std::num::NonZeroU64,
    std::num::NonZeroUsize,
    std::num::NonZeroI8,
    std::num::NonZeroI16,
    std::num::NonZeroI32,
    std::num::NonZeroI64,
    std::num::NonZeroIsize,
    std::time::Duration,
    std::net::IpAddr,
    std::net::Ipv4Addr,
    std::net::Ipv6Addr,
);

impl<T: ?Sized> DeepCopy for PhantomData<T> {
    #[inline]
    fn deep_copy_into(&self, _out: &mut Self) {}
    #[inline]
    fn deep_copy(&self) -> Self {
        PhantomData
    }
}

impl DeepCopy for String {
    #[inline]
    fn deep_copy_into(&self, out: &mut Self) {
        // Reuses `out`'s buffer when it is large enough.
        out.clone_from(self);
    }
    #[inline]
    fn deep_copy(&self) -> Self {
        self.clone()
    }
}

impl<T: DeepCopy> DeepCopy for Option<T> {
    #[inline]
    fn deep_copy_into(&self, out: &mut Self) {
        match (self, out) {
            (Some(from), Some(to)) => from.deep_copy_into(to),
            (None, out) => *out = None,
            (Some(from), out) => *out = Some(from.deep_copy()),
        }
    }
    #[inline]
    fn deep_copy(&self) -> Self {
        self.as_ref().map(T::deep_copy)
    }
}

/// A borrowed `'static` value is shared, an owned one cloned: `Clone` does
/// exactly that.
impl<T: ?Sized + ToOwned + 'static> DeepCopy for std::borrow::Cow<'static, T> {
    #[inline]
    fn deep_copy_into(&self, out: &mut Self) {
        out.clone_from(self);
    }
    #[inline]
    fn deep_copy(&self) -> Self {
        self.clone()
    }
}

impl<T: DeepCopy> DeepCopy for Box<T> {
    #[inline]
    fn deep_copy_into(&self, out: &mut Self) {
        (**self).deep_copy_into(&mut **out);
    }
    #[inline]
    fn deep_copy(&self) -> Self {
        Box::new((**self).deep_copy())
    }
}

impl<T: DeepCopy> DeepCopy for Vec<T> {
    fn deep_copy_into(&self, out: &mut Self) {
        // The shared prefix is copied into; the rest is dropped or appended.
        out.truncate(self.len());
        let (prefix, rest) = self.split_at(out.len());
        for (from, to) in prefix.iter().zip(out.iter_mut()) {
            from.deep_copy_into(to);
        }
        out.extend(rest.iter().map(T::deep_copy));
    }
    fn deep_copy(&self) -> Self {
        self.iter().map(T::deep_copy).collect()
    }
}

impl<T: DeepCopy> DeepCopy for VecDeque<T> {
    fn deep_copy_into(&self, out: &mut Self) {
        out.truncate(self.len());
        let shared = out.len();
        for (from, to) in self.iter().zip(out.iter_mut()) {
            from.deep_copy_into(to);
        }
        out.extend(self.iter().skip(shared).map(T::deep_copy));
    }
    fn deep_copy(&self) -> Self {
        self.iter().map(T::deep_copy).collect()
    }
}

impl<T: DeepCopy, const N: usize> DeepCopy for [T; N] {
    fn deep_copy_into(&self, out: &mut Self) {
        for (from, to) in self.iter().zip(out.iter_mut()) {
            from.deep_copy_into(to);
        }
    }
    fn deep_copy(&self) -> Self {
        std::array::from_fn(|i| self[i].deep_copy())
    }
}

impl<T: DeepCopy> DeepCopy for Arc<T> {
    fn deep_copy_into(&self, out: &mut Self) {
        if Arc::ptr_eq(self, out) {
            // The destination shares the source's value; a copy must not.
            *out = Arc::new((**self).deep_copy());
            return;
        }
        match Arc::get_mut(out) {
            Some(inner) => (**self).deep_copy_into(inner),
            None => *out = Arc::new((**self).deep_copy()),
        }
    }
    fn deep_copy(&self) -> Self {
        Arc::new((**self).deep_copy())
    }
}

impl<T: DeepCopy> DeepCopy for Rc<T> {
    fn deep_copy_into(&self, out: &mut Self) {
        if Rc::ptr_eq(self, out) {
            *out = Rc::new((**self).deep_copy());
            return;
        }
        match Rc::get_mut(out) {
            Some(inner) => (**self).deep_copy_into(inner),
            None => *out = Rc::new((**self).deep_copy()),
        }
    }
    fn deep_copy(&self) -> Self {
        Rc::new((**self).deep_copy())
    }
}

/// The body of `deep_copy_into` for a map with `BTreeMap`'s API
/// (`BTreeMap` itself and serde_json's `Map`, which wraps one).
macro_rules! copy_map_into {
    ($from:expr, $out:expr) => {{
        let (from, out) = ($from, $out);
        // Fast path, the common case of copying an object over an older
        // version of itself: same keys, so every value is copied in place in
        // one ordered walk.
        if out.len() == from.len() && out.keys().eq(from.keys()) {
            for (v, to) in from.values().zip(out.values_mut()) {
                v.deep_copy_into(to);
            }
            return;
        }
        // Keys are immutable in a map: entries whose key is gone are
        // dropped, those whose key stays keep their value to copy into.
        out.retain(|k, _| from.contains_key(k));
        for (k, v) in from {
            match out.get_mut(k) {
                Some(to) => v.deep_copy_into(to),
                None => {
                    out.insert(k.deep_copy(), v.deep_copy());
                }
            }
        }
    }};
}

impl<K: DeepCopy + Ord, V: DeepCopy> DeepCopy for BTreeMap<K, V> {
    fn deep_copy_into(&self, out: &mut Self) {
        copy_map_into!(self, out)
    }
    fn deep_copy(&self) -> Self {
        self.iter()
            .map(|(k, v)| (k.deep_copy(), v.deep_copy()))
            .collect()
    }
}

impl<T: DeepCopy + Ord> DeepCopy for BTreeSet<T> {
    fn deep_copy_into(&self, out: &mut Self) {
        if out.len() == self.len() && out.iter().eq(self.iter()) {
            return;
        }
        out.retain(|k| self.contains(k));
        for k in self {
            if !out.contains(k) {
                out.insert(k.deep_copy());
            }
        }
    }
    fn deep_copy(&self) -> Self {
        self.iter().map(T::deep_copy).collect()
    }
}

impl<K, V, S> DeepCopy for HashMap<K, V, S>
where
    K: DeepCopy + Eq + Hash,
    V: DeepCopy,
    S: BuildHasher + Clone,
{
    fn deep_copy_into(&self, out: &mut Self) {
        out.retain(|k, _| self.contains_key(k));
        for (k, v) in self {
            match out.get_mut(k) {
                Some(to) => v.deep_copy_into(to),
                None => {
                    out.insert(k.deep_copy(), v.deep_copy());
                }
            }
        }
    }
    fn deep_copy(&self) -> Self {
        let mut out = HashMap::with_capacity_and_hasher(self.len(), self.hasher().clone());
        out.extend(self.iter().map(|(k, v)| (k.deep_copy(), v.deep_copy())));
        out
    }
}

impl<T, S> DeepCopy for HashSet<T, S>
where
    T: DeepCopy + Eq + Hash,
    S: BuildHasher + Clone,
{
    fn deep_copy_into(&self, out: &mut Self) {
        out.retain(|k| self.contains(k));
        for k in self {
            if !out.contains(k) {
                out.insert(k.deep_copy());
            }
        }
    }
    fn deep_copy(&self) -> Self {
        let mut out = HashSet::with_capacity_and_hasher(self.len(), self.hasher().clone());
        out.extend(self.iter().map(T::deep_copy));
        out
    }
}

macro_rules! tuples {
    ($(($($name:ident $idx:tt),+))*) => {
        $(
            impl<$($name: DeepCopy),+> DeepCopy for ($($name,)+) {
                #[inline]
                fn deep_copy_into(&self, out: &mut Self) {
                    $(self.$idx.deep_copy_into(&mut out.$idx);)+
                }
                #[inline]
                fn deep_copy(&self) -> Self {
                    ($(self.$idx.deep_copy(),)+)
                }
            }
        )*
    };
}

tuples! {
    (A 0)
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, F 5)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7)
}

impl DeepCopy for serde_json::Value {
    fn deep_copy_into(&self, out: &mut Self) {
        use serde_json::Value;
        match (self, out) {
            (Value::String(from), Value::String(to)) => from.deep_copy_into(to),
            (Value::Array(from), Value::Array(to)) => from.deep_copy_into(to),
            (Value::Object(from), Value::Object(to)) => from.deep_copy_into(to),
            (from, to) => *to = from.deep_copy(),
        }
    }
    fn deep_copy(&self) -> Self {
        use serde_json::Value;
        match self {
            Value::Null => Value::Null,
            Value::Bool(b) => Value::Bool(*b),
            Value::Number(n) => Value::Number(n.clone()),
            Value::String(s) => Value::String(s.clone()),
            Value::Array(items) => Value::Array(items.deep_copy()),
            Value::Object(map) => Value::Object(map.deep_copy()),
        }
    }
}

impl DeepCopy for serde_json::Map<String, serde_json::Value> {
    fn deep_copy_into(&self, out: &mut Self) {
        // serde_json's map is a BTreeMap (or an IndexMap with
        // `preserve_order`); its API allows the same keyed reuse.
        copy_map_into!(self, out)
    }
    fn deep_copy(&self) -> Self {
        self.iter()
            .map(|(k, v)| (k.clone(), v.deep_copy()))
            .collect()
    }
}

impl DeepCopy for serde_json::Number {
    #[inline]
    fn deep_copy_into(&self, out: &mut Self) {
        out.clone_from(self);
    }
    #[inline]
    fn deep_copy(&self) -> Self {
        self.clone()
    }
}
