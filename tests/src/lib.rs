//! Test support shared by every crate's tests, and the home of the workspace-level integration
//! tests (`tests/it/`: one binary, one module per concern; they run the real `haproxy` and
//! `keepalived` binaries, inside network namespaces when they need interfaces or addresses).
//!
//! What lives here is what several test binaries need the same way, so that it is written once:
//! - where the shared material is: [`corpus_dir`] (`../shared/corpus`) and [`cases_dir`]
//!   (`../shared/cases`), read in place, each overridable by an environment variable;
//! - which real binaries to run: [`haproxy_check_bin`], [`haproxy_bin`], [`keepalived_bin`];
//! - a real `fleet serve` child process: [`FleetServe`] (free loopback port, scratch data folder,
//!   killed on drop); each suite puts its own HTTP client on top;
//! - small file systems to fill or make read-only: [`Tmpfs`] (needs root, else skips);
//! - a real BIND 9 primary with a TSIG key for dynamic updates: [`Named`];
//! - a real PowerDNS Authoritative (SQLite backend, HTTP API on) with one zone: [`PowerDnsServer`];
//! - `dig`, the real resolver tool, asked of either: [`dig`].
//!
//! Every lookup that finds nothing says so on stderr and returns `None`, so a test can skip with
//! its reason visible instead of passing silently. One rule turns those skips into failures:
//! with `FLEET_REQUIRE_TOOLS=1` ([`tools_required`]; scripts/test sets it, its setup.d scripts
//! install every tool), a real binary that is missing fails the test that looked for it
//! ([`binary`] lookups), and so does any other missing tool a test passes through [`require`].
//!
//! Other crates take this package as a dev-dependency only; it depends on no workspace crate, so
//! there is no cycle.

// Test support fails loudly: a broken fixture is a failed test, not a value to handle.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

mod named;
mod pdns;
mod tmpfs;
pub mod pki;
pub use named::{dig, named_bin, Named, NAMED_KEY_NAME};
pub use pdns::{pdns_bin, PowerDnsServer};
pub use tmpfs::Tmpfs;

/// The workspace root (the folder holding the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

fn shared_dir(variable: &str, name: &str, marker: &str) -> Option<PathBuf> {
    let dir = std::env::var_os(variable)
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("..").join("shared").join(name));
    if dir.join(marker).is_file() {
        Some(dir)
    } else {
        eprintln!("{name} not found at {} (set {variable}): skipping", dir.display());
        None
    }
}

/// The conformance corpus: `$FLEET_CORPUS`, else `../shared/corpus` beside the workspace.
pub fn corpus_dir() -> Option<PathBuf> {
    shared_dir("FLEET_CORPUS", "corpus", "manifest.tsv")
}

/// The small real-world cases with their verdicts (`expected.tsv`): `$FLEET_CASES`, else
/// `../shared/cases` beside the workspace.
pub fn cases_dir() -> Option<PathBuf> {
    shared_dir("FLEET_CASES", "cases", "expected.tsv")
}

/// One line of `cases/expected.tsv`: a file, the real tool's verdict and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// The file, relative to the cases folder.
    pub file: String,
    /// True when the real tool (`haproxy -c` 2.6 or `keepalived -t` 2.2) accepts it.
    pub valid: bool,
    /// The report it comes from and what the right behaviour is.
    pub notes: String,
}

/// Every case of `expected.tsv`, or `None` (after saying so) when the folder is absent.
pub fn cases() -> Option<(PathBuf, Vec<Case>)> {
    let dir = cases_dir()?;
    let table = std::fs::read_to_string(dir.join("expected.tsv")).unwrap();
    let cases = table
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let mut fields = line.splitn(3, '\t');
            let file = fields.next().unwrap_or_default().to_string();
            let verdict = fields.next().unwrap_or_default();
            assert!(verdict == "valid" || verdict == "invalid", "expected.tsv: bad verdict {verdict:?} for {file}");
            Case { file, valid: verdict == "valid", notes: fields.next().unwrap_or_default().to_string() }
        })
        .collect();
    Some((dir, cases))
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|path| std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file()))
}

/// The environment variable of [`tools_required`].
pub const REQUIRE_TOOLS: &str = "FLEET_REQUIRE_TOOLS";

/// True when `FLEET_REQUIRE_TOOLS=1`: a missing real tool (haproxy, keepalived, named, dig,
/// pdns_server, promtool ...) fails the test instead of skipping it.
pub fn tools_required() -> bool {
    std::env::var(REQUIRE_TOOLS).is_ok_and(|v| v == "1")
}

