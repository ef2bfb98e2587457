//! `cargo xtask gen [--check | --compat BASE]`: the CRDs, the controller's
//! manifests and the API reference, generated from the types.

use std::path::Path;
use std::process::ExitCode;

// ANCHOR: xtask
fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let registry = crdforge_gen::Registry::new(root, "cargo xtask gen")
        .crds("config/crds", backup_api::definitions())
        .controller(
            "config/deploy/backup-controller",
            backup_api::deploy::controller(),
        )
        .docs("docs/api", backup_api::definitions());
    let mut args = std::env::args_os().skip(1);
    match args.next().and_then(|a| a.into_string().ok()).as_deref() {
        Some("gen") => match crdforge_gen::Options::from_args(args) {
            Ok(options) => {
                let report = registry.run(&options);
                report.print();
                report.exit_code()
            }
            Err(usage) => {
                eprintln!("cargo xtask gen: {usage}");
                ExitCode::from(2)
            }
        },
        _ => {
            eprintln!("usage: cargo xtask gen [--check | --compat BASE]");
            ExitCode::from(2)
        }
    }
}
// ANCHOR_END: xtask
