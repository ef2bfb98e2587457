//! The name of the command that manages control planes, for messages: a
//! user of this crate has `crdforge-envtest`, crdforge's own workspace has
//! `cargo xtask envtest`, and an error that names a command the reader does
//! not have is no help.

use std::sync::OnceLock;

/// The environment variable through which a command started by `run` (a
/// test, say) learns the tool's name for its own messages.
pub const TOOL_ENV: &str = "CRDFORGE_ENVTEST_TOOL";

static TOOL_NAME: OnceLock<String> = OnceLock::new();

/// Sets the name messages use for this tool (`cargo xtask envtest` in
/// crdforge's workspace). The first call wins.
pub fn set_tool_name(name: &str) {
    let _ = TOOL_NAME.set(name.to_string());
}

/// The name of the command that manages control planes, for messages:
/// what [`set_tool_name`] set, else `$CRDFORGE_ENVTEST_TOOL` (set for the
/// commands `run` starts), else `crdforge-envtest`.
pub fn tool_name() -> String {
    if let Some(name) = TOOL_NAME.get() {
        return name.clone();
    }
    match std::env::var(TOOL_ENV) {
        Ok(name) if !name.trim().is_empty() => name,
        _ => "crdforge-envtest".to_string(),
    }
}
