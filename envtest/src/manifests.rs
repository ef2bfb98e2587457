//! Reading generated manifests in tests: the YAML documents of a file under
//! the workspace root, the one object of a kind among them, and a
//! container's mount paths and named ports, for tests that hold what a
//! binary parses to what its generated Deployment gives it.

use k8s_openapi::api::core::v1::Container;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Every YAML document of `path` (relative to the workspace root); panics
/// naming the file.
pub fn documents(path: &str) -> Vec<Value> {
    let path = crate::workspace_root()
        .unwrap_or_else(|e| panic!("{e:#}"))
        .join(path);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The one document of `kind` among `docs`, read as `T`.
pub fn one<T: DeserializeOwned>(docs: &[Value], kind: &str) -> T {
    let found: Vec<&Value> = docs.iter().filter(|d| d["kind"] == kind).collect();
    assert_eq!(found.len(), 1, "one {kind}");
    serde_json::from_value(found[0].clone()).unwrap_or_else(|e| panic!("the {kind}: {e}"))
}

/// Where `container` mounts `volume`.
pub fn mount_path<'c>(container: &'c Container, volume: &str) -> &'c str {
    container
        .volume_mounts
        .iter()
        .flatten()
        .find(|m| m.name == volume)
        .unwrap_or_else(|| panic!("{} mounts no `{volume}`", container.name))
        .mount_path
        .as_str()
}

/// The number of `container`'s port named `name`.
pub fn port(container: &Container, name: &str) -> i32 {
    container
        .ports
        .iter()
        .flatten()
        .find(|p| p.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("{} has no port `{name}`", container.name))
        .container_port
}
