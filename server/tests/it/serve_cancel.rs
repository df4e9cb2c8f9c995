//! Writes cut off by their client leave nothing behind: an agent killed while it reports, or a
//! client that gives up, must not leave a database connection inside a transaction (which made
//! every later write on it fail with a 500 and held SQLite's write lock).

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::serve_support::{start, Db};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_abandoned_by_their_clients_leave_no_transaction_open() {
    let Some(s) = start(Db::Sqlite).await else { return };
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    let agent = s.agent(&admin, id, "lb1").await;
    // Large versions keep the write lock long enough for other writers to queue behind it.
    let big = fleet_tests::large_config(2_000, 5);
    s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, &big).await.expect(201);

    let mut tasks = Vec::new();
    for i in 0..120u64 {
        let impatient = reqwest::Client::builder().timeout(Duration::from_millis(1 + i % 25)).build().unwrap();
        let (url, token) = if i % 3 == 0 {
            (s.url(&format!("/api/v1/clusters/{id}/import")), admin.clone())
        } else {
            (s.url("/api/v1/agent/heartbeat"), agent.clone())
        };
        let body = if i % 3 == 0 { big.replace("maxconn 500", &format!("maxconn {}", 500 + i)) } else { String::new() };
        tasks.push(tokio::spawn(async move {
            let request = impatient.request(Method::POST, url).bearer_auth(token);
            let request = if body.is_empty() {
                request.json(&json!({"facts": {"haproxy": "2.6.12"}}))
            } else {
                request.header("content-type", "text/plain").body(body)
            };
            let _ = request.send().await;
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }

    // Every later write works: none lands on a connection left inside a transaction.
    for n in 0..10 {
        let reply = s.post("/api/v1/agent/heartbeat", &agent, json!({"facts": {"n": n}})).await;
        assert_eq!(reply.status.as_u16(), 200, "heartbeat {n}: {}", reply.text);
        if n % 3 != 0 {
            continue;
        }
        let text = big.replace("maxconn 500", &format!("maxconn {}", 9_000 + n));
        let reply = s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, &text).await;
        assert_eq!(reply.status.as_u16(), 201, "import {n}: {}", reply.text);
    }
}
