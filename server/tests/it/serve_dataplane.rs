//! The Data Plane API (v3) compatibility surface against a real `fleet serve`: HTTP Basic with
//! fleet users and their pool scope, upstream's error shape, `info`, the configuration version,
//! `raw`, transactions, backends and servers written losslessly (the version diff holds exactly
//! the lines the calls add or change, comments and order elsewhere intact), and commits that
//! answer with what the cluster's nodes made of them; servers of peers sections and rings, binds
//! of log-forward sections, a fcgi-app's ACLs, runtime adds and deletes as versions, and runtime
//! map entries as versions changing only their lines of the map file.

use reqwest::Method;
use serde_json::{json, Value};

use crate::serve_support::{fresh_postgres, start, start_on, Db, Reply, Server, ADMIN_PASSWORD};

crate::serve_tests!(basic_auth_and_errors, backends_and_servers_losslessly, raw_and_transactions, commits_tell_what_nodes_did, rules_binds_and_global, sections_created_and_deleted, other_parents_and_runtime_adds, runtime_maps_edit_only_their_lines);

const BASE: &str = "# edge config\nglobal\n    maxconn 4000   # tuned\n\ndefaults\n    mode http\n    timeout connect 5s\n\nfrontend www\n    bind :8080\n    default_backend app\n\nbackend app\n    # web tier\n    balance roundrobin\n    server web1 10.0.0.1:80 check inter 2s   # first\n";

async fn dp(s: &Server, method: Method, path: &str, auth: (&str, &str), body: Option<Value>) -> (Reply, reqwest::header::HeaderMap) {
    let mut request = s.client.request(method, s.url(&format!("/dataplane{path}"))).basic_auth(auth.0, Some(auth.1));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let headers = response.headers().clone();
    let status = response.status();
    (Reply { status, text: response.text().await.unwrap() }, headers)
}

const ADMIN: (&str, &str) = ("admin", ADMIN_PASSWORD);

