//! Resource limits and durable storage through the real `fleet serve` (issue 12 §4, §5): each
//! limit answers its 4xx naming the flag; a full disk answers 507 and writes resume once space
//! is freed, without a restart; a read-only or missing data directory stops the server at start
//! with the real cause; a NUL byte is refused at import with its offset.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use fleet_tests::{FleetServe, Tmpfs};
use reqwest::Method;
use serde_json::{json, Value};

use crate::serve_support::{start_on, Server, ADMIN_PASSWORD};

const CONFIG: &str = "global\n    maxconn 100\n\nbackend app\n    server web1 10.0.0.1:80\n";

fn op(value: &str) -> Value {
    json!({"op": "set_directive", "section": {"kind": "global"}, "keyword": "maxconn", "args": [value]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_and_ops_are_bounded() {
    let s = start_on(None, &["--max-open-transactions", "2", "--max-ops-per-transaction", "3"]);
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, CONFIG).await.expect(201);
    let begin = format!("/api/v1/clusters/{id}/transactions?version=1");
    let first = s.post(&begin, &admin, Value::Null).await.expect(201)["id"].as_i64().unwrap();
    s.post(&begin, &admin, Value::Null).await.expect(201);
    let refused = s.post(&begin, &admin, Value::Null).await;
    assert_eq!(refused.status, 429, "{}", refused.text);
    assert_eq!(refused.code(), "too_many");
    assert!(refused.json()["error"]["message"].as_str().unwrap().contains("--max-open-transactions"), "{}", refused.text);

    let ops = format!("/api/v1/clusters/{id}/transactions/{first}/ops");
    s.post(&ops, &admin, json!([op("200"), op("300")])).await.expect(200);
    let over = s.post(&ops, &admin, json!([op("400"), op("500")])).await;
    assert_eq!(over.status, 413, "{}", over.text);
    assert_eq!(over.code(), "too_large");
    assert!(over.text.contains("--max-ops-per-transaction"), "{}", over.text);
    s.post(&ops, &admin, op("400")).await.expect(200);

    // A discarded transaction frees its place.
    s.delete(&format!("/api/v1/clusters/{id}/transactions/{first}"), &admin).await.expect(204);
    s.post(&begin, &admin, Value::Null).await.expect(201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_bodies_are_bounded_but_uploads_may_be_large() {
    let s = start_on(None, &["--max-body-bytes", "1024", "--max-upload-bytes", "200000"]);
    let admin = s.admin().await;
    let big_name = "p".repeat(2000);
    let refused = s.post("/api/v1/pools", &admin, json!({"name": big_name})).await;
    assert_eq!(refused.status, 413, "{}", refused.text);
    assert_eq!(refused.code(), "payload_too_large");
    assert!(refused.text.contains("--max-body-bytes") && refused.text.contains("1024"), "{}", refused.text);

    let id = s.cluster(&admin, "edge").await;
    let big = CONFIG.to_string() + &"    # padding\n".repeat(5_000);
    assert!(big.len() > 50_000);
    s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, &big).await.expect(201);
    s.put_text(&format!("/api/v1/clusters/{id}/config?version=1"), &admin, &(big.clone() + "# v2\n")).await.expect(200);
    let too_big = CONFIG.to_string() + &"    # padding\n".repeat(20_000);
    let refused = s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, &too_big).await;
    assert_eq!(refused.status, 413, "{}", refused.text);
    assert!(refused.text.contains("--max-upload-bytes"), "{}", refused.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_polls_per_agent_are_bounded() {
    let s = start_on(None, &["--max-long-polls-per-agent", "2"]);
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    let agent = s.agent(&admin, id, "n1").await;
    let other = s.agent(&admin, id, "n2").await;
    let poll = |token: String| {
        let request = s.request(Method::GET, "/api/v1/agent/desired?wait=3", Some(&token));
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let waiting = [tokio::spawn(poll(agent.clone())), tokio::spawn(poll(agent.clone()))];
    tokio::time::sleep(Duration::from_millis(500)).await;
    let refused = s.get("/api/v1/agent/desired?wait=3", &agent).await;
    assert_eq!(refused.status, 429, "{}", refused.text);
    assert_eq!(refused.code(), "too_many");
    assert!(refused.text.contains("--max-long-polls-per-agent") && refused.text.contains("n1"), "{}", refused.text);
    // Another agent has its own slots.
    assert_eq!(poll(other).await, 304);
    for waiting in waiting {
        assert_eq!(waiting.await.unwrap(), 304);
    }
    // Slots come back when the polls end.
    assert_eq!(poll(agent).await, 304);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_bytes_are_refused_at_import_with_their_offset() {
    let s = start_on(None, &[]);
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    let refused = s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, &CONFIG.replace("maxconn 100", "maxconn 100\0")).await;
    let body = refused.expect(422);
    assert_eq!((body["error"]["line"].as_u64(), body["error"]["column"].as_u64()), (Some(2), Some(16)));
    assert!(refused.text.contains("NUL byte at byte offset 22"), "{}", refused.text);
    assert_eq!(s.get(&format!("/api/v1/clusters/{id}/versions"), &admin).await.expect(200), json!([]));
}

/// `fleet serve --data DATA ARGS` expected to stop before listening: its exit code and stderr.
fn failed_start(data: &Path, args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_fleet"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .args(args)
        .env("FLEET_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains("listening on"), "it started: {stdout}");
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn read_only_or_missing_data_dir_stops_the_start_with_its_cause() {
    let scratch = std::env::temp_dir().join(fleet_tests::unique_name("fleet-missing-"));
    let missing = scratch.join("nope").join("fleet.db");
    let (code, stderr) = failed_start(&scratch, &["--database", &format!("sqlite://{}", missing.display())]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("does not exist") && stderr.contains("nope"), "{stderr}");
    let _ = std::fs::remove_dir_all(&scratch);

    let Some(fs) = Tmpfs::mount("4m") else { return };
    fs.read_only();
    let (code, stderr) = failed_start(fs.path(), &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("Read-only file system"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_507_and_writes_resume_without_a_restart() {
    let Some(fs) = Tmpfs::mount("3m") else { return };
    let process = FleetServe::start(Path::new(env!("CARGO_BIN_EXE_fleet")), "127.0.0.1:0", Some(fs.path()), ADMIN_PASSWORD, ["--grace-seconds", "1"]);
    let s = Server { base: process.base.clone(), process, client: reqwest::Client::new(), database: None };
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    let import = format!("/api/v1/clusters/{id}/import");
    let text = |n: usize| {
        let servers: String = (0..400).map(|i| format!("    server s{i} 10.0.{}.{}:80 # {n:060}\n", i / 250, i % 250)).collect();
        format!("global\n    maxconn {n}\n\nbackend app\n{servers}")
    };
    let filler = fs.fill("filler");

    let mut acknowledged = Vec::new();
    let mut full = 0;
    for n in 1..40 {
        let reply = s.post_text(&import, &admin, &text(n)).await;
        match reply.status.as_u16() {
            201 => acknowledged.push((reply.json()["version"].as_i64().unwrap(), n)),
            507 => {
                assert_eq!(reply.code(), "storage_full", "{}", reply.text);
                full += 1;
            }
            other => panic!("a full disk must answer 507, got {other}: {}", reply.text),
        }
        if full >= 6 {
            break;
        }
    }
    assert!(full >= 6, "the disk never filled up");
    // Reads still work.
    s.get(&format!("/api/v1/clusters/{id}/versions"), &admin).await.expect(200);

    std::fs::remove_file(filler).unwrap();
    for n in 100..110 {
        let reply = s.post_text(&import, &admin, &text(n)).await;
        acknowledged.push((reply.expect(201)["version"].as_i64().unwrap(), n));
    }
    // Other kinds of writes too (every pooled connection is usable again).
    let latest = acknowledged.last().unwrap().0;
    s.post(&format!("/api/v1/clusters/{id}/transactions?version={latest}"), &admin, Value::Null).await.expect(201);
    s.post("/api/v1/pools", &admin, json!({"name": "after"})).await.expect(201);
    for (number, n) in acknowledged {
        let reply = s.get(&format!("/api/v1/clusters/{id}/config?version={number}"), &admin).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.text, text(n), "version {number}");
    }
    drop(s);
}
