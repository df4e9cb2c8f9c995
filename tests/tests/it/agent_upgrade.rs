//! Signed agent upgrades with real processes (issue 18): a real `fleet serve` offering signed
//! releases, a real `fleet-agent` (run from a copy, so a swap never touches target/) with a
//! real HAProxy. Release N+1 is the same build with bytes appended (another SHA-256, still
//! runs). The agent pins the release key of its enrolment answer, refuses unsigned, wrongly
//! signed and tampered releases through `upgrade-agent` jobs without swapping anything,
//! upgrades in place (same pid: execve) with HAProxy serving throughout, and reports the new
//! SHA-256; a signed release that starts but cannot reach the server is rolled back and the
//! job fails saying so. After a swap (the trial file written as the old process writes it), a new
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

/// Asks the cluster's agents to upgrade to `version` (an `upgrade-agent` job); the job's id.
fn ask_upgrade(server: &Server, cluster: i64, version: &str) -> i64 {
    let job = server.post(&format!("/api/v1/clusters/{cluster}/jobs"), &json!({"kind": "upgrade-agent", "version": version}));
    job["id"].as_i64().unwrap_or_else(|| panic!("a job id: {job}"))
}

/// Waits (`within`) until the job's run on the first agent has ended; that run.
fn job_run(server: &Server, cluster: i64, job: i64, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let answer = server.get(&format!("/api/v1/clusters/{cluster}/jobs/{job}"));
        let run = answer["runs"][0].clone();
        if let Some(status) = run["status"].as_str() {
            if !matches!(status, "queued" | "running") {
                return run;
            }
        }
        assert!(Instant::now() < deadline, "job {job} did not end: {answer}");
        std::thread::sleep(Duration::from_millis(100));
    }
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