fn header(headers: &reqwest::header::HeaderMap, name: &str) -> String {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

async fn basic_auth_and_errors(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    let other = s.cluster(&admin, "other").await;

    // No or wrong credentials: 401 with a Basic challenge, in upstream's error shape, and no
    // hint of which clusters exist.
    let bare = s.send(s.client.get(s.url("/dataplane/edge/v3/info"))).await;
    assert_eq!(bare.status, 401);
    assert_eq!(bare.json()["code"], 401);
    let (wrong, headers) = dp(&s, Method::GET, "/nope/v3/info", ("admin", "wrong"), None).await;
    assert_eq!(wrong.status, 401);
    assert!(header(&headers, "www-authenticate").starts_with("Basic"), "{headers:?}");

    // By name and by id; unknown clusters and routes are 404 {"code","message"}.
    let (info, _) = dp(&s, Method::GET, "/edge/v3/info", ADMIN, None).await;
    assert!(info.expect(200)["api"]["version"].as_str().unwrap().contains("Data Plane API"));
    let (version, headers) = dp(&s, Method::GET, &format!("/{id}/v3/services/haproxy/configuration/version"), ADMIN, None).await;
    assert_eq!((version.expect(200), header(&headers, "configuration-version")), (json!(0), "0".to_string()));
    let (missing, _) = dp(&s, Method::GET, "/nope/v3/info", ADMIN, None).await;
    assert_eq!(missing.expect(404)["code"], 404);
    let (route, _) = dp(&s, Method::GET, "/edge/v3/services/haproxy/configuration/nothing", ADMIN, None).await;
    assert_eq!(route.expect(404)["code"], 404);

    // Pool scope: an operator of edge's pool reads and writes edge, not other; a viewer reads.
    let pool = s.get(&format!("/api/v1/clusters/{id}"), &admin).await.expect(200)["pool_id"].clone();
    for (name, role) in [("edgeop", "operator"), ("edgeview", "viewer")] {
        let body = json!({"username": name, "password": "glacier-tuba-quarry", "pool_roles": [{"pool_id": pool, "role": role}]});
        s.post("/api/v1/users", &admin, body).await.expect(201);
    }
    let op = ("edgeop", "glacier-tuba-quarry");
    let raw = s.client.post(s.url("/dataplane/edge/v3/services/haproxy/configuration/raw?skip_version=true&force_reload=true")).basic_auth(op.0, Some(op.1)).body(BASE).send().await.unwrap();
    assert_eq!(raw.status(), 201, "{}", raw.text().await.unwrap());
    let (theirs, _) = dp(&s, Method::GET, &format!("/{other}/v3/services/haproxy/configuration/backends"), op, None).await;
    assert_eq!(theirs.expect(403)["code"], 403);
    let viewer = ("edgeview", "glacier-tuba-quarry");
    let (read, _) = dp(&s, Method::GET, "/edge/v3/services/haproxy/configuration/backends", viewer, None).await;
    assert_eq!(read.expect(200)[0]["name"], "app");
    let (refused, _) = dp(&s, Method::DELETE, "/edge/v3/services/haproxy/configuration/backends/app?version=1&force_reload=true", viewer, None).await;
    assert_eq!(refused.expect(403)["code"], 403);

    // An API token is a password too (what an account with a second factor uses).
    let secret = s.post("/api/v1/tokens", &admin, json!({"name": "dp"})).await.expect(201)["token"].as_str().unwrap().to_string();
    let (info, _) = dp(&s, Method::GET, "/edge/v3/info", ("admin", &secret), None).await;
    info.expect(200);
    let (wrong_user, _) = dp(&s, Method::GET, "/edge/v3/info", ("edgeop", &secret), None).await;
    assert_eq!(wrong_user.status, 401, "a token is only its own user's password");
}

async fn backends_and_servers_losslessly(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, BASE).await.expect(201);
    let config = "/edge/v3/services/haproxy/configuration";

    let (backends, headers) = dp(&s, Method::GET, &format!("{config}/backends"), ADMIN, None).await;
    assert_eq!(backends.expect(200), json!([{"name": "app", "balance": {"algorithm": "roundrobin"}}]));
    assert_eq!(header(&headers, "configuration-version"), "1");
    let (server, _) = dp(&s, Method::GET, &format!("{config}/backends/app/servers/web1"), ADMIN, None).await;
    assert_eq!(server.expect(200), json!({"name": "web1", "address": "10.0.0.1", "port": 80, "check": "enabled", "inter": 2000}));

    // A backend and a server created through the surface: version 2 and 3, and the diff from
    // 1 to 3 is exactly their lines, added.
    let body = json!({"name": "api", "mode": "http", "balance": {"algorithm": "leastconn"}, "connect_timeout": 3000});
    let (created, headers) = dp(&s, Method::POST, &format!("{config}/backends?version=1&force_reload=true"), ADMIN, Some(body.clone())).await;
    assert_eq!(created.expect(201), body, "no nodes: the commit is final at once");
    assert_eq!(header(&headers, "configuration-version"), "2");
    let server = json!({"name": "api1", "address": "10.0.1.1", "port": 8080, "check": "enabled", "weight": 10});
    let (created, _) = dp(&s, Method::POST, &format!("{config}/backends/api/servers?version=2&force_reload=true"), ADMIN, Some(server)).await;
    created.expect(201);
    let v3 = s.get(&format!("/api/v1/clusters/{id}/config?version=3"), &admin).await.text;
    let added = "\nbackend api\n    mode http\n    balance leastconn\n    timeout connect 3000\n    server api1 10.0.1.1:8080 check weight 10\n";
    assert_eq!(v3, format!("{BASE}{added}"));
    let diff = s.get(&format!("/api/v1/clusters/{id}/versions/3/diff?against=1"), &admin).await.expect(200);
    let unified = diff["unified"].as_str().unwrap();
    let changed: Vec<&str> = unified.lines().filter(|l| (l.starts_with('+') || l.starts_with('-')) && !l.starts_with("+++") && !l.starts_with("---")).collect();
    assert!(changed.iter().all(|l| l.starts_with('+')), "only additions: {unified}");
    assert_eq!(changed.len(), added.lines().filter(|l| !l.is_empty()).count() + 1, "{unified}");

    // A PUT of web1 with one field changed rewrites only that server's words; the same body
    // again changes nothing (no new version).
    let body = json!({"name": "web1", "address": "10.0.0.1", "port": 80, "check": "enabled", "inter": 2000, "weight": 5});
    let (replaced, headers) = dp(&s, Method::PUT, &format!("{config}/backends/app/servers/web1?version=3&force_reload=true"), ADMIN, Some(body.clone())).await;
    replaced.expect(200);
    assert_eq!(header(&headers, "configuration-version"), "4");
    let v4 = s.get(&format!("/api/v1/clusters/{id}/config?version=4"), &admin).await.text;
    assert_eq!(v4, v3.replace("check inter 2s   # first", "check inter 2s weight 5   # first"));
    let (again, headers) = dp(&s, Method::PUT, &format!("{config}/backends/app/servers/web1?version=4&force_reload=true"), ADMIN, Some(body)).await;
    again.expect(200);
    assert_eq!(header(&headers, "configuration-version"), "4", "nothing to change, no version");

    // Upstream's statuses: a stale version 409, a taken name 409, a missing one 404, no
    // version nor transaction 400, a field this surface cannot write 400.
    let (stale, _) = dp(&s, Method::DELETE, &format!("{config}/backends/api?version=1&force_reload=true"), ADMIN, None).await;
    assert!(stale.expect(409)["message"].as_str().unwrap().contains("version mismatch"), "{}", stale.text);
    let (taken, _) = dp(&s, Method::POST, &format!("{config}/backends?version=4&force_reload=true"), ADMIN, Some(json!({"name": "app"}))).await;
    taken.expect(409);
    let (gone, _) = dp(&s, Method::GET, &format!("{config}/backends/app/servers/nope"), ADMIN, None).await;
    gone.expect(404);
    let (unversioned, _) = dp(&s, Method::DELETE, &format!("{config}/backends/api"), ADMIN, None).await;
    unversioned.expect(400);
    let (unsupported, _) = dp(&s, Method::POST, &format!("{config}/backends?version=4&force_reload=true"), ADMIN, Some(json!({"name": "x", "cookie": {"name": "S"}}))).await;
    assert!(unsupported.expect(400)["message"].as_str().unwrap().contains("cookie"));

    // Frontends and defaults read the same text.
    let (frontend, _) = dp(&s, Method::GET, &format!("{config}/frontends/www"), ADMIN, None).await;
    assert_eq!(frontend.expect(200), json!({"name": "www", "default_backend": "app"}));
    let (defaults, _) = dp(&s, Method::GET, &format!("{config}/defaults"), ADMIN, None).await;
    assert_eq!(defaults.expect(200), json!([{"name": "unnamed_defaults_1", "mode": "http", "connect_timeout": 5000}]));

    // Deleting the server and the backend removes their lines (the blank line the create put
    // before the section stays with the section above it).
    let (deleted, _) = dp(&s, Method::DELETE, &format!("{config}/backends/api/servers/api1?version=4&force_reload=true"), ADMIN, None).await;
    deleted.expect(204);
    let (deleted, _) = dp(&s, Method::DELETE, &format!("{config}/backends/api?version=5&force_reload=true"), ADMIN, None).await;
    deleted.expect(204);
    let v6 = s.get(&format!("/api/v1/clusters/{id}/config?version=6"), &admin).await.text;
    assert_eq!(v6, v4.replace(added, "\n"));

    // Without force_reload, upstream's answer: 202 and a reload id, here once the rollout is done.
    let (accepted, headers) = dp(&s, Method::POST, &format!("{config}/backends?version=6"), ADMIN, Some(json!({"name": "tmp"}))).await;
    accepted.expect(202);
    let reload = header(&headers, "reload-id");
    assert!(reload.ends_with("-7"), "{headers:?}");
    let (status, _) = dp(&s, Method::GET, &format!("/edge/v3/services/haproxy/reloads/{reload}"), ADMIN, None).await;
    assert_eq!(status.expect(200)["status"], "succeeded", "a cluster without nodes has nothing to wait for");
    let (gone, _) = dp(&s, Method::DELETE, &format!("{config}/backends/tmp?version=7"), ADMIN, None).await;
    gone.expect(202);
}

