//! Agent acceptance (issue 6): hitless applies, rejected configurations, failed reloads rolled
//! back, and SIGKILL at random moments, against the real `fleet serve`, `fleet-agent` and HAProxy.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fleet_tests::served_subject;
use serde_json::json;

use crate::agent_harness::{bring_up, bundle_config, config, prerequisites, probe, wait_served, Server};

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
    let releases = std::fs::read_dir(agent.state.join("releases")).unwrap().flatten().filter(|e| e.path().is_dir()).count();
    assert_eq!(releases, 6, "one release per apply");
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
    assert!(error.contains(&format!("[{config_path}:")) && !error.contains("releases"), "{error}");
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
    assert_eq!(std::fs::read_to_string(&agent.config).unwrap(), v1_text, "the previous release was switched back");
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
fn a_node_that_cannot_stage_reports_node_error_not_rejected() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let (server, agent, cluster, port, _dir) = bring_up("node-error", &haproxy, &fleet, &agent_bin);
    // A folder where the agent writes its own file for the check: writing it fails even as
    // root (where permissions would not stop anything).
    let check = agent.state.join("check-state.cfg");
    let _ = std::fs::remove_file(&check);
    std::fs::create_dir(&check).unwrap();
    let v2 = server.commit(cluster, &config(port, "v2", ""));
    server.apply(cluster, v2);
    let status = server.wait_status(cluster, "the node failure", |a| a["last_outcome"] == json!("node_error"));
    let error = status["last_error"].as_str().unwrap();
    assert!(error.starts_with("cannot write ") && error.contains("check-state.cfg"), "{error}");
    assert_eq!(status["applied_version"], json!(1));
    assert_eq!(status["last_diagnostics"], json!([]), "nothing HAProxy said: the config was fine");
    assert_eq!(probe(port).unwrap(), "v1", "the node keeps serving");

    // Fixed on the node, the next version goes through.
    std::fs::remove_dir(&check).unwrap();
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

/// `haproxy -c` on the set on disk as the node loads it (the agent's own file first: it makes
/// relative paths resolve in the managed directory).
fn passes_check(haproxy: &Path, state: &Path, config: &Path) -> bool {
    let agent_file = state.join("fleet-state.cfg");
    Command::new(haproxy).arg("-c").arg("-q").arg("-f").arg(agent_file).arg("-f").arg(config).status().unwrap().success()
}

/// One version of the bundle: its number, what it answers (`v<body> m<map>`) and its files.
#[derive(Clone)]
struct Set {
    version: i64,
    body: String,
    marker: String,
    config: String,
    map: String,
    pem: Vec<u8>,
}

impl Set {
    fn answer(&self) -> String {
        format!("v{} m{}", self.body, self.marker)
    }
}

