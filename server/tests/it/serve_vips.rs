//! `fleet serve` VIP routes (issue 14): groups become every node's keepalived.conf in one applied
//! version, bad groups and files managed as text are refused with nothing stored, heartbeats'
//! addresses say who holds each group (with transitions), manual failover by priority, secrets
//! sealed and never returned. keepalived itself runs in the namespace lab (tests crate).

use reqwest::Method;
use serde_json::{json, Value};

use crate::serve_support::{start, Db, Server};

crate::serve_tests!(vips_render_every_node_and_follow_the_heartbeats);

const CONFIG: &str = "global\n    maxconn 100\n\ndefaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\n\
frontend web\n    bind 127.0.0.1:18080\n    default_backend app\n\nbackend app\n    server s1 127.0.0.1:8080\n";

async fn heartbeat(s: &Server, token: &str, address: &str, extra: &[&str], keepalived: bool) {
    let mut addresses = vec![format!("{address}/24")];
    addresses.extend(extra.iter().map(|a| a.to_string()));
    let mut body = json!({"interfaces": [{"name": "eth0", "up": true, "addresses": addresses}]});
    if keepalived {
        body["keepalived"] = json!({"running": true, "instances": [{"name": "web", "state": "MASTER", "since": 1}],
            "track_file": format!("/var/lib/fleet-agent-{address}/keepalived/haproxy.track"),
            "notify_fifo": format!("/var/lib/fleet-agent-{address}/keepalived/notify.fifo")});
    }
    let reply = s.send(s.request(Method::POST, "/api/v1/agent/heartbeat", Some(token)).json(&body)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

fn file(s: &Value) -> String {
    s.as_str().unwrap_or_default().to_string()
}

async fn vips_render_every_node_and_follow_the_heartbeats(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, CONFIG).await.expect(201);
    s.post(&format!("/api/v1/clusters/{id}/apply"), &admin, json!({"version": 1})).await.expect(200);
    let lb1 = s.agent(&admin, id, "lb1").await;
    let lb2 = s.agent(&admin, id, "lb2").await;
    let base = format!("/api/v1/clusters/{id}/vips");
    let pinned = json!({"name": "web", "addresses": ["198.18.0.50/24"], "vrid": 51, "interface": "eth0", "advert_interval": 1,
        "preempt": true, "track_haproxy": true, "nodes": [{"agent": "lb1", "priority": 150}, {"agent": "lb2", "priority": 100}]});

    // Before the agents report their keepalived paths, a tracked group cannot be rendered.
    heartbeat(&s, &lb1, "198.18.0.11", &[], false).await;
    let early = s.post(&base, &admin, pinned.clone()).await;
    assert_eq!(early.status, 422, "{}", early.text);
    assert!(early.text.contains("agent lb1 has not reported its keepalived track file"), "{}", early.text);
    heartbeat(&s, &lb1, "198.18.0.11", &[], true).await;
    heartbeat(&s, &lb2, "198.18.0.12", &[], true).await;

    let created = s.post(&base, &admin, pinned.clone()).await.expect(201);
    assert_eq!((created["version"].clone(), created["applied"].clone()), (json!(2), json!(true)), "{created}");
    let vip_id = created["id"].as_i64().unwrap();
    let files = format!("/api/v1/clusters/{id}/files");
    let one = s.get(&format!("{files}/keepalived/lb1.conf"), &admin).await;
    assert_eq!(one.status, 200, "{}", one.text);
    assert!(one.text.contains("state MASTER") && one.text.contains("priority 150") && one.text.contains("198.18.0.50/24 dev eth0"), "{}", one.text);
    assert!(one.text.contains("file /var/lib/fleet-agent-198.18.0.11/keepalived/haproxy.track"), "{}", one.text);
    let two = s.get(&format!("{files}/keepalived/lb2.conf"), &admin).await.text;
    assert!(two.contains("state BACKUP") && two.contains("priority 100"), "{two}");
    assert_eq!(s.get(&format!("/api/v1/clusters/{id}/status"), &admin).await.expect(200)["desired_version"], 2);

    // Refusals store nothing.
    let versions = || async { s.get(&format!("/api/v1/clusters/{id}/versions"), &admin).await.json().as_array().unwrap().len() };
    let before = versions().await;
    assert_eq!(s.post(&base, &admin, pinned.clone()).await.status, 409, "the name is taken");
    let clash = json!({"name": "api", "addresses": ["198.18.0.60/24"], "vrid": 51, "interface": "eth0", "nodes": [{"agent": "lb1", "priority": 100}]});
    let refused = s.post(&base, &admin, clash).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(refused.text.contains("virtual_router_id 51 is used twice on interface eth0"), "{}", refused.text);
    let stranger = json!({"name": "api", "addresses": ["198.18.0.60/24"], "vrid": 52, "interface": "eth0", "nodes": [{"agent": "lb9", "priority": 100}]});
    assert!(s.post(&base, &admin, stranger).await.text.contains("no agent lb9"));
    let v2_fraction = json!({"name": "api", "addresses": ["198.18.0.60/24"], "vrid": 52, "interface": "eth0", "version": 2, "advert_interval": 0.5,
        "nodes": [{"agent": "lb1", "priority": 100}]});
    assert_eq!(s.post(&base, &admin, v2_fraction).await.status, 422);
    assert_eq!(versions().await, before);
    assert_eq!(s.get(&base, &admin).await.expect(200).as_array().unwrap().len(), 1);

    // A second group, VRRPv3 fast adverts, unicast from the reported addresses: both nodes'
    // files hold both groups.
    let api = json!({"name": "api", "addresses": ["198.18.0.60/24", "198.18.0.61/24"], "vrid": 52, "interface": "eth0", "advert_interval": 0.05,
        "unicast": true, "nodes": [{"agent": "lb1", "priority": 100}, {"agent": "lb2", "priority": 200}]});
    let second = s.post(&base, &admin, api).await.expect(201);
    assert_eq!(second["version"], 3);
    assert_eq!(second["vip"], Value::Null);
    let two = s.get(&format!("{files}/keepalived/lb2.conf"), &admin).await.text;
    assert!(two.contains("vrrp_instance api") && two.contains("vrrp_instance web") && two.contains("advert_int 0.05") && two.contains("unicast_src_ip 198.18.0.12"), "{two}");

    // Who holds it is what the nodes' addresses say.
    heartbeat(&s, &lb1, "198.18.0.11", &["198.18.0.50/24"], true).await;
    let status = s.get(&format!("/api/v1/clusters/{id}/status"), &admin).await.expect(200);
    let web = status["vips"].as_array().unwrap().iter().find(|v| v["name"] == "web").unwrap().clone();
    assert_eq!(web["holder"], "lb1", "{status:#}");
    assert!(web["since"].as_i64().is_some());
    assert_eq!(web["nodes"][0]["state"], "MASTER");
    let seen = web["nodes"][0]["last_seen_at"].as_str().unwrap_or_default();
    assert!(seen.ends_with('Z') && fleet_core::clock::parse_rfc3339(seen).is_some(), "last_seen_at in RFC 3339: {web:#}");
    heartbeat(&s, &lb2, "198.18.0.12", &["198.18.0.50/24"], true).await;
    heartbeat(&s, &lb1, "198.18.0.11", &[], true).await;
    let status = s.get(&format!("/api/v1/clusters/{id}/status"), &admin).await.expect(200);
    let web = status["vips"].as_array().unwrap().iter().find(|v| v["name"] == "web").unwrap().clone();
    assert_eq!(web["holder"], "lb2", "{web:#}");
    let events: Vec<(String, String)> =
        web["transitions"].as_array().unwrap().iter().map(|t| (file(&t["agent"]), file(&t["event"]))).collect();
    assert_eq!(events[..3], [("lb1".into(), "released".into()), ("lb2".into(), "acquired".into()), ("lb1".into(), "acquired".into())]);

    // Manual failover: lb2 gets the highest priority, applied.
    let moved = s.post(&format!("{base}/{vip_id}/failover"), &admin, json!({"to": "lb2"})).await.expect(200);
    assert_eq!(moved["applied"], true, "{moved}");
    let priorities: Vec<(String, i64)> = moved["nodes"].as_array().unwrap().iter().map(|n| (file(&n["agent"]), n["priority"].as_i64().unwrap())).collect();
    assert_eq!(priorities, [("lb1".to_string(), 150), ("lb2".to_string(), 151)]);
    assert_eq!(s.post(&format!("{base}/{vip_id}/failover"), &admin, json!({"to": "lb2"})).await.status, 409, "already the highest");

    // The auth secret is sealed, used in the files, never returned.
    let mut with_secret = pinned.clone();
    with_secret["auth_secret"] = json!("s3cr3t");
    let updated = s.put(&format!("{base}/{vip_id}"), &admin, with_secret).await.expect(200);
    assert_eq!(updated["authenticated"], true);
    assert!(!updated.to_string().contains("s3cr3t"));
    assert!(s.get(&format!("{files}/keepalived/lb1.conf"), &admin).await.text.contains("auth_pass s3cr3t"));
    assert!(!s.get(&format!("{base}/{vip_id}"), &admin).await.text.contains("s3cr3t"));
    let kept = s.put(&format!("{base}/{vip_id}"), &admin, pinned.clone()).await.expect(200);
    assert_eq!(kept["authenticated"], true, "an absent secret keeps the stored one");

    // A node's file managed as text is never overwritten.
    let text = "global_defs {\n    router_id hand\n}\n";
    let latest = versions().await;
    s.send(s.request(Method::PUT, &format!("{files}/keepalived/lb1.conf?version={latest}"), Some(&admin)).body(text)).await.expect(200);
    let blocked = s.delete(&format!("{base}/{vip_id}"), &admin).await;
    assert_eq!(blocked.status, 409, "{}", blocked.text);
    assert!(blocked.text.contains("managed as text"), "{}", blocked.text);
    assert_eq!(s.get(&format!("{files}/keepalived/lb1.conf"), &admin).await.text, text);

    // Without the hand-written file, deleting both groups removes the generated files.
    let latest = versions().await;
    s.delete(&format!("{files}/keepalived/lb1.conf?version={latest}"), &admin).await.expect(200);
    s.delete(&format!("{base}/{vip_id}?apply=false"), &admin).await.expect(200);
    let last = s.get(&base, &admin).await.json()[0]["id"].as_i64().unwrap();
    let gone = s.delete(&format!("{base}/{last}"), &admin).await.expect(200);
    assert_eq!(gone["applied"], false, "{gone}");
    assert_eq!(s.get(&format!("{files}/keepalived/lb2.conf"), &admin).await.status, 404);
    assert!(s.get(&base, &admin).await.json().as_array().unwrap().is_empty());
}