async fn raw_and_transactions(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    s.cluster(&admin, "edge").await;
    let root = "/edge/v3/services/haproxy";
    let post_raw = |query: &str, text: &str| {
        s.client.post(s.url(&format!("/dataplane{root}/configuration/raw?{query}"))).basic_auth(ADMIN.0, Some(ADMIN.1)).body(text.to_string()).send()
    };

    // Raw: version required, validated, stored as sent.
    assert_eq!(post_raw("", BASE).await.unwrap().status(), 400, "no version");
    let checked = post_raw("only_validate=true", BASE).await.unwrap();
    assert_eq!(checked.status(), 202);
    let refused = post_raw("only_validate=true", "backend x\n    balance nonsense-algo\n").await.unwrap();
    assert_eq!(refused.status(), 400);
    let stored = post_raw("version=0&force_reload=true", BASE).await.unwrap();
    assert_eq!((stored.status().as_u16(), header(stored.headers(), "configuration-version")), (201, "1".to_string()));
    assert_eq!(stored.text().await.unwrap(), BASE);
    assert_eq!(post_raw("version=0&force_reload=true", BASE).await.unwrap().status(), 409, "version mismatch");
    let (raw, headers) = dp(&s, Method::GET, &format!("{root}/configuration/raw"), ADMIN, None).await;
    assert_eq!((raw.status.as_u16(), raw.text.as_str(), header(&headers, "configuration-version")), (200, BASE, "1".to_string()));

    // A transaction: begin on 1, stage two writes (202, nothing committed yet), read them
    // inside it, commit as version 2.
    let (stale, _) = dp(&s, Method::POST, &format!("{root}/transactions?version=0&force_reload=true"), ADMIN, None).await;
    stale.expect(409);
    let (begun, _) = dp(&s, Method::POST, &format!("{root}/transactions?version=1&force_reload=true"), ADMIN, None).await;
    let begun = begun.expect(201);
    assert_eq!((begun["_version"].clone(), begun["status"].clone()), (json!(1), json!("in_progress")));
    let tid = begun["id"].as_str().unwrap().to_string();
    let (staged, _) = dp(&s, Method::POST, &format!("{root}/configuration/backends?transaction_id={tid}"), ADMIN, Some(json!({"name": "api", "mode": "http"}))).await;
    staged.expect(202);
    let server = json!({"name": "a1", "address": "10.0.1.1", "port": 80});
    let (staged, _) = dp(&s, Method::POST, &format!("{root}/configuration/backends/api/servers?transaction_id={tid}"), ADMIN, Some(server)).await;
    staged.expect(202);
    let (inside, _) = dp(&s, Method::GET, &format!("{root}/configuration/backends/api/servers?transaction_id={tid}"), ADMIN, None).await;
    assert_eq!(inside.expect(200), json!([{"name": "a1", "address": "10.0.1.1", "port": 80}]));
    let (outside, _) = dp(&s, Method::GET, &format!("{root}/configuration/backends/api"), ADMIN, None).await;
    outside.expect(404);
    let (listed, _) = dp(&s, Method::GET, &format!("{root}/transactions"), ADMIN, None).await;
    assert_eq!(listed.expect(200).as_array().unwrap().len(), 1);
    let (committed, headers) = dp(&s, Method::PUT, &format!("{root}/transactions/{tid}?force_reload=true"), ADMIN, None).await;
    assert_eq!(committed.expect(200)["status"], "success");
    assert_eq!(header(&headers, "configuration-version"), "2");
    let (raw, _) = dp(&s, Method::GET, &format!("{root}/configuration/raw"), ADMIN, None).await;
    assert_eq!(raw.text, format!("{BASE}\nbackend api\n    mode http\n    server a1 10.0.1.1:80\n"));
    let (closed, _) = dp(&s, Method::GET, &format!("{root}/transactions/{tid}"), ADMIN, None).await;
    assert_eq!(closed.expect(200)["status"], "success");

    // Discarded transactions are gone; an unknown transaction_id on a write is a 400.
    let (begun, _) = dp(&s, Method::POST, &format!("{root}/transactions?version=2&force_reload=true"), ADMIN, None).await;
    let tid = begun.expect(201)["id"].as_str().unwrap().to_string();
    let (deleted, _) = dp(&s, Method::DELETE, &format!("{root}/transactions/{tid}"), ADMIN, None).await;
    assert_eq!(deleted.status, 204);
    let (gone, _) = dp(&s, Method::GET, &format!("{root}/transactions/{tid}"), ADMIN, None).await;
    gone.expect(404);
    let (unknown, _) = dp(&s, Method::DELETE, &format!("{root}/configuration/backends/api?transaction_id={tid}"), ADMIN, None).await;
    unknown.expect(400);
}

