// A spec whose field is refused still gives its root type and the root's
// impls (with bodies that never run), so code naming the root reports
// nothing more: one error, at the field, and no "cannot find type `Probe`".
use crdforge::CustomResource;
use serde::{Deserialize, Serialize};

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug)]
#[crd(group = "example.com", version = "v1", kind = "Probe", namespaced, status = "ProbeStatus")]
pub struct ProbeSpec {
    pub ratio: f64,
}

#[derive(crdforge::KubeSchema, Serialize, Deserialize, Clone, Debug)]
pub struct ProbeStatus {
    pub ready: bool,
}

fn uses_the_root(probe: Probe) -> Option<ProbeStatus> {
    let _kind = <Probe as kube_core::Resource>::kind(&());
    let _crd = <Probe as crdforge::CustomResource>::definition();
    let _copy = crdforge::DeepCopy::deep_copy(&probe);
    let _name = probe.metadata.name.clone();
    probe.status
}

fn main() {
    let _ = uses_the_root;
}
