// A `macro_rules!` that passes an `$x:expr` on as an attribute value: a
// literal is read through the invisible group around it, and anything else
// is one error at the value the caller wrote.
use crdforge::CustomResource;

macro_rules! kind {
    ($kind:expr) => {
        #[derive(CustomResource, serde::Serialize, serde::Deserialize, Clone, Debug)]
        #[crd(group = "x.io", version = "v1", kind = $kind)]
        pub struct ThingSpec {
            pub name: String,
        }
    };
}

const KIND: &str = "Thing";

kind!(KIND);

fn main() {}
