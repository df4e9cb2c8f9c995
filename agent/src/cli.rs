//! Command-line arguments of `fleet-agent`.

use std::path::PathBuf;
use std::time::Duration;

use clap::ValueEnum;

/// How the agent makes HAProxy load a configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Mode {
    /// The agent runs HAProxy in master-worker mode and reloads it through the master CLI.
    Process,
    /// `systemctl reload haproxy` (HAProxy is managed by systemd).
    Systemd,
}

/// Follows a cluster's desired HAProxy configuration and applies it hitlessly.
#[derive(Debug, clap::Parser)]
#[command(name = "fleet-agent", version)]
pub(crate) struct Args {
    /// The fleet server's URL (`https://fleet.example:8443`).
    #[arg(long)]
    pub(crate) server: String,
    /// One-time enrolment secret; used only when no token is stored yet.
    #[arg(long)]
    pub(crate) enroll_secret: Option<String>,
    /// Where the agent's token is kept (mode 0600); default `<state-dir>/token`.
    #[arg(long)]
    pub(crate) token_file: Option<PathBuf>,
    /// The agent's own directory: token, backups, master socket, HAProxy log.
    #[arg(long)]
    pub(crate) state_dir: PathBuf,
    /// The HAProxy configuration file the agent manages.
    #[arg(long, default_value = "/etc/haproxy/haproxy.cfg")]
    pub(crate) config_path: PathBuf,
    /// The HAProxy binary.
    #[arg(long, default_value = "haproxy")]
    pub(crate) haproxy_bin: PathBuf,
    /// `process` (the agent runs HAProxy) or `systemd`.
    #[arg(long, value_enum, default_value_t = Mode::Process)]
    pub(crate) haproxy_mode: Mode,
    /// The systemd unit to reload in `systemd` mode.
    #[arg(long, default_value = "haproxy")]
    pub(crate) systemd_unit: String,
    /// A stats socket (`stats socket ... level admin` in the config) for the runtime API in
    /// `systemd` mode; `process` mode uses the master CLI.
    #[arg(long)]
    pub(crate) runtime_socket: Option<PathBuf>,
    /// The master CLI socket of the systemd unit (`-S` in its command line; Debian's unit uses
    /// /run/haproxy-master.sock, the default when it exists): reloads are confirmed there and
    /// the runtime API reached through it.
    #[arg(long)]
    pub(crate) master_socket: Option<PathBuf>,
    /// A PEM CA certificate to trust for the server (private CA).
    #[arg(long)]
    pub(crate) ca_file: Option<PathBuf>,
    /// Seconds between heartbeats (and runtime-action polls).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) heartbeat_seconds: u64,
    /// Seconds a desired-state long-poll waits on the server.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub(crate) poll_seconds: u64,
}

impl Args {
    pub(crate) fn token_path(&self) -> PathBuf {
        self.token_file.clone().unwrap_or_else(|| self.state_dir.join("token"))
    }

    pub(crate) fn heartbeat_interval(&self) -> Duration {
        Duration::from_secs(self.heartbeat_seconds)
    }
}
