//! The `crdforge-envtest` binary as a user of another repository runs it:
//! its messages name itself, `status` of an instance never started says how
//! to start it and exits 3, and `run` hands the tool's name to the command
//! it starts. No control plane is needed.

use std::path::PathBuf;
use std::process::Command;

fn tool() -> Command {
    Command::new(env!("CARGO_BIN_EXE_crdforge-envtest"))
}

/// A fresh, empty "repository" whose target dir holds no instance.
fn empty_repo(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "crdforge-envtest-cli-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Cargo.toml"), "[workspace]\nmembers = []\n").unwrap();
    dir
}

#[test]
fn status_of_an_instance_never_started_names_this_tool_and_exits_3() {
    let repo = empty_repo("status");
    let out = tool()
        .args(["status", "--name", "nothing-here"])
        .current_dir(&repo)
        .env_remove("CARGO_MANIFEST_DIR")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove(crdforge_envtest::TOOL_ENV)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains("start it with `crdforge-envtest up --name nothing-here`"),
        "{stdout}"
    );
    // The instance would live under this repository's own target dir.
    assert!(
        stdout.contains(
            &repo
                .join("target/envtest/nothing-here")
                .display()
                .to_string()
        ),
        "{stdout}"
    );
    assert!(stdout.contains("kubectl:"), "{stdout}");
    let _ = std::fs::remove_dir_all(&repo);
}

#[test]
fn the_name_set_by_the_caller_wins_over_the_default() {
    let repo = empty_repo("named");
    let out = tool()
        .args(["status", "--name", "nothing-here"])
        .current_dir(&repo)
        .env_remove("CARGO_MANIFEST_DIR")
        .env_remove("CARGO_TARGET_DIR")
        .env(crdforge_envtest::TOOL_ENV, "just envtest")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("start it with `just envtest up --name nothing-here`"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&repo);
}