#[test]
fn sigkill_during_bundle_applies_never_leaves_a_mixed_set_and_converges() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let (server, mut agent, cluster, port, _dir) = bring_up("sigkill", &haproxy, &fleet, &agent_bin);
    let tls = crate::agent_harness::free_port();
    let seed = std::env::var("FLEET_SIGKILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64);
    eprintln!("FLEET_SIGKILL_SEED={seed}");
    let mut random = Lcg(seed);
    let (config_path, managed) = (agent.config.clone(), agent.config.parent().unwrap().to_path_buf());
    let on_disk = || {
        (
            std::fs::read_to_string(&config_path).unwrap(),
            std::fs::read_to_string(managed.join("maps/hosts.map")).unwrap_or_default(),
            std::fs::read(managed.join("certs/site.pem")).unwrap_or_default(),
        )
    };
    let make = |n: usize, extra: &str| {
        let marker = format!("{n}");
        let config = bundle_config(port, tls, &format!("v{n}"), extra);
        let map = format!("# hosts\ntest m{n}\nother.test o{n}\n");
        let pem = fleet_tests::self_signed_pem_for(&format!("n{n}.test")).unwrap();
        (marker, config, map, pem)
    };
    let commit = |config: &str, map: &str, pem: &[u8]| {
        server.commit_files(
            cluster,
            &[("haproxy.cfg", "config", config.as_bytes()), ("maps/hosts.map", "map", map.as_bytes()), ("certs/site.pem", "certificate", pem)],
        )
    };
    // The first bundle: the config with its map and certificate.
    let (marker, config, map, pem) = make(1, "");
    let first = commit(&config, &map, &pem);
    server.apply(cluster, first);
    wait_served(port, "v1 m1", Duration::from_secs(10));
    // Every set a node may legitimately run (all passed `haproxy -c`).
    let mut good = vec![Set { version: first, body: marker.clone(), marker, config, map, pem }];
    let (mut mid_apply, mut after_switch, mut before_switch) = (0, 0, 0);
    let mut runtime = 0;
    for n in 2..=21 {
        // One in three versions is refused by `haproxy -c`: it must never run. One in three
        // changes only the map and the certificate (the runtime API, no reload). The last is a
        // good reload, so that the reported version converges on it.
        let bad = n < 21 && random.below(3) == 0;
        let runtime_only = !bad && n < 21 && random.below(2) == 0;
        let extra = if bad { "    errorfile 503 /nonexistent/file\n" } else { "" };
        let (marker, mut config, map, pem) = make(n, extra);
        let mut body = marker.clone();
        if runtime_only {
            let last = good.last().cloned().unwrap();
            (config, body) = (last.config, last.body);
            runtime += 1;
        }
        let version = commit(&config, &map, &pem);
        if !bad {
            good.push(Set { version, body, marker: marker.clone(), config: config.clone(), map: map.clone(), pem: pem.clone() });
        }
        server.apply(cluster, version);
        std::thread::sleep(Duration::from_millis(random.below(500)));
        agent.kill();

        // The three files on disk are one whole checked version, never a mix.
        let (config_now, map_now, pem_now) = on_disk();
        let set = good.iter().find(|s| s.config == config_now && s.map == map_now && s.pem == pem_now);
        let Some(set) = set else { panic!("apply {n}: the files on disk are not one checked version:\n{config_now}\n{map_now}") };
        let staging = std::fs::read_dir(agent.state.join("releases")).unwrap().flatten().any(|e| e.file_name().to_string_lossy().starts_with(".staging-"));
        if staging {
            mid_apply += 1;
        } else if set.marker == marker {
            after_switch += 1;
        } else {
            before_switch += 1;
        }
        assert!(passes_check(&haproxy, &agent.state, &agent.config), "apply {n}: the set on disk passes haproxy -c");
        // HAProxy serves one checked version whole: its body and its map's value agree.
        let served = probe(port).unwrap_or_else(|e| panic!("apply {n}: haproxy stopped serving: {e}"));
        let consistent = good.iter().any(|s| served == s.answer());
        assert!(consistent, "apply {n}: haproxy serves a mixed or unchecked set: {served:?}");

        agent.start(None);
    }
    eprintln!(
        "kills: {mid_apply} while staging, {after_switch} after the switch, {before_switch} before it or on a refused version; \
         {runtime} versions changed only the map and certificate"
    );
    let started = Instant::now();
    // The agent converges on the desired version (the last, a good one).
    let set = good.last().cloned().unwrap();
    server.wait_status(cluster, "convergence", |a| a["applied_version"] == json!(set.version) && a["last_outcome"] == json!("applied"));
    wait_served(port, &set.answer(), Duration::from_secs(10));
    assert_eq!(served_subject(tls), format!("subject=CN=n{}.test", set.marker));
    eprintln!("converged on version {} after the last restart in {:?}", set.version, started.elapsed());
    let (config_now, map_now, pem_now) = on_disk();
    assert!(config_now == set.config && map_now == set.map && pem_now == set.pem, "the applied version is on disk:\n{}", agent.log());
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
    let releases = std::fs::read_dir(agent.state.join("releases")).unwrap().flatten().filter(|e| e.path().is_dir()).count();
    assert!(releases <= 10, "{releases} releases kept");
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
