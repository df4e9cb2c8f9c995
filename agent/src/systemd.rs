//! `systemd` mode: HAProxy is a systemd service (its unit uses master-worker mode and reloads
//! through `ExecReload`); the agent runs `systemctl reload <unit>` and checks `is-active`. The
//! runtime API goes through a stats socket given with `--runtime-socket`.

use std::path::PathBuf;
use std::time::Duration;

use fleet_core::apply::haproxy_message;
use tokio::process::Command;

use crate::mcli;

#[derive(Debug)]
pub(crate) struct SystemdDriver {
    unit: String,
    runtime_socket: Option<PathBuf>,
}

async fn systemctl(args: &[&str]) -> Result<String, String> {
    let output = Command::new("systemctl").args(args).output().await.map_err(|e| format!("cannot run systemctl: {e}"))?;
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    if output.status.success() {
        Ok(text)
    } else {
        Err(format!("systemctl {} failed ({}): {}", args.join(" "), output.status, haproxy_message(&text)))
    }
}

impl SystemdDriver {
    pub(crate) fn new(unit: String, runtime_socket: Option<PathBuf>) -> SystemdDriver {
        SystemdDriver { unit, runtime_socket }
    }

    pub(crate) async fn is_running(&self) -> bool {
        systemctl(&["is-active", "--quiet", &self.unit]).await.is_ok()
    }

    /// Starts the unit when it is not active.
    pub(crate) async fn start(&self) -> Result<(), String> {
        if self.is_running().await {
            return Ok(());
        }
        systemctl(&["start", &self.unit]).await.map(|_| ())
    }

    /// `systemctl reload`, then the unit must still be active.
    pub(crate) async fn reload(&self) -> Result<(), String> {
        if !self.is_running().await {
            return self.start().await;
        }
        systemctl(&["reload", &self.unit]).await?;
        if self.is_running().await {
            Ok(())
        } else {
            let journal = systemctl(&["status", "--no-pager", "--lines", "20", &self.unit]).await.unwrap_or_else(|e| e);
            Err(format!("{} is not active after the reload: {journal}", self.unit))
        }
    }

    pub(crate) async fn runtime(&self, command: &str) -> std::io::Result<String> {
        match &self.runtime_socket {
            Some(socket) => mcli::send(socket, command, Duration::from_secs(3)).await,
            None => Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no runtime socket: start the agent with --runtime-socket <stats socket>",
            )),
        }
    }
}
