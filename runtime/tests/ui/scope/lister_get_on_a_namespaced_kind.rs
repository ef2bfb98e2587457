// A cluster-wide lister `get` of a namespaced kind does not compile, and
// the error says to pick the namespace first.
use crdforge_runtime::lister::Lister;
use k8s_openapi::api::batch::v1::CronJob;

fn f(lister: Lister<CronJob>) {
    let _ = lister.get("nightly");
}

fn main() {}
