//! Facts the agent reports about its node: hostname, HAProxy version, agent version, mode.

use std::path::Path;

use serde_json::{json, Value};
use tokio::process::Command;

/// The node's hostname (uname nodename).
pub(crate) fn hostname() -> String {
    rustix::system::uname().nodename().to_string_lossy().into_owned()
}

/// `haproxy -v`'s first line (`HAProxy version 2.6.12-1 2023/12/14 - https://haproxy.org/`),
/// or why it could not be read.
pub(crate) async fn haproxy_version(bin: &Path) -> String {
    match Command::new(bin).arg("-v").output().await {
        Ok(output) => String::from_utf8_lossy(&output.stdout).lines().next().unwrap_or("").trim().to_string(),
        Err(e) => format!("unavailable: cannot run {}: {e}", bin.display()),
    }
}

/// The static facts; heartbeats add `runtime`.
pub(crate) async fn collect(bin: &Path, mode: &str) -> Value {
    json!({
        "hostname": hostname(),
        "haproxy_version": haproxy_version(bin).await,
        "agent_version": env!("CARGO_PKG_VERSION"),
        "mode": mode,
    })
}