async fn commits_tell_what_nodes_did(db: Db) {
    let database = match db {
        Db::Sqlite => None,
        Db::Postgres => match fresh_postgres().await {
            Some(url) => Some(url),
            None => return,
        },
    };
    let s = start_on(database, &["--dataplane-wait-seconds", "3"]);
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, BASE).await.expect(201);
    let agent = s.agent(&admin, id, "node-a").await;
    let config = "/edge/v3/services/haproxy/configuration";

    // The node refuses version 2 while the PUT waits: the answer says so, with a reload id
    // whose status is failed, per node.
    let watcher = {
        let (client, base, admin, agent) = (s.client.clone(), s.base.clone(), admin.clone(), agent.clone());
        tokio::spawn(async move {
            for _ in 0..200 {
                let status: Value = client.get(format!("{base}/api/v1/clusters/{id}/status")).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
                if status["desired_version"] == json!(2) {
                    let report = json!({"version": 2, "outcome": "rejected", "error": "haproxy -c: unknown keyword"});
                    let sent = client.post(format!("{base}/api/v1/agent/report")).bearer_auth(&agent).json(&report).send().await.unwrap();
                    assert_eq!(sent.status(), 200);
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(25)).await;
            }
            panic!("version 2 was never applied");
        })
    };
    let body = json!({"name": "web1", "address": "10.0.0.1", "port": 80, "check": "enabled", "inter": 2000, "weight": 7});
    let (refused, headers) = dp(&s, Method::PUT, &format!("{config}/backends/app/servers/web1?version=1&force_reload=true"), ADMIN, Some(body)).await;
    watcher.await.unwrap();
    let message = refused.expect(400)["message"].as_str().unwrap().to_string();
    assert!(message.contains("node-a: rejected: haproxy -c: unknown keyword"), "{message}");
    let reload = header(&headers, "reload-id");
    assert!(reload.ends_with("-2"), "{headers:?}");
    let (status, _) = dp(&s, Method::GET, &format!("/edge/v3/services/haproxy/reloads/{reload}"), ADMIN, None).await;
    let status = status.expect(200);
    assert_eq!((status["id"].as_str(), status["status"].as_str()), (Some(reload.as_str()), Some("failed")));

    // A node that does not answer within the bound: 202 and a reload still in progress.
    let started = std::time::Instant::now();
    let body = json!({"name": "web1", "address": "10.0.0.1", "port": 80, "check": "enabled", "inter": 2000, "weight": 8});
    let (pending, headers) = dp(&s, Method::PUT, &format!("{config}/backends/app/servers/web1?version=2&force_reload=true"), ADMIN, Some(body)).await;
    pending.expect(202);
    assert!(started.elapsed() >= std::time::Duration::from_secs(3), "the bound (--dataplane-wait-seconds) was waited for");
    let reload = header(&headers, "reload-id");
    let (status, _) = dp(&s, Method::GET, &format!("/edge/v3/services/haproxy/reloads/{reload}"), ADMIN, None).await;
    assert_eq!(status.expect(200)["status"], "in_progress");

    // The node reports it applied: the same reload is now succeeded.
    let report = json!({"version": 3, "outcome": "applied"});
    s.send(s.request(Method::POST, "/api/v1/agent/report", Some(&agent)).json(&report)).await.expect(200);
    let (status, _) = dp(&s, Method::GET, &format!("/edge/v3/services/haproxy/reloads/{reload}"), ADMIN, None).await;
    assert_eq!(status.expect(200)["status"], "succeeded");
}

