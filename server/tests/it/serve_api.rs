//! `fleet serve` acceptance: authentication, pools and clusters, lossless import, transactions
//! of typed edits, stale versions, diff, restore, bad imports, body limits.

use reqwest::Method;
use serde_json::json;

use crate::serve_support::{start, Db};

/// Written the way people write configs: tabs, odd spacing, comments, quoting, CRLF, blank lines.
const CONFIG: &str = "# edge proxy\r\nglobal\r\n\tmaxconn 4096   # per process\r\n\tlog stdout format raw local0\r\n\r\n\
defaults\r\n    mode http\r\n    timeout connect 5s\r\n    timeout client 30s\r\n    timeout server 30s\r\n\r\n\
frontend web\r\n    bind :8080\r\n    acl is_api path_beg \"/api\"\r\n    use_backend app if is_api\r\n    default_backend app\r\n\r\n\
backend app   # the app servers\r\n    balance roundrobin\r\n    server s1 10.0.0.1:80 check\r\n    server s2 10.0.0.2:80 check weight 5\r\n";

crate::serve_tests!(
    authentication,
    config_lifecycle,
    bad_import_names_the_line,
    typed_reads_and_writes,
    diff_reports_reordered_rules,
);

async fn authentication(db: Db) {
    let Some(s) = start(db).await else { return };
    let health = s.send(s.request(Method::GET, "/api/v1/health", None)).await;
    assert_eq!(health.expect(200)["status"], "ok");

    let anonymous = s.send(s.request(Method::GET, "/api/v1/pools", None)).await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.code(), "unauthorized");
    let bogus = s.get("/api/v1/pools", "fs_0000").await;
    assert_eq!(bogus.status, 401);

    let wrong = s.send(s.request(Method::POST, "/api/v1/auth/login", None).json(&json!({"username": "admin", "password": "nope-nope"}))).await;
    assert_eq!(wrong.status, 401);
    let malformed = s.send(s.request(Method::POST, "/api/v1/auth/login", None).body("{").header("content-type", "application/json")).await;
    assert_eq!(malformed.status, 400);
    assert_eq!(malformed.code(), "bad_request");

    let token = s.admin().await;
    s.get("/api/v1/pools", &token).await.expect(200);
    s.send(s.request(Method::POST, "/api/v1/auth/logout", Some(&token))).await.expect(204);
    assert_eq!(s.get("/api/v1/pools", &token).await.status, 401, "a logged-out session is dead");

    let unknown = s.get("/api/v1/nowhere", &s.admin().await).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.code(), "no_route");

    // Invented methods are answered and counted under one label.
    let brew = s.send(s.request(Method::from_bytes(b"BREW").unwrap(), "/api/v1/health", None)).await;
    assert_eq!((brew.status.as_u16(), brew.code().as_str()), (405, "method_not_allowed"));
    let metrics = s.send(s.request(Method::GET, "/metrics", None)).await.text;
    assert!(metrics.contains("method=\"OTHER\",route=\"/api/v1/health\",status=\"405\""), "{metrics}");
    assert!(!metrics.contains("BREW"));
}

