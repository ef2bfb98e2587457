//! Parts of a CRD version that both halves of the crate describe: the
//! printer columns and the scale subresource. The front end parses them
//! from attributes, the emitter writes them out as these same structs, and
//! CRD assembly reads them at run time, so they live here, outside both
//! features.

/// The scale subresource's paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scale {
    /// Where the desired replica count is.
    pub spec_replicas_path: String,
    /// Where the observed replica count is.
    pub status_replicas_path: String,
    /// Where the serialized label selector is.
    pub label_selector_path: Option<String>,
}

/// One printer column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// Header.
    pub name: String,
    /// integer, number, string, boolean or date.
    pub type_: String,
    /// JSONPath into the object.
    pub json_path: String,
    /// Tooltip.
    pub description: Option<String>,
    /// Format hint.
    pub format: Option<String>,
    /// 0 for the standard view; more for `-o wide`.
    pub priority: Option<i32>,
}
