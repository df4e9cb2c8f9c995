//! Remote jobs against real agents and HAProxy on loopback (issue 18): every kind runs and
//! reports, a job reaches its agent in under 1 s (measured and printed), a job past its timeout
//! is killed with its whole process group and reported `timed_out`, cancel stops a running job,
//! and disaster recovery: node A's snapshot restored onto a broken node B makes B serve again.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::agent_harness::{config, free_port, node_agents, prerequisites, temp_dir, wait_served, Agent, Server};

fn create(server: &Server, cluster: i64, body: Value) -> Value {
    server.post(&format!("/api/v1/clusters/{cluster}/jobs"), &body)
}

/// Waits until every run of job `job` ended; the job.
fn wait_job(server: &Server, cluster: i64, job: &Value, within: Duration, agents: &[&Agent]) -> Value {
    let id = job["id"].as_i64().unwrap();
    let deadline = Instant::now() + within;
    loop {
        let job = server.get(&format!("/api/v1/clusters/{cluster}/jobs/{id}"));
        let runs = job["runs"].as_array().unwrap();
        if runs.iter().all(|r| !matches!(r["status"].as_str(), Some("queued" | "running"))) {
            return job;
        }
        let logs: Vec<String> = agents.iter().map(|a| a.log()).collect();
        assert!(Instant::now() < deadline, "job not done within {within:?}: {job:#}\n{}", logs.join("\n----\n"));
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_run_status(server: &Server, cluster: i64, job: &Value, status: &str) -> Value {
    let id = job["id"].as_i64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let job = server.get(&format!("/api/v1/clusters/{cluster}/jobs/{id}"));
        if job["runs"][0]["status"] == json!(status) {
            return job;
        }
        assert!(Instant::now() < deadline, "run never {status}: {job:#}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// True when a process runs `sleep <seconds>` (what the slow wrapper starts).
fn sleeping(seconds: u32) -> bool {
    let wanted = format!("sleep\0{seconds}\0");
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| std::fs::read(e.path().join("cmdline")).is_ok_and(|c| c == wanted.as_bytes()))
}

fn wait_not_sleeping(seconds: u32) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while sleeping(seconds) {
        assert!(Instant::now() < deadline, "sleep {seconds} still runs: the process group was not killed");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `--haproxy-bin` wrapper whose `-c` sleeps `seconds` (in a child of the shell, so only a
/// kill of the whole group stops it) while `marker` exists.
fn slow_wrapper(dir: &Path, haproxy: &Path, marker: &Path, seconds: u32) -> std::path::PathBuf {
    let path = dir.join("haproxy-slow");
    let script = format!(
        "#!/bin/sh\nfor a in \"$@\"; do\n  if [ \"$a\" = \"-c\" ] && [ -e '{}' ]; then sleep {seconds}; fi\ndone\nexec '{}' \"$@\"\n",
        marker.display(),
        haproxy.display()
    );
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn every_kind_runs_and_reports_fast_with_timeout_and_cancel() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let dir = temp_dir("jobs");
    let server = Server::start(&fleet, &dir.join("data"));
    let marker = dir.join("slow");
    let seconds = 7000 + u32::from(free_port() % 1000);
    let wrapper = slow_wrapper(&dir, &haproxy, &marker, seconds);
    let mut agent = Agent::new(&agent_bin, &wrapper, &server, &dir);
    let cluster = server.cluster("jobs", &agent.config);
    let port = free_port();
    let v1 = server.commit(cluster, &config(port, "v1", ""));
    server.apply(cluster, v1);
    agent.start(Some(&server.enrolment_secret(cluster, "node1")));
    server.wait_status(cluster, "version 1 applied", |a| a["applied_version"] == json!(v1));
    wait_served(port, "v1", Duration::from_secs(10));
    let agents = [&agent];

    // Delivery: the agent holds its jobs long-poll; measure created -> taken (server clock),
    // and the whole round trip from the client.
    let mut latencies = Vec::new();
    for _ in 0..3 {
        let sent = Instant::now();
        let job = create(&server, cluster, json!({"kind": "validate"}));
        let job = wait_job(&server, cluster, &job, Duration::from_secs(10), &agents);
        let round_trip = sent.elapsed();
        let run = &job["runs"][0];
        assert_eq!(run["status"], json!("succeeded"), "{job:#}");
        assert_eq!(run["exit_code"], json!(0));
        assert!(run["output"].as_str().unwrap().contains("Configuration file is valid"), "{job:#}");
        let taken = run["started_at"].as_i64().unwrap() - job["created_at"].as_i64().unwrap();
        println!("job delivery: created -> taken by the agent {taken} ms; validate round trip (POST -> succeeded seen) {} ms", round_trip.as_millis());
        latencies.push(taken);
    }
    assert!(latencies.iter().all(|ms| *ms < 1000), "a job took 1 s or more to reach its agent: {latencies:?}");

    let job = create(&server, cluster, json!({"kind": "diagnostics"}));
    let job = wait_job(&server, cluster, &job, Duration::from_secs(20), &agents);
    let output = job["runs"][0]["output"].as_str().unwrap();
    assert_eq!(job["runs"][0]["status"], json!("succeeded"), "{job:#}");
    for part in ["== haproxy -vv", "HAProxy version", "== show info", "Uptime_sec:", "== show errors", "sessions: ", "== haproxy log", "== disk", "available_bytes: ", "MemTotal:"] {
        assert!(output.contains(part), "{part:?} missing from diagnostics:\n{output}");
    }

    let reloads = agent.reloads();
    let job = create(&server, cluster, json!({"kind": "reload"}));
    let job = wait_job(&server, cluster, &job, Duration::from_secs(20), &agents);
    assert_eq!(job["runs"][0]["status"], json!("succeeded"), "{job:#}");
    assert!(agent.reloads() > reloads, "the master reloaded");
    wait_served(port, "v1", Duration::from_secs(5));

    let pid_before = std::fs::read_to_string(agent.state.join("haproxy.pid")).unwrap_or_default();
    let job = create(&server, cluster, json!({"kind": "restart"}));
    let job = wait_job(&server, cluster, &job, Duration::from_secs(30), &agents);
    assert_eq!(job["runs"][0]["status"], json!("succeeded"), "{job:#}");
    wait_served(port, "v1", Duration::from_secs(10));
    let pid_after = std::fs::read_to_string(agent.state.join("haproxy.pid")).unwrap_or_default();
    assert_ne!(pid_before.trim(), pid_after.trim(), "a new master runs after the restart");

    // install-haproxy is not in the node's default policy.
    let job = create(&server, cluster, json!({"kind": "install-haproxy"}));
    let job = wait_job(&server, cluster, &job, Duration::from_secs(10), &agents);
    assert_eq!(job["runs"][0]["status"], json!("failed"), "{job:#}");
    assert!(job["runs"][0]["output"].as_str().unwrap().starts_with("refused by node policy: this node does not run install-haproxy jobs"), "{job:#}");

    // Timeout: `haproxy -c` sleeps; killed at 2 s with its whole group.
    std::fs::write(&marker, "").unwrap();
    let job = create(&server, cluster, json!({"kind": "validate", "timeout": 2}));
    let job = wait_job(&server, cluster, &job, Duration::from_secs(15), &agents);
    let run = &job["runs"][0];
    assert_eq!(run["status"], json!("timed_out"), "{job:#}");
    let took = run["duration_ms"].as_i64().unwrap();
    assert!((2000..5000).contains(&took), "{job:#}");
    println!("timed out after {took} ms (timeout 2 s)");
    wait_not_sleeping(seconds);

    // Cancel: a running job stops quickly, its group killed.
    let job = create(&server, cluster, json!({"kind": "validate", "timeout": 120}));
    wait_run_status(&server, cluster, &job, "running");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !sleeping(seconds) {
        assert!(Instant::now() < deadline, "the slow check never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    let cancelled = Instant::now();
    server.post(&format!("/api/v1/clusters/{cluster}/jobs/{}/cancel", job["id"]), &json!({}));
    let job = wait_job(&server, cluster, &job, Duration::from_secs(10), &agents);
    assert_eq!(job["runs"][0]["status"], json!("cancelled"), "{job:#}");
    println!("cancel: POST -> cancelled seen {} ms", cancelled.elapsed().as_millis());
    assert!(cancelled.elapsed() < Duration::from_secs(3));
    wait_not_sleeping(seconds);
    std::fs::remove_file(&marker).unwrap();
    wait_served(port, "v1", Duration::from_secs(5));

    let listed = server.get(&format!("/api/v1/clusters/{cluster}/jobs"));
    assert_eq!(listed.as_array().unwrap().len(), 9, "{listed:#}");
    let audit = server.get(&format!("/api/v1/audit?cluster_id={cluster}&limit=200"));
    let actions: Vec<&str> = audit.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"job.create") && actions.contains(&"job.cancel") && actions.contains(&"job.finish"), "{actions:?}");
}

/// One HTTP/1.0 request to `addr:port`: the body, or the error.
fn probe_at(addr: &str, port: u16) -> Result<String, String> {
    let mut stream = TcpStream::connect_timeout(&format!("{addr}:{port}").parse().unwrap(), Duration::from_secs(2)).map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).map_err(|e| e.to_string())?;
    stream.write_all(b"GET / HTTP/1.0\r\nHost: test\r\n\r\n").map_err(|e| format!("write: {e}"))?;
    let mut response = String::new();
    stream.read_to_string(&mut response).map_err(|e| format!("read: {e}"))?;
    if !response.starts_with("HTTP/1.0 200") && !response.starts_with("HTTP/1.1 200") {
        return Err(format!("unexpected answer: {response:?}"));
    }
    Ok(response.split("\r\n\r\n").nth(1).unwrap_or("").to_string())
}

fn wait_probe(addr: &str, port: u16, want: Result<&str, ()>) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let got = probe_at(addr, port);
        match (&got, want) {
            (Ok(body), Ok(expected)) if body == expected => return,
            (Err(_), Err(())) => return,
            _ => {}
        }
        assert!(Instant::now() < deadline, "{addr}:{port}: wanted {want:?}, got {got:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_snapshot_of_node_a_restored_onto_broken_node_b_serves_again() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let nodes = [("node-a", "127.0.0.2"), ("node-b", "127.0.0.3")];
    let dir = temp_dir("jobs-dr");
    let server = Server::start(&fleet, &dir.join("data"));
    let mut agents = node_agents(&agent_bin, &haproxy, &server, &dir, &nodes);
    let cluster = server.cluster("jobs-dr", &agents[0].config);
    let port = free_port();
    let text = format!(
        "global\n    log stderr local0 notice\n\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\n\
         frontend fe\n    bind \"${{FLEET_NODE_ADDR}}:{port}\"\n    http-request return status 200 content-type text/plain string dr\n"
    );
    let v1 = server.commit(cluster, &text);
    server.apply(cluster, v1);
    for ((name, _), agent) in nodes.iter().zip(agents.iter_mut()) {
        agent.start(Some(&server.enrolment_secret(cluster, name)));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = server.get(&format!("/api/v1/clusters/{cluster}/status"));
        let list = status["agents"].as_array().cloned().unwrap_or_default();
        if list.len() == 2 && list.iter().all(|a| a["applied_version"] == json!(v1)) {
            break;
        }
        assert!(Instant::now() < deadline, "both nodes do not run version 1: {status}");
        std::thread::sleep(Duration::from_millis(50));
    }
    wait_probe("127.0.0.2", port, Ok("dr"));
    wait_probe("127.0.0.3", port, Ok("dr"));
    let (a, b) = (&agents[0], &agents[1]);

    // An operator left a file in A's managed directory: the snapshot keeps it.
    std::fs::write(a.config.parent().unwrap().join("runbook.txt"), "call ops\n").unwrap();
    let job = create(&server, cluster, json!({"kind": "snapshot", "agents": ["node-a"]}));
    let job = wait_job(&server, cluster, &job, Duration::from_secs(20), &[a]);
    assert_eq!(job["runs"][0]["status"], json!("succeeded"), "{job:#}");
    let snapshots = server.get(&format!("/api/v1/clusters/{cluster}/snapshots?agent=node-a"));
    let snapshot = snapshots[0].clone();
    let id = snapshot["id"].as_i64().unwrap();
    let paths: Vec<&str> = snapshot["files"].as_array().unwrap().iter().filter_map(|f| f["path"].as_str()).collect();
    assert_eq!(paths, ["haproxy.cfg", "runbook.txt"], "{snapshot:#}");
    let diff = server.get(&format!("/api/v1/clusters/{cluster}/snapshots/{id}/diff"));
    let changed: Vec<&str> = diff["files"].as_array().unwrap().iter().filter_map(|f| f["path"].as_str()).collect();
    assert_eq!(changed, ["runbook.txt"], "{diff:#}");

    // Break B: its config file is garbage, and a restart leaves it down.
    std::fs::write(b.config.clone(), "this is not haproxy\n").unwrap();
    let job = create(&server, cluster, json!({"kind": "restart", "agents": ["node-b"]}));
    let job = wait_job(&server, cluster, &job, Duration::from_secs(30), &[b]);
    assert_eq!(job["runs"][0]["status"], json!("failed"), "{job:#}");
    wait_probe("127.0.0.3", port, Err(()));
    wait_probe("127.0.0.2", port, Ok("dr"));

    // B's broken files, snapshotted and restored onto A, are refused by A's `haproxy -c`: A
    // keeps serving what it ran.
    let job = create(&server, cluster, json!({"kind": "snapshot", "agents": ["node-b"]}));
    let job = wait_job(&server, cluster, &job, Duration::from_secs(20), &[b]);
    assert_eq!(job["runs"][0]["status"], json!("succeeded"), "{job:#}");
    let broken = server.get(&format!("/api/v1/clusters/{cluster}/snapshots?agent=node-b"))[0]["id"].as_i64().unwrap();
    let job = create(&server, cluster, json!({"kind": "restore", "snapshot": broken, "agents": ["node-a"]}));
    let job = wait_job(&server, cluster, &job, Duration::from_secs(30), &[a]);
    assert_eq!(job["runs"][0]["status"], json!("failed"), "{job:#}");
    assert!(job["runs"][0]["output"].as_str().unwrap().contains("rejected"), "{job:#}");
    wait_probe("127.0.0.2", port, Ok("dr"));

    // Restore A's snapshot onto B: checked, switched, HAProxy back.
    let restored = Instant::now();
    let job = create(&server, cluster, json!({"kind": "restore", "snapshot": id, "agents": ["node-b"]}));
    let job = wait_job(&server, cluster, &job, Duration::from_secs(30), &[b]);
    assert_eq!(job["runs"][0]["status"], json!("succeeded"), "{job:#}\n{}", b.log());
    wait_probe("127.0.0.3", port, Ok("dr"));
    println!("restore of node-a's snapshot onto node-b: serving again {} ms after the job was queued", restored.elapsed().as_millis());
    assert_eq!(std::fs::read_to_string(b.config.parent().unwrap().join("runbook.txt")).unwrap(), "call ops\n");

    // The snapshot can become the cluster's next version (the import gate).
    let promoted = server.post(&format!("/api/v1/clusters/{cluster}/snapshots/{id}/promote"), &json!({}));
    assert_eq!(promoted["version"], json!(v1 + 1), "{promoted:#}");

    let audit = server.get(&format!("/api/v1/audit?cluster_id={cluster}&limit=200"));
    let actions: Vec<&str> = audit.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    for action in ["snapshot.create", "job.create", "job.finish", "snapshot.promote"] {
        assert!(actions.contains(&action), "{action} not audited: {actions:?}");
    }
    let restore_audited = audit.as_array().unwrap().iter().any(|e| e["action"] == json!("job.create") && e["details"]["spec"]["kind"] == json!("restore"));
    assert!(restore_audited, "{audit:#}");
}

/// install-haproxy on a node that opted in (`--allow-jobs default,install-haproxy`): apt-get
/// installs the package HAProxy already is, so it needs no network (unless a newer one is out). Runs as root with HAProxy
/// installed by dpkg (what scripts/setup.d does); elsewhere it says why and skips.
#[test]
fn install_haproxy_runs_where_the_node_allows_it() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let installed = std::process::Command::new("dpkg-query").args(["-W", "-f", "${Status}", "haproxy"]).output();
    let installed = installed.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"));
    let root = std::process::Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !installed || !root {
        eprintln!("skipped: needs root and the haproxy package installed by dpkg (apt-get install of an installed package needs no network)");
        return;
    }
    let dir = temp_dir("jobs-install");
    let server = Server::start(&fleet, &dir.join("data"));
    let mut agent = Agent::new(&agent_bin, &haproxy, &server, &dir);
    agent.mode_args.extend(["--allow-jobs".to_string(), "default,install-haproxy".to_string()]);
    let cluster = server.cluster("jobs-install", &agent.config);
    let port = free_port();
    let v1 = server.commit(cluster, &config(port, "v1", ""));
    server.apply(cluster, v1);
    agent.start(Some(&server.enrolment_secret(cluster, "node1")));
    server.wait_status(cluster, "version 1 applied", |a| a["applied_version"] == json!(v1));
    let job = create(&server, cluster, json!({"kind": "install-haproxy"}));
    let job = wait_job(&server, cluster, &job, Duration::from_secs(300), &[&agent]);
    let run = &job["runs"][0];
    assert_eq!((run["status"].clone(), run["exit_code"].clone()), (json!("succeeded"), json!(0)), "{job:#}");
    // apt-get ran: the package was the newest already, or (a machine whose HAProxy was
    // installed before its distribution's latest update) it was upgraded in place.
    let output = run["output"].as_str().unwrap();
    assert!(output.contains("haproxy is already the newest version") || output.contains("Setting up haproxy "), "{job:#}");
    wait_served(port, "v1", Duration::from_secs(5));
}
