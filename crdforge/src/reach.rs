//! The compile-time half of "a structural schema is finite": which derived
//! types a type reaches, so a type that contains itself through other types
//! (`Expr` → `BinaryOp` → `Expr`) fails to compile at the field that closes
//! the loop, instead of only failing `crdforge_gen`'s check at run time.
//!
//! The derive cannot see other types, and the obvious constant ("the set of
//! types `T` reaches", built from its fields' sets) is itself recursive for a
//! recursive type: rustc reports a cycle between constants, a wall of notes
//! that names neither the field nor the way out. So the sets are built by
//! level instead: [`KubeSchema::__REACH_1`](crate::KubeSchema) is a derived
//! type's own identity, and level `k` of a type is its identity joined with
//! level `k - 1` of each field's type. Each level depends only on the level
//! below, so no constant depends on itself, and a type finds itself in
//! level four (`__REACH_4`, the last) of one of its fields exactly when it
//! lies on a loop of at most four derived types; each level costs a
//! constant per derived type. A longer loop (rare in real APIs) is still
//! refused by `crdforge_gen` with the schema path.
//!
//! Identities are hashes of `module_path!()` and the type's name, computed
//! at compile time; a collision could only hide a loop, never report one that
//! is not there, because a type reports only its own identity.

/// How many distinct derived types one set holds; beyond it the set is
/// marked full and proves nothing (no error is raised from it).
const CAPACITY: usize = 32;

/// A set of derived types' identities, reached within some number of steps.
#[derive(Clone, Copy, Debug)]
pub struct Reach {
    ids: [u64; CAPACITY],
    len: usize,
}

impl Reach {
    /// Reaches nothing: every type that is not a derived struct or enum.
    pub const EMPTY: Reach = Reach {
        ids: [0; CAPACITY],
        len: 0,
    };

    /// A derived type's first level: itself.
    pub const fn own(name: &str) -> Reach {
        Reach::EMPTY.insert(id(name))
    }

    /// This set joined with `other` (a field's level below).
    pub const fn with(mut self, other: Reach) -> Reach {
        let mut i = 0;
        while i < other.len {
            self = self.insert(other.ids[i]);
            i += 1;
        }
        self
    }

    /// Whether the type named `name` is in this set.
    pub const fn holds(&self, name: &str) -> bool {
        let id = id(name);
        let mut i = 0;
        while i < self.len {
            if self.ids[i] == id {
                return true;
            }
            i += 1;
        }
        false
    }

    const fn insert(mut self, id: u64) -> Reach {
        let mut i = 0;
        while i < self.len {
            if self.ids[i] == id {
                return self;
            }
            i += 1;
        }
        // A full set drops the newcomer: it can then miss a loop, never
        // invent one.
        if self.len < CAPACITY {
            self.ids[self.len] = id;
            self.len += 1;
        }
        self
    }
}

/// FNV-1a of a type's path: stable, and cheap for the const evaluator.
const fn id(name: &str) -> u64 {
    let bytes = name.as_bytes();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_join_and_find_identities() {
        let a = Reach::own("m::A");
        let b = Reach::own("m::B").with(a);
        assert!(b.holds("m::A") && b.holds("m::B"));
        assert!(!b.holds("m::C"));
        assert!(!Reach::EMPTY.holds("m::A"));
        // Joining is idempotent.
        assert_eq!(b.with(a).with(b).len, 2);
    }

    #[test]
    fn a_full_set_never_reports_a_type_it_dropped() {
        let mut set = Reach::EMPTY;
        for i in 0..CAPACITY + 5 {
            set = set.with(Reach::own(&format!("m::T{i}")));
        }
        assert_eq!(set.len, CAPACITY);
        assert!(set.holds("m::T0"));
        assert!(!set.holds(&format!("m::T{}", CAPACITY + 1)));
    }
}
