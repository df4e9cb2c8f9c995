//! `fleet serve` certificate routes: uploads answered with their facts and never a key, bad
//! uploads refused with 422 and nothing stored, deploy and replace making versions with
//! HAProxy's combined file (withheld from file reads and tar downloads), delete refused while
//! deployed, the status with what nodes serve, the expiry metric.

use fleet_tests::pki::TestPki;
use reqwest::Method;
use serde_json::{json, Value};

use crate::serve_support::{start, Db, Server};

crate::serve_tests!(certificates_over_the_api);

const DAY: i64 = 86_400_000;
const CONFIG: &str = "global\n    maxconn 100\n\ndefaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\nbackend app\n    server s1 127.0.0.1:8080\n";

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

async fn cluster_with_config(s: &Server, admin: &str, name: &str) -> i64 {
    let id = s.cluster(admin, name).await;
    s.post_text(&format!("/api/v1/clusters/{id}/import"), admin, CONFIG).await.expect(201);
    id
}

fn no_key(reply: &str) {
    assert!(!reply.contains("PRIVATE KEY-----"), "{reply}");
}

async fn certificates_over_the_api(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let (a, b) = (cluster_with_config(&s, &admin, "a").await, cluster_with_config(&s, &admin, "b").await);
    let t = now();
    let pki = TestPki::new("Api", t - 10 * DAY, t + 400 * DAY);
    let leaf = pki.leaf(&["www.example.test", "example.test"], t - DAY, t + 60 * DAY);
    let chain = format!("{}{}", leaf.cert_pem, pki.chain_pem());

    // Bad inputs: 422 each, with the reason, and nothing stored.
    let stranger = pki.leaf(&["x.test"], t - DAY, t + 60 * DAY);
    let expired = pki.leaf(&["old.test"], t - 90 * DAY, t - DAY);
    let other = TestPki::new("Other", t - 10 * DAY, t + 400 * DAY);
    let bad = [
        (json!({"name": "x", "certificate": chain, "private_key": stranger.key_pem}), "does not match"),
        (json!({"name": "x", "certificate": format!("{}{}", leaf.cert_pem, other.chain_pem()), "private_key": leaf.key_pem}), "chain does not link"),
        (json!({"name": "x", "certificate": format!("{}{}", pki.chain_pem(), leaf.cert_pem), "private_key": leaf.key_pem}), "chain in wrong order"),
        (json!({"name": "x", "certificate": expired.cert_pem, "private_key": expired.key_pem}), "expired"),
        (json!({"name": "x", "certificate": "garbage", "private_key": "garbage"}), "no PEM block"),
    ];
    for (body, reason) in bad {
        let reply = s.post("/api/v1/certificates", &admin, body).await;
        assert_eq!(reply.status, 422, "{reason}: {}", reply.text);
        assert!(reply.text.contains(reason), "{reason}: {}", reply.text);
        no_key(&reply.text);
    }
    assert_eq!(s.get("/api/v1/certificates", &admin).await.expect(200), json!([]));

    // Upload: 201 with the pinned fields, never a key.
    let reply = s.post("/api/v1/certificates", &admin, json!({"name": "www", "certificate": chain, "private_key": leaf.key_pem})).await;
    no_key(&reply.text);
    let cert = reply.expect(201);
    let id = cert["id"].as_i64().unwrap();
    assert_eq!(cert["name"], "www");
    assert_eq!(cert["sans"], json!(["www.example.test", "example.test"]));
    assert_eq!(cert["not_after"].as_i64().unwrap(), (t + 60 * DAY) / 1000 * 1000);
    assert_eq!(cert["fingerprint_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(s.post("/api/v1/certificates", &admin, json!({"name": "www", "certificate": chain, "private_key": leaf.key_pem})).await.status, 409);
    let listed = s.get("/api/v1/certificates", &admin).await;
    no_key(&listed.text);
    assert_eq!(listed.expect(200)[0]["id"], id);
    no_key(&s.get(&format!("/api/v1/certificates/{id}"), &admin).await.text);

    // Deploy: a new version with the combined file, withheld from user reads.
    let deployed = s.post(&format!("/api/v1/certificates/{id}/deploy"), &admin, json!({"cluster_id": a})).await.expect(201);
    assert_eq!((deployed["path"].as_str(), deployed["version"].as_i64()), (Some("certs/www.pem"), Some(2)));
    let listing = s.get(&format!("/api/v1/clusters/{a}/files"), &admin).await.expect(200);
    let file = listing["files"].as_array().unwrap().iter().find(|f| f["path"] == "certs/www.pem").cloned().unwrap();
    assert_eq!((file["kind"].as_str(), file["private_key"].as_bool(), file["mode"].as_u64()), (Some("certificate"), Some(true), Some(0o600)));
    let read = s.get(&format!("/api/v1/clusters/{a}/files/certs/www.pem"), &admin).await;
    assert_eq!(read.status, 403);
    no_key(&read.text);
    let response = s.request(Method::GET, &format!("/api/v1/clusters/{a}/bundle"), Some(&admin)).send().await.unwrap();
    assert_eq!(response.headers()["x-fleet-withheld"], "certs/www.pem");
    let archive = response.bytes().await.unwrap();
    assert!(!archive.windows(11).any(|w| w == b"PRIVATE KEY"));
    // The agent of the cluster gets the combined file: certificate, chain, key.
    let agent = s.agent(&admin, a, "n1").await;
    s.post(&format!("/api/v1/clusters/{a}/apply"), &admin, json!({"version": 2})).await.expect(200);
    let desired = s.get("/api/v1/agent/desired", &agent).await.expect(200);
    let state: fleet_core::wire::DesiredState = serde_json::from_value(desired).unwrap();
    let bundle = state.bundle().unwrap();
    let combined = bundle.file(&fleet_core::bundle::BundlePath::new("certs/www.pem").unwrap()).unwrap().text().unwrap().to_string();
    assert!(combined.starts_with(leaf.cert_pem.trim_end()), "{combined}");
    assert_eq!(combined.matches("-----BEGIN CERTIFICATE-----").count(), 2);
    assert!(combined.trim_end().ends_with("-----END PRIVATE KEY-----"));

    // Replace: a new version in every cluster using it.
    s.post(&format!("/api/v1/certificates/{id}/deploy"), &admin, json!({"cluster_id": b, "path": "tls/www.pem"})).await.expect(201);
    let renewed = pki.leaf(&["www.example.test"], t - DAY, t + 90 * DAY);
    let body = json!({"certificate": format!("{}{}", renewed.cert_pem, pki.chain_pem()), "private_key": renewed.key_pem});
    let reply = s.put(&format!("/api/v1/certificates/{id}"), &admin, body).await;
    no_key(&reply.text);
    let replaced = reply.expect(200);
    assert_eq!(replaced["revision"], 2);
    let mut versions: Vec<(i64, i64)> = replaced["rollouts"].as_array().unwrap().iter().map(|r| (r["cluster_id"].as_i64().unwrap(), r["version"].as_i64().unwrap())).collect();
    versions.sort();
    let mut expected = [(a, 3), (b, 3)];
    expected.sort();
    assert_eq!(versions, expected);

    // What the node serves: reported in its heartbeat, compared in the status.
    let sha1 = replaced["fingerprint_sha1"].as_str().unwrap().to_string();
    let heartbeat = json!({"certificates": [{"filename": "/etc/haproxy/certs/www.pem", "sha1": cert["fingerprint_sha1"], "serial": cert["serial"]}]});
    s.send(s.request(Method::POST, "/api/v1/agent/heartbeat", Some(&agent)).json(&heartbeat)).await.expect(200);
    let status = s.get(&format!("/api/v1/certificates/{id}/status"), &admin).await;
    no_key(&status.text);
    let status = status.expect(200);
    assert_eq!(status["days_left"], 89);
    assert_eq!(status["warning"], Value::Null);
    let in_a = status["deployments"].as_array().unwrap().iter().find(|d| d["cluster_id"] == a).unwrap();
    let node = &in_a["nodes"][0];
    assert_eq!((node["agent"].as_str(), node["current"].as_bool()), (Some("n1"), Some(false)), "the node serves the old certificate");
    assert_ne!(node["sha1"], json!(sha1));

    // The expiry gauge.
    let metrics = s.send(s.request(Method::GET, "/metrics", None)).await.text;
    assert!(metrics.contains(&format!("fleet_certificate_expiry_timestamp_seconds{{certificate=\"www\",cluster=\"a\"}} {}", (t + 90 * DAY) / 1000)), "{metrics}");

    // Delete: 409 while deployed; undeploy, then 204.
    let refused = s.delete(&format!("/api/v1/certificates/{id}"), &admin).await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    for (cluster, path) in [(a, "certs/www.pem"), (b, "tls/www.pem")] {
        s.post(&format!("/api/v1/certificates/{id}/undeploy"), &admin, json!({"cluster_id": cluster, "path": path})).await.expect(200);
    }
    assert_eq!(s.delete(&format!("/api/v1/certificates/{id}"), &admin).await.status, 204);
    assert_eq!(s.get(&format!("/api/v1/certificates/{id}"), &admin).await.status, 404);
    let audit = s.get("/api/v1/audit?limit=100", &admin).await.expect(200);
    let actions: Vec<&str> = audit.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    for action in ["certificate.create", "certificate.deploy", "certificate.replace", "certificate.undeploy", "certificate.delete"] {
        assert!(actions.contains(&action), "{action}: {actions:?}");
    }
}
