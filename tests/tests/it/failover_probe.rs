//! DNS failover's probe (issue 15) with real components on loopback: two `fleet-agent`s running
//! HAProxy, each node's backend a small application server started here, and a BIND 9 holding
//! the zone. Every member's agent fetches `/health` through its own HAProxy frontend; when the
//! active node's application fails (HAProxy runs on and answers 500), the probe fails and the
//! record moves to the standby, though heartbeats and HAProxy are fine.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::agent_harness::Server;
use crate::dns_failover::{two_nodes_with, TwoNodes};

/// An application server answering every request with the status it holds now.
fn application() -> (u16, Arc<AtomicU16>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let status = Arc::new(AtomicU16::new(200));
    let answer = status.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let code = answer.load(Ordering::SeqCst);
            let _ = stream.write_all(format!("HTTP/1.1 {code} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok").as_bytes());
        }
    });
    (port, status)
}

fn members(server: &Server, pool: i64) -> Vec<Value> {
    server.get(&format!("/api/v1/pools/{pool}/failover"))["members"].as_array().cloned().unwrap()
}

#[test]
fn a_member_whose_probe_fails_loses_the_record() {
    // A missing named or dig skips, or fails with FLEET_REQUIRE_TOOLS=1.
    let Some(named) = fleet_tests::require(fleet_tests::Named::start("fleet-test.example"), "named (scripts/setup.d/40-bind9.sh)") else { return };
    if fleet_tests::require(named.dig("ns1.fleet-test.example", "A"), "dig").is_none() {
        return;
    }
    let (ports, applications): (Vec<u16>, Vec<_>) = (0..2).map(|_| application()).unzip();
    let env: Vec<Vec<(String, String)>> = ports.iter().map(|p| vec![("APP_PORT".to_string(), p.to_string())]).collect();
    let backend = "    default_backend app\n\nbackend app\n    server s1 \"127.0.0.1:${APP_PORT}\"\n";
    // Every field bound: what a pattern leaves out is dropped at once (the agents would stop).
    let Some(TwoNodes { server, agents, held: _held, pool, port, _dir }) = two_nodes_with("failover-probe", backend, &env) else { return };
    let provider = server.post(
        "/api/v1/dns-providers",
        &json!({"name": "bind", "kind": "rfc2136", "server": named.addr.to_string(), "zone": "fleet-test.example",
                "tsig_key_name": fleet_tests::NAMED_KEY_NAME, "tsig_secret": named.secret}),
    );
    let settings = json!({"hostname": "www.fleet-test.example", "ttl": 30, "provider_id": provider["id"], "detection_window_seconds": 10,
        "hold_seconds": 0, "probe": {"frontend": "fe", "path": "/health"}, "active": "node-a"});
    server.call_put(&format!("/api/v1/pools/{pool}/failover"), &settings);
    assert_eq!(named.dig("www.fleet-test.example", "A").unwrap(), ["198.51.100.1"]);

    // Both agents learn the probe from a heartbeat answer and report it passing.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !members(&server, pool).iter().all(|m| m["probe"]["ok"] == true && m["healthy"] == true) {
        assert!(Instant::now() < deadline, "the probes do not pass: {:#?}\n{}", members(&server, pool), agents[0].log());
        std::thread::sleep(Duration::from_millis(200));
    }
    let shown = members(&server, pool);
    assert_eq!(shown[0]["probe"]["target"], json!(format!("http://www.fleet-test.example:{port}/health via 127.0.0.1:{port}")), "{shown:#?}");
    assert_eq!(shown[1]["probe"]["target"], json!(format!("http://www.fleet-test.example:{port}/health via 127.0.0.2:{port}")));

    // node-a's application fails: its HAProxy runs on and answers 500; the record moves.
    applications[0].store(500, Ordering::SeqCst);
    let failed = Instant::now();
    while named.dig("www.fleet-test.example", "A").unwrap() != ["198.51.100.2"] {
        assert!(failed.elapsed() < Duration::from_secs(10), "the record did not move: {:#?}", members(&server, pool));
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("failover probe: node-a's application failing -> record moved (dig @bind) in {:?} (heartbeat 1 s)", failed.elapsed());
    let shown = members(&server, pool);
    assert_eq!((&shown[0]["healthy"], &shown[0]["probe"]["ok"], &shown[0]["probe"]["status"]), (&json!(false), &json!(false), &json!(500)), "{shown:#?}");
    assert!(shown[0]["probe"]["detail"].as_str().unwrap().contains("answered 500"), "{shown:#?}");
    let events = server.get(&format!("/api/v1/pools/{pool}/failover/events")).to_string();
    assert!(events.contains("node-a is unhealthy") && events.contains("now points at node-b"), "{events}");

    // A bad probe is refused before anything is stored.
    let mut bad = settings.clone();
    bad["probe"] = json!({"frontend": "fe", "path": "health"});
    let response = server.request(reqwest::Method::PUT, &format!("/api/v1/pools/{pool}/failover")).json(&bad).send().unwrap();
    assert_eq!(response.status().as_u16(), 422);
    assert!(response.text().unwrap().contains("probe.path"));
}
