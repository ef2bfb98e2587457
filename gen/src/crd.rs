//! CRDs checked offline: the assembly of `crdforge::crd`, then every check
//! the apiserver would make, so that a CRD this module returns is one the
//! apiserver accepts and an error lists every reason it would not.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as api;

use crdforge::CustomResource;
use crdforge::crd::{Definition, Error, convert, final_schema, from_props};
use crdforge::schema::Problem;

use crate::validate;

/// The CRD of one derived kind (one version), or every reason the
/// apiserver would refuse it.
pub fn checked_crd<K: CustomResource>() -> Result<api::CustomResourceDefinition, Error> {
    build(&K::definition())
}

/// The CRD, or every reason the apiserver would refuse it: the problems
/// the types and passes found, then the structural rules and the paths of
/// printer columns, selectable fields and scale, per version.
pub fn build(definition: &Definition) -> Result<api::CustomResourceDefinition, Error> {
    let (crd, mut problems) = convert(definition);
    for version in &definition.versions {
        let (schema, _) = final_schema(version);
        let found = validate::structural(&schema)
            .into_iter()
            .chain(validate::version_paths(version, &schema));
        problems.extend(found.map(|p| (version.name.clone(), p)));
    }
    // Each version's problems together, in the order of the versions (the
    // CRD-wide ones, with no version, first), as `gen` reports them.
    let rank = |name: &str| {
        definition
            .versions
            .iter()
            .position(|v| v.name == name)
            .map_or(0, |i| i + 1)
    };
    problems.sort_by_key(|(version, _)| rank(version));
    if problems.is_empty() {
        Ok(crd)
    } else {
        Err(Error::Invalid {
            crd: definition.name(),
            problems,
        })
    }
}

/// The offline check on a finished CRD from anywhere: every version's
/// schema must be present and structural. Problems name the version.
pub fn check_crd(crd: &api::CustomResourceDefinition) -> Result<(), Vec<Problem>> {
    let mut problems = Vec::new();
    for version in &crd.spec.versions {
        let schema = version
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref());
        let Some(schema) = schema else {
            problems.push(Problem {
                path: version.name.clone(),
                message: "no schema; apiextensions.k8s.io/v1 requires one".into(),
            });
            continue;
        };
        for problem in validate::structural(&from_props(schema)) {
            problems.push(Problem {
                path: format!("{} {}", version.name, problem.path),
                message: problem.message,
            });
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}
