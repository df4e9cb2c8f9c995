//! The event stream (`GET /api/v1/events`) over HTTP: a subscriber sees a change (a pool made,
//! a version committed) as an `audit` event within a second, filtered by cluster and kind; the
//! stream needs a signed-in caller. An agent's drift and apply reports, and the alert firing and
//! resolving on them, reach a subscriber too.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::serve_support::{fresh_postgres, start, start_on, Db};

crate::serve_tests!(changes_stream_as_server_sent_events, reports_drift_and_alerts_reach_a_subscriber);

/// Reads the stream until an event whose JSON data satisfies `want`, 5 s at most: the events
/// seen up to it, as (event name, data).
pub(crate) async fn read_until(response: &mut reqwest::Response, buffer: &mut String, want: impl Fn(&str, &Value) -> bool) -> Vec<(String, Value)> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let name = block.lines().find_map(|l| l.strip_prefix("event: ").or_else(|| l.strip_prefix("event:"))).unwrap_or("message").to_string();
            let data: String = block.lines().filter_map(|l| l.strip_prefix("data: ").or_else(|| l.strip_prefix("data:"))).collect();
            if data.is_empty() {
                continue;
            }
            let value: Value = serde_json::from_str(&data).unwrap_or(Value::String(data));
            let done = want(&name, &value);
            seen.push((name, value));
            if done {
                return seen;
            }
        }
        let chunk = tokio::time::timeout_at(deadline, response.chunk()).await.expect("no such event within 5 s").unwrap().expect("the stream ended");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
    }
}

async fn changes_stream_as_server_sent_events(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    assert_eq!(s.send(s.request(Method::GET, "/api/v1/events", None)).await.status, 401);

    let mut all = s.request(Method::GET, "/api/v1/events", Some(&admin)).send().await.unwrap();
    assert_eq!(all.status(), 200);
    assert!(all.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let id = s.cluster(&admin, "edge").await;
    let mut only_edge = s.request(Method::GET, &format!("/api/v1/events?cluster_id={id}&kinds=audit"), Some(&admin)).send().await.unwrap();
    let other = s.cluster(&admin, "other").await;
    s.send(s.request(Method::POST, &format!("/api/v1/clusters/{other}/import"), Some(&admin)).body("defaults\n    mode tcp\n")).await.expect(201);
    s.send(s.request(Method::POST, &format!("/api/v1/clusters/{id}/import"), Some(&admin)).body("defaults\n    mode http\n")).await.expect(201);

    let mut buffer = String::new();
    let seen = read_until(&mut all, &mut buffer, |name, v| name == "audit" && v["data"]["action"] == "version.import" && v["cluster_id"] == id).await;
    assert!(seen.iter().any(|(n, v)| n == "audit" && v["data"]["action"] == "cluster.create"), "{seen:#?}");
    let at = seen.last().unwrap().1["at"].as_i64().unwrap();
    assert!(at > 0);

    let mut buffer = String::new();
    let seen = read_until(&mut only_edge, &mut buffer, |_, v| v["data"]["action"] == "version.import").await;
    assert!(seen.iter().all(|(_, v)| v["cluster_id"] == id || v["cluster_id"].is_null()), "only edge's events: {seen:#?}");
    assert!(!seen.iter().any(|(_, v)| v["cluster_id"] == other), "{seen:#?}");
}

async fn reports_drift_and_alerts_reach_a_subscriber(db: Db) {
    let database = match db {
        Db::Sqlite => None,
        Db::Postgres => match fresh_postgres().await {
            Some(url) => Some(url),
            None => return,
        },
    };
    let s = start_on(database, &["--alert-interval-ms", "200"]);
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    s.send(s.request(Method::POST, &format!("/api/v1/clusters/{id}/import"), Some(&admin)).body("defaults\n    mode http\n")).await.expect(201);
    s.post(&format!("/api/v1/clusters/{id}/apply"), &admin, json!({"version": 1})).await.expect(200);
    let agent = s.agent(&admin, id, "n1").await;
    let rule = s.post("/api/v1/alerts/rules", &admin, json!({"name": "failed", "condition": {"kind": "apply_failed"}})).await.expect(201);
    let mut events = s.request(Method::GET, "/api/v1/events", Some(&admin)).send().await.unwrap();
    assert_eq!(events.status(), 200);
    // The feed reads from when someone listens: let it see this subscriber first.
    tokio::time::sleep(Duration::from_millis(700)).await;

    let drift = json!({"files": [{"path": "haproxy.cfg", "diff": "-    mode http\n+    mode tcp\n"}]});
    s.post("/api/v1/agent/heartbeat", &agent, json!({"facts": {}, "drift": drift})).await.expect(200);
    s.post("/api/v1/agent/report", &agent, json!({"version": 1, "outcome": "rejected", "error": "[ALERT] bad"})).await.expect(200);
    let mut buffer = String::new();
    let seen = read_until(&mut events, &mut buffer, |name, v| name == "alert" && v["data"]["state"] == "firing").await;
    let drifted = seen.iter().find(|(n, v)| n == "audit" && v["data"]["action"] == "agent.drift").unwrap_or_else(|| panic!("no drift event: {seen:#?}"));
    assert_eq!(drifted.1["cluster_id"], id);
    assert!(drifted.1["data"]["details"].to_string().contains("haproxy.cfg"), "{drifted:#?}");
    let report = seen.iter().find(|(n, v)| n == "audit" && v["data"]["action"] == "agent.report").unwrap_or_else(|| panic!("no report event: {seen:#?}"));
    assert_eq!((report.1["cluster_id"].as_i64(), report.1["data"]["actor"].as_str()), (Some(id), Some("agent:n1")), "{report:#?}");
    let fired = &seen.last().unwrap().1;
    assert_eq!((fired["kind"].as_str(), fired["data"]["rule_id"].as_i64()), (Some("alert"), rule["id"].as_i64()), "{fired:#}");
    assert!(fired["data"]["summary"].as_str().unwrap().contains("rejected"), "{fired:#}");

    // It applies: the report, then the alert resolving.
    s.post("/api/v1/agent/report", &agent, json!({"version": 1, "outcome": "applied"})).await.expect(200);
    let seen = read_until(&mut events, &mut buffer, |name, v| name == "alert" && v["data"]["state"] == "resolved").await;
    assert!(seen.iter().any(|(n, v)| n == "audit" && v["data"]["action"] == "agent.report" && v["data"]["details"].to_string().contains("applied")), "{seen:#?}");
    let resolved = &seen.last().unwrap().1;
    assert_eq!(resolved["data"]["rule_id"].as_i64(), rule["id"].as_i64(), "{resolved:#}");
}
