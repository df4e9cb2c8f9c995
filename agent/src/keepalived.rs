//! The keepalived driver (`--keepalived`): installs this node's keepalived.conf from the bundle
//! (`keepalived/<agent name>.conf`), reloads keepalived, runs it, and reads back what it does.
//!
//! ```text
//! pipeline, before anything switches: keepalived -t -f <staged file> (refused: rejected)
//! pipeline, after HAProxy took the version: install at --keepalived-config (previous copy kept)
//!   -> reload: SIGHUP to the pid of --keepalived-pid-file (process mode; started when not
//!      running) | systemctl reload <unit> (systemd mode) -> verified running
//!   -> failed: previous file back, reload again, the version reported reload_failed
//! process mode, supervision: keepalived not running -> addresses the file declares removed
//!   from the interfaces (a keepalived killed with SIGKILL leaves its VIP behind, answering ARP)
//!   -> `keepalived --dont-fork` started as the agent's child, in its own process group (it
//!      survives an agent killed with SIGKILL; the next agent finds it through the pid file)
//! notify FIFO <state>/keepalived/notify.fifo -> instance states -> heartbeat at once
//! ```
//!
//! Which instance holds an address is read off the kernel (`ip -j addr`), never inferred.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet_core::apply::keepalived::{self as rules, NOTIFY_FIFO, STATE_DIR, TRACK_FILE};
use fleet_core::secret::sha256_hex;
use fleet_core::vip::{KeepalivedReport, NodeInterface, VrrpInstanceReport};
use fleet_core::{Clock, SystemClock};
use rustix::process::{kill_process, Pid, Signal};
use tokio::io::AsyncBufReadExt;
use tokio::process::{Child, Command};
use tokio::sync::{Mutex, Notify};

use crate::cli::Mode;

/// How long `keepalived -t`, a start or a reload may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// How long keepalived must keep running after a reload or start to count as running.
const SETTLE: Duration = Duration::from_millis(500);
const POLL: Duration = Duration::from_millis(50);

/// Where and how keepalived runs on this node.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// This agent's name: its file is `keepalived/<name>.conf`.
    pub(crate) name: String,
    pub(crate) bin: PathBuf,
    /// `--keepalived-config`: where keepalived reads its configuration.
    pub(crate) config: PathBuf,
    /// `--keepalived-pid-file`: the main process's pid.
    pub(crate) pid_file: PathBuf,
    /// `process`: the agent runs keepalived; `systemd`: `systemctl reload <unit>`.
    pub(crate) mode: Mode,
    pub(crate) unit: String,
    /// The `systemctl` to run in systemd mode (`systemctl` on `PATH`).
    pub(crate) systemctl: PathBuf,
    /// `<state>/keepalived`: track file, notify FIFO, log, child pid files, previous config.
    pub(crate) dir: PathBuf,
}

/// What the driver knows that changes.
#[derive(Debug, Default)]
struct Process {
    /// The keepalived we started (none when adopted from a previous agent or not running).
    child: Option<Child>,
    /// The version whose file is installed, when this agent installed it.
    version: Option<i64>,
    /// Why the last apply or start failed.
    error: Option<String>,
}

/// The keepalived driver, shared by the apply pipeline and the side loop.
#[derive(Debug)]
pub(crate) struct Keepalived {
    pub(crate) settings: Settings,
    process: Mutex<Process>,
    instances: std::sync::Mutex<BTreeMap<String, VrrpInstanceReport>>,
}

/// Runs `program args`, its exit status and its output (stdout then stderr), or why it could
/// not run.
async fn output(program: &Path, args: &[&std::ffi::OsStr]) -> Result<(bool, String, String), String> {
    let run = Command::new(program).args(args).stdin(Stdio::null()).kill_on_drop(true).output();
    let out = tokio::time::timeout(TIMEOUT, run)
        .await
        .map_err(|_| format!("{} did not finish within {} s", program.display(), TIMEOUT.as_secs()))?
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    let status = out.status.code().map_or_else(|| "killed by a signal".to_string(), |c| format!("exit status {c}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    Ok((out.status.success(), status, text))
}

/// The state letter of `/proc/<pid>/stat` (`Z` for a zombie), `None` when there is no such
/// process.
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].split_whitespace().next()?.chars().next()
}

fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok().filter(|pid| *pid > 0)
}

fn send(pid: u32, signal: Signal) -> Result<(), String> {
    let target = i32::try_from(pid).ok().and_then(Pid::from_raw).ok_or_else(|| format!("bad pid {pid}"))?;
    kill_process(target, signal).map_err(|e| format!("cannot signal keepalived {pid}: {e}"))
}

/// Writes `bytes` at `path` through a temporary file in the same folder renamed over it, with
/// permission bits `mode`.
fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let mut name = path.as_os_str().to_owned();
    name.push(".fleet-tmp");
    let tmp = PathBuf::from(name);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&tmp, bytes)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// The node's interfaces and addresses (`ip -j addr show`), or why not.
pub(crate) async fn interfaces() -> Result<Vec<NodeInterface>, String> {
    let (ok, status, text) = output(Path::new("ip"), &["-j".as_ref(), "addr".as_ref(), "show".as_ref()]).await?;
    if !ok {
        return Err(format!("ip -j addr show: {status}: {}", text.trim()));
    }
    // stderr is empty on success; stdout is the JSON.
    rules::interfaces_from_ip_json(text.trim()).map_err(|e| format!("ip -j addr show: {e}"))
}

impl Keepalived {
    pub(crate) fn new(settings: Settings) -> Keepalived {
        Keepalived { settings, process: Mutex::new(Process::default()), instances: std::sync::Mutex::new(BTreeMap::new()) }
    }

    pub(crate) fn track_file(&self) -> PathBuf {
        self.settings.dir.join(TRACK_FILE)
    }

    pub(crate) fn notify_fifo(&self) -> PathBuf {
        self.settings.dir.join(NOTIFY_FIFO)
    }

    fn previous_copy(&self) -> PathBuf {
        self.settings.dir.join("previous.conf")
    }

    fn log_path(&self) -> PathBuf {
        self.settings.dir.join("keepalived.log")
    }

