// A namespaced call on a cluster-scoped kind does not compile.
use crdforge_runtime::client::TypedClient;
use k8s_openapi::api::core::v1::Namespace;

fn f(client: kube::Client) {
    let _ = TypedClient::<Namespace>::new(client, "my-controller").namespace("default");
}

fn main() {}
