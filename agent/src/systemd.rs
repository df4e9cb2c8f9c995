//! `systemd` mode: HAProxy is a systemd service (its unit uses master-worker mode and reloads
//! through `ExecReload`); the agent runs `systemctl reload <unit>` and checks `is-active`.
//!
//! `systemctl reload` succeeds as soon as the signal is sent, and a master whose new
//! configuration fails keeps its old worker, so the unit stays active either way: when the
//! unit's master CLI socket answers (Debian's unit passes `-S /run/haproxy-master.sock`), the
//! reload is confirmed there like in process mode (a new worker, no failed reload). The runtime
//! API goes through that master socket (`@1 ...`), or a stats socket given with
//! `--runtime-socket`.
//!
//! The unit's command line is the operator's: unless it has `-C <managed>`, relative paths
//! resolve in the unit's working directory. The master's `-C` is read from /proc after each
//! apply and the report warns of such paths (`fleet_core::apply::start_dir`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fleet_core::apply::haproxy_message;
use tokio::process::Command;

use crate::mcli::{self, parse_show_proc, Procs};

const CLI_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a reload may take to show a new worker.
const SETTLE: Duration = Duration::from_secs(15);

#[derive(Debug)]
pub(crate) struct SystemdDriver {
    unit: String,
    runtime_socket: Option<PathBuf>,
    master_socket: Option<PathBuf>,
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
    pub(crate) fn new(unit: String, runtime_socket: Option<PathBuf>, master_socket: Option<PathBuf>) -> SystemdDriver {
        SystemdDriver { unit, runtime_socket, master_socket }
    }

    async fn procs(&self) -> Option<Procs> {
        let answer = mcli::send(self.master_socket.as_deref()?, "show proc", CLI_TIMEOUT).await.ok()?;
        parse_show_proc(&answer)
    }

    /// The `-C` the unit's HAProxy master runs with (found through the master socket and its
    /// command line in /proc); `None` without `-C`, or when the master cannot be found.
    pub(crate) async fn started_in(&self) -> Option<PathBuf> {
        crate::process::config_args(self.procs().await?.master_pid)?.dir
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

    /// `systemctl stop` (a decommission that asked to stop HAProxy).
    pub(crate) async fn stop(&self) -> Result<(), String> {
        systemctl(&["stop", &self.unit]).await.map(|_| ())
    }

    /// `systemctl restart` (connections are cut), then the unit must be active.
    pub(crate) async fn restart(&self) -> Result<(), String> {
        systemctl(&["restart", &self.unit]).await?;
        if self.is_running().await {
            Ok(())
        } else {
            Err(format!("{} is not active after the restart", self.unit))
        }
    }

    /// The unit's name (its journal holds HAProxy's log).
    pub(crate) fn unit(&self) -> &str {
        &self.unit
    }

    /// `systemctl reload`, then the unit must still be active.
    pub(crate) async fn reload(&self) -> Result<(), String> {
        if !self.is_running().await {
            return self.start().await;
        }
        let before = self.procs().await;
        systemctl(&["reload", &self.unit]).await?;
        if let Some(before) = before {
            return self.confirm(&before).await;
        }
        if self.is_running().await {
            Ok(())
        } else {
            let journal = systemctl(&["status", "--no-pager", "--lines", "20", &self.unit]).await.unwrap_or_else(|e| e);
            Err(format!("{} is not active after the reload: {journal}", self.unit))
        }
    }

    /// Waits for the master to report the reload: a new worker, or a failed reload.
    async fn confirm(&self, before: &Procs) -> Result<(), String> {
        let deadline = Instant::now() + SETTLE;
        while Instant::now() < deadline {
            if let Some(now) = self.procs().await {
                if now.failed > before.failed {
                    let status = systemctl(&["status", "--no-pager", "--lines", "20", &self.unit]).await.unwrap_or_else(|e| e);
                    return Err(format!("haproxy refused the new configuration at reload (see journalctl -u {}): {status}", self.unit));
                }
                if now.reloads > before.reloads && now.workers.iter().any(|w| !before.workers.contains(w)) {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!("reload of {} not confirmed by the master within {} s", self.unit, SETTLE.as_secs()))
    }

    pub(crate) async fn runtime(&self, command: &str) -> std::io::Result<String> {
        match (&self.runtime_socket, &self.master_socket) {
            (Some(socket), _) => mcli::send(socket, command, CLI_TIMEOUT).await,
            (None, Some(master)) => mcli::send(master, &format!("@1 {command}"), CLI_TIMEOUT).await,
            (None, None) => Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no runtime socket: start the agent with --master-socket or --runtime-socket",
            )),
        }
    }
}
