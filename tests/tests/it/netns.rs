//! Network namespaces for tests: created on demand, always deleted (a guard with `Drop`),
//! with the processes started inside them stopped first.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// Runs a command and returns its output; panics with the command line when it cannot start.
pub(crate) fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program} {args:?}: {e}"))
}

/// Runs `ip ARGS`, panicking with ip's message when it fails.
pub(crate) fn ip(args: &[&str]) {
    let out = run("ip", args);
    assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Why namespace tests cannot run here, if they cannot.
pub(crate) fn unavailable() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if uid.as_deref() != Some("0") {
        return Some("not running as root".into());
    }
    match Command::new("ip").args(["netns", "list"]).output() {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(format!("ip netns unavailable: {}", String::from_utf8_lossy(&out.stderr).trim())),
        Err(e) => Some(format!("ip not found: {e}")),
    }
}

pub(crate) use fleet_tests::keepalived_bin;

/// A process started inside a namespace, with the pid files keepalived writes for its children.
struct Process {
    child: std::process::Child,
    child_pid_files: Vec<PathBuf>,
}

/// A set of namespaces and processes, torn down on drop (also when a test fails).
pub(crate) struct Lab {
    namespaces: Vec<String>,
    processes: Vec<Process>,
    /// A scratch folder for configs, pid files and logs (root-owned, mode 0755).
    pub(crate) dir: PathBuf,
}

impl Lab {
    pub(crate) fn new(tag: &str) -> Lab {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("fleet-{tag}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Lab { namespaces: Vec::new(), processes: Vec::new(), dir }
    }

    /// Creates a namespace with loopback up and returns its name.
    pub(crate) fn namespace(&mut self) -> String {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let name = format!("fleet-{}-{n}", std::process::id());
        ip(&["netns", "add", &name]);
        self.namespaces.push(name.clone());
        ip(&["-n", &name, "link", "set", "lo", "up"]);
        name
    }

    /// Adds an interface called `name` inside `ns`: a dummy when the kernel has them, else one
    /// end of a veth pair whose other end stays in the namespace too.
    pub(crate) fn interface(&self, ns: &str, name: &str) {
        let dummy = run("ip", &["-n", ns, "link", "add", name, "type", "dummy"]);
        if !dummy.status.success() {
            let n = NEXT.fetch_add(1, Ordering::SeqCst);
            let peer = format!("peer{n}");
            ip(&["-n", ns, "link", "add", name, "type", "veth", "peer", "name", &peer]);
        }
        ip(&["-n", ns, "link", "set", name, "up"]);
    }

    /// Starts `program args` inside `ns` with stdout and stderr in `log`; `child_pid_files`
    /// name pid files of processes it forks, stopped with it.
    pub(crate) fn spawn(&mut self, ns: &str, program: &Path, args: &[&str], log: &Path, child_pid_files: Vec<PathBuf>) {
        let out = std::fs::File::create(log).unwrap();
        let err = out.try_clone().unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .arg(program)
            .args(args)
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap();
        self.processes.push(Process { child, child_pid_files });
    }

    /// The addresses on `dev` inside `ns`, as `ip -br addr` prints them.
    pub(crate) fn addresses(ns: &str, dev: &str) -> String {
        String::from_utf8_lossy(&run("ip", &["-n", ns, "-br", "addr", "show", "dev", dev]).stdout).into_owned()
    }

    fn stop(process: &mut Process) {
        let pid = process.child.id().to_string();
        // SIGTERM lets keepalived remove its addresses and stop its children.
        let _ = run("kill", &["-TERM", &pid]);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = process.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if let Ok(None) = process.child.try_wait() {
            let _ = process.child.kill();
            let _ = process.child.wait();
        }
        for file in &process.child_pid_files {
            if let Some(child_pid) = std::fs::read_to_string(file).ok().map(|s| s.trim().to_string()) {
                if !child_pid.is_empty() && Path::new("/proc").join(&child_pid).exists() {
                    let _ = run("kill", &["-KILL", &child_pid]);
                }
            }
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for process in &mut self.processes {
            Lab::stop(process);
        }
        for ns in &self.namespaces {
            let _ = run("ip", &["netns", "del", ns]);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