async fn config_lifecycle(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;

    // Import: the text comes back byte for byte.
    let imported = s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, CONFIG).await.expect(201);
    assert_eq!(imported["version"], 1);
    let back = s.get(&format!("/api/v1/clusters/{id}/config"), &admin).await;
    assert_eq!(back.status, 200);
    assert_eq!(back.text, CONFIG);

    // A transaction adding one server adds exactly one line.
    let tx = s.post(&format!("/api/v1/clusters/{id}/transactions?version=1"), &admin, json!(null)).await.expect(201);
    let tid = tx["id"].as_i64().unwrap();
    let staged = s
        .post(
            &format!("/api/v1/clusters/{id}/backends/app/servers?transaction_id={tid}"),
            &admin,
            json!({"name": "s3", "address": "10.0.0.3:80", "params": ["check"]}),
        )
        .await
        .expect(201);
    assert_eq!(staged["ops"].as_array().unwrap().len(), 1);
    // A second transaction on the same base, to lose the race later.
    let loser = s.post(&format!("/api/v1/clusters/{id}/transactions?version=1"), &admin, json!(null)).await.expect(201);
    let committed = s.put(&format!("/api/v1/clusters/{id}/transactions/{tid}?message=add%20s3"), &admin, json!(null)).await.expect(200);
    assert_eq!(committed["version"], 2);
    let v2 = s.get(&format!("/api/v1/clusters/{id}/config"), &admin).await.text;
    let old: Vec<&str> = CONFIG.split_inclusive('\n').collect();
    let new: Vec<&str> = v2.split_inclusive('\n').collect();
    assert_eq!(new.len(), old.len() + 1);
    let added: Vec<&&str> = new.iter().filter(|l| !old.contains(l)).collect();
    assert_eq!(added, [&"    server s3 10.0.0.3:80 check\r\n"]);

    // Stale versions: beginning at 1 now, replacing at 1, committing the loser.
    let stale = s.post(&format!("/api/v1/clusters/{id}/transactions?version=1"), &admin, json!(null)).await;
    assert_eq!((stale.status.as_u16(), stale.code().as_str()), (409, "outdated"));
    let stale_put = s.put_text(&format!("/api/v1/clusters/{id}/config?version=1"), &admin, CONFIG).await;
    assert_eq!(stale_put.status, 409);
    let lost = s.put(&format!("/api/v1/clusters/{id}/transactions/{}", loser["id"]), &admin, json!(null)).await;
    assert_eq!(lost.status, 409);
    // ... and a transaction of another cluster is not found through this one.
    let other = s.cluster(&admin, "other").await;
    let foreign = s.get(&format!("/api/v1/clusters/{other}/transactions/{tid}"), &admin).await;
    assert_eq!(foreign.status, 404);

    // Diff.
    let diff = s.get(&format!("/api/v1/clusters/{id}/versions/2/diff?against=1"), &admin).await.expect(200);
    let unified = diff["unified"].as_str().unwrap();
    assert!(unified.contains("+    server s3 10.0.0.3:80 check"), "{unified}");
    assert_eq!(unified.lines().filter(|l| l.starts_with('+') && !l.starts_with("+++")).count(), 1);
    assert_eq!(diff["summary"][0]["section"], "backend app");
    assert_eq!(diff["summary"][0]["directives"][0]["directive"], "server s3");

    // Absurd version numbers are plain 404s.
    let absurd = s.get(&format!("/api/v1/clusters/{id}/versions/{}/diff", i64::MIN), &admin).await;
    assert_eq!(absurd.status, 404);

    // Restore makes version 3 with version 1's text.
    let restored = s.post(&format!("/api/v1/clusters/{id}/versions/1/restore"), &admin, json!(null)).await.expect(201);
    assert_eq!(restored["version"], 3);
    assert_eq!(s.get(&format!("/api/v1/clusters/{id}/config"), &admin).await.text, CONFIG);
    assert_eq!(s.get(&format!("/api/v1/clusters/{id}/config?version=2"), &admin).await.text, v2);
    let versions = s.get(&format!("/api/v1/clusters/{id}/versions"), &admin).await.expect(200);
    assert_eq!(versions.as_array().unwrap().iter().map(|v| v["number"].as_i64().unwrap()).collect::<Vec<_>>(), [1, 2, 3]);

    // Whole-text replace at the latest version.
    let replaced = s.put_text(&format!("/api/v1/clusters/{id}/config?version=3"), &admin, &v2).await.expect(200);
    assert_eq!(replaced["version"], 4);

    // The audit log saw it all.
    let audit = s.get(&format!("/api/v1/audit?cluster_id={id}"), &admin).await.expect(200);
    // An integral decimal is the integer in a query too, as JSON Schema counts it.
    assert_eq!(s.get(&format!("/api/v1/audit?cluster_id={id}.0"), &admin).await.expect(200), audit);
    // A parameter the route does not know is refused, naming it, rather than silently ignored
    // (a typo such as `?clusterid=` would otherwise read the whole fleet's audit).
    let unknown = s.get(&format!("/api/v1/audit?clusterid={id}"), &admin).await;
    assert_eq!(unknown.status.as_u16(), 400, "{}", unknown.text);
    assert!(unknown.text.contains("clusterid"), "{}", unknown.text);
    assert_eq!(s.get(&format!("/api/v1/events?kinds=audit&x={id}"), &admin).await.status.as_u16(), 400);
    let actions: Vec<&str> = audit.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in ["version.import", "transaction.begin", "version.restore", "version.replace"] {
        assert!(actions.contains(&action), "{action} missing from {actions:?}");
    }
    let metrics = s.send(s.request(Method::GET, "/metrics", None)).await.text;
    assert!(metrics.contains("fleet_versions_committed_total 4\n"), "{metrics}");
    assert!(metrics.contains("route=\"/api/v1/clusters/{id}/config\",status=\"200\""), "{metrics}");
}