const RULES: &str = "global\n    daemon\n    nbthread 4\n    stats timeout 30s   # admin\n\nresolvers dns\n    nameserver ns1 10.0.0.53:53\n    hold valid 10s\n\nfrontend www\n    bind :80 name plain   # clear\n    acl is_api path_beg /api\n    http-request deny if { src 10.0.0.0/8 }   # bad net\n    http-request return status 200 string ok\n    use_backend api if is_api\n    default_backend app\n\nbackend app\n    server a 10.0.0.1:80\n\nbackend api\n    server b 10.0.0.2:80\n";

async fn rules_binds_and_global(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, RULES).await.expect(201);
    let config = "/edge/v3/services/haproxy/configuration";
    let text = |n: i64| {
        let (s, admin) = (&s, &admin);
        async move { s.get(&format!("/api/v1/clusters/{id}/config?version={n}"), admin).await.text }
    };

    // Rules by index: read, inserted at 0, replaced in place (comment kept), an unmapped line
    // read back changes nothing and is not rewritten with other values, deleted.
    let (rules, _) = dp(&s, Method::GET, &format!("{config}/frontends/www/http_request_rules"), ADMIN, None).await;
    let rules = rules.expect(200);
    assert_eq!(rules[0], json!({"type": "deny", "cond": "if", "cond_test": "{ src 10.0.0.0/8 }"}));
    let (added, _) = dp(&s, Method::POST, &format!("{config}/frontends/www/http_request_rules/0?version=1&force_reload=true"), ADMIN, Some(json!({"type": "set-header", "hdr_name": "X-Env", "hdr_format": "prod"}))).await;
    added.expect(201);
    assert_eq!(text(2).await, RULES.replace("    http-request deny", "    http-request set-header X-Env prod\n    http-request deny"));
    let body = json!({"type": "deny", "deny_status": 403, "cond": "if", "cond_test": "{ src 10.0.0.0/16 }"});
    let (replaced, _) = dp(&s, Method::PUT, &format!("{config}/frontends/www/http_request_rules/1?version=2&force_reload=true"), ADMIN, Some(body)).await;
    replaced.expect(200);
    assert_eq!(text(3).await, text(2).await.replace("deny if { src 10.0.0.0/8 }   # bad net", "deny deny_status 403 if { src 10.0.0.0/16 }   # bad net"));
    let (same, headers) = dp(&s, Method::PUT, &format!("{config}/frontends/www/http_request_rules/2?version=3&force_reload=true"), ADMIN, Some(rules[1].clone())).await;
    same.expect(200);
    assert_eq!(header(&headers, "configuration-version"), "3");
    let (lossy, _) = dp(&s, Method::PUT, &format!("{config}/frontends/www/http_request_rules/2?version=3&force_reload=true"), ADMIN, Some(json!({"type": "deny"}))).await;
    assert!(lossy.expect(400)["message"].as_str().unwrap().contains("does not map"), "{}", lossy.text);
    let (deleted, _) = dp(&s, Method::DELETE, &format!("{config}/frontends/www/http_request_rules/0?version=3&force_reload=true"), ADMIN, None).await;
    deleted.expect(204);

    // ACLs and backend switching rules.
    let (acls, _) = dp(&s, Method::GET, &format!("{config}/frontends/www/acls"), ADMIN, None).await;
    assert_eq!(acls.expect(200), json!([{"acl_name": "is_api", "criterion": "path_beg", "value": "/api"}]));
    let (switching, _) = dp(&s, Method::GET, &format!("{config}/frontends/www/backend_switching_rules/0"), ADMIN, None).await;
    assert_eq!(switching.expect(200), json!({"name": "api", "cond": "if", "cond_test": "is_api"}));
    let (missing, _) = dp(&s, Method::GET, &format!("{config}/frontends/www/acls/5"), ADMIN, None).await;
    missing.expect(404);

    // Binds by name: one added after the last, one changed in place.
    let (binds, _) = dp(&s, Method::GET, &format!("{config}/frontends/www/binds"), ADMIN, None).await;
    assert_eq!(binds.expect(200), json!([{"name": "plain", "address": "", "port": 80}]));
    let (added, _) = dp(&s, Method::POST, &format!("{config}/frontends/www/binds?version=4&force_reload=true"), ADMIN, Some(json!({"name": "alt", "address": "127.0.0.1", "port": 8081}))).await;
    added.expect(201);
    let (changed, _) = dp(&s, Method::PUT, &format!("{config}/frontends/www/binds/plain?version=5&force_reload=true"), ADMIN, Some(json!({"name": "plain", "address": "", "port": 8080}))).await;
    changed.expect(200);
    assert_eq!(text(6).await, text(4).await.replace("    bind :80 name plain   # clear\n", "    bind :8080 name plain   # clear\n    bind 127.0.0.1:8081 name alt\n"));

    // Global and resolvers: the mapped fields, a PUT changing one line.
    let (global, _) = dp(&s, Method::GET, &format!("{config}/global"), ADMIN, None).await;
    let global = global.expect(200);
    assert_eq!(global, json!({"daemon": true, "nbthread": 4, "stats_timeout": 30000}));
    let mut body = global.as_object().unwrap().clone();
    body.insert("nbthread".into(), json!(2));
    let (put, _) = dp(&s, Method::PUT, &format!("{config}/global?version=6&force_reload=true"), ADMIN, Some(Value::Object(body))).await;
    put.expect(200);
    assert_eq!(text(7).await, text(6).await.replace("nbthread 4", "nbthread 2"));
    let (resolvers, _) = dp(&s, Method::GET, &format!("{config}/resolvers/dns"), ADMIN, None).await;
    assert_eq!(resolvers.expect(200), json!({"name": "dns", "hold_valid": 10000}));
}