/// `found` as given; when it is `None` (`what` is missing), a failed test under
/// `FLEET_REQUIRE_TOOLS=1`, else `None` after saying on stderr that the test skips.
#[track_caller]
pub fn require<T>(found: Option<T>, what: &str) -> Option<T> {
    require_when(tools_required(), found, what)
}

/// [`require`] with the rule's switch given: `required` turns a `None` into a panic.
#[track_caller]
fn require_when<T>(required: bool, found: Option<T>, what: &str) -> Option<T> {
    if found.is_none() {
        assert!(!required, "{what} is missing and {REQUIRE_TOOLS}=1 (scripts/setup.d installs it): failing instead of skipping");
        eprintln!("skipped: {what} is missing");
    }
    found
}

#[track_caller]
fn binary(variables: &[&str], name: &str) -> Option<PathBuf> {
    let found = variables.iter().find_map(std::env::var_os).map(PathBuf::from).or_else(|| on_path(name)).or_else(|| {
        let sbin = PathBuf::from("/usr/sbin").join(name);
        sbin.is_file().then_some(sbin)
    });
    if found.is_none() {
        eprintln!("{name} not found (set {} or put it on PATH): skipping", variables.join(" or "));
    }
    require(found, name)
}

/// The HAProxy that serves traffic in tests: `$FLEET_HAPROXY_BIN`, else `haproxy` on `PATH`.
pub fn haproxy_bin() -> Option<PathBuf> {
    binary(&["FLEET_HAPROXY_BIN"], "haproxy")
}

/// The HAProxy for `haproxy -c` only: `$FLEET_HAPROXY_CHECK_BIN` (scripts/test makes it run in
/// a network namespace of its own, so names that do not resolve fail at once instead of waiting
/// out the resolver), else [`haproxy_bin`].
pub fn haproxy_check_bin() -> Option<PathBuf> {
    binary(&["FLEET_HAPROXY_CHECK_BIN", "FLEET_HAPROXY_BIN"], "haproxy")
}

/// `$FLEET_KEEPALIVED_BIN`, else `keepalived` on `PATH`.
pub fn keepalived_bin() -> Option<PathBuf> {
    binary(&["FLEET_KEEPALIVED_BIN"], "keepalived")
}

/// A self-signed certificate for `CN=fleet.test` followed by its private key, in one PEM file
/// ([`self_signed_pem_for`]).
pub fn self_signed_pem() -> Option<Vec<u8>> {
    self_signed_pem_for("fleet.test")
}

/// A self-signed certificate for `CN=<cn>` followed by its private key, in one PEM file (what
/// `crt` loads), made by `openssl req -x509 -newkey rsa:2048 -nodes`; `None` (after saying why)
/// when `openssl` cannot make one.
pub fn self_signed_pem_for(cn: &str) -> Option<Vec<u8>> {
    let dir = std::env::temp_dir().join(unique_name("fleet-tests-pem"));
    std::fs::create_dir_all(&dir).ok()?;
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", &format!("/CN={cn}"), "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let pem = made.then(|| Some([std::fs::read(&cert).ok()?, std::fs::read(&key).ok()?].concat())).flatten();
    let _ = std::fs::remove_dir_all(&dir);
    if pem.is_none() {
        eprintln!("openssl req -x509 failed: skipping");
    }
    pem
}

/// The subject of the certificate a TLS listener on loopback `port` serves, as
/// `openssl s_client` prints it without blanks (`subject=CN=fleet.test`); empty when none is.
pub fn served_subject(port: u16) -> String {
    served_subject_at(&format!("127.0.0.1:{port}"))
}

/// [`served_subject`] of the TLS listener at `address` (`127.0.0.2:8443`).
pub fn served_subject_at(address: &str) -> String {
    let output = Command::new("openssl")
        .args(["s_client", "-connect", address])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output();
    let text = output.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
    text.lines().find(|l| l.starts_with("subject=")).unwrap_or_default().replace(' ', "")
}

