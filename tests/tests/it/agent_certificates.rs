//! The certificate store on a real node: a stored certificate deployed into the cluster's bundle
//! is served by HAProxy, the agent reports what it serves (`show ssl cert`) in its heartbeats, so
//! the certificate status shows a node still serving the old certificate after a replacement,
//! and current again once the new version is applied (at runtime, without a reload).

use std::time::{Duration, Instant};

use fleet_tests::pki::TestPki;
use fleet_tests::served_subject;
use serde_json::{json, Value};

use crate::agent_harness::{bring_up, config, free_port, prerequisites, wait_served, Server};

const DAY: i64 = 86_400_000;

/// The status of node1 at the certificate's deployment, once `done` holds for it.
fn wait_node(server: &Server, id: i64, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = server.get(&format!("/api/v1/certificates/{id}/status"));
        let node = status["deployments"][0]["nodes"].get(0).cloned().unwrap_or(Value::Null);
        if done(&node) {
            return node;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}: {status}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_node_reports_the_certificate_it_serves() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let (server, agent, cluster, port, _dir) = bring_up("certstore", &haproxy, &fleet, &agent_bin);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let pki = TestPki::new("Node", now - DAY, now + 400 * DAY);
    let first = pki.leaf(&["one.test"], now - DAY, now + 90 * DAY);
    let upload = json!({"name": "site", "certificate": format!("{}{}", first.cert_pem, pki.chain_pem()), "private_key": first.key_pem});
    let cert = server.post("/api/v1/certificates", &upload);
    let id = cert["id"].as_i64().unwrap();
    server.post(&format!("/api/v1/certificates/{id}/deploy"), &json!({"cluster_id": cluster, "path": "certs/site.pem"}));
    let tls = free_port();
    let version = server.commit(cluster, &config(port, "tls", &format!("    bind 127.0.0.1:{tls} ssl crt certs/site.pem\n")));
    server.apply(cluster, version);
    wait_served(port, "tls", Duration::from_secs(10));
    assert_eq!(served_subject(tls), "subject=CN=one.test");
    let node = wait_node(&server, id, "the node reporting the certificate", |n| n["current"] == json!(true));
    assert_eq!(node["sha1"], cert["fingerprint_sha1"]);
    assert_eq!(node["filename"], json!("certs/site.pem"));
    let reloads = agent.reloads();

    // Replaced in the store: until the new version runs, the node is seen serving the old one.
    let second = pki.leaf(&["two.test"], now - DAY, now + 90 * DAY);
    let body = json!({"certificate": format!("{}{}", second.cert_pem, pki.chain_pem()), "private_key": second.key_pem});
    let replaced = server.call_put(&format!("/api/v1/certificates/{id}"), &body);
    let new_version = replaced["rollouts"][0]["version"].as_i64().unwrap();
    let stale = wait_node(&server, id, "the old certificate flagged", |n| n["current"] == json!(false));
    assert_eq!(stale["sha1"], cert["fingerprint_sha1"]);
    server.apply(cluster, new_version);
    let node = wait_node(&server, id, "the new certificate reported", |n| n["current"] == json!(true));
    assert_eq!(node["sha1"], replaced["fingerprint_sha1"]);
    assert_eq!(served_subject(tls), "subject=CN=two.test");
    assert_eq!(agent.reloads(), reloads, "a certificate replacement applies without a reload");
}