const SECTIONS: &str = "global\n    log 127.0.0.1 local2\n\n# what every proxy inherits\ndefaults\n    mode http\n    log global\n    timeout client 300s\n\nbackend app\n    server a 10.0.0.1:80\n\nuserlist ops\n    user a insecure-password x\n";

async fn sections_created_and_deleted(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, SECTIONS).await.expect(201);
    let config = "/edge/v3/services/haproxy/configuration";
    let text = |n: i64| {
        let (s, admin) = (&s, &admin);
        async move { s.get(&format!("/api/v1/clusters/{id}/config?version={n}"), admin).await.text }
    };

    // A named defaults section: 202 (upstream's answer without force_reload), placed before the
    // last defaults section so `backend app` still inherits the unnamed one; one `from` it.
    let body = json!({"name": "created", "client_timeout": 20000, "mode": "http"});
    let (created, _) = dp(&s, Method::POST, &format!("{config}/defaults?version=1"), ADMIN, Some(body.clone())).await;
    created.expect(202);
    assert_eq!(text(2).await, SECTIONS.replace("# what every", "defaults created\n    mode http\n    timeout client 20000\n\n# what every"));
    let (taken, _) = dp(&s, Method::POST, &format!("{config}/defaults?version=2"), ADMIN, Some(body)).await;
    taken.expect(409);
    let (child, _) = dp(&s, Method::POST, &format!("{config}/defaults?version=2&force_reload=true"), ADMIN, Some(json!({"name": "child", "from": "created"}))).await;
    child.expect(201);
    let (read, _) = dp(&s, Method::GET, &format!("{config}/defaults/child"), ADMIN, None).await;
    assert_eq!(read.expect(200), json!({"name": "child", "from": "created"}));
    let (inherited, _) = dp(&s, Method::DELETE, &format!("{config}/defaults/created?version=3&force_reload=true"), ADMIN, None).await;
    assert!(inherited.expect(400)["message"].as_str().unwrap().contains("inherited by defaults \"child\""), "{}", inherited.text);

    // full_section=true inlines the child lists (here `log global`); without it they are left out.
    let (plain, _) = dp(&s, Method::GET, &format!("{config}/defaults/unnamed_defaults_1"), ADMIN, None).await;
    assert_eq!(plain.expect(200), json!({"name": "unnamed_defaults_1", "mode": "http", "client_timeout": 300000}));
    let (full, _) = dp(&s, Method::GET, &format!("{config}/defaults?full_section=true"), ADMIN, None).await;
    assert_eq!(full.expect(200)[2]["log_target_list"], json!([{"global": true}]));

    // Deleting sections removes exactly their lines.
    let (deleted, _) = dp(&s, Method::DELETE, &format!("{config}/defaults/child?version=3&force_reload=true"), ADMIN, None).await;
    deleted.expect(204);
    assert_eq!(text(4).await, text(2).await);
    let (missing, _) = dp(&s, Method::DELETE, &format!("{config}/defaults/nothing_to_see_here?version=4"), ADMIN, None).await;
    missing.expect(404);

    // Userlists: upstream's 422 for a body without name, 201 with force_reload, 204 for a delete.
    let (malformed, _) = dp(&s, Method::POST, &format!("{config}/userlists?version=4&force_reload=true"), ADMIN, Some(json!({}))).await;
    assert_eq!(malformed.expect(422)["code"], 422);
    let (added, _) = dp(&s, Method::POST, &format!("{config}/userlists?version=4&force_reload=true"), ADMIN, Some(json!({"name": "new-user-list"}))).await;
    added.expect(201);
    assert_eq!(text(5).await, format!("{}\nuserlist new-user-list\n", text(4).await));
    let (deleted, _) = dp(&s, Method::DELETE, &format!("{config}/userlists/ops?version=5&force_reload=true"), ADMIN, None).await;
    deleted.expect(204);
    assert_eq!(text(6).await, text(5).await.replace("userlist ops\n    user a insecure-password x\n\n", ""));

    // A backend whose httpchk_params.method is not upstream's: 422, nothing written; a valid one
    // is stored and read back.
    let check = |method: &str| json!({"name": "checked", "mode": "http", "adv_check": "httpchk", "httpchk_params": {"method": method, "uri": "/check", "version": "HTTP/1.1"}});
    let (refused, headers) = dp(&s, Method::POST, &format!("{config}/backends?version=6&force_reload=true"), ADMIN, Some(check("invalid"))).await;
    assert!(refused.expect(422)["message"].as_str().unwrap().contains("httpchk_params.method"), "{}", refused.text);
    assert_eq!(header(&headers, "configuration-version"), "");
    let (stored, _) = dp(&s, Method::POST, &format!("{config}/backends?version=6&force_reload=true"), ADMIN, Some(check("GET"))).await;
    stored.expect(201);
    assert!(text(7).await.ends_with("\nbackend checked\n    mode http\n    option httpchk GET /check HTTP/1.1\n"));
    let (read, _) = dp(&s, Method::GET, &format!("{config}/backends/checked"), ADMIN, None).await;
    assert_eq!(read.expect(200)["httpchk_params"], json!({"method": "GET", "uri": "/check", "version": "HTTP/1.1"}));
}