    /// Creates the agent's keepalived folder and the notify FIFO (mode 0600).
    pub(crate) fn prepare(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.settings.dir)?;
        let fifo = self.notify_fifo();
        match std::fs::symlink_metadata(&fifo) {
            Ok(meta) if std::os::unix::fs::FileTypeExt::is_fifo(&meta.file_type()) => {}
            Ok(_) => {
                std::fs::remove_file(&fifo)?;
                self.make_fifo(&fifo)?;
            }
            Err(_) => self.make_fifo(&fifo)?,
        }
        std::fs::set_permissions(&fifo, std::fs::Permissions::from_mode(0o600))
    }

    fn make_fifo(&self, fifo: &Path) -> std::io::Result<()> {
        rustix::fs::mkfifoat(rustix::fs::CWD, fifo, rustix::fs::Mode::from_raw_mode(0o600)).map_err(std::io::Error::from)
    }

    /// Writes HAProxy's health to the track file (`0` running, `1` not), at once.
    pub(crate) fn write_track(&self, haproxy_running: bool) {
        let path = self.track_file();
        if std::fs::read_to_string(&path).ok().as_deref() == Some(rules::track_value(haproxy_running)) {
            return;
        }
        match write_atomic(&path, rules::track_value(haproxy_running).as_bytes(), 0o644) {
            Ok(()) => tracing::info!(haproxy_running, track = %path.display(), "haproxy health written for keepalived"),
            Err(error) => tracing::error!(%error, track = %path.display(), "cannot write the track file"),
        }
    }

    /// Opens keepalived's notify FIFO for [`Keepalived::read_notify_fifo`], before keepalived
    /// starts and writes to it. Read-write, so it never sees the end of file when keepalived
    /// closes it across a restart. Needs the tokio runtime.
    pub(crate) fn open_notify_fifo(&self) -> std::io::Result<tokio::net::unix::pipe::Receiver> {
        tokio::net::unix::pipe::OpenOptions::new().read_write(true).open_receiver(self.notify_fifo())
    }

    /// Reads keepalived's notify FIFO forever, keeping each instance's last state; a change
    /// wakes `changed` (the heartbeat goes at once).
    pub(crate) async fn read_notify_fifo(self: Arc<Self>, receiver: tokio::net::unix::pipe::Receiver, changed: Arc<Notify>) {
        let mut lines = tokio::io::BufReader::new(receiver).lines();
        loop {
            let line = match lines.next_line().await {
                Ok(Some(line)) => line,
                Ok(None) => return,
                Err(error) => {
                    tracing::error!(%error, "cannot read the notify FIFO");
                    return;
                }
            };
            let Some((name, state)) = rules::parse_notify_line(&line) else { continue };
            tracing::info!(instance = %name, ?state, "vrrp instance state");
            let report = VrrpInstanceReport { name: name.clone(), state, since: SystemClock.now_ms() };
            if let Ok(mut instances) = self.instances.lock() {
                instances.insert(name, report);
            }
            changed.notify_one();
        }
    }

    /// `keepalived -t -f <file>`: `Ok` when keepalived accepts it, `Err(Some(message))` when it
    /// refuses it, `Err(None)`-like node failures as `Err` of the outer result.
    pub(crate) async fn check(&self, file: &Path) -> Result<Result<(), String>, String> {
        let (ok, status, text) = output(&self.settings.bin, &["-t".as_ref(), "-f".as_ref(), file.as_os_str()]).await?;
        Ok(if ok { Ok(()) } else { Err(rules::check_message(&text, &status)) })
    }

    /// True when the installed file is `content` byte for byte.
    pub(crate) fn installed_is(&self, content: &[u8]) -> bool {
        std::fs::read(&self.settings.config).is_ok_and(|installed| installed == content)
    }

    /// Installs `content` for `version` and makes keepalived run it: the previous file is kept
    /// and comes back (reloaded) when the reload fails.
    pub(crate) async fn install(&self, content: &[u8], version: i64) -> Result<(), String> {
        let config = &self.settings.config;
        let mut process = self.process.lock().await;
        let previous = std::fs::read(config).ok();
        if let Some(previous) = &previous {
            write_atomic(&self.previous_copy(), previous, 0o600)
                .map_err(|e| format!("cannot keep the previous {}: {e}", config.display()))?;
        }
        write_atomic(config, content, 0o644).map_err(|e| format!("cannot write {}: {e}", config.display()))?;
        match self.reload(&mut process).await {
            Ok(()) => {
                tracing::info!(version, config = %config.display(), "keepalived runs the new configuration");
                process.version = Some(version);
                process.error = None;
                Ok(())
            }
            Err(message) => {
                let rollback = match &previous {
                    Some(previous) => match write_atomic(config, previous, 0o644) {
                        Ok(()) => self.reload(&mut process).await,
                        Err(e) => Err(format!("cannot restore {}: {e}", config.display())),
                    },
                    None => std::fs::remove_file(config).map_err(|e| format!("cannot remove {}: {e}", config.display())),
                };
                let message = match rollback {
                    Ok(()) => format!("keepalived: {message}\n(the previous keepalived.conf is back)"),
                    Err(e) => format!("keepalived: {message}\n(restoring the previous keepalived.conf failed too: {e})"),
                };
                process.error = Some(message.clone());
                Err(message)
            }
        }
    }

    /// Records a refusal (`keepalived -t`) for the report.
    pub(crate) async fn refused(&self, message: &str) {
        self.process.lock().await.error = Some(message.to_string());
    }

    /// Notes that `version`'s file is the one installed (found on disk at start).
    pub(crate) async fn runs(&self, version: i64) {
        self.process.lock().await.version = Some(version);
    }

    /// The main keepalived process's pid when it runs (not a zombie).
    fn running_pid(&self, process: &mut Process) -> Option<u32> {
        if let Some(child) = process.child.as_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                tracing::warn!(%status, "keepalived exited");
                process.child = None;
            }
        }
        let pid = read_pid(&self.settings.pid_file)?;
        matches!(proc_state(pid), Some(state) if state != 'Z' && state != 'X').then_some(pid)
    }

    async fn systemctl(&self, verb: &str) -> Result<(), String> {
        let (ok, status, text) = output(&self.settings.systemctl, &[verb.as_ref(), self.settings.unit.as_ref()]).await?;
        if ok {
            Ok(())
        } else {
            Err(format!("systemctl {verb} {}: {status}: {}", self.settings.unit, text.trim()))
        }
    }

    /// Makes keepalived load the installed file: SIGHUP (process mode; a start when it does not
    /// run) or `systemctl reload`; then verified still running.
    async fn reload(&self, process: &mut Process) -> Result<(), String> {
        match self.settings.mode {
            Mode::Systemd => {
                self.systemctl("reload").await?;
                tokio::time::sleep(SETTLE).await;
                self.systemctl("is-active").await
            }
            Mode::Process => match self.running_pid(process) {
                None => self.start(process).await,
                Some(pid) => {
                    send(pid, Signal::HUP)?;
                    tokio::time::sleep(SETTLE).await;
                    match self.running_pid(process) {
                        Some(_) => Ok(()),
                        None => Err(format!("keepalived stopped after the reload: {}", self.log_tail())),
                    }
                }
            },
        }
    }

    /// The last lines of keepalived's log (process mode), for failure messages.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(5)..].join("\n")
    }

    /// Follows keepalived's main process (process mode) forever: the moment it exits, the
    /// addresses it left on the interfaces are removed (a keepalived killed with SIGKILL would
    /// leave its VIP answering ARP next to the new holder until it is started again).
    pub(crate) async fn follow(self: Arc<Self>) {
        if self.settings.mode != Mode::Process {
            return;
        }
        loop {
            let pid = {
                let mut process = self.process.lock().await;
                self.running_pid(&mut process)
            };
            let Some(pid) = pid else {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            };
            crate::track::exited(pid).await;
            tracing::warn!(pid, "keepalived exited: removing the addresses it left");
            self.remove_stale_addresses().await;
        }
    }

    /// Removes the addresses the installed file declares that an interface still holds (left by
    /// a keepalived killed with SIGKILL): before keepalived starts, or once it died, nobody on
    /// this node holds them rightly.
    async fn remove_stale_addresses(&self) {
        let Ok(text) = std::fs::read_to_string(&self.settings.config) else { return };
        let declared = rules::declared_addresses(&text);
        if declared.is_empty() {
            return;
        }
        let interfaces = match interfaces().await {
            Ok(interfaces) => interfaces,
            Err(error) => {
                tracing::warn!(%error, "cannot list the addresses left by a previous keepalived");
                return;
            }
        };
        for (dev, address) in rules::stale_addresses(&declared, &interfaces) {
            let args = ["addr".as_ref(), "del".as_ref(), address.as_ref(), "dev".as_ref(), dev.as_ref()];
            match output(Path::new("ip"), &args).await {
                Ok((true, _, _)) => tracing::warn!(%address, %dev, "removed a virtual address left on the interface by a stopped keepalived"),
                Ok((false, status, text)) => tracing::error!(%address, %dev, %status, output = %text.trim(), "cannot remove a stale virtual address"),
                Err(error) => tracing::error!(%address, %dev, %error, "cannot remove a stale virtual address"),
            }
        }
    }

    /// Starts keepalived (process mode) on the installed file, after removing stale addresses:
    /// `keepalived --dont-fork -D -f <config> -p <pid file> -r/-c/-b <state>/keepalived/*.pid`,
    /// the agent's child in its own process group, logs in `<state>/keepalived/keepalived.log`.
    async fn start(&self, process: &mut Process) -> Result<(), String> {
        let config = &self.settings.config;
        if !config.exists() {
            return Ok(());
        }
        self.remove_stale_addresses().await;
        let log_path = self.log_path();
        let open = || std::fs::OpenOptions::new().create(true).append(true).open(&log_path);
        let (log, log_err) = match (open(), open()) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => return Err(format!("cannot open {}: {e}", log_path.display())),
        };
        let dir = &self.settings.dir;
        let mut command = Command::new(&self.settings.bin);
        command
            .args(["--dont-fork", "--log-console", "-D", "-f"])
            .arg(config)
            .arg("-p")
            .arg(&self.settings.pid_file)
            .arg("-r")
            .arg(dir.join("vrrp.pid"))
            .arg("-c")
            .arg(dir.join("checkers.pid"))
            .arg("-b")
            .arg(dir.join("bfd.pid"))
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .process_group(0)
            .kill_on_drop(false);
        let mut child = command.spawn().map_err(|e| format!("cannot start {}: {e}", self.settings.bin.display()))?;
        let pid = child.id().unwrap_or_default();
        tracing::info!(pid, config = %config.display(), "started keepalived");
        let deadline = Instant::now() + TIMEOUT;
        let mut since: Option<Instant> = None;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                let message = format!("keepalived exited at start ({status}): {}", self.log_tail());
                process.error = Some(message.clone());
                return Err(message);
            }
            if read_pid(&self.settings.pid_file) == Some(pid) {
                let at = *since.get_or_insert_with(Instant::now);
                if at.elapsed() >= SETTLE {
                    process.child = Some(child);
                    return Ok(());
                }
            }
            tokio::time::sleep(POLL).await;
        }
        process.child = Some(child);
        Err(format!("keepalived did not write {} within {} s", self.settings.pid_file.display(), TIMEOUT.as_secs()))
    }

    /// Supervision (process mode): starts keepalived when it does not run and there is a file
    /// to run; true when it had to.
    pub(crate) async fn supervise(&self) -> Result<bool, String> {
        if self.settings.mode != Mode::Process || !self.settings.config.exists() {
            return Ok(false);
        }
        let mut process = self.process.lock().await;
        if self.running_pid(&mut process).is_some() {
            return Ok(false);
        }
        self.start(&mut process).await.map(|()| true)
    }

    /// Stops the keepalived this agent runs (process mode; SIGTERM: it removes its addresses).
    pub(crate) async fn stop(&self) {
        if self.settings.mode != Mode::Process {
            return;
        }
        let mut process = self.process.lock().await;
        let Some(pid) = self.running_pid(&mut process) else { return };
        if let Err(error) = send(pid, Signal::TERM) {
            tracing::warn!(%error, "cannot stop keepalived");
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && self.running_pid(&mut process).is_some() {
            tokio::time::sleep(POLL).await;
        }
        tracing::info!(pid, "keepalived stopped");
    }

    /// What the heartbeat carries.
    pub(crate) async fn report(&self) -> KeepalivedReport {
        let running = match self.settings.mode {
            Mode::Process => {
                let mut process = self.process.lock().await;
                self.running_pid(&mut process).is_some()
            }
            Mode::Systemd => self.systemctl("is-active").await.is_ok(),
        };
        let process = self.process.lock().await;
        let instances = self.instances.lock().map(|i| i.values().cloned().collect()).unwrap_or_default();
        let absolute = |path: PathBuf| std::path::absolute(&path).unwrap_or(path).display().to_string();
        KeepalivedReport {
            running,
            version: process.version,
            config_sha256: std::fs::read(&self.settings.config).ok().map(|bytes| sha256_hex(&bytes)),
            error: process.error.clone(),
            instances,
            track_file: Some(absolute(self.track_file())),
            notify_fifo: Some(absolute(self.notify_fifo())),
        }
    }
}

