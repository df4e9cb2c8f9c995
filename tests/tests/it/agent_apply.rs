//! Agent acceptance (issue 6): hitless applies, rejected configurations, failed reloads rolled
//! back, and SIGKILL at random moments, against the real `fleet serve`, `fleet-agent` and HAProxy.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::agent_harness::{bring_up, config, prerequisites, probe, wait_served, Server};

#[test]
fn five_applies_are_served_quickly_without_a_failed_connection() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let (server, agent, cluster, port, _dir) = bring_up("hitless", &haproxy, &fleet, &agent_bin);
    let mode = std::fs::metadata(agent.state.join("token")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the token file is private");

    // A client opening a new connection for every request, throughout.
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let client = {
        let (stop, ok, failures) = (stop.clone(), ok.clone(), failures.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match probe(port) {
                    Ok(_) => {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => failures.lock().unwrap().push(e),
                }
            }
        })
    };
    let mut worst = Duration::ZERO;
    for n in 2..=6 {
        let body = format!("v{n}");
        let version = server.commit(cluster, &config(port, &body, ""));
        server.apply(cluster, version);
        let took = wait_served(port, &body, Duration::from_secs(2));
        eprintln!("apply {n}: served after {took:?}");
        worst = worst.max(took);
        server.wait_status(cluster, "the apply report", |a| a["applied_version"] == json!(version));
    }
    stop.store(true, Ordering::Relaxed);
    client.join().unwrap();
    let failures = failures.lock().unwrap();
    let requests = ok.load(Ordering::Relaxed);
    eprintln!("worst apply-to-served: {worst:?}; {requests} requests on new connections, {} failed", failures.len());
    assert!(requests > 100, "the client kept running ({requests} requests)");
    assert!(failures.is_empty(), "failed requests during reloads: {failures:?}");
    assert!(worst <= Duration::from_secs(2));
    let backups = std::fs::read_dir(agent.state.join("backups")).unwrap().count();
    assert_eq!(backups, 5, "one backup per apply");
    let status = server.agent_status(cluster);
    assert_eq!(status["last_outcome"], json!("applied"));
    assert!(status["facts"]["haproxy_version"].as_str().unwrap().contains("HAProxy"), "{status}");
}

#[test]
fn rejected_and_failed_configurations_leave_the_node_serving() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let (server, agent, cluster, port, _dir) = bring_up("reject", &haproxy, &fleet, &agent_bin);
    let v1_text = std::fs::read_to_string(&agent.config).unwrap();

    // HAProxy refuses it at `haproxy -c`.
    let v2_text = config(port, "v2", "    errorfile 503 /nonexistent/file\n");
    let rejected = server.commit(cluster, &v2_text);
    server.apply(cluster, rejected);
    let status = server.wait_status(cluster, "the rejection", |a| a["last_outcome"] == json!("rejected"));
    let error = status["last_error"].as_str().unwrap();
    assert!(error.contains("/nonexistent/file") && error.contains("[ALERT]"), "haproxy's message: {error}");
    // Located in the version's text, under the configuration's own name, not the staged file's.
    let config_path = agent.config.display().to_string();
    assert!(error.contains(&format!("[{config_path}:")) && !error.contains(".fleet-new"), "{error}");
    let line = v2_text.lines().position(|l| l.contains("errorfile")).unwrap();
    let column = v2_text.lines().nth(line).unwrap().find("/nonexistent").unwrap() + 1;
    let alert = &status["last_diagnostics"][0];
    assert_eq!(alert["severity"], json!("error"), "{status}");
    assert_eq!(alert["position"]["line"], json!(line + 1), "{status}");
    assert_eq!(alert["position"]["column"], json!(column), "at the path HAProxy quotes: {status}");
    assert!(alert["message"].as_str().unwrap().contains("/nonexistent/file"), "{alert}");
    assert_eq!(status["applied_version"], json!(1));
    assert_eq!(probe(port).unwrap(), "v1");
    assert_eq!(std::fs::read_to_string(&agent.config).unwrap(), v1_text);

    // Passes `haproxy -c` but cannot bind: the reload fails after the swap and is rolled back.
    let failing = server.commit(cluster, &config(port, "v3", "    bind 203.0.113.1:8\n"));
    server.apply(cluster, failing);
    let status = server.wait_status(cluster, "the failed reload", |a| a["last_outcome"] == json!("reload_failed"));
    let error = status["last_error"].as_str().unwrap();
    assert!(error.contains("cannot bind") && error.contains("rolled back"), "reload message: {error}");
    assert_eq!(status["applied_version"], json!(1));
    assert_eq!(probe(port).unwrap(), "v1");
    assert_eq!(std::fs::read_to_string(&agent.config).unwrap(), v1_text, "the backup was restored");
    let procs = agent.master_cli("show proc");
    let reloads = procs.lines().nth(1).and_then(|l| l.split_whitespace().nth(2)).unwrap();
    assert_eq!(reloads, "2", "the failed reload and the rollback's: {procs}");

    // And the node still takes good versions.
    let good = server.commit(cluster, &config(port, "v4", ""));
    server.apply(cluster, good);
    wait_served(port, "v4", Duration::from_secs(5));
    server.wait_status(cluster, "v4 applied", |a| a["applied_version"] == json!(good) && a["last_outcome"] == json!("applied"));
}

