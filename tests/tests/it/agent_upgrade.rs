//! Signed agent upgrades with real processes (issue 18): a real `fleet serve` offering signed
//! releases, a real `fleet-agent` (run from a copy, so a swap never touches target/) with a
//! real HAProxy. The agent pins the release key of its enrolment answer and reports its
//! binary's SHA-256; after a swap (the trial file written as the old process writes it), a new
//! binary that cannot reach the server is rolled back at its deadline and the previous one
//! heartbeats again in the same process, one that heartbeats commits, and one restarted after
//! the deadline rolls back at once.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::agent_harness::{self, prerequisites, temp_dir, wait_served, Agent, Server};

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap().to_string()
}

/// `fleet release keygen --out <dir>/<name>.key`: the key file and the public key printed.
fn keygen(fleet: &Path, dir: &Path, name: &str) -> (PathBuf, String) {
    let key = dir.join(format!("{name}.key"));
    let out = Command::new(fleet).args(["release", "keygen", "--out"]).arg(&key).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    (key, String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `fleet release sign --key KEY --release-version VERSION BINARY`.
fn sign(fleet: &Path, key: &Path, version: &str, binary: &Path) {
    let out = Command::new(fleet).args(["release", "sign", "--key"]).arg(key).args(["--release-version", version]).arg(binary).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A copy of `agent` at `to` with `tail` appended (another SHA-256, the same program).
fn variant(agent: &Path, to: &Path, tail: &str) {
    let mut bytes = std::fs::read(agent).unwrap();
    bytes.extend_from_slice(tail.as_bytes());
    std::fs::write(to, bytes).unwrap();
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The agent's facts once they satisfy `done` (heartbeats every second).
fn wait_facts(server: &Server, cluster: i64, within: Duration, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let facts = server.agent_status(cluster)["facts"].clone();
        if done(&facts) {
            return facts;
        }
        assert!(Instant::now() < deadline, "no {what} within {within:?}: {facts}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

struct Fleet {
    server: Server,
    agent: Agent,
    cluster: i64,
    port: u16,
    fleet: PathBuf,
    key: PathBuf,
    releases: PathBuf,
    /// The agent's own binary (a copy) and its SHA-256.
    bin: PathBuf,
    original: String,
    dir: PathBuf,
}

/// A server offering `<dir>/releases` with a fresh release key, and an agent running from
/// `<dir>/bin/fleet-agent` with `agent_args` that applied version 1.
fn bring_up(name: &str, agent_args: &[&str]) -> Option<Fleet> {
    let (haproxy, fleet, agent_bin) = prerequisites()?;
    let dir = temp_dir(name);
    let (key, public) = keygen(&fleet, &dir, "release");
    let releases = dir.join("releases");
    std::fs::create_dir_all(&releases).unwrap();
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    let bin = dir.join("bin").join("fleet-agent");
    std::fs::copy(&agent_bin, &bin).unwrap();
    let original = sha256(&bin);
    let server = Server::start_with(
        &fleet,
        &dir.join("data"),
        "127.0.0.1:0",
        &["--releases", releases.to_str().unwrap(), "--release-public-key", &public],
    );
    let mut agent = Agent::new(&bin, &haproxy, &server, &dir);
    agent.mode_args.extend(agent_args.iter().map(|a| a.to_string()));
    let cluster = server.cluster(name, &agent.config);
    let port = agent_harness::free_port();
    let v1 = server.commit(cluster, &agent_harness::config(port, "v1", ""));
    server.apply(cluster, v1);
    let secret = server.enrolment_secret(cluster, "node1");
    agent.start(Some(&secret));
    server.wait_status(cluster, "version 1 applied", |a| a["applied_version"] == json!(v1));
    wait_served(port, "v1", Duration::from_secs(10));
    // Pinned at enrolment, beside the token.
    let pinned = std::fs::read_to_string(agent.state.join("release.pub")).unwrap();
    assert_eq!(pinned.trim(), public);
    wait_facts(&server, cluster, Duration::from_secs(10), "the binary's sha256", |f| f["agent_sha256"] == json!(original));
    Some(Fleet { server, agent, cluster, port, fleet, key, releases, bin, original, dir })
}

/// The arguments `pid` runs with, program name excluded (`/proc/<pid>/cmdline`).
fn arguments(pid: u32) -> Vec<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    raw.split(|b| *b == 0).skip(1).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned()).collect()
}

/// What the old process writes before it swaps and re-executes ([`fleet_core::release::trial`]).
fn write_trial(f: &Fleet, args: &[String], to_sha256: &str, deadline_in: Duration) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let trial = json!({
        "version": "0.9.9", "from_sha256": f.original, "to_sha256": to_sha256,
        "binary": f.bin, "previous": f.bin.with_file_name("fleet-agent.previous"), "args": args,
        "deadline_ms": now + deadline_in.as_millis() as i64, "phase": "trial",
    });
    std::fs::write(f.agent.state.join("upgrade-trial.json"), serde_json::to_vec(&trial).unwrap()).unwrap();
}

/// The half of an upgrade after the swap, with the trial file written as the old process writes
/// it: a new binary that cannot reach the server is rolled back at its deadline (the previous
/// binary renamed back and run with the first process's arguments, in the same process), and one
/// that heartbeats commits.
#[test]
fn a_trial_rolls_back_without_a_heartbeat_and_commits_with_one() {
    let Some(mut f) = bring_up("upgrade-trial", &[]) else { return };
    // `fleet release sign` of a copy: offered, and verified with the server's key.
    let offered = f.releases.join("fleet-agent-next");
    variant(&f.bin, &offered, "offered");
    sign(&f.fleet, &f.key, "0.9.9", &offered);
    let listing = f.server.get("/api/v1/releases");
    assert_eq!(listing["releases"][0]["version"], json!("0.9.9"), "{listing}");
    assert_eq!(listing["releases"][0]["sha256"], json!(sha256(&offered)), "{listing}");
    assert_eq!(listing["releases"][0]["verified"], json!(true), "{listing}");
    let args = arguments(f.agent.pid());
    assert!(args.iter().any(|a| a == &f.agent.server), "{args:?}");
    f.agent.kill();

    // Swapped: the new binary in place, the original kept as .previous.
    std::fs::copy(&f.bin, f.bin.with_file_name("fleet-agent.previous")).unwrap();
    let new = f.dir.join("new-agent");
    variant(&f.bin, &new, "new release");
    let new_sha = sha256(&new);
    std::fs::rename(&new, &f.bin).unwrap();
    write_trial(&f, &args, &new_sha, Duration::from_secs(3));
    // The new process cannot reach the server.
    let server = std::mem::replace(&mut f.agent.server, "http://127.0.0.1:9".into());
    let started = Instant::now();
    f.agent.start(None);
    let pid = f.agent.pid();
    let facts = wait_facts(&f.server, f.cluster, Duration::from_secs(30), "the rollback", |facts| facts["agent_upgrade"]["outcome"] == json!("rolled_back"));
    eprintln!("rolled back and heartbeating {:?} after the new binary started (trial 3 s)", started.elapsed());
    assert_eq!(facts["agent_sha256"], json!(f.original), "{facts}");
    let message = facts["agent_upgrade"]["message"].as_str().unwrap();
    assert!(message.contains("upgrade to 0.9.9") && message.contains("no heartbeat was accepted before the trial's deadline"), "{message}");
    assert_eq!(sha256(&f.bin), f.original, "the previous binary is back");
    assert!(!f.bin.with_file_name("fleet-agent.previous").exists());
    assert_eq!(f.agent.pid(), pid, "the previous binary runs in the same process");
    assert!(arguments(pid).contains(&server), "with the first process's arguments");
    assert!(!f.agent.state.join("upgrade-trial.json").exists(), "reported, then forgotten");
    wait_served(f.port, "v1", Duration::from_secs(5));

    // A new binary that heartbeats commits: the trial file goes, the new bytes stay.
    f.agent.kill();
    f.agent.server = server;
    std::fs::copy(&f.bin, f.bin.with_file_name("fleet-agent.previous")).unwrap();
    variant(&f.bin, &new, "new release");
    std::fs::rename(&new, &f.bin).unwrap();
    write_trial(&f, &args, &new_sha, Duration::from_secs(30));
    f.agent.start(None);
    let facts = wait_facts(&f.server, f.cluster, Duration::from_secs(30), "the commit", |facts| facts["agent_upgrade"]["outcome"] == json!("committed"));
    assert_eq!(facts["agent_sha256"], json!(new_sha), "{facts}");
    assert!(!f.agent.state.join("upgrade-trial.json").exists());
    assert_eq!(sha256(&f.bin), new_sha);
    assert_eq!(sha256(&f.bin.with_file_name("fleet-agent.previous")), f.original);

    // Restarted after the deadline (a crash loop): rolled back at once.
    f.agent.kill();
    write_trial(&f, &args, &new_sha, Duration::ZERO);
    f.agent.start(None);
    let facts = wait_facts(&f.server, f.cluster, Duration::from_secs(30), "the rollback", |facts| facts["agent_sha256"] == json!(f.original));
    assert_eq!(facts["agent_upgrade"]["outcome"], json!("rolled_back"), "{facts}");
    assert!(facts["agent_upgrade"]["message"].as_str().unwrap().contains("deadline passed"), "{facts}");
    f.agent.kill();
    let _ = std::fs::remove_dir_all(&f.dir);
}
