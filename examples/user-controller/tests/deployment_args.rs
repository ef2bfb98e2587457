//! One source between the generated manifests and the binary: the
//! arguments of the generated Deployment are parsed with the binary's own
//! flags ([`user_controller::cli::Args`]), the paths they point at are
//! where the Deployment mounts the volumes that hold those files, the ports
//! they listen on are the ports the container declares, and the webhook
//! Service in front of that port is the one every webhook configuration and
//! the CRD's conversion name in `clientConfig.service`.

use std::path::Path;

use clap::Parser;
use crdforge_envtest::manifests::{documents, mount_path, one, port};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;
use user_controller::cli::Args;

#[test]
fn the_generated_deployment_is_what_the_binary_parses() {
    let deployment: Deployment = one(
        &documents("generated/deploy/user-controller/deployment.yaml"),
        "Deployment",
    );
    let pod = deployment.spec.template.spec.unwrap();
    let container = pod
        .containers
        .iter()
        .find(|c| c.name == "user-controller")
        .unwrap();
    let args = Args::try_parse_from(
        std::iter::once("user-controller".to_string())
            .chain(container.args.clone().unwrap_or_default()),
    )
    .unwrap_or_else(|e| panic!("the Deployment's args do not parse: {e}"));

    // The account directory is the writable volume mounted there.
    assert_eq!(args.directory, Path::new(mount_path(container, "accounts")));
    // The certificate and key are files of the Secret mounted read-only.
    let tls_dir = Path::new(mount_path(container, "webhook-tls"));
    let cert = args.webhook.tls_cert.as_deref().expect("--tls-cert");
    let key = args.webhook.tls_key.as_deref().expect("--tls-key");
    assert_eq!(cert.parent(), Some(tls_dir));
    assert_eq!(key.parent(), Some(tls_dir));
    let volume = pod
        .volumes
        .iter()
        .flatten()
        .find(|v| v.name == "webhook-tls")
        .unwrap();
    let secret = volume.secret.as_ref().expect("a Secret volume");
    let files: Vec<&str> = secret
        .items
        .iter()
        .flatten()
        .map(|i| i.path.as_str())
        .collect();
    for file in [cert, key] {
        let name = file.file_name().unwrap().to_str().unwrap();
        assert!(
            files.contains(&name),
            "{name} is not in the Secret volume: {files:?}"
        );
    }
    let mount = container
        .volume_mounts
        .iter()
        .flatten()
        .find(|m| m.name == "webhook-tls")
        .unwrap();
    assert_eq!(mount.read_only, Some(true));

    // Ports: metrics and probes, and the webhook server.
    assert_eq!(
        i32::from(args.metrics_addr.port()),
        port(container, "metrics")
    );
    let webhook_addr = args.webhook.webhook_addr.expect("--webhook-addr");
    assert_eq!(i32::from(webhook_addr.port()), port(container, "webhook"));

    // The Service in front of it: the one every clientConfig names, its
    // targetPort the container's webhook port, its selector this pod, and
    // the Secret the one whose CA the configurations are told to trust.
    let hooks = documents("generated/deploy/user-webhooks/webhooks.yaml");
    let service: Service = one(&hooks, "Service");
    let spec = service.spec.as_ref().unwrap();
    let service_port = &spec.ports.as_ref().unwrap()[0];
    assert_eq!(
        service_port.target_port,
        Some(IntOrString::Int(i32::from(webhook_addr.port())))
    );
    let crd = documents("generated/crds/users.example.com.yaml");
    let conversion = crd[0]["spec"]["conversion"]["webhook"]["clientConfig"]["service"].clone();
    let mut references: Vec<Value> = hooks
        .iter()
        .filter_map(|d| d["webhooks"].as_array())
        .flatten()
        .map(|w| w["clientConfig"]["service"].clone())
        .collect();
    references.push(conversion);
    assert_eq!(references.len(), 3, "validating, mutating and conversion");
    for reference in references {
        assert_eq!(reference["name"], service.metadata.name.as_deref().unwrap());
        assert_eq!(
            reference["namespace"],
            service.metadata.namespace.as_deref().unwrap()
        );
        assert_eq!(reference["port"], service_port.port);
    }
    assert_eq!(
        service.metadata.namespace, deployment.metadata.namespace,
        "the Service is beside the Deployment"
    );
    let template_labels = deployment_labels("generated/deploy/user-controller/deployment.yaml");
    for (key, value) in spec.selector.iter().flatten() {
        assert_eq!(template_labels.get(key), Some(value), "selector {key}");
    }
    let inject = hooks
        .iter()
        .filter_map(|d| d["metadata"]["annotations"]["cert-manager.io/inject-ca-from"].as_str())
        .collect::<Vec<_>>();
    assert_eq!(inject.len(), 2);
    for from in inject {
        assert_eq!(
            from,
            format!(
                "{}/{}",
                service.metadata.namespace.as_deref().unwrap(),
                secret.secret_name.as_deref().unwrap()
            )
        );
    }
}

fn deployment_labels(path: &str) -> std::collections::BTreeMap<String, String> {
    let deployment: Deployment = one(&documents(path), "Deployment");
    deployment.spec.template.metadata.unwrap().labels.unwrap()
}