#[test]
fn a_node_that_cannot_back_up_reports_node_error_not_rejected() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let (server, agent, cluster, port, _dir) = bring_up("node-error", &haproxy, &fleet, &agent_bin);
    // A regular file where the backup folder goes: creating it fails even as root (where
    // permissions would not stop anything).
    let backups = agent.state.join("backups");
    let _ = std::fs::remove_dir_all(&backups);
    std::fs::write(&backups, "not a folder").unwrap();
    let v2 = server.commit(cluster, &config(port, "v2", ""));
    server.apply(cluster, v2);
    let status = server.wait_status(cluster, "the node failure", |a| a["last_outcome"] == json!("node_error"));
    let error = status["last_error"].as_str().unwrap();
    assert!(error.starts_with("cannot create the backup folder "), "{error}");
    assert_eq!(status["applied_version"], json!(1));
    assert_eq!(status["last_diagnostics"], json!([]), "nothing HAProxy said: the config was fine");
    assert_eq!(probe(port).unwrap(), "v1", "the node keeps serving");

    // Fixed on the node, the next version goes through.
    std::fs::remove_file(&backups).unwrap();
    let v3 = server.commit(cluster, &config(port, "v3", ""));
    server.apply(cluster, v3);
    wait_served(port, "v3", Duration::from_secs(5));
    server.wait_status(cluster, "v3 applied", |a| a["applied_version"] == json!(v3) && a["last_outcome"] == json!("applied"));
}

/// A tiny deterministic generator (the seed is printed so a failure can be replayed).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn passes_check(haproxy: &std::path::Path, path: &std::path::Path) -> bool {
    Command::new(haproxy).arg("-c").arg("-q").arg("-f").arg(path).status().unwrap().success()
}