const OTHERS: &str = "peers fusion\n    peer peer1 127.0.0.1:5108\n    server s1 10.1.1.1:8080   # remote\n\nring logbuffer\n    format rfc5424\n    size 65536\n    # syslog over TCP\n    server logserver 192.168.1.100:514 log-proto octet-count\n\nlog-forward lf\n    dgram-bind 127.0.0.1:1514\n    bind 127.0.0.1:1514\n    log global\n\nfcgi-app php\n    docroot /var/www\n    acl is_php path_end .php\n\nbackend app\n    balance roundrobin\n    server a 10.0.0.1:80\n";

async fn other_parents_and_runtime_adds(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, OTHERS).await.expect(201);
    let config = "/edge/v3/services/haproxy/configuration";
    let text = |n: i64| {
        let (s, admin) = (&s, &admin);
        async move { s.get(&format!("/api/v1/clusters/{id}/config?version={n}"), admin).await.text }
    };

    // Peers and ring servers are their `server` lines (a peer line is not one).
    let (peers, _) = dp(&s, Method::GET, &format!("{config}/peers/fusion/servers"), ADMIN, None).await;
    assert_eq!(peers.expect(200), json!([{"name": "s1", "address": "10.1.1.1", "port": 8080}]));
    let (added, _) = dp(&s, Method::POST, &format!("{config}/peers/fusion/servers?version=1&force_reload=true"), ADMIN, Some(json!({"name": "s2", "address": "10.1.1.2", "port": 8080}))).await;
    added.expect(201);
    let (changed, _) = dp(&s, Method::PUT, &format!("{config}/rings/logbuffer/servers/logserver?version=2&force_reload=true"), ADMIN, Some(json!({"name": "logserver", "address": "192.168.1.100", "port": 1514}))).await;
    changed.expect(200);
    let expected = OTHERS.replace("# remote\n", "# remote\n    server s2 10.1.1.2:8080\n").replace(":514 log-proto", ":1514 log-proto");
    assert_eq!(text(3).await, expected);
    let (missing, _) = dp(&s, Method::GET, &format!("{config}/rings/nope/servers"), ADMIN, None).await;
    missing.expect(404);

    // A log-forward bind with ca-verify-file, read back; a fcgi-app ACL inserted. The CA file is
    // the nodes' own: refused (the gate's reference check) until the cluster lists it external.
    let bind = json!({"name": "tls", "address": "127.0.0.2", "port": 6514, "ca_verify_file": "/etc/ca.pem"});
    let (refused, _) = dp(&s, Method::POST, &format!("{config}/log_forwards/lf/binds?version=3&force_reload=true"), ADMIN, Some(bind.clone())).await;
    assert!(refused.expect(400)["message"].as_str().unwrap().contains("not listed in the cluster's external files"), "{}", refused.text);
    let mut settings = s.get(&format!("/api/v1/clusters/{id}"), &admin).await.expect(200)["settings"].clone();
    settings["external"] = json!(["/etc/ca.pem"]);
    s.put(&format!("/api/v1/clusters/{id}/settings"), &admin, settings).await.expect(200);
    let (added, _) = dp(&s, Method::POST, &format!("{config}/log_forwards/lf/binds?version=3&force_reload=true"), ADMIN, Some(bind)).await;
    added.expect(201);
    let (read, _) = dp(&s, Method::GET, &format!("{config}/log_forwards/lf/binds/tls"), ADMIN, None).await;
    assert_eq!(read.expect(200)["ca_verify_file"], "/etc/ca.pem");
    let acl = json!({"acl_name": "local_dst", "criterion": "hdr(host)", "value": "-i localhost"});
    let (added, _) = dp(&s, Method::POST, &format!("{config}/fcgi_apps/php/acls/0?version=4&force_reload=true"), ADMIN, Some(acl.clone())).await;
    added.expect(201);
    let (read, _) = dp(&s, Method::GET, &format!("{config}/fcgi_apps/php/acls/0"), ADMIN, None).await;
    assert_eq!(read.expect(200), acl);
    assert_eq!(
        text(5).await,
        text(3).await.replace("    bind 127.0.0.1:1514\n", "    bind 127.0.0.1:1514\n    bind 127.0.0.2:6514 ca-verify-file /etc/ca.pem name tls\n").replace("    acl is_php", "    acl local_dst hdr(host) -i localhost\n    acl is_php")
    );

    // A runtime add is a version (no `version` needed, as upstream's runtime API); its read
    // shows it; the same name is a conflict, an unknown backend or server not found.
    let runtime = "/edge/v3/services/haproxy/runtime/backends";
    let body = json!({"name": "rt", "address": "10.11.12.13", "port": 8088, "maxconn": 100});
    let (added, _) = dp(&s, Method::POST, &format!("{runtime}/app/servers"), ADMIN, Some(body.clone())).await;
    let added = added.expect(201);
    assert_eq!((added["name"].as_str(), added["address"].as_str(), added["port"].as_i64(), added["admin_state"].as_str()), (Some("rt"), Some("10.11.12.13"), Some(8088), Some("ready")));
    assert_eq!(text(6).await, text(5).await.replace("    server a 10.0.0.1:80\n", "    server a 10.0.0.1:80\n    server rt 10.11.12.13:8088 maxconn 100\n"));
    let (read, _) = dp(&s, Method::GET, &format!("{runtime}/app/servers/rt"), ADMIN, None).await;
    assert_eq!(read.expect(200)["port"], 8088);
    dp(&s, Method::POST, &format!("{runtime}/app/servers"), ADMIN, Some(body.clone())).await.0.expect(409);
    dp(&s, Method::POST, &format!("{runtime}/nope/servers"), ADMIN, Some(body)).await.0.expect(404);
    dp(&s, Method::DELETE, &format!("{runtime}/app/servers/rt"), ADMIN, None).await.0.expect(204);
    assert_eq!(text(7).await, text(5).await);
    dp(&s, Method::DELETE, &format!("{runtime}/app/servers/rt"), ADMIN, None).await.0.expect(404);
    dp(&s, Method::DELETE, &format!("{runtime}/nope/servers/rt"), ADMIN, None).await.0.expect(404);
}

