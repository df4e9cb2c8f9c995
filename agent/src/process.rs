//! `process` mode: the agent runs HAProxy itself in master-worker mode
//! (`haproxy -W -S <state>/master.sock -p <state>/haproxy.pid -C <managed>
//! -f <state>/fleet-state.cfg -f <managed>/<config> ...`), reloads it through
//! the master CLI `reload` (the new worker takes the listening sockets over from the old one, so
//! no connection is refused), verifies the reload with `show proc`, supervises it and stops it
//! on shutdown.
//!
//! HAProxy runs in its own process group with its output appended to `<state>/haproxy.log`, so
//! an agent killed with SIGKILL leaves it serving; the restarted agent adopts it through the
//! master socket instead of starting a second one.
//!
//! A reload re-executes the master with the arguments it was started with, so a release whose
//! list of config files differs (a file added, removed or reordered) restarts HAProxy instead:
//! the old master soft-stops, then a new one starts with the new `-f` list.
//!
//! `-C <managed>` is HAProxy's working directory, entered again by every re-executed master:
//! through the managed directory's symlink, so into the release being loaded. Relative paths
//! HAProxy resolves after parsing, where `default-path` no longer applies (a map inside a
//! dynamic `use_backend %[...]`), resolve in the current release, and no process keeps an old
//! release as its working directory. (A plain working directory would be entered once, and
//! stay in the release HAProxy started in.)

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fleet_core::apply::haproxy_message;
use rustix::process::{kill_process, Pid, Signal};
use tokio::process::{Child, Command};

use crate::mcli::{self, parse_show_proc, Procs};

/// How long a start or a reload may take before it counts as failed.
const SETTLE: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(50);
const CLI_TIMEOUT: Duration = Duration::from_secs(3);

/// What a master is started with and keeps across its reloads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Load {
    /// The working directory, `-C` (the managed directory).
    pub(crate) dir: Option<PathBuf>,
    /// The config files, `-f`, in order (through the managed directory).
    pub(crate) configs: Vec<PathBuf>,
}

#[derive(Debug)]
pub(crate) struct ProcessDriver {
    bin: PathBuf,
    /// What the next start loads.
    load: Load,
    /// What the running master was started with, when we know it.
    started_with: Option<Load>,
    state: PathBuf,
    /// The master we started (none when adopted or not running).
    child: Option<Child>,
    /// The pid of the running master as soon as the agent starts or adopts one, `None` when it
    /// stops it: what [`crate::track`] watches to learn of HAProxy's death at once.
    master: tokio::sync::watch::Sender<Option<u32>>,
}

impl ProcessDriver {
    pub(crate) fn new(bin: PathBuf, state: PathBuf, load: Load) -> ProcessDriver {
        ProcessDriver { bin, load, started_with: None, state, child: None, master: tokio::sync::watch::Sender::new(None) }
    }

    /// Follows the running master's pid (see the field's docs).
    pub(crate) fn watch_master(&self) -> tokio::sync::watch::Receiver<Option<u32>> {
        self.master.subscribe()
    }

    /// What the next start or reload loads.
    pub(crate) fn set_load(&mut self, load: Load) {
        self.load = load;
    }

    /// True when a reload would load the current list of config files in the current
    /// directory (an adopted master is assumed to: it was reloaded onto the files on disk when
    /// adopted).
    pub(crate) fn loads_current_list(&self) -> bool {
        self.started_with.as_ref().is_none_or(|load| *load == self.load)
    }

    fn has_config(&self) -> bool {
        !self.load.configs.is_empty() && self.load.configs.iter().all(|p| p.exists())
    }

    pub(crate) fn socket(&self) -> PathBuf {
        self.state.join("master.sock")
    }

    pub(crate) fn log_path(&self) -> PathBuf {
        self.state.join("haproxy.log")
    }

    async fn procs(&self) -> Option<Procs> {
        let answer = mcli::send(&self.socket(), "show proc", CLI_TIMEOUT).await.ok()?;
        parse_show_proc(&answer)
    }

    /// HAProxy's log lines written since `offset`, reduced to what explains a failure.
    fn log_since(&self, offset: u64) -> String {
        let text = std::fs::read(self.log_path()).unwrap_or_default();
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(text.len());
        haproxy_message(&String::from_utf8_lossy(&text[start..]))
    }

    fn log_len(&self) -> u64 {
        std::fs::metadata(self.log_path()).map_or(0, |m| m.len())
    }

