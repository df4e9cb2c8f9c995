//! `fleet serve --haproxy-bin`: the gate is never stricter than HAProxy (issue 10, acceptance
//! 2). Import, replace and commit run the offline check; on errors the server asks `haproxy -c`,
//! whose verdict decides: accepted, the version is created and the offline errors come back as
//! warnings; rejected, 422 with HAProxy's diagnostics at line and column.

use serde_json::json;

use crate::serve_support::start_on;
use crate::support::{haproxy_bin, Scratch};

/// What the offline check cannot know: the other files the node's HAProxy loads. Line 9 names
/// a backend defined in `API_FILE` (loaded with `-f`, as `-f haproxy.cfg -f conf.d/` would):
/// the offline check, seeing this text alone, flags it; HAProxy 2.6 with both files accepts it.
const SPLIT: &str = "defaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\nfrontend www\n    bind 127.0.0.1:18080\n    default_backend api\n\nbackend app\n    balance roundrobin\n    server s1 127.0.0.1:8080\n";

/// The other file, with its own defaults.
const API_FILE: &str = "defaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\nbackend api\n    server a1 127.0.0.1:8081\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn haproxy_decides_imports_replaces_and_commits() {
    let Some(haproxy) = haproxy_bin() else { return };
    assert!(haproxy_parse::check(SPLIT).diagnostics.iter().any(|d| d.is_error()), "the offline check flags line 9");
    let dir = Scratch::new();
    let api = dir.file("api.cfg", API_FILE);

    // Without --haproxy-bin the offline check alone decides.
    let plain = start_on(None, &[]);
    let admin = plain.admin().await;
    let id = plain.cluster(&admin, "edge").await;
    let reply = plain.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, SPLIT).await;
    assert_eq!(reply.expect(422)["error"]["line"], 9);
    drop(plain);

    let api_arg = format!("--haproxy-arg={api}");
    let s = start_on(None, &["--haproxy-bin", haproxy.to_str().unwrap(), "--haproxy-arg=-f", &api_arg]);
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    let imported = s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, SPLIT).await.expect(201);
    assert_eq!(imported["version"], 1);
    let warnings = imported["warnings"].as_array().unwrap();
    assert!(warnings.iter().all(|w| w["severity"] == "warning"), "{warnings:?}");
    let at_9 = warnings.iter().find(|w| w["position"]["line"] == 9).unwrap();
    assert!(at_9["message"].as_str().unwrap().ends_with("(haproxy -c accepts the configuration)"), "{at_9}");
    assert_eq!(s.get(&format!("/api/v1/clusters/{id}/config"), &admin).await.text, SPLIT);

    // Whole-text replace, then a transaction commit: the same gate.
    let replaced = SPLIT.replace("roundrobin", "leastconn");
    let reply = s.put_text(&format!("/api/v1/clusters/{id}/config?version=1"), &admin, &replaced).await.expect(200);
    assert_eq!(reply["version"], 2);
    let tx = s.post(&format!("/api/v1/clusters/{id}/transactions?version=2"), &admin, json!(null)).await.expect(201);
    let tid = tx["id"].as_i64().unwrap();
    let path = format!("/api/v1/clusters/{id}/backends/app/servers?transaction_id={tid}");
    s.post(&path, &admin, json!({"name": "s2", "address": "127.0.0.1:8081", "params": []})).await.expect(201);
    let committed = s.put(&format!("/api/v1/clusters/{id}/transactions/{tid}"), &admin, json!(null)).await.expect(200);
    assert_eq!(committed["version"], 3);

    // Both refuse an unknown keyword: 422 with HAProxy's diagnostic first, at line 13.
    let bad = SPLIT.replace("    balance roundrobin\n", "    balance roundrobin\n    frobnicate on\n");
    let reply = s.put_text(&format!("/api/v1/clusters/{id}/config?version=3"), &admin, &bad).await;
    let error = &reply.expect(422)["error"];
    assert_eq!((error["line"].as_u64(), error["column"].as_u64()), (Some(13), Some(5)), "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(message.starts_with("haproxy -c rejected the configuration: first at haproxy.cfg:13:5: unknown keyword 'frobnicate'"), "{message}");
    assert!(error["diagnostics"][0]["message"].as_str().unwrap().starts_with("haproxy: "), "{error}");
    let versions = s.get(&format!("/api/v1/clusters/{id}/versions"), &admin).await.expect(200);
    assert_eq!(versions.as_array().unwrap().len(), 3, "a refused replace creates no version");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_files_haproxy_loads_decide() {
    let Some(haproxy) = haproxy_bin() else { return };
    // The same file, judged by a HAProxy that does not load the other file: it refuses the
    // frontend whose default_backend is missing, and its verdict decides.
    let s = start_on(None, &["--haproxy-bin", haproxy.to_str().unwrap()]);
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    let reply = s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, SPLIT).await;
    let error = &reply.expect(422)["error"];
    assert_eq!((error["line"].as_u64(), error["column"].as_u64()), (Some(7), Some(10)), "{error}");
    assert!(error["message"].as_str().unwrap().contains("unable to find required default_backend: 'api'"), "{error}");
}

#[test]
fn a_haproxy_bin_that_does_not_run_stops_serve_before_it_listens() {
    let dir = Scratch::new();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_fleet"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .args(["--haproxy-bin", "/nonexistent/haproxy"])
        .env("FLEET_ADMIN_PASSWORD", "admin-password")
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("fleet: error: --haproxy-bin: cannot run /nonexistent/haproxy: "), "{stderr}");
    assert!(!String::from_utf8_lossy(&output.stdout).contains("listening on"));
}
