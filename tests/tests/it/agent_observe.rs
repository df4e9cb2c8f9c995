//! Node truth and drift with a real agent and a real HAProxy (issue 17): the status says
//! `online`/`offline` from the agent's own heartbeat interval with an RFC 3339 `last_seen_at`;
//! a hand edit of a managed file is reported as drift with its diff and kept (`report`, also
//! across an agent restart), and restored with an audit entry under `enforce`.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::agent_harness::{bring_up, prerequisites, wait_served};

/// Waits up to `within` for the first agent's status to satisfy `done`.
fn wait_for(server: &crate::agent_harness::Server, cluster: i64, within: Duration, what: &str, done: impl Fn(&Value) -> bool) -> (Value, Duration) {
    let start = Instant::now();
    loop {
        let agent = server.agent_status(cluster);
        if done(&agent) {
            return (agent, start.elapsed());
        }
        assert!(start.elapsed() < within, "no {what} within {within:?}: {agent}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn node_truth_and_drift_report_then_enforce() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let (server, mut agent, cluster, port, _dir) = bring_up("observe", &haproxy, &fleet, &agent_bin);

    let (status, _) = wait_for(&server, cluster, Duration::from_secs(5), "interval", |a| a["heartbeat_ms"] == json!(1_000));
    assert_eq!(status["state"], json!("online"), "{status}");
    let seen = status["last_seen_at"].as_str().unwrap_or_else(|| panic!("last_seen_at is RFC 3339 text: {status}"));
    assert!(seen.len() == 24 && seen.ends_with('Z') && seen.as_bytes()[10] == b'T', "{seen}");
    assert_eq!(status["drift"], Value::Null);

    // A hand edit on the node: reported with its diff within a heartbeat or two, and kept.
    let applied = std::fs::read_to_string(&agent.config).unwrap();
    let edited = applied.replace("timeout client 5s", "timeout client 7s");
    assert_ne!(applied, edited);
    std::fs::write(&agent.config, &edited).unwrap();
    let (status, took) = wait_for(&server, cluster, Duration::from_secs(5), "drift", |a| !a["drift"].is_null());
    let drift = &status["drift"];
    assert_eq!(drift["files"][0]["path"], json!("haproxy.cfg"), "{drift}");
    let diff = drift["files"][0]["diff"].as_str().unwrap();
    assert!(diff.contains("-    timeout client 5s\n+    timeout client 7s\n"), "{diff}");
    assert!(diff.starts_with("--- applied/haproxy.cfg\n+++ node/haproxy.cfg\n"), "{diff}");
    assert!(drift["since"].as_str().is_some_and(|s| s.ends_with('Z')), "{drift}");
    eprintln!("drift reported {took:?} after the edit (heartbeat 1 s)");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(std::fs::read_to_string(&agent.config).unwrap(), edited, "report keeps the node's file");

    // A restarted agent does not overwrite it either.
    agent.kill();
    let (status, took) = wait_for(&server, cluster, Duration::from_secs(8), "offline", |a| a["state"] == json!("offline"));
    assert!(took <= Duration::from_millis(4_500), "offline {took:?} after the kill: 3 intervals of 1 s + a heartbeat in flight");
    assert!(!status["drift"].is_null(), "the last drift stays visible: {status}");
    agent.start(None);
    wait_for(&server, cluster, Duration::from_secs(10), "online again", |a| a["state"] == json!("online"));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(std::fs::read_to_string(&agent.config).unwrap(), edited, "a restart keeps the node's file under report");
    assert!(!server.agent_status(cluster)["drift"].is_null());
    wait_served(port, "v1", Duration::from_secs(5));

    // enforce: the applied file is back, HAProxy reloaded, the drift gone, an audit entry.
    let reloads = agent.reloads();
    let mut settings = server.get(&format!("/api/v1/clusters/{cluster}"))["settings"].clone();
    assert_eq!(settings["drift"], json!("report"), "the default: {settings}");
    settings["drift"] = json!("enforce");
    let updated = server.call_put(&format!("/api/v1/clusters/{cluster}/settings"), &settings);
    assert_eq!(updated["settings"]["drift"], json!("enforce"));
    let (_, took) = wait_for(&server, cluster, Duration::from_secs(5), "drift resolved", |a| a["drift"].is_null());
    eprintln!("drift enforced {took:?} after the setting changed (heartbeat 1 s)");
    assert_eq!(std::fs::read_to_string(&agent.config).unwrap(), applied, "enforce restores the applied file");
    assert!(agent.reloads() > reloads, "HAProxy reloaded onto the restored file");
    let audit = server.get(&format!("/api/v1/audit?cluster_id={cluster}"));
    let entries = audit.as_array().unwrap();
    let enforce = entries.iter().find(|e| e["action"] == json!("agent.drift.enforce")).unwrap_or_else(|| panic!("no enforce entry: {audit}"));
    assert_eq!(enforce["actor"], json!("agent:node1"));
    assert_eq!(enforce["details"]["restored"][0]["path"], json!("haproxy.cfg"));
    assert!(enforce["details"]["restored"][0]["diff"].as_str().unwrap().contains("+    timeout client 7s"));
    for action in ["agent.drift", "agent.drift.resolved", "settings"] {
        assert!(entries.iter().any(|e| e["action"].as_str().is_some_and(|a| a.contains(action))), "no {action} entry: {audit}");
    }
    wait_served(port, "v1", Duration::from_secs(5));
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Stats history with a real agent and HAProxy under a paced load: the frontend's request rate
/// shows within about one 10 s bucket of the load starting (the agent samples once per bucket),
/// and every 10 s step inside the load matches what the client sent within 10%.
#[test]
fn stored_request_rates_match_a_generated_load() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let (server, _agent, cluster, port, _dir) = bring_up("stats-load", &haproxy, &fleet, &agent_bin);
    const RATE: u64 = 200;
    const LOAD: Duration = Duration::from_secs(42);
    let load_start = now_ms();
    let client = std::thread::spawn(move || {
        let start = Instant::now();
        let mut sent = 0u64;
        while start.elapsed() < LOAD {
            let due = start + Duration::from_micros(sent * 1_000_000 / RATE);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            crate::agent_harness::probe(port).unwrap();
            sent += 1;
        }
        (sent, start.elapsed())
    });
    let stats = |from: i64| server.get(&format!("/api/v1/clusters/{cluster}/stats?from={from}&step=10&proxy=fe&server=FRONTEND"));
    let seen = Instant::now();
    loop {
        let answer = stats(load_start - 10_000);
        let rates = &answer["series"][0]["request_rate"];
        if rates.as_array().is_some_and(|r| r.iter().any(|v| v.as_f64().is_some_and(|v| v > 0.0))) {
            break;
        }
        // One sample per 10 s bucket (stats::sample_due): within one bucket and a heartbeat.
        assert!(seen.elapsed() < Duration::from_secs(13), "no request rate yet: {answer}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let appeared = seen.elapsed();
    let (sent, took) = client.join().unwrap();
    let load_end = load_start + took.as_millis() as i64;
    let sent_rate = sent as f64 / took.as_secs_f64();
    std::thread::sleep(Duration::from_secs(3));
    let answer = stats(load_start - 20_000);
    let series = &answer["series"][0];
    assert_eq!((series["agent"].as_str(), series["kind"].as_str()), (Some("node1"), Some("frontend")), "{answer}");
    let timestamps: Vec<i64> = answer["timestamps"].as_array().unwrap().iter().map(|t| t.as_i64().unwrap()).collect();
    let rates = series["request_rate"].as_array().unwrap();
    let mut checked = Vec::new();
    for (at, rate) in timestamps.iter().zip(rates) {
        // A 10 s step inside the load, with a sample's margin (a point's span starts up to one
        // bucket and a heartbeat before its bucket).
        if *at - 11_000 >= load_start && *at + 10_000 <= load_end {
            let rate = rate.as_f64().unwrap_or_else(|| panic!("no rate at {at}: {answer}"));
            assert!((rate - sent_rate).abs() <= sent_rate * 0.10, "stored {rate:.1}/s at {at}, sent {sent_rate:.1}/s: {rates:?}");
            checked.push(rate);
        }
    }
    assert!(checked.len() >= 2, "too few steps inside the load: {timestamps:?} {load_start}..{load_end}");
    eprintln!("sent {sent} requests at {sent_rate:.1}/s; stored 10 s rates inside the load {checked:.1?}; first rate {appeared:?} after the load started");
    assert!(series["session_rate"].as_array().unwrap().iter().any(|v| v.as_f64().is_some_and(|v| v > 0.0)));
    assert!(series["bytes_out_rate"].as_array().unwrap().iter().any(|v| v.as_f64().is_some_and(|v| v > 0.0)));
}
