use crdforge::KubeSchema;

// A foreign-like type with a schema but no DeepCopy impl.
#[derive(Clone)]
pub struct Opaque;
impl crdforge::KubeSchema for Opaque {
    fn kube_schema(_: &mut crdforge::schema::Context) -> crdforge::schema::Schema {
        crdforge::schema::Schema::any()
    }
}

#[derive(KubeSchema, serde::Serialize)]
pub struct Spec {
    pub name: String,
    #[serde(skip)]
    pub opaque: Opaque,
}

fn main() {}
