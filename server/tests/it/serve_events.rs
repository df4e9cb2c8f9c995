//! The event stream (`GET /api/v1/events`) over HTTP: a subscriber sees a change (a pool made,
//! a version committed) as an `audit` event within a second, filtered by cluster and kind; the
//! stream needs a signed-in caller.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::serve_support::{start, Db};

crate::serve_tests!(changes_stream_as_server_sent_events);

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