impl Fleet {
    /// Stops the agent and its HAProxy (the harness's drop: SIGTERM, then the master named by
    /// the pid file, which must still be there), then removes the scratch folder.
    fn finish(self) {
        let Fleet { server, agent, dir, .. } = self;
        drop(agent);
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
    }
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

#[test]
fn an_agent_upgrades_to_a_signed_release_and_refuses_the_others() {
    let Some(f) = bring_up("upgrade", &["--allow-jobs", "default,upgrade-agent"]) else { return };
    let pid = f.agent.pid();
    let master = std::fs::read_to_string(f.agent.state.join("haproxy.pid")).unwrap();

    // Refused: no signed release of that version (the unsigned binary is never offered) ...
    variant(&f.bin, &f.releases.join("fleet-agent-unsigned"), "unsigned");
    let job = ask_upgrade(&f.server, f.cluster, "0.9.0-unsigned");
    let run = job_run(&f.server, f.cluster, job, Duration::from_secs(30));
    assert_eq!(run["status"], json!("failed"), "{run}");
    assert!(run["output"].as_str().unwrap().contains("no signed release 0.9.0-unsigned"), "{run}");
    // ... signed by another key ...
    let (other_key, other_public) = keygen(&f.fleet, &f.dir, "other");
    variant(&f.bin, &f.releases.join("fleet-agent-other"), "other");
    sign(&f.fleet, &other_key, "0.9.0-other", &f.releases.join("fleet-agent-other"));
    let run = job_run(&f.server, f.cluster, ask_upgrade(&f.server, f.cluster, "0.9.0-other"), Duration::from_secs(30));
    assert_eq!(run["status"], json!("failed"), "{run}");
    let output = run["output"].as_str().unwrap();
    assert!(output.contains(&format!("signed by {other_public}, not by the pinned release key")), "{run}");
    // ... tampered with after signing.
    let tampered = f.releases.join("fleet-agent-tampered");
    variant(&f.bin, &tampered, "tampered");
    sign(&f.fleet, &f.key, "0.9.0-tampered", &tampered);
    std::fs::OpenOptions::new().append(true).open(&tampered).and_then(|mut file| std::io::Write::write_all(&mut file, b"evil")).unwrap();
    let run = job_run(&f.server, f.cluster, ask_upgrade(&f.server, f.cluster, "0.9.0-tampered"), Duration::from_secs(30));
    assert_eq!(run["status"], json!("failed"), "{run}");
    assert!(run["output"].as_str().unwrap().contains("the binary was altered"), "{run}");
    // Nothing was swapped: the same binary, no previous one, the same process.
    assert_eq!(sha256(&f.bin), f.original);
    assert!(!f.bin.with_file_name("fleet-agent.previous").exists());
    assert!(!f.bin.with_file_name("fleet-agent.new").exists());
    assert_eq!(f.agent.pid(), pid);

    // N -> N+1: the same process (execve), the new binary, HAProxy serving throughout.
    let next = f.releases.join("fleet-agent-next");
    variant(&f.bin, &next, "next release");
    sign(&f.fleet, &f.key, "0.9.1", &next);
    let next_sha = sha256(&next);
    let started = Instant::now();
    let run = job_run(&f.server, f.cluster, ask_upgrade(&f.server, f.cluster, "0.9.1"), Duration::from_secs(60));
    assert_eq!(run["status"], json!("succeeded"), "{run}\n{}", f.agent.log());
    // The first heartbeat carries the new sha256 and commits; the next one says so.
    let facts = wait_facts(&f.server, f.cluster, Duration::from_secs(30), "the committed upgrade", |f| {
        f["agent_sha256"] == json!(next_sha) && f["agent_upgrade"]["outcome"] == json!("committed")
    });
    eprintln!("upgraded and heartbeating with the new binary {:?} after the job was created", started.elapsed());
    assert_eq!(facts["agent_upgrade"]["outcome"], json!("committed"), "{facts}");
    assert_eq!(facts["agent_upgrade"]["version"], json!("0.9.1"), "{facts}");
    assert_eq!(sha256(&f.bin), next_sha);
    assert_eq!(sha256(&f.bin.with_file_name("fleet-agent.previous")), f.original, "the previous binary is kept");
    assert_eq!(f.agent.pid(), pid, "re-executed in place");
    assert!(!f.agent.state.join("upgrade-trial.json").exists(), "committed");
    assert_eq!(std::fs::read_to_string(f.agent.state.join("haproxy.pid")).unwrap(), master, "HAProxy kept running");
    wait_served(f.port, "v1", Duration::from_secs(5));
    // The upgraded agent still applies configurations.
    let v2 = f.server.commit(f.cluster, &agent_harness::config(f.port, "v2", ""));
    f.server.apply(f.cluster, v2);
    wait_served(f.port, "v2", Duration::from_secs(20));

    // An agent with no pinned key refuses, saying why.
    std::fs::remove_file(f.agent.state.join("release.pub")).unwrap();
    let run = job_run(&f.server, f.cluster, ask_upgrade(&f.server, f.cluster, "0.9.0-tampered"), Duration::from_secs(30));
    assert_eq!(run["status"], json!("failed"), "{run}");
    assert!(run["output"].as_str().unwrap().contains("no release public key is pinned"), "{run}");
    f.finish();
}

#[test]
fn a_new_agent_that_cannot_heartbeat_is_rolled_back() {
    let Some(f) = bring_up("upgrade-rollback", &["--allow-jobs", "default,upgrade-agent", "--upgrade-trial-seconds", "5"]) else { return };
    let pid = f.agent.pid();
    // A signed release that starts (`--version` answers) but runs the agent against a server
    // that is not there: its trial must fail and the previous binary come back.
    let real = f.dir.join("bin").join("real-agent");
    variant(&f.bin, &real, "real");
    let broken = f.releases.join("fleet-agent-broken");
    let script = format!(
        "#!/bin/sh\n# --server replaced by a closed port\nskip=0\nfor a do\n  shift\n  if [ $skip = 1 ]; then set -- \"$@\" http://127.0.0.1:9; skip=0; continue; fi\n  [ \"$a\" = --server ] && skip=1\n  set -- \"$@\" \"$a\"\ndone\nexec '{}' \"$@\"\n",
        real.display()
    );
    std::fs::write(&broken, script).unwrap();
    std::fs::set_permissions(&broken, std::fs::Permissions::from_mode(0o755)).unwrap();
    sign(&f.fleet, &f.key, "0.9.2-broken", &broken);
    let broken_sha = sha256(&broken);
    let started = Instant::now();
    let job = ask_upgrade(&f.server, f.cluster, "0.9.2-broken");
    // The swap happens: the wrapper is the binary for a while ...
    let deadline = Instant::now() + Duration::from_secs(30);
    while sha256(&f.bin) != broken_sha {
        assert!(Instant::now() < deadline, "never swapped: {}", f.agent.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    // ... then the trial fails and the previous binary heartbeats again.
    let facts = wait_facts(&f.server, f.cluster, Duration::from_secs(30), "the rollback", |f| f["agent_upgrade"]["outcome"] == json!("rolled_back"));
    eprintln!("rolled back and heartbeating again {:?} after the job was created (trial 5 s)", started.elapsed());
    assert_eq!(facts["agent_sha256"], json!(f.original), "{facts}");
    let message = facts["agent_upgrade"]["message"].as_str().unwrap();
    assert!(message.contains("rolled back to the previous binary") && message.contains("no heartbeat was accepted"), "{message}");
    assert_eq!(sha256(&f.bin), f.original);
    assert_eq!(f.agent.pid(), pid);
    let run = job_run(&f.server, f.cluster, job, Duration::from_secs(30));
    assert_eq!(run["status"], json!("failed"), "{run}");
    assert!(run["output"].as_str().unwrap().contains("rolled back"), "{run}");
    wait_served(f.port, "v1", Duration::from_secs(5));
    f.finish();
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
    f.finish();
}
