use crdforge::CustomResource;

#[derive(CustomResource, serde::Serialize, serde::Deserialize, Clone, Debug)]
#[kube(group = "example.com", version = "v1", kind = "Team", namespaced)]
pub struct TeamSpec {
    pub name: String,
}

fn main() {
    // A namespaced kind's configuration names its namespace too.
    let _ = TeamApply::new("a-team");
}
