//! The deep-copy suite's plan: `DeepCopy::deep_copy_into` against `clone`
//! and `clone_from` (contenders of `bench-deep-copy` for time and
//! `bench-deep-copy-allocs` for allocation counts), on a realistic `User`
//! and on a list of 1,000 fixture `Widget`s.

use std::path::Path;

use super::report::{Suite, group_thousands};
use super::{Bench, Contender};

/// The copy methods, ours first.
const METHODS: [&str; 3] = ["deep_copy_into", "clone", "clone_from"];

/// The `--impl` value of a method.
fn flag(method: &str) -> String {
    method.replace('_', "-")
}

pub(super) fn plan(time_bin: &Path, allocs_bin: &Path, quick: bool) -> Vec<Bench> {
    let (user_copies, list_copies, items) = if quick {
        (2_000u64, 4u64, 1_000usize)
    } else {
        (200_000, 200, 1_000)
    };
    let n = group_thousands(items as u64);
    let shared = "Two versions of the value, same shape, new contents (resourceVersion, \
                  generation, a label value, the Ready condition, managedFields times), are \
                  copied alternately into one destination, as an informer replaces a cached \
                  object: `deep_copy_into` copies field by field into the destination's \
                  buffers; `clone` is `*dst = src.clone()` (the old value dropped); \
                  `clone_from` is `dst.clone_from(src)`, which for `#[derive(Clone)]` types \
                  (k8s-openapi's and the derive's root struct) is the default, a clone and an \
                  assignment";
    let workloads = [
        (
            "user",
            user_copies,
            format!(
                "one `User` (examples/user-api) as the apiserver returns it: 3 labels, 2 \
                 annotations, a finalizer, an ownerReference, 2 managedFields entries with \
                 their FieldsV1 JSON, a 3-item groups list, a 2-entry quota map and a Ready \
                 condition. {shared}."
            ),
        ),
        (
            "list",
            list_copies,
            format!(
                "a `Vec` of {n} fixture `Widget`s (fixtures: the accepted sample \
                 specs in turn, each with name, namespace, uid, 2 labels, an ownerReference \
                 on every 4th, and a status with a condition); one copy is the whole list. \
                 Same method as above."
            ),
        ),
    ];
    let mut benches = Vec::new();
    for (suite, program, note) in [
        (
            Suite::DeepCopyTime,
            time_bin,
            "Time per copy with the system allocator, uninstrumented; one warm-up pass first.",
        ),
        (
            Suite::DeepCopyAllocs,
            allocs_bin,
            "`alloc` and `realloc` calls per copy in the steady state (after two warm-up \
             copies), counted by a counting global allocator (`stats_alloc`) in a separate \
             binary; deterministic, so every round gives the same count.",
        ),
    ] {
        for (workload, copies, description) in &workloads {
            let common = [
                "--workload".to_string(),
                workload.to_string(),
                "--copies".into(),
                copies.to_string(),
                "--items".into(),
                items.to_string(),
            ];
            // The workloads are described once, under the time table.
            let description = if suite == Suite::DeepCopyTime {
                format!("{description} {note}")
            } else {
                format!("the workload above. {note}")
            };
            benches.push(Bench {
                suite,
                workload,
                description,
                contenders: METHODS
                    .iter()
                    .map(|&name| Contender {
                        name,
                        program: program.to_path_buf(),
                        args: ["--impl".to_string(), flag(name)]
                            .into_iter()
                            .chain(common.iter().cloned())
                            .collect(),
                    })
                    .collect(),
            });
        }
    }
    benches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_runs_every_workload_in_both_suites() {
        let benches = plan(Path::new("time"), Path::new("allocs"), true);
        assert_eq!(benches.len(), 4);
        for b in &benches {
            let names: Vec<_> = b.contenders.iter().map(|c| c.name).collect();
            assert_eq!(names, METHODS, "ours first");
            let program = match b.suite {
                Suite::DeepCopyTime => "time",
                Suite::DeepCopyAllocs => "allocs",
                _ => panic!("not a deep-copy suite"),
            };
            assert!(b.contenders.iter().all(|c| c.program == Path::new(program)));
        }
        assert_eq!(
            benches[0].contenders[0].args[..2],
            ["--impl", "deep-copy-into"]
        );
    }
}
