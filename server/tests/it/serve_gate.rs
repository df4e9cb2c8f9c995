//! `fleet serve --haproxy-bin`: the gate is never stricter than HAProxy (issue 10, acceptance
//! 2). Import, replace and commit run the offline check; on errors the server asks `haproxy -c`,
//! whose verdict decides: accepted, the version is created and the offline errors come back as
//! warnings; rejected, 422 with HAProxy's diagnostics at line and column.

use serde_json::json;

use crate::serve_support::start_on;
use crate::support::{haproxy_bin, Scratch};

/// What the offline check cannot know: which section line 18 belongs to depends on whether
/// HAProxy's environment defines `FLEET_DEBUG_PORT` (unset: `backend app`, and HAProxy 2.6
/// accepts; set: `frontend debug`, which refuses `server`).
const ENV_DEPENDENT: &str = "defaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\n\
    frontend www\n    bind 127.0.0.1:18080\n    default_backend app\n\nbackend app\n    balance roundrobin\n\
    .if defined(FLEET_DEBUG_PORT)\nfrontend debug\n    bind 127.0.0.1:18081\n    default_backend app\n.endif\n\
    \x20   server s1 127.0.0.1:8080\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn haproxy_decides_imports_replaces_and_commits() {
    let Some(haproxy) = haproxy_bin() else { return };
    let offline_flags = haproxy_parse::check(ENV_DEPENDENT).diagnostics.iter().any(|d| d.is_error());

    // Without --haproxy-bin the offline check alone decides.
    let plain = start_on(None, &[]);
    let admin = plain.admin().await;
    let id = plain.cluster(&admin, "edge").await;
    let reply = plain.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, ENV_DEPENDENT).await;
    if offline_flags {
        assert_eq!(reply.expect(422)["error"]["line"], 18);
    }
    drop(plain);

    let s = start_on(None, &["--haproxy-bin", haproxy.to_str().unwrap(), "--haproxy-arg=-dr"]);
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    let imported = s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, ENV_DEPENDENT).await.expect(201);
    assert_eq!(imported["version"], 1);
    let warnings = imported["warnings"].as_array().unwrap();
    assert!(warnings.iter().all(|w| w["severity"] == "warning"), "{warnings:?}");
    if offline_flags {
        let at_18 = warnings.iter().find(|w| w["position"]["line"] == 18).unwrap();
        assert!(at_18["message"].as_str().unwrap().ends_with("(haproxy -c accepts the configuration)"), "{at_18}");
    }
    assert_eq!(s.get(&format!("/api/v1/clusters/{id}/config"), &admin).await.text, ENV_DEPENDENT);

    // Whole-text replace, then a transaction commit: the same gate.
    let replaced = ENV_DEPENDENT.replace("roundrobin", "leastconn");
    let reply = s.put_text(&format!("/api/v1/clusters/{id}/config?version=1"), &admin, &replaced).await.expect(200);
    assert_eq!(reply["version"], 2);
    let tx = s.post(&format!("/api/v1/clusters/{id}/transactions?version=2"), &admin, json!(null)).await.expect(201);
    let tid = tx["id"].as_i64().unwrap();
    let path = format!("/api/v1/clusters/{id}/backends/app/servers?transaction_id={tid}");
    s.post(&path, &admin, json!({"name": "s2", "address": "127.0.0.1:8081", "params": []})).await.expect(201);
    let committed = s.put(&format!("/api/v1/clusters/{id}/transactions/{tid}"), &admin, json!(null)).await.expect(200);
    assert_eq!(committed["version"], 3);

    // Both refuse an unknown keyword: 422 with HAProxy's diagnostic first, at line 13.
    let bad = ENV_DEPENDENT.replace("    balance roundrobin\n", "    balance roundrobin\n    frobnicate on\n");
    let reply = s.put_text(&format!("/api/v1/clusters/{id}/config?version=3"), &admin, &bad).await;
    let error = &reply.expect(422)["error"];
    assert_eq!((error["line"].as_u64(), error["column"].as_u64()), (Some(13), Some(5)), "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(message.starts_with("haproxy -c rejected the configuration: first at line 13, column 5: unknown keyword 'frobnicate'"), "{message}");
    assert!(error["diagnostics"][0]["message"].as_str().unwrap().starts_with("haproxy: "), "{error}");
    let versions = s.get(&format!("/api/v1/clusters/{id}/versions"), &admin).await.expect(200);
    assert_eq!(versions.as_array().unwrap().len(), 3, "a refused replace creates no version");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_environment_haproxy_runs_in_decides() {
    let Some(haproxy) = haproxy_bin() else { return };
    // The same file, judged by a HAProxy whose environment defines FLEET_DEBUG_PORT: line 18
    // now sits in `frontend debug`, and HAProxy refuses it.
    let dir = Scratch::new();
    let wrapper = dir.file("haproxy-debug-port", format!("#!/bin/sh\nFLEET_DEBUG_PORT=1 exec {} \"$@\"\n", haproxy.display()));
    std::fs::set_permissions(&wrapper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let s = start_on(None, &["--haproxy-bin", &wrapper]);
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    let reply = s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, ENV_DEPENDENT).await;
    let error = &reply.expect(422)["error"];
    assert_eq!((error["line"].as_u64(), error["column"].as_u64()), (Some(18), Some(5)), "{error}");
    assert!(error["message"].as_str().unwrap().contains("has no backend capability"), "{error}");
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
