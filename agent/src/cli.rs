//! Command-line arguments of `fleet-agent`.

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use clap::ValueEnum;
use fleet_core::fingerprint::CaFingerprint;
use fleet_core::jobs::JobKind;
use fleet_core::auth::privileged::{self, Privilege};

use crate::client::Trust;

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
    /// Accept the server only when its certificate chain holds the certificate with this
    /// SHA-256 (`sha256:<64 hex>`, as in the install command of `fleet serve --tls-self-signed`):
    /// no other CA, public ones included, is trusted.
    #[arg(long, value_name = "sha256:HEX", conflicts_with = "ca_file", value_parser = fingerprint)]
    pub(crate) ca_fingerprint: Option<CaFingerprint>,
    /// Enrol with `--enroll-secret` (unless a token is stored already), keep the token and exit
    /// 0 without starting anything: the install script's step before it starts the unit. An
    /// unreachable server fails at once instead of being retried.
    #[arg(long)]
    pub(crate) enroll_only: bool,
    /// Seconds between heartbeats (and runtime-action polls).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) heartbeat_seconds: u64,
    /// Seconds a desired-state long-poll waits on the server.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub(crate) poll_seconds: u64,
    /// Privileged directives this node accepts, comma-separated (`program,lua`, `all`); default
    /// none. A version using any other is refused (`refused_by_node_policy`) and the node keeps
    /// its configuration: the server, even with an admin account, cannot make it run commands.
    #[arg(long, value_name = "LIST", value_parser = allowance)]
    pub(crate) allow_privileged: Option<HashSet<Privilege>>,
    /// At start, upload the node's managed tree (the folder of `--config-path`, with its
    /// certificates, maps and other files) as the cluster's first version, when the cluster
    /// has none yet; a cluster with a version is left alone (the server answers 409).
    /// With `--keepalived`, also upload the node's keepalived.conf (`--keepalived-config`), byte
    /// for byte, as this node's `keepalived/<agent name>.conf` of a new version, when the cluster
    /// has a version and no file for this node yet.
    #[arg(long)]
    pub(crate) adopt: bool,
    /// Manage keepalived on this node: install this node's keepalived.conf from the bundle
    /// (`keepalived/<agent name>.conf`) after `keepalived -t`, reload and supervise keepalived,
    /// write HAProxy's health to `<state-dir>/keepalived/haproxy.track` for its
    /// `vrrp_track_file`, read instance states from `<state-dir>/keepalived/notify.fifo`.
    #[arg(long)]
    pub(crate) keepalived: bool,
    /// The keepalived configuration file the agent installs.
    #[arg(long, default_value = "/etc/keepalived/keepalived.conf")]
    pub(crate) keepalived_config: PathBuf,
    /// keepalived's pid file (its main process): SIGHUP goes there; in process mode the agent
    /// starts keepalived with `-p` on it.
    #[arg(long, default_value = "/run/keepalived.pid")]
    pub(crate) keepalived_pid_file: PathBuf,
    /// The job kinds this node runs, comma-separated (`default` is validate, reload, restart,
    /// diagnostics, snapshot, restore; `all` every kind). Kinds that change software on the
    /// node (install-haproxy) run only when listed: `--allow-jobs default,install-haproxy`.
    /// A refused job is reported `failed` with the reason.
    #[arg(long, value_name = "LIST", default_value = "default", value_parser = job_allowance)]
    pub(crate) allow_jobs: BTreeSet<JobKind>,
    /// The keepalived binary (`keepalived -t` and, in process mode, the daemon).
    #[arg(long, default_value = "keepalived")]
    pub(crate) keepalived_bin: PathBuf,
    /// The node's public address (repeatable: one IPv4 and one IPv6): what a pool's DNS
    /// failover record points at when this node is active. Reported in the facts.
    #[arg(long = "public-ip", value_name = "ADDR")]
    pub(crate) public_ips: Vec<std::net::IpAddr>,
    /// `process` (the agent runs keepalived, restarts it if it dies) or `systemd`
    /// (`systemctl reload <--keepalived-unit>`).
    #[arg(long, value_enum, default_value_t = Mode::Process)]
    pub(crate) keepalived_mode: Mode,
    /// The systemd unit of keepalived in `systemd` mode.
    #[arg(long, default_value = "keepalived")]
    pub(crate) keepalived_unit: String,
    /// Process mode: stop HAProxy when the agent exits on SIGTERM/SIGINT. By default HAProxy
    /// keeps serving while the agent is stopped, restarted or upgraded, and the next agent
    /// adopts the running master (found through `<state-dir>/master.sock`). Systemd mode
    /// leaves HAProxy to its unit either way.
    #[arg(long)]
    pub(crate) stop_haproxy_on_exit: bool,
    /// Pin this release public key (`ed25519:...`, from `fleet release keygen`) beside the
    /// token, replacing a pinned one: upgrades are accepted only when signed by it. Without it
    /// the agent pins the key of its enrolment answer, if the server sent one.
    #[arg(long, value_name = "ed25519:BASE64", value_parser = release_key)]
    pub(crate) release_public_key: Option<fleet_core::release::PublicKey>,
    /// Seconds an upgraded agent has to get a heartbeat accepted before the previous binary is
    /// put back and run again.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(5..=3600))]
    pub(crate) upgrade_trial_seconds: u64,
}