/// Settings for the directory `<state>/keepalived`.
pub(crate) fn state_dir(state: &Path) -> PathBuf {
    state.join(STATE_DIR)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use fleet_core::vip::VrrpState;

    use super::*;

    fn driver(tag: &str) -> (PathBuf, Arc<Keepalived>) {
        let dir = std::env::temp_dir().join(format!("fleet-agent-keepalived-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let settings = Settings {
            name: "lb1".into(),
            bin: PathBuf::from("keepalived"),
            config: dir.join("etc/keepalived.conf"),
            pid_file: dir.join("keepalived.pid"),
            mode: Mode::Process,
            unit: "keepalived".into(),
            systemctl: PathBuf::from("systemctl"),
            dir: state_dir(&dir.join("state")),
        };
        (dir, Arc::new(Keepalived::new(settings)))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_notify_fifo_gives_instance_states_and_wakes_the_heartbeat() {
        let (dir, keepalived) = driver("fifo");
        keepalived.prepare().unwrap();
        keepalived.prepare().unwrap();
        let meta = std::fs::metadata(keepalived.notify_fifo()).unwrap();
        assert!(std::os::unix::fs::FileTypeExt::is_fifo(&meta.file_type()));
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let wake = Arc::new(Notify::new());
        let reader = tokio::spawn(keepalived.clone().read_notify_fifo(keepalived.open_notify_fifo().unwrap(), wake.clone()));
        // keepalived opens the FIFO for writing and writes whole lines; twice, as across a restart.
        for lines in ["INSTANCE \"VI_1\" BACKUP 100\nGROUP \"G\" MASTER\n", "INSTANCE \"VI_1\" MASTER 100\nINSTANCE \"VI_2\" FAULT 0\n"] {
            let mut writer = std::fs::OpenOptions::new().write(true).open(keepalived.notify_fifo()).unwrap();
            writer.write_all(lines.as_bytes()).unwrap();
            tokio::time::timeout(Duration::from_secs(5), wake.notified()).await.unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        let states = loop {
            let report = keepalived.report().await;
            let states: Vec<(String, VrrpState)> = report.instances.iter().map(|i| (i.name.clone(), i.state)).collect();
            if states.len() == 2 && states[0].1 == VrrpState::Master || Instant::now() > deadline {
                break states;
            }
            tokio::time::sleep(POLL).await;
        };
        assert_eq!(states, [("VI_1".to_string(), VrrpState::Master), ("VI_2".to_string(), VrrpState::Fault)]);
        let report = keepalived.report().await;
        assert!(!report.running && report.config_sha256.is_none());
        assert!(report.notify_fifo.unwrap().ends_with("/state/keepalived/notify.fifo"));
        reader.abort();

        keepalived.write_track(false);
        assert_eq!(std::fs::read_to_string(keepalived.track_file()).unwrap(), "1\n");
        keepalived.write_track(true);
        assert_eq!(std::fs::read_to_string(keepalived.track_file()).unwrap(), "0\n");
        assert_eq!(report.track_file.as_deref(), Some(keepalived.track_file().display().to_string().as_str()));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn keepalived_t_refusals_carry_keepalived_s_words() {
        let (dir, keepalived) = driver("check");
        if output(Path::new("keepalived"), &["-v".as_ref()]).await.is_err() {
            eprintln!("skipped: keepalived is not installed");
            return;
        }
        keepalived.prepare().unwrap();
        let file = dir.join("bad.conf");
        std::fs::write(&file, "vrrp_instance VI_1 {\n    interface lo\n    virtual_router_id 300\n    priority 100\n}\n").unwrap();
        let refused = keepalived.check(&file).await.unwrap().unwrap_err();
        assert!(refused.starts_with("keepalived -t failed (exit status") && refused.contains("VRID '300' not valid"), "{refused}");
        std::fs::write(&file, "global_defs {\n    router_id fleet\n}\n").unwrap();
        assert_eq!(keepalived.check(&file).await.unwrap(), Ok(()));
        let missing = Keepalived::new(Settings { bin: dir.join("no-keepalived"), ..keepalived.settings.clone() });
        assert!(missing.check(&file).await.unwrap_err().starts_with("cannot run "));
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A stand-in keepalived (`--dont-fork --log-console -D -f CONFIG -p PIDFILE ...`): refuses
    /// a configuration holding `BAD` at start and on SIGHUP, else writes its pid and runs.
    const FAKE_KEEPALIVED: &str = "#!/bin/sh\nconf=\"$5\"; pidfile=\"$7\"\n\
        check() { if grep -q BAD \"$conf\"; then echo \"bad configuration in $conf\"; exit 1; fi; }\n\
        check\necho $$ > \"$pidfile\"\ntrap check HUP\nwhile :; do sleep 0.05; done\n";

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_reload_that_kills_keepalived_puts_the_previous_file_back_and_runs_it() {
        let (dir, keepalived) = driver("rollback");
        keepalived.prepare().unwrap();
        let bin = dir.join("fake-keepalived");
        std::fs::write(&bin, FAKE_KEEPALIVED).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let keepalived = Keepalived::new(Settings { bin, ..keepalived.settings.clone() });
        let good = b"! good\n".to_vec();

        // Not running: installing starts it (process mode).
        keepalived.install(&good, 2).await.unwrap();
        let report = keepalived.report().await;
        assert!(report.running && report.version == Some(2) && report.error.is_none(), "{report:?}");
        assert_eq!(report.config_sha256.as_deref(), Some(sha256_hex(&good).as_str()));
        let pid = read_pid(&keepalived.settings.pid_file).unwrap();

        // The reload (SIGHUP) kills it: the previous file comes back and runs again.
        let error = keepalived.install(b"! BAD\n", 3).await.unwrap_err();
        assert!(error.contains("keepalived stopped after the reload") && error.ends_with("(the previous keepalived.conf is back)"), "{error}");
        assert!(error.contains("bad configuration"), "keepalived's words from its log: {error}");
        assert_eq!(std::fs::read(&keepalived.settings.config).unwrap(), good);
        assert_eq!(std::fs::read(keepalived.previous_copy()).unwrap(), good);
        let report = keepalived.report().await;
        assert!(report.running && report.version == Some(2), "{report:?}");
        assert_ne!(read_pid(&keepalived.settings.pid_file), Some(pid), "started again on the previous file");

        // A good file reloads in place (same process), and supervision leaves it alone.
        let pid = read_pid(&keepalived.settings.pid_file).unwrap();
        keepalived.install(b"! good too\n", 4).await.unwrap();
        assert_eq!(read_pid(&keepalived.settings.pid_file), Some(pid));
        assert!(!keepalived.supervise().await.unwrap());
        // Killed: supervision starts it again.
        send(pid, Signal::KILL).unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(keepalived.supervise().await.unwrap());
        assert!(keepalived.report().await.running);
        keepalived.stop().await;
        assert!(!keepalived.report().await.running);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn systemd_mode_reloads_the_unit_and_rolls_back_when_it_fails() {
        let (dir, keepalived) = driver("systemd");
        keepalived.prepare().unwrap();
        // A stand-in systemctl: logs its arguments; `reload` fails while the installed file
        // holds BAD; `is-active` answers from a flag file.
        let systemctl = dir.join("systemctl");
        let calls = dir.join("calls");
        let config = keepalived.settings.config.display().to_string();
        std::fs::write(
            &systemctl,
            format!(
                "#!/bin/sh\necho \"$@\" >> '{calls}'\ncase \"$1\" in\n  reload) if grep -q BAD '{config}'; then echo 'Job for keepalived.service failed'; exit 1; fi ;;\n  \
                 is-active) [ -e '{active}' ] || {{ echo inactive; exit 3; }} ;;\nesac\nexit 0\n",
                calls = calls.display(),
                active = dir.join("active").display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&systemctl, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(dir.join("active"), "").unwrap();
        let settings = Settings { mode: Mode::Systemd, unit: "keepalived-test".into(), systemctl, ..keepalived.settings.clone() };
        let keepalived = Keepalived::new(settings);
        keepalived.install(b"! one\n", 2).await.unwrap();
        let error = keepalived.install(b"! BAD\n", 3).await.unwrap_err();
        assert!(error.contains("systemctl reload keepalived-test: exit status 1: Job for keepalived.service failed"), "{error}");
        assert!(error.ends_with("(the previous keepalived.conf is back)"), "{error}");
        assert_eq!(std::fs::read(&keepalived.settings.config).unwrap(), b"! one\n");
        let report = keepalived.report().await;
        assert!(report.running && report.version == Some(2), "{report:?}");
        let calls = std::fs::read_to_string(&calls).unwrap();
        assert_eq!(calls, "reload keepalived-test\nis-active keepalived-test\nreload keepalived-test\nreload keepalived-test\nis-active keepalived-test\nis-active keepalived-test\n");
        // Supervision and stop leave a unit to systemd.
        assert!(!keepalived.supervise().await.unwrap());
        std::fs::remove_file(dir.join("active")).unwrap();
        assert!(!keepalived.report().await.running);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_stopped_keepalived_is_not_running_even_with_its_pid_file() {
        let (dir, keepalived) = driver("pid");
        keepalived.prepare().unwrap();
        // A pid file naming a process that does not exist, or a zombie, is not keepalived running.
        std::fs::write(&keepalived.settings.pid_file, "999999999\n").unwrap();
        assert!(!keepalived.report().await.running);
        let mut zombie = std::process::Command::new("true").spawn().unwrap();
        let pid = zombie.id();
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(proc_state(pid), Some('Z'));
        std::fs::write(&keepalived.settings.pid_file, format!("{pid}\n")).unwrap();
        assert!(!keepalived.report().await.running);
        zombie.wait().unwrap();
        std::fs::write(&keepalived.settings.pid_file, format!("{}\n", std::process::id())).unwrap();
        assert!(keepalived.report().await.running);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