    /// True when our child exited (it is then forgotten).
    fn child_exited(&mut self) -> Option<String> {
        let status = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten())?;
        self.child = None;
        Some(format!("haproxy exited ({status})"))
    }

    /// True when a master of ours runs: it answers on the socket with a worker, or its process
    /// exists (a master re-executing for a reload does not answer for a moment).
    pub(crate) async fn is_running(&mut self) -> bool {
        self.child_exited();
        self.procs().await.is_some_and(|p| !p.workers.is_empty()) || !masters(&self.socket()).is_empty()
    }

    /// Waits until a master we know exists answers on its socket.
    async fn wait_for_socket(&self) -> Option<Procs> {
        let deadline = Instant::now() + SETTLE;
        while Instant::now() < deadline {
            if let Some(procs) = self.procs().await {
                return Some(procs);
            }
            tokio::time::sleep(POLL).await;
        }
        None
    }

    /// Adopts a master left by a previous agent (reloading it so it runs the file on disk) or
    /// starts one; does nothing while there is no configuration file yet.
    pub(crate) async fn start_or_adopt(&mut self) -> Result<(), String> {
        if masters(&self.socket()).is_empty() {
            return self.spawn().await;
        }
        self.adopt().await?;
        self.reload().await
    }

    /// Takes over the running master of this socket: waits until it answers (it may be
    /// re-executing) and stops any second master.
    async fn adopt(&mut self) -> Result<Procs, String> {
        let existing = masters(&self.socket());
        tracing::info!(socket = %self.socket().display(), pids = ?existing, "adopting the running haproxy master");
        let Some(procs) = self.wait_for_socket().await else {
            return Err(format!("haproxy master {existing:?} does not answer on {}", self.socket().display()));
        };
        // Never more than one master per socket: one that lost its socket file would keep
        // serving an old configuration through SO_REUSEPORT.
        for pid in existing.into_iter().filter(|pid| *pid != procs.master_pid) {
            tracing::warn!(pid, "stopping a second haproxy master for the same socket");
            signal(pid, Signal::TERM);
        }
        self.started_with = config_args(procs.master_pid);
        self.master.send_replace(Some(procs.master_pid));
        Ok(procs)
    }

    /// Makes sure a master runs: adopts the one of this socket (its socket may be busy
    /// re-executing) rather than start a second one.
    pub(crate) async fn start(&mut self) -> Result<(), String> {
        if masters(&self.socket()).is_empty() {
            self.spawn().await
        } else {
            self.adopt().await.map(|_| ())
        }
    }

    /// Starts a master on the current configuration and waits for its first worker.
    async fn spawn(&mut self) -> Result<(), String> {
        if !self.has_config() {
            return Ok(());
        }
        let socket = self.socket();
        let _ = std::fs::remove_file(&socket);
        let offset = self.log_len();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(|e| format!("cannot open {}: {e}", self.log_path().display()))?;
        let log_err = log.try_clone().map_err(|e| format!("cannot open {}: {e}", self.log_path().display()))?;
        let mut command = Command::new(&self.bin);
        command
            .arg("-W")
            .arg("-S")
            .arg(format!("{},mode,600", socket.display()))
            .arg("-p")
            .arg(self.state.join("haproxy.pid"));
        if let Some(dir) = &self.load.dir {
            command.arg("-C").arg(dir);
        }
        for config in &self.load.configs {
            command.arg("-f").arg(config);
        }
        // The state directory until `-C` is read: a working directory inside a release would
        // pin that release (see the module's docs).
        command
            .current_dir(&self.state)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .process_group(0)
            .kill_on_drop(false);
        let child = command.spawn().map_err(|e| format!("cannot start {}: {e}", self.bin.display()))?;
        tracing::info!(pid = child.id(), configs = ?self.load, "started haproxy master");
        self.child = Some(child);
        self.started_with = Some(self.load.clone());
        let deadline = Instant::now() + SETTLE;
        while Instant::now() < deadline {
            if let Some(exit) = self.child_exited() {
                return Err(format!("{exit}: {}", self.log_since(offset)));
            }
            if let Some(procs) = self.procs().await.filter(|p| !p.workers.is_empty()) {
                self.master.send_replace(Some(procs.master_pid));
                return Ok(());
            }
            tokio::time::sleep(POLL).await;
        }
        Err(format!("haproxy did not start within {} s: {}", SETTLE.as_secs(), self.log_since(offset)))
    }

    /// Reloads through the master CLI and waits until the master reports a successful reload
    /// with a new worker; a failed reload returns HAProxy's alerts (the old worker keeps
    /// serving). Starts the master when none runs.
    pub(crate) async fn reload(&mut self) -> Result<(), String> {
        self.child_exited();
        if !self.loads_current_list() {
            tracing::warn!(configs = ?self.load, "the list of config files changed: restarting haproxy (a reload keeps the old -f list)");
            self.stop(Duration::from_secs(5)).await;
            return self.spawn().await;
        }
        let before = match self.procs().await {
            Some(procs) => procs,
            None if masters(&self.socket()).is_empty() => return self.spawn().await,
            None => self.adopt().await?,
        };
        let offset = self.log_len();
        // The master closes the connection when it re-executes; its answer carries nothing.
        let _ = mcli::send(&self.socket(), "reload", CLI_TIMEOUT).await;
        let deadline = Instant::now() + SETTLE;
        while Instant::now() < deadline {
            if let Some(exit) = self.child_exited() {
                return Err(format!("{exit}: {}", self.log_since(offset)));
            }
            if let Some(now) = self.procs().await {
                if now.failed > before.failed {
                    return Err(self.log_since(offset));
                }
                let fresh = now.workers.iter().any(|w| !before.workers.contains(w));
                if now.reloads > before.reloads && fresh {
                    return Ok(());
                }
            }
            tokio::time::sleep(POLL).await;
        }
        Err(format!("reload not confirmed within {} s: {}", SETTLE.as_secs(), self.log_since(offset)))
    }

    /// A runtime API command for the current worker (`@1` prefix on the master CLI).
    pub(crate) async fn runtime(&self, command: &str) -> std::io::Result<String> {
        mcli::send(&self.socket(), &format!("@1 {command}"), CLI_TIMEOUT).await
    }

    /// Soft-stops HAProxy (SIGUSR1: workers finish their sessions), SIGTERM after `grace`.
    pub(crate) async fn stop(&mut self, grace: Duration) {
        let Some(procs) = self.procs().await else { return };
        let master = procs.master_pid;
        self.master.send_replace(None);
        signal(master, Signal::USR1);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if self.child_exited().is_some() || (self.child.is_none() && !pid_alive(master)) {
                tracing::info!(pid = master, "haproxy stopped");
                return;
            }
            tokio::time::sleep(POLL).await;
        }
        signal(master, Signal::TERM);
        if let Some(child) = self.child.as_mut() {
            let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
        }
        tracing::warn!(pid = master, "haproxy did not stop within the grace period: terminated");
    }
}

