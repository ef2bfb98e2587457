// A cluster-wide `get` of a namespaced kind does not compile.
use crdforge_runtime::client::TypedClient;
use k8s_openapi::api::core::v1::ConfigMap;

async fn f(client: kube::Client) {
    let _ = TypedClient::<ConfigMap>::new(client, "my-controller")
        .cluster()
        .get("settings")
        .await;
}

fn main() {}
