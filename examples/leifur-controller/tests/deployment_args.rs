//! One source between the generated manifests and the binary: the
//! arguments of the generated Deployment are parsed with the binary's own
//! flags ([`leifur_controller::cli::Args`]), the certificate files they
//! name are in the Secret volume mounted read-only there, the ports they
//! listen on are the ports the container declares, and the webhook Service
//! in front of that port is the one the webhook configuration names.

use std::path::Path;

use clap::Parser;
use crdforge_envtest::manifests::{documents, one, port};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use leifur_controller::cli::Args;
use serde_json::Value;

#[test]
fn the_generated_deployment_is_what_the_binary_parses() {
    let deployment: Deployment = one(
        &documents("generated/deploy/leifur-controller/deployment.yaml"),
        "Deployment",
    );
    let template = deployment.spec.template;
    let labels = template.metadata.unwrap().labels.unwrap();
    let pod = template.spec.unwrap();
    let container = pod
        .containers
        .iter()
        .find(|c| c.name == leifur_controller::run::NAME)
        .unwrap();
    let args = Args::try_parse_from(
        std::iter::once("leifur-controller".to_string())
            .chain(container.args.clone().unwrap_or_default()),
    )
    .unwrap_or_else(|e| panic!("the Deployment's args do not parse: {e}"));
    assert!(args.leader.leader_elect);

    let mount = container
        .volume_mounts
        .iter()
        .flatten()
        .find(|m| m.name == "webhook-tls")
        .expect("the certificate is mounted");
    assert_eq!(mount.read_only, Some(true));
    let secret = pod
        .volumes
        .iter()
        .flatten()
        .find(|v| v.name == "webhook-tls")
        .and_then(|v| v.secret.clone())
        .expect("a Secret volume");
    let files: Vec<String> = secret
        .items
        .iter()
        .flatten()
        .map(|i| i.path.clone())
        .collect();
    for file in [
        args.webhook.tls_cert.as_deref(),
        args.webhook.tls_key.as_deref(),
    ] {
        let file = file.expect("--tls-cert and --tls-key");
        assert_eq!(file.parent(), Some(Path::new(&mount.mount_path)));
        let name = file.file_name().unwrap().to_str().unwrap().to_owned();
        assert!(
            files.contains(&name),
            "{name} is not in the Secret volume: {files:?}"
        );
    }

    assert_eq!(
        i32::from(args.metrics_addr.port()),
        port(container, "metrics")
    );
    let webhook_addr = args.webhook.webhook_addr.expect("--webhook-addr");
    assert_eq!(i32::from(webhook_addr.port()), port(container, "webhook"));

    let hooks = documents("generated/deploy/leifur-webhooks/webhooks.yaml");
    let service: Service = one(&hooks, "Service");
    let spec = service.spec.as_ref().unwrap();
    let service_port = &spec.ports.as_ref().unwrap()[0];
    assert_eq!(
        service_port.target_port,
        Some(IntOrString::Int(i32::from(webhook_addr.port())))
    );
    for (key, value) in spec.selector.iter().flatten() {
        assert_eq!(labels.get(key), Some(value), "selector {key}");
    }
    assert_eq!(service.metadata.namespace, deployment.metadata.namespace);
    let validating: Value = one(&hooks, "ValidatingWebhookConfiguration");
    let references: Vec<&Value> = validating["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| &w["clientConfig"]["service"])
        .collect();
    assert!(!references.is_empty());
    for reference in references {
        assert_eq!(reference["name"], service.metadata.name.as_deref().unwrap());
        assert_eq!(
            reference["namespace"],
            service.metadata.namespace.as_deref().unwrap()
        );
        assert_eq!(reference["port"], service_port.port);
    }
    assert_eq!(
        validating["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
        format!(
            "{}/{}",
            service.metadata.namespace.as_deref().unwrap(),
            secret.secret_name.as_deref().unwrap()
        )
    );
}