/// The large configuration the benchmarks share (haproxy-parse `large_config`, fleet-core
/// `document_cache`): global, defaults, one frontend routing on the Host header to
/// every backend, and `backends` backends of `servers` servers each.
pub fn large_config(backends: usize, servers: usize) -> String {
    let mut out = String::with_capacity(backends * (servers * 80 + 200) + 4096);
    out.push_str(
        "# Generated by fleet_tests::large_config\n\
         global\n\
         \x20   log stdout format raw local0\n\
         \x20   maxconn 200000\n\
         \x20   tune.bufsize 16384\n\
         \n\
         defaults\n\
         \x20   mode http\n\
         \x20   log global\n\
         \x20   option httplog\n\
         \x20   option dontlognull\n\
         \x20   timeout connect 5s\n\
         \x20   timeout client 30s\n\
         \x20   timeout server 30s\n\
         \n\
         frontend fe_main\n\
         \x20   bind :8080\n\
         \x20   bind [::]:8443 v4v6\n\
         \x20   http-request set-header X-Forwarded-Proto http\n",
    );
    // `let _ =`: writing to a String cannot fail.
    for b in 0..backends {
        let _ = writeln!(out, "    acl host_app{b:05} hdr(host) -i app{b:05}.example.com");
        let _ = writeln!(out, "    use_backend be_app{b:05} if host_app{b:05}");
    }
    out.push_str("    default_backend be_app00000\n");
    for b in 0..backends {
        let _ = write!(
            out,
            "\nbackend be_app{b:05}\n\
             \x20   balance roundrobin\n\
             \x20   option httpchk GET /health \"HTTP/1.1\"\n\
             \x20   http-check expect status 200\n"
        );
        for s in 0..servers {
            let n = b * servers + s;
            let _ = writeln!(
                out,
                "    server srv{s:02} 10.{}.{}.{}:8080 check inter 2s weight {} maxconn 500",
                (n >> 16) & 0xff,
                (n >> 8) & 0xff,
                n & 0xff,
                10 + (s * 10) % 250,
            );
        }
    }
    out
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name no other test of this run uses (process id, time, counter).
pub fn unique_name(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{prefix}{}_{}_{}", std::process::id(), nanos % 1_000_000_000, COUNTER.fetch_add(1, Ordering::SeqCst))
}

/// A running `fleet serve` child: started on a loopback address with its data in a scratch
/// folder, known by the URL it printed (`listening on http://...`); killed, reaped and its scratch
/// folder removed on drop.
#[derive(Debug)]
pub struct FleetServe {
    /// The child process.
    pub child: Child,
    /// `http://127.0.0.1:PORT`, as `fleet serve` printed it.
    pub base: String,
    /// The `--data` folder.
    pub data: PathBuf,
    owns_data: bool,
}

impl FleetServe {
    /// Starts `fleet serve --listen LISTEN --data DATA ARGS...` with the first admin's password
    /// `admin_password`, and waits (60 s at most) for its `listening on` line. `data` `None`
    /// makes a scratch folder that goes with the value. `RUST_LOG` is `warn` unless set.
    pub fn start<I, S>(fleet: &Path, listen: &str, data: Option<&Path>, admin_password: &str, args: I) -> FleetServe
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let (data, owns_data) = match data {
            Some(dir) => (dir.to_path_buf(), false),
            None => (std::env::temp_dir().join(unique_name("fleet-serve-test-")), true),
        };
        std::fs::create_dir_all(&data).unwrap();
        let mut child = Command::new(fleet)
            .args(["serve", "--listen", listen, "--data"])
            .arg(&data)
            .args(args)
            .env("FLEET_ADMIN_PASSWORD", admin_password)
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", fleet.display()));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        // The reader keeps draining stdout after the first line, so the child never blocks on a
        // full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(base) = line.strip_prefix("listening on ") {
                    let _ = tx.send(base.trim().to_string());
                }
            }
        });
        let base = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(base) => base,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait();
                panic!("fleet serve did not start listening ({status:?})");
            }
        };
        FleetServe { child, base, data, owns_data }
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for FleetServe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if self.owns_data {
            let _ = std::fs::remove_dir_all(&self.data);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_differ() {
        assert_ne!(unique_name("x"), unique_name("x"));
    }

    #[test]
    fn the_workspace_root_holds_the_workspace_manifest() {
        assert!(workspace_root().join("Cargo.toml").is_file());
        assert!(workspace_root().join("haproxy-model").is_dir());
    }

    #[test]
    fn a_missing_tool_skips_unless_tools_are_required() {
        assert_eq!(require_when(false, None::<u8>, "named"), None, "a skip");
        assert_eq!(require_when(true, Some(1), "named"), Some(1), "found: nothing to say");
        let failed = std::panic::catch_unwind(|| require_when(true, None::<u8>, "named")).unwrap_err();
        let message = failed.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains("named is missing and FLEET_REQUIRE_TOOLS=1"), "{message}");
    }
}