async fn bad_import_names_the_line(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    let bad = "global\n    maxconn 100\n\nbackend app\n    server s1 10.0.0.1:80\n    balance no-such-algorithm\n";
    let reply = s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, bad).await;
    assert!(reply.status.is_client_error(), "{reply:?}");
    let error = &reply.json()["error"];
    assert_eq!(error["code"], "invalid");
    assert_eq!(error["line"], 6, "{error}");
    assert!(error["column"].as_u64().unwrap() >= 1);
    assert!(error["message"].as_str().unwrap().contains("haproxy.cfg:6:"), "{error}");
    assert_eq!(error["file"], "haproxy.cfg", "{error}");
    let versions = s.get(&format!("/api/v1/clusters/{id}/versions"), &admin).await.expect(200);
    assert_eq!(versions, json!([]), "a refused import creates no version");
    assert_eq!(s.get(&format!("/api/v1/clusters/{id}/config"), &admin).await.status, 404);

    // Imports may be as large as a bundle (the upload limit, tested in serve_limits); a 9 MiB
    // text that is no configuration is judged, refused, and leaves no version.
    let huge = "#".repeat(9 * 1024 * 1024);
    let refused = s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, &huge).await;
    assert_eq!((refused.status.as_u16(), refused.code().as_str()), (422, "invalid"), "{}", &refused.text[..refused.text.len().min(300)]);
    assert_eq!(s.get(&format!("/api/v1/clusters/{id}/versions"), &admin).await.expect(200), json!([]));
}

async fn typed_reads_and_writes(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, CONFIG).await.expect(201);
    let base = format!("/api/v1/clusters/{id}");

    let servers = s.get(&format!("{base}/backends/app/servers"), &admin).await.expect(200);
    assert_eq!(servers.as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect::<Vec<_>>(), ["s1", "s2"]);
    let s2 = s.get(&format!("{base}/backends/app/servers/s2"), &admin).await.expect(200);
    assert_eq!(s2["line"], 21);
    assert_eq!(s.get(&format!("{base}/backends/nope"), &admin).await.status, 404);
    let frontends = s.get(&format!("{base}/frontends"), &admin).await.expect(200);
    assert_eq!(frontends[0]["name"], "web");
    assert_eq!(s.get(&format!("{base}/frontends/web/acls"), &admin).await.expect(200)[0]["name"], "is_api");

    // Writes need a transaction.
    let missing = s.post(&format!("{base}/backends"), &admin, json!({"name": "b"})).await;
    assert_eq!((missing.status.as_u16(), missing.code().as_str()), (400, "bad_request"));

    let tid = s.post(&format!("{base}/transactions?version=1"), &admin, json!(null)).await.expect(201)["id"].as_i64().unwrap();
    let q = format!("transaction_id={tid}");
    s.post(&format!("{base}/backends?{q}"), &admin, json!({"name": "api", "lines": ["balance leastconn"]})).await.expect(201);
    s.post(&format!("{base}/backends/api/servers?{q}"), &admin, json!({"name": "a1", "address": "10.1.0.1:80"})).await.expect(201);
    s.put(&format!("{base}/backends/app/servers/s2?{q}"), &admin, json!({"weight": 7})).await.expect(200);
    s.delete(&format!("{base}/backends/app/servers/s1?{q}"), &admin).await.expect(200);
    s.post(&format!("{base}/frontends/web/binds?{q}"), &admin, json!({"address": ":8443"})).await.expect(201);
    s.delete(&format!("{base}/frontends/web/binds/%3A8080?{q}"), &admin).await.expect(200);
    s.post(&format!("{base}/frontends/web/acls?{q}"), &admin, json!({"name": "is_v2", "words": ["path_beg", "/v2"]})).await.expect(201);
    s.post(&format!("{base}/frontends/web/rules?{q}"), &admin, json!({"words": ["use_backend", "api", "if", "is_v2"], "position": 0})).await.expect(201);
    // An op that does not apply is refused with a 422 and leaves the transaction as it was.
    let bad = s.delete(&format!("{base}/backends/app/servers/zz?{q}"), &admin).await;
    assert_eq!(bad.status, 422);
    let bad_body = s.post(&format!("{base}/backends/app/servers?{q}"), &admin, json!({"name": 5})).await;
    assert_eq!(bad_body.status, 422);

    // Reads inside the transaction see the staged state; the latest version does not.
    let inside = s.get(&format!("{base}/backends/app/servers?{q}"), &admin).await.expect(200);
    assert_eq!(inside.as_array().unwrap().len(), 1);
    assert_eq!(s.get(&format!("{base}/backends/app/servers"), &admin).await.expect(200).as_array().unwrap().len(), 2);
    assert_eq!(s.get(&format!("{base}/backends/api?{q}"), &admin).await.expect(200)["name"], "api");
    let rules = s.get(&format!("{base}/frontends/web/rules?{q}"), &admin).await.expect(200);
    assert_eq!(rules[0]["action"], "api");

    let committed = s.put(&format!("{base}/transactions/{tid}"), &admin, json!(null)).await.expect(200);
    assert_eq!(committed["version"], 2);
    let text = s.get(&format!("{base}/config"), &admin).await.text;
    assert!(text.contains("server s2 10.0.0.2:80 check weight 7\r\n"), "{text}");
    assert!(!text.contains("server s1 "), "{text}");
    assert!(text.contains("bind :8443\r\n") && !text.contains("bind :8080"), "{text}");
    assert!(text.contains("backend api"), "{text}");
    // Version 1 is still readable as it was.
    let at_v1 = s.get(&format!("{base}/backends/app/servers?version=1"), &admin).await.expect(200);
    assert_eq!(at_v1.as_array().unwrap().len(), 2);

    // A discarded transaction cannot be committed.
    let tid = s.post(&format!("{base}/transactions?version=2"), &admin, json!(null)).await.expect(201)["id"].as_i64().unwrap();
    s.delete(&format!("{base}/transactions/{tid}"), &admin).await.expect(204);
    let closed = s.put(&format!("{base}/transactions/{tid}"), &admin, json!(null)).await;
    assert_eq!(closed.status, 409);
}

