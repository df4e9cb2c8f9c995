//! Staged rollouts against real agents and HAProxy on loopback (issue 20): four nodes on
//! 127.0.0.1-4 sharing one configuration; `POST /apply?wait=` with the pinned strategy (a canary
//! of 1, then batches of 50%). A version whose reload fails on the canary halts the rollout:
//! the other three were never told it (no reload, still serving the old version). A good
//! version then goes through every stage in order to `succeeded`, and the `?wait=` answer
//! carries every agent's final outcome.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::agent_harness::{free_port, node_agents, prerequisites, temp_dir, Agent, Server};

const NODES: [(&str, &str); 4] = [("node1", "127.0.0.1"), ("node2", "127.0.0.2"), ("node3", "127.0.0.3"), ("node4", "127.0.0.4")];

/// The nodes' shared configuration: each binds its own address (`FLEET_NODE_ADDR`).
fn shared(port: u16, body: &str, extra: &str) -> String {
    format!(
        "global\n    log stderr local0 notice\n\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\n\
         frontend fe\n    bind \"${{FLEET_NODE_ADDR}}:{port}\"\n{extra}    http-request return status 200 content-type text/plain string \"{body}\"\n    default_backend app\n\n\
         backend app\n    server s1 127.0.0.1:9\n"
    )
}

/// What the node at `address` answers on `port`.
fn served(address: &str, port: u16) -> String {
    let Ok(mut stream) = TcpStream::connect_timeout(&format!("{address}:{port}").parse().unwrap(), Duration::from_secs(2)) else { return "no answer".into() };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.write_all(b"GET / HTTP/1.0\r\nHost: test\r\n\r\n");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.split("\r\n\r\n").nth(1).unwrap_or("").to_string()
}

fn wait_all_served(port: u16, body: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    for (name, address) in NODES {
        while served(address, port) != body {
            assert!(Instant::now() < deadline, "{name} does not serve {body:?}: {:?}", served(address, port));
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// `POST /apply?wait=60` with `strategy`: the rollout as it ended.
fn apply_and_wait(server: &Server, cluster: i64, version: i64, strategy: Value, agents: &[Agent]) -> Value {
    let response = server
        .request(reqwest::Method::POST, &format!("/api/v1/clusters/{cluster}/apply?wait=60"))
        .timeout(Duration::from_secs(90))
        .json(&json!({"version": version, "strategy": strategy}))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let rollout: Value = response.json().unwrap();
    let logs: Vec<String> = agents.iter().map(Agent::log).collect();
    assert!(!matches!(rollout["state"].as_str(), Some("running" | "paused")), "not finished within 60 s: {rollout:#}\n{}", logs.join("\n----\n"));
    rollout
}

fn outcomes(rollout: &Value) -> Vec<(String, String)> {
    rollout["agents"].as_array().unwrap().iter().map(|a| (a["name"].as_str().unwrap().into(), a["outcome"].as_str().unwrap().into())).collect()
}

#[test]
fn a_failing_canary_halts_with_the_others_untouched_and_a_good_version_goes_through_every_stage() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let dir = temp_dir("rollouts");
    let server = Server::start(&fleet, &dir.join("data"));
    let mut agents = node_agents(&agent_bin, &haproxy, &server, &dir, &NODES);
    let cluster = server.cluster("rollouts", &agents[0].config);
    let port = free_port();
    let v1 = server.commit(cluster, &shared(port, "v1", ""));
    server.apply(cluster, v1);
    for ((name, _), agent) in NODES.iter().zip(agents.iter_mut()) {
        agent.start(Some(&server.enrolment_secret(cluster, name)));
    }
    wait_all_served(port, "v1");

    // Passes `haproxy -c` on every node, but no node can bind 203.0.113.1: the reload fails.
    let bad = server.commit(cluster, &shared(port, "v2", "    bind 203.0.113.1:8\n"));
    let reloads: Vec<u64> = agents.iter().map(Agent::reloads).collect();
    let pinned = json!({"canary": {"agents": 1}, "batches": {"percent": 50}, "max_failures": 0});
    let halted = apply_and_wait(&server, cluster, bad, pinned.clone(), &agents);
    assert_eq!(halted["state"], "halted", "{halted:#}");
    let expected: Vec<(String, String)> = [("node1", "reload_failed"), ("node2", "pending"), ("node3", "pending"), ("node4", "pending")].iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    assert_eq!(outcomes(&halted), expected);
    assert!(halted["agents"][0]["error"].as_str().unwrap().contains("cannot bind"), "{halted:#}");
    assert_eq!(halted["stages"].as_array().unwrap().iter().map(|s| s["state"].as_str().unwrap()).collect::<Vec<_>>(), ["failed", "pending", "pending"]);
    for (i, (name, address)) in NODES.iter().enumerate() {
        assert_eq!(served(address, port), "v1", "{name} still serves the old version");
        if i > 0 {
            assert_eq!(agents[i].reloads(), reloads[i], "{name} was never told version {bad}");
        }
    }
    let status = server.get(&format!("/api/v1/clusters/{cluster}/status"));
    assert!(status["agents"].as_array().unwrap().iter().all(|a| a["applied_version"] == json!(v1)), "{status:#}");

    // A good version: canary, then two batches, each soaking 1 s, to succeeded.
    let good = server.commit(cluster, &shared(port, "v3", ""));
    let mut strategy = pinned;
    strategy["soak_seconds"] = json!(1);
    let started = Instant::now();
    let done = apply_and_wait(&server, cluster, good, strategy, &agents);
    let took = started.elapsed();
    assert_eq!(done["state"], "succeeded", "{done:#}");
    assert!(outcomes(&done).iter().all(|(_, outcome)| outcome == "applied"), "{done:#}");
    let stages = done["stages"].as_array().unwrap();
    assert_eq!(stages.iter().map(|s| s["agents"].as_array().unwrap().len()).collect::<Vec<_>>(), [1, 2, 1]);
    for pair in stages.windows(2) {
        let (passed, started) = (pair[0]["ended_at"].as_i64().unwrap(), pair[1]["started_at"].as_i64().unwrap());
        assert!(started >= passed, "{} started before {} passed", pair[1]["name"], pair[0]["name"]);
        let soaked = passed - pair[0]["soak_started_at"].as_i64().unwrap();
        assert!(soaked >= 1000, "{} soaked {soaked} ms", pair[0]["name"]);
    }
    wait_all_served(port, "v3");
    println!("staged rollout to 4 real agents (canary 1, batches of 50%, soak 1 s): succeeded in {} ms", took.as_millis());
}
