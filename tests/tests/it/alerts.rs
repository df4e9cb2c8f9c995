//! Alerts (issue 17) with real components on loopback: `fleet serve` evaluating every 200 ms, a
//! `fleet-agent` running HAProxy whose only backend server is down (its port is closed), and a
//! webhook receiver started here. The server-down and backend-down rules fire from what the
//! node's HAProxy reports (server-down also as a Slack-compatible `{"text"}` message); the agent
//! killed, the offline rule fires; the agent back, it resolves. Each transition reaches the
//! receiver once.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::agent_harness::{free_port, node_agents, prerequisites, temp_dir, webhook_receiver, Server};

fn received(bodies: &std::sync::Mutex<Vec<Value>>, event: &str, rule: &str) -> usize {
    bodies.lock().unwrap().iter().filter(|b| b["event"] == event && b["rule"]["name"] == rule).count()
}

fn wait_received(bodies: &std::sync::Mutex<Vec<Value>>, event: &str, rule: &str, within: Duration) -> Duration {
    let start = Instant::now();
    while received(bodies, event, rule) == 0 {
        assert!(start.elapsed() < within, "no {event} of {rule} within {within:?}: {:#?}", bodies.lock().unwrap());
        std::thread::sleep(Duration::from_millis(100));
    }
    start.elapsed()
}

#[test]
fn a_down_server_and_an_offline_agent_fire_and_resolve_through_a_webhook() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let dir = temp_dir("alerts");
    let server = Server::start_with(&fleet, &dir.join("data"), "127.0.0.1:0", &["--alert-interval-ms", "200"]);
    let mut agents = node_agents(&agent_bin, &haproxy, &server, &dir, &[("node-a", "127.0.0.1")]);
    let cluster = server.cluster("alerts", &agents[0].config);
    let (port, dead) = (free_port(), free_port());
    let config = format!(
        "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    default_backend app\n\n\
         backend app\n    server s1 127.0.0.1:{dead} check inter 200ms fall 2\n"
    );
    let version = server.commit(cluster, &config);
    server.apply(cluster, version);
    let (url, bodies) = webhook_receiver(0);
    for (name, kind) in [("server down", "server_down"), ("backend down", "backend_down"), ("offline", "agent_offline")] {
        let mut channels = vec![json!({"type": "webhook", "url": url})];
        if kind == "server_down" {
            channels.push(json!({"type": "slack", "url": url}));
        }
        server.post("/api/v1/alerts/rules", &json!({"name": name, "condition": {"kind": kind}, "cluster_id": cluster, "channels": channels}));
    }
    agents[0].start(Some(&server.enrolment_secret(cluster, "node-a")));

    let took = wait_received(&bodies, "alert.firing", "server down", Duration::from_secs(30));
    wait_received(&bodies, "alert.firing", "backend down", Duration::from_secs(5));
    eprintln!("alerts: the node's HAProxy reports app/s1 DOWN -> webhook within {took:?} of the agent's start");
    let firing = bodies.lock().unwrap().iter().find(|b| b["rule"]["name"] == "server down").cloned().unwrap();
    assert!(firing["alert"]["summary"].as_str().unwrap().contains("server app/s1 is DOWN"), "{firing:#}");
    assert_eq!(received(&bodies, "alert.firing", "offline"), 0, "the agent beats");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !bodies.lock().unwrap().iter().any(|b| b["text"].as_str().is_some_and(|t| t.starts_with("[FIRING] server down: agent node-a"))) {
        assert!(Instant::now() < deadline, "no Slack-compatible message: {:#?}", bodies.lock().unwrap());
        std::thread::sleep(Duration::from_millis(100));
    }

    // The agent dies: offline after 3 of its heartbeat intervals (1 s each here).
    agents[0].kill();
    let killed = Instant::now();
    wait_received(&bodies, "alert.firing", "offline", Duration::from_secs(30));
    eprintln!("alerts: agent killed -> offline alert delivered after {:?}", killed.elapsed());
    // The agent's server-down alerts resolve: an offline node's HAProxy figures are not judged.
    wait_received(&bodies, "alert.resolved", "server down", Duration::from_secs(5));

    agents[0].start(None);
    wait_received(&bodies, "alert.resolved", "offline", Duration::from_secs(15));
    let alerts = server.get("/api/v1/alerts?state=resolved");
    assert!(alerts.as_array().unwrap().iter().any(|a| a["rule"] == "offline" && a["notified"].as_str().unwrap().contains("answered 200")), "{alerts:#}");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!((received(&bodies, "alert.firing", "offline"), received(&bodies, "alert.resolved", "offline")), (1, 1), "offline: once each");
}
