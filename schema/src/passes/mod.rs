//! Ordered, named rewrites from the schema Rust types describe to the
//! structural schema the apiserver accepts. Each pass documents the
//! Kubernetes rule it serves and has its own before/after tests. A pass never
//! skips a shape it does not expect: it reports a [`Problem`] with the path.
//!
//! The order matters: `int_or_string` must see an untagged `i32 | String`
//! enum before `hoist_junctions` would call its branches' types a conflict,
//! and `metadata` and `descriptions` tidy the result.

mod descriptions;
mod hoist;
mod int_or_string;
mod metadata;
mod nullable_enums;

use crate::{Problem, Schema};

pub use descriptions::truncate_descriptions;
pub use hoist::{hoist_junctions, merge_schemas};
pub use int_or_string::{
    INT32_RANGE, int_or_string, int_or_string_any_of, is_int_or_string_any_of,
};
pub use metadata::metadata_restrictions;
pub use nullable_enums::nullable_enums;

/// Settings of the pass pipeline.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Descriptions longer than this many characters are cut (controller-gen's
    /// `maxDescLen`); `None` keeps them whole.
    pub max_description_length: Option<usize>,
}

/// One pass: a name (for messages and docs) and the rewrite.
pub struct Pass {
    /// Short name, e.g. `hoist_junctions`.
    pub name: &'static str,
    /// Rewrites the schema in place, pushing what it cannot fix.
    pub run: fn(&mut Schema, &Options, &mut Vec<Problem>),
}

/// The passes, in the order they run.
pub const PASSES: &[Pass] = &[
    Pass {
        name: "int_or_string",
        run: |s, _, p| int_or_string(s, p),
    },
    Pass {
        name: "hoist_junctions",
        run: |s, _, p| hoist_junctions(s, p),
    },
    Pass {
        name: "int_or_string_any_of",
        run: |s, _, p| int_or_string_any_of(s, p),
    },
    Pass {
        name: "nullable_enums",
        run: |s, _, p| nullable_enums(s, p),
    },
    Pass {
        name: "metadata_restrictions",
        run: |s, _, p| metadata_restrictions(s, p),
    },
    Pass {
        name: "truncate_descriptions",
        run: |s, o, _| truncate_descriptions(s, o.max_description_length),
    },
];

/// Runs every pass over `schema`, the root `openAPIV3Schema` of one version,
/// and returns the problems found.
pub fn run_all(schema: &mut Schema, options: &Options) -> Vec<Problem> {
    let mut problems = Vec::new();
    for pass in PASSES {
        (pass.run)(schema, options, &mut problems);
    }
    problems
}
