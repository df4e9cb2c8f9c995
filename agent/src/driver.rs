//! The two ways of running HAProxy, behind one small enum (a trait object would need boxed
//! futures for two implementations that are both real and both known).

use std::time::Duration;

use crate::process::{Load, ProcessDriver};
use crate::systemd::SystemdDriver;

#[derive(Debug)]
pub(crate) enum Driver {
    Process(Box<ProcessDriver>),
    Systemd(SystemdDriver),
}

impl Driver {
    /// Brings HAProxy up on the configuration on disk (adopting a running master).
    pub(crate) async fn start(&mut self) -> Result<(), String> {
        match self {
            Driver::Process(d) => d.start_or_adopt().await,
            Driver::Systemd(d) => d.start().await,
        }
    }

    /// Restarts HAProxy when it is not running (supervision); true when it had to.
    pub(crate) async fn supervise(&mut self, has_config: bool) -> Result<bool, String> {
        if !has_config {
            return Ok(false);
        }
        match self {
            Driver::Process(d) => {
                if d.is_running().await {
                    return Ok(false);
                }
                d.start().await.map(|()| true)
            }
            Driver::Systemd(d) => {
                if d.is_running().await {
                    return Ok(false);
                }
                d.start().await.map(|()| true)
            }
        }
    }

    /// Loads the configuration on disk without dropping connections, verified.
    pub(crate) async fn reload(&mut self) -> Result<(), String> {
        match self {
            Driver::Process(d) => d.reload().await,
            Driver::Systemd(d) => d.reload().await,
        }
    }

    /// What the next start or reload loads: the config files in order (process mode; a
    /// systemd unit has its own `-f` arguments).
    pub(crate) fn load(&mut self, load: Load) {
        if let Driver::Process(d) = self {
            d.set_load(load);
        }
    }

    /// True when a runtime change reaches the configuration that will run: a reload would not
    /// have to restart HAProxy for a new list of config files.
    pub(crate) fn runs_release(&self) -> bool {
        match self {
            Driver::Process(d) => d.loads_current_list(),
            Driver::Systemd(_) => true,
        }
    }

    /// A runtime API command; its answer.
    pub(crate) async fn runtime(&self, command: &str) -> std::io::Result<String> {
        match self {
            Driver::Process(d) => d.runtime(command).await,
            Driver::Systemd(d) => d.runtime(command).await,
        }
    }

    /// The running master's pid as the agent starts, adopts and stops it (process mode, where
    /// the agent learns of HAProxy's death at once); `None` in systemd mode.
    pub(crate) fn watch_master(&self) -> Option<tokio::sync::watch::Receiver<Option<u32>>> {
        match self {
            Driver::Process(d) => Some(d.watch_master()),
            Driver::Systemd(_) => None,
        }
    }

    /// True when HAProxy runs.
    pub(crate) async fn is_running(&mut self) -> bool {
        match self {
            Driver::Process(d) => d.is_running().await,
            Driver::Systemd(d) => d.is_running().await,
        }
    }

    /// Stops and starts HAProxy (the `restart` job): the master and its workers go, a new
    /// master starts on the configuration on disk.
    pub(crate) async fn restart(&mut self) -> Result<(), String> {
        match self {
            Driver::Process(d) => {
                d.stop(Duration::from_secs(5)).await;
                d.start().await
            }
            Driver::Systemd(d) => d.restart().await,
        }
    }

    /// Stops HAProxy when the agent owns it (process mode).
    pub(crate) async fn stop(&mut self) {
        if let Driver::Process(d) = self {
            d.stop(Duration::from_secs(5)).await;
        }
    }

    /// Stops HAProxy whoever runs it (a decommission that asks to): the master of the agent's
    /// socket (process mode; soft-stop, SIGTERM after 5 s) or `systemctl stop` of the unit
    /// (systemd mode).
    pub(crate) async fn stop_haproxy(&mut self) -> Result<(), String> {
        match self {
            Driver::Process(d) => {
                d.stop(Duration::from_secs(5)).await;
                Ok(())
            }
            Driver::Systemd(d) => d.stop().await,
        }
    }
}