#[test]
fn sigkill_during_applies_never_runs_an_unchecked_config_and_converges() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let (server, mut agent, cluster, port, _dir) = bring_up("sigkill", &haproxy, &fleet, &agent_bin);
    let seed = std::env::var("FLEET_SIGKILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64);
    eprintln!("FLEET_SIGKILL_SEED={seed}");
    let mut random = Lcg(seed);
    // Every version a node may legitimately run (all passed `haproxy -c`): number -> (body, text).
    let mut good: Vec<(i64, String, String)> = vec![(1, "v1".to_string(), std::fs::read_to_string(&agent.config).unwrap())];
    let mut final_bad = false;
    // Where the kills landed: mid-apply (a candidate on disk), after the swap, or before it.
    let (mut mid_apply, mut after_swap, mut before_swap) = (0, 0, 0);
    for n in 2..=21 {
    // One in three versions is refused by `haproxy -c`: it must never run.
        let bad = random.below(3) == 0;
        let body = if bad { format!("bad{n}") } else { format!("v{n}") };
        let extra = if bad { "    errorfile 503 /nonexistent/file\n" } else { "" };
        let text = config(port, &body, extra);
        let version = server.commit(cluster, &text);
        if !bad {
            good.push((version, body.clone(), text.clone()));
        }
        final_bad = bad;
        server.apply(cluster, version);
        std::thread::sleep(Duration::from_millis(random.below(400)));
        agent.kill();

        let on_disk = std::fs::read_to_string(&agent.config).unwrap();
        assert!(good.iter().any(|(_, _, t)| *t == on_disk), "apply {n}: the file is one whole checked version");
        let candidate = agent.config.with_extension("cfg.fleet-new");
        if candidate.exists() {
            mid_apply += 1;
        } else if on_disk == text {
            after_swap += 1;
        } else {
            before_swap += 1;
        }
        assert!(passes_check(&haproxy, &agent.config), "apply {n}: the file on disk passes haproxy -c");
        let served = probe(port).unwrap_or_else(|e| panic!("apply {n}: haproxy stopped serving: {e}"));
        assert!(served.starts_with('v'), "apply {n}: haproxy runs a checked config, got {served:?}");

        agent.start(None);
    }
    eprintln!("kills: {mid_apply} with a candidate on disk, {after_swap} after the swap, {before_swap} before it or on a refused version");
    let started = Instant::now();
    // The agent converges on the desired version, not on every version before it: when the last
    // one is refused, the node keeps whichever checked version it had applied, maybe not the
    // newest good one (a kill can land before that one was ever fetched).
    let (applied, body, text) = if final_bad {
        let status = server.wait_status(cluster, "the refused last version reported", |a| {
            a["last_outcome"] == json!("rejected") && good.iter().any(|(v, _, _)| a["applied_version"] == json!(v))
        });
        let applied = status["applied_version"].as_i64().unwrap();
        good.iter().find(|(v, _, _)| *v == applied).cloned().unwrap()
    } else {
        let (version, body, text) = good.last().cloned().unwrap();
        server.wait_status(cluster, "convergence", |a| {
            a["applied_version"] == json!(version) && a["last_outcome"] == json!("applied")
        });
        (version, body, text)
    };
    wait_served(port, &body, Duration::from_secs(10));
    eprintln!("converged on version {applied} {:?} after the last restart", started.elapsed());
    let on_disk = std::fs::read_to_string(&agent.config).unwrap();
    assert_eq!(on_disk, text, "the applied checked version is on disk:\n{}", agent.log());
    // One master and its worker: no second master kept an old configuration alive.
    let socket = agent.state.join("master.sock");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let count = processes_using(&socket);
        if count == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "{count} haproxy processes for {}", socket.display());
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_agent_rides_out_a_server_outage() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let (server, agent, cluster, port, dir) = bring_up("outage", &haproxy, &fleet, &agent_bin);
    let listen = server.url.trim_start_matches("http://").to_string();
    drop(server);
    // The agent retries with backoff meanwhile; HAProxy keeps serving.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(probe(port).unwrap(), "v1");
    let server = Server::start_on(&fleet, &dir.join("data"), &listen);
    let v2 = server.commit(cluster, &config(port, "v2", ""));
    server.apply(cluster, v2);
    let took = wait_served(port, "v2", Duration::from_secs(15));
    eprintln!("after the outage, v2 served {took:?} after its apply");
    server.wait_status(cluster, "v2 applied", |a| a["applied_version"] == json!(v2));
    assert!(agent.log().contains("cannot poll the desired state"), "the outage was noticed and retried");
}

#[test]
fn a_dead_haproxy_is_restarted_by_the_agent() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let (_server, agent, _cluster, port, _dir) = bring_up("supervise", &haproxy, &fleet, &agent_bin);
    let pid = std::fs::read_to_string(agent.state.join("haproxy.pid")).unwrap().trim().to_string();
    Command::new("kill").arg("-KILL").arg(&pid).status().unwrap();
    let started = Instant::now();
    // The worker notices its master is gone and leaves; the agent's next check starts a new one.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let new_pid = std::fs::read_to_string(agent.state.join("haproxy.pid")).unwrap_or_default();
        if new_pid.trim() != pid && probe(port).as_deref() == Ok("v1") && agent.log().contains("haproxy was not running: restarted it") {
            break;
        }
        assert!(Instant::now() < deadline, "haproxy was not restarted:\n{}", agent.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("haproxy restarted and serving {:?} after its master was killed", started.elapsed());
}

/// How many processes have `socket` in their command line (a master and its workers).
fn processes_using(socket: &std::path::Path) -> usize {
    let needle = socket.display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle.as_str()))
        })
        .count()
}