async fn runtime_maps_edit_only_their_lines(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let id = s.cluster(&admin, "maps").await;
    let hosts = "# hosts\n  a.example\tbe_a   \nb.example be_b\n";
    s.put_text(&format!("/api/v1/clusters/{id}/files/maps/hosts.map?version=0&kind=map"), &admin, hosts).await.expect(200);
    let config = "frontend www\n    bind :8080\n    http-request set-var(txn.be) req.hdr(host),map_str(maps/hosts.map,app)\n    default_backend app\n\nbackend app\n    server s1 10.0.0.1:80\n";
    s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, config).await.expect(201);
    let maps = "/maps/v3/services/haproxy/runtime/maps";
    let file = |n: i64| {
        let (s, admin) = (&s, &admin);
        async move { s.get(&format!("/api/v1/clusters/{id}/files/maps/hosts.map?version={n}"), admin).await.text }
    };

    let (listed, _) = dp(&s, Method::GET, maps, ADMIN, None).await;
    let listed = listed.expect(200);
    assert_eq!((listed[0]["storage_name"].as_str(), listed[0]["file"].as_str()), (Some("hosts.map"), Some("/etc/haproxy/maps/hosts.map")), "{listed}");
    let (entries, _) = dp(&s, Method::GET, &format!("{maps}/hosts/entries"), ADMIN, None).await;
    assert_eq!(entries.expect(200), json!([{"id": "a.example", "key": "a.example", "value": "be_a"}, {"id": "b.example", "key": "b.example", "value": "be_b"}]));

    // Set keeps the indentation and separator as written; add appends; delete drops the line.
    let (set, headers) = dp(&s, Method::PUT, &format!("{maps}/hosts.map/entries/a.example"), ADMIN, Some(json!({"value": "be_new"}))).await;
    assert_eq!(set.expect(200)["value"], "be_new");
    assert_eq!(header(&headers, "configuration-version"), "3");
    assert_eq!(file(3).await, "# hosts\n  a.example\tbe_new\nb.example be_b\n");
    let (added, _) = dp(&s, Method::POST, &format!("{maps}/hosts.map/entries"), ADMIN, Some(json!({"key": "c.example", "value": "be_c"}))).await;
    added.expect(201);
    let (deleted, _) = dp(&s, Method::DELETE, &format!("{maps}/hosts.map/entries/b.example"), ADMIN, None).await;
    assert_eq!(deleted.status.as_u16(), 204);
    assert_eq!(file(5).await, "# hosts\n  a.example\tbe_new\nc.example be_c\n");

    // Refusals store nothing: a key twice, a missing key, a key that is two words, a missing map.
    for (method, path, body, status) in [
        (Method::POST, format!("{maps}/hosts.map/entries"), Some(json!({"key": "c.example", "value": "x"})), 409),
        (Method::PUT, format!("{maps}/hosts.map/entries/nope"), Some(json!({"value": "x"})), 404),
        (Method::POST, format!("{maps}/hosts.map/entries"), Some(json!({"key": "two words", "value": "x"})), 400),
        (Method::GET, format!("{maps}/nope.map/entries"), None, 404),
    ] {
        let (answer, _) = dp(&s, method, &path, ADMIN, body).await;
        assert_eq!((answer.status.as_u16(), answer.json()["code"].as_u64()), (status, Some(u64::from(status))), "{path}: {}", answer.text);
    }
    // Clear keeps the comment.
    let (cleared, _) = dp(&s, Method::DELETE, &format!("{maps}/hosts.map"), ADMIN, None).await;
    assert_eq!(cleared.status.as_u16(), 204);
    assert_eq!(file(6).await, "# hosts\n");
    let versions = s.get(&format!("/api/v1/clusters/{id}/versions"), &admin).await.expect(200);
    assert_eq!(versions.as_array().map(Vec::len), Some(6), "one version per change, none for a refusal");
}