/// `--release-public-key`'s parser: fleet-core's, with its message.
fn release_key(text: &str) -> Result<fleet_core::release::PublicKey, String> {
    text.parse().map_err(|e: fleet_core::release::ReleaseError| e.to_string())
}

/// `--ca-fingerprint`'s parser: fleet-core's, with its message.
fn fingerprint(text: &str) -> Result<CaFingerprint, String> {
    text.parse().map_err(|e: fleet_core::fingerprint::FingerprintError| e.to_string())
}

/// `--allow-jobs`'s parser: fleet-core's, with its message (the kinds it knows).
fn job_allowance(text: &str) -> Result<BTreeSet<JobKind>, String> {
    fleet_core::jobs::parse_allowed(text).map_err(|e| e.to_string())
}

/// `--allow-privileged`'s parser: fleet-core's, with its message (the names it knows).
fn allowance(text: &str) -> Result<HashSet<Privilege>, String> {
    privileged::parse_allowance(text).map_err(|e| e.to_string())
}

impl Args {
    pub(crate) fn token_path(&self) -> PathBuf {
        self.token_file.clone().unwrap_or_else(|| self.state_dir.join("token"))
    }

    /// Which certificates the server may present (`--ca-fingerprint`, `--ca-file`, or the
    /// system's roots).
    pub(crate) fn trust(&self) -> Trust<'_> {
        match (&self.ca_fingerprint, &self.ca_file) {
            (Some(pin), _) => Trust::Pinned(*pin),
            (None, Some(path)) => Trust::CaFile(path),
            (None, None) => Trust::System,
        }
    }

    pub(crate) fn heartbeat_interval(&self) -> Duration {
        Duration::from_secs(self.heartbeat_seconds)
    }

    /// The privileged directives this node accepts (none unless `--allow-privileged`).
    pub(crate) fn allowed_privileges(&self) -> HashSet<Privilege> {
        self.allow_privileged.clone().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn parse(extra: &[&str]) -> Result<Args, clap::Error> {
        let mut argv = vec!["fleet-agent", "--server", "http://127.0.0.1:1", "--state-dir", "/tmp/x"];
        argv.extend_from_slice(extra);
        Args::try_parse_from(argv)
    }

    #[test]
    fn allow_privileged_defaults_to_none_and_reads_names_or_all() {
        assert!(parse(&[]).unwrap().allowed_privileges().is_empty());
        let some = parse(&["--allow-privileged", "program,lua"]).unwrap().allowed_privileges();
        assert_eq!(some, HashSet::from([Privilege::Program, Privilege::Lua]));
        let all = parse(&["--allow-privileged", "all"]).unwrap().allowed_privileges();
        assert_eq!(all.len(), privileged::PRIVILEGES.len());
    }

    #[test]
    fn allow_jobs_defaults_to_the_kinds_that_change_no_software() {
        let default = parse(&[]).unwrap().allow_jobs;
        assert!(default.contains(&JobKind::Restore) && !default.contains(&JobKind::InstallHaproxy));
        let more = parse(&["--allow-jobs", "default,install-haproxy"]).unwrap().allow_jobs;
        assert!(more.contains(&JobKind::InstallHaproxy) && more.contains(&JobKind::Validate));
        assert!(parse(&["--allow-jobs", "shell"]).is_err());
    }

    #[test]
    fn keepalived_flags_and_their_defaults() {
        let args = parse(&[]).unwrap();
        assert!(!args.keepalived);
        assert_eq!(args.keepalived_config, PathBuf::from("/etc/keepalived/keepalived.conf"));
        assert_eq!(args.keepalived_pid_file, PathBuf::from("/run/keepalived.pid"));
        assert_eq!((args.keepalived_bin, args.keepalived_mode), (PathBuf::from("keepalived"), Mode::Process));
        let args = parse(&["--keepalived", "--keepalived-config", "/k.conf", "--keepalived-pid-file", "/k.pid", "--keepalived-mode", "systemd"]).unwrap();
        assert!(args.keepalived && args.keepalived_mode == Mode::Systemd);
        assert_eq!((args.keepalived_config, args.keepalived_pid_file), (PathBuf::from("/k.conf"), PathBuf::from("/k.pid")));
    }

    #[test]
    fn haproxy_outlives_the_agent_unless_asked() {
        assert!(!parse(&[]).unwrap().stop_haproxy_on_exit);
        assert!(parse(&["--stop-haproxy-on-exit"]).unwrap().stop_haproxy_on_exit);
    }

    #[test]
    fn ca_fingerprint_is_parsed_and_excludes_ca_file() {
        let pin = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let args = parse(&["--ca-fingerprint", pin]).unwrap();
        assert!(matches!(args.trust(), Trust::Pinned(p) if p.to_string() == pin));
        assert!(matches!(parse(&[]).unwrap().trust(), Trust::System));
        let error = parse(&["--ca-fingerprint", "sha256:abc"]).unwrap_err().to_string();
        assert!(error.contains("expected sha256: and 64 hex digits"), "{error}");
        assert!(parse(&["--ca-fingerprint", pin, "--ca-file", "/tmp/ca.pem"]).is_err());
    }

    #[test]
    fn an_unknown_privilege_is_a_usage_error_naming_the_known_ones() {
        let error = parse(&["--allow-privileged", "program,shell"]).unwrap_err();
        assert!(error.use_stderr(), "exits 64 in main");
        let message = error.to_string();
        assert!(message.contains("unknown privilege \"shell\" (one of program, external-check"), "{message}");
    }
}