/// Swapping two `http-request` rules (first match wins) is a behavioural change: the diff route
/// says so in the same `{unified, summary}` shape, with a `reordered` entry.
async fn diff_reports_reordered_rules(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    let rules = "    http-request deny if { path_beg /admin }\r\n    http-request allow if { path_beg /admin/health }\r\n";
    let swapped = "    http-request allow if { path_beg /admin/health }\r\n    http-request deny if { path_beg /admin }\r\n";
    let v1 = CONFIG.replace("    bind :8080\r\n", &format!("    bind :8080\r\n{rules}"));
    s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, &v1).await.expect(201);
    let v2 = v1.replace(rules, swapped);
    s.put_text(&format!("/api/v1/clusters/{id}/config?version=1"), &admin, &v2).await.expect(200);
    let diff = s.get(&format!("/api/v1/clusters/{id}/versions/2/diff"), &admin).await.expect(200);
    assert!(diff["unified"].as_str().unwrap().starts_with("--- version 1\n+++ version 2\n"), "{diff}");
    assert_eq!(diff["summary"][0]["change"], "changed");
    assert_eq!(diff["summary"][0]["section"], "frontend web");
    let entry = &diff["summary"][0]["directives"][0];
    assert_eq!((entry["change"].as_str(), entry["directive"].as_str()), (Some("reordered"), Some("http-request rules")));
    assert_eq!(diff["summary"][0]["directives"].as_array().unwrap().len(), 1, "{diff}");

    // Typed bodies: extra fields are ignored as before, a body that is not an object is a 400.
    let tid = s.post(&format!("/api/v1/clusters/{id}/transactions?version=2"), &admin, json!(null)).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    let q = format!("transaction_id={tid}");
    let body = json!({"name": "s3", "address": "10.0.0.3:80", "backend": "ignored", "note": 1});
    s.post(&format!("/api/v1/clusters/{id}/backends/app/servers?{q}"), &admin, body).await.expect(201);
    let s3 = s.get(&format!("/api/v1/clusters/{id}/backends/app/servers/s3?{q}"), &admin).await.expect(200);
    assert_eq!(s3["address"], "10.0.0.3:80");
    let not_object = s.post(&format!("/api/v1/clusters/{id}/backends/app/servers?{q}"), &admin, json!([1])).await;
    assert_eq!((not_object.status.as_u16(), not_object.code().as_str()), (400, "bad_request"));
}
