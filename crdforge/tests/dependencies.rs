//! The crate API types depend on stays light: neither `crdforge`, nor the
//! schema model and derive it links, nor the User API crate built on them,
//! may gain a dependency on an async runtime, an HTTP stack, a client, the
//! CEL parser, a regex engine or a YAML library. Those belong to
//! `crdforge-runtime` and `crdforge-gen`; a new arrow from here to one of
//! them fails this test with the path that brought it in.

use std::process::Command;

/// Crates an API-only dependency graph must not contain.
const FORBIDDEN: &[&str] = &[
    "tokio",
    "hyper",
    "kube-client",
    "kube",
    "kube-runtime",
    "cel",
    "antlr4rust",
    "regex",
    "serde-saphyr",
    "prometheus-client",
    "crdforge-gen",
    "crdforge-runtime",
];

/// The packages that make up an API crate's world.
const LIGHT: &[&str] = &["crdforge-schema", "crdforge-derive", "crdforge", "user-api"];

fn tree(package: &str, invert: Option<&str>) -> String {
    let mut command = Command::new(env!("CARGO"));
    command.args(["tree", "--edges", "normal", "--package", package]);
    match invert {
        Some(dependency) => command.args(["--invert", dependency]),
        None => command.args(["--prefix", "none"]),
    };
    let output = command.output().expect("running cargo tree");
    assert!(
        output.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn api_crates_link_no_client_runtime_parser_or_yaml() {
    for package in LIGHT {
        let listing = tree(package, None);
        let names: std::collections::BTreeSet<&str> = listing
            .lines()
            .filter_map(|line| line.split_whitespace().next())
            .collect();
        for forbidden in FORBIDDEN {
            if names.contains(forbidden) {
                // `cargo tree -i` shows the path that brought it in.
                panic!(
                    "{package} depends on {forbidden}:\n{}",
                    tree(package, Some(forbidden))
                );
            }
        }
        assert!(
            names.len() < 40,
            "{package} has {} dependencies; an API crate should stay near 30:\n{listing}",
            names.len()
        );
    }
}