fn signal(pid: u32, signal: Signal) {
    if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        if let Err(error) = kill_process(pid, signal) {
            tracing::warn!(%error, pid = pid.as_raw_nonzero().get(), "cannot signal haproxy");
        }
    }
}

/// The pids of HAProxy masters started with `-S <socket>...` (any agent's, this one's or a
/// killed predecessor's), found in /proc: a process whose command line names the socket and whose
/// parent's does not (workers are forks of their master and share its command line).
fn masters(socket: &Path) -> Vec<u32> {
    let socket = socket.to_string_lossy().into_owned();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let ours: Vec<(u32, u32)> = entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| uses_socket(*pid, &socket))
        .filter_map(|pid| Some((pid, parent(pid)?)))
        .collect();
    ours.iter().filter(|(_, ppid)| !ours.iter().any(|(pid, _)| pid == ppid)).map(|(pid, _)| *pid).collect()
}

/// The `-C` and `-f` arguments of a process's command line (what its reloads keep loading).
pub(crate) fn config_args(pid: u32) -> Option<Load> {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let values = |flag: &[u8]| {
        args.windows(2)
            .filter(|pair| pair[0] == flag)
            .map(|pair| PathBuf::from(String::from_utf8_lossy(pair[1]).into_owned()))
            .collect::<Vec<_>>()
    };
    Some(Load { dir: values(b"-C").pop(), configs: values(b"-f") })
}

fn uses_socket(pid: u32, socket: &str) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else { return false };
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    args.windows(2).any(|pair| {
        pair[0] == b"-S" && {
            let value = String::from_utf8_lossy(pair[1]);
            value == socket || value.starts_with(&format!("{socket},"))
        }
    })
}

/// The parent pid from `/proc/<pid>/stat` (the field after the parenthesised command name).
fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}

/// True while `pid` runs: a zombie (exited, not yet reaped by its parent, as an adopted master
/// whose parent is a container's init may stay) counts as gone.
fn pid_alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    stat.rfind(')').and_then(|at| stat[at + 1..].split_whitespace().next()) != Some("Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_entries_are_read() {
        assert_eq!(parent(std::process::id()), Some(std::os::unix::process::parent_id()));
        assert!(!uses_socket(std::process::id(), "/nonexistent/master.sock"));
        assert!(masters(Path::new("/nonexistent/master.sock")).is_empty());
        assert!(pid_alive(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        // Exited, not reaped: a zombie is not alive.
        let deadline = Instant::now() + Duration::from_secs(10);
        while pid_alive(pid) {
            assert!(Instant::now() < deadline, "true did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(Path::new(&format!("/proc/{pid}")).exists(), "still a zombie");
        child.wait().unwrap();
        assert!(!pid_alive(pid));
    }
}
