use crdforge::KubeSchema;
use crdforge::schema::{Context, Schema};

fn port_schema(_: &mut Context) -> Schema {
    Schema::typed("integer")
}

#[derive(KubeSchema)]
pub struct Spec {
    #[crd(schemars, schema_with = port_schema)]
    pub port: u16,
}

fn main() {}
