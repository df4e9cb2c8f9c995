//! The role matrix over HTTP: viewers read, operators edit and apply, admins manage users and
//! enrolments; agent tokens reach only agent routes of their own cluster, user tokens never act
//! as agents; API tokens act as their user; a role held in one pool reaches that pool's
//! clusters on every route and nothing else.

use reqwest::Method;
use serde_json::{json, Value};

use crate::serve_support::{start, Db};

const CONFIG: &str = "frontend web\n    bind :8080\n    default_backend app\n\nbackend app\n    server s1 10.0.0.1:80\n";

crate::serve_tests!(
    role_matrix,
    agent_and_user_tokens_do_not_mix,
    api_tokens_act_as_their_user,
    pool_scoped_users,
    a_pool_role_never_acts_globally_through_the_query,
    every_documented_route_keeps_a_pool_role_in_its_pool,
);

async fn role_matrix(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    for (name, role) in [("vera", "viewer"), ("otto", "operator")] {
        s.post("/api/v1/users", &admin, json!({"username": name, "password": "glacier-tuba-quarry", "role": role})).await.expect(201);
    }
    let viewer = s.login("vera", "glacier-tuba-quarry").await;
    let operator = s.login("otto", "glacier-tuba-quarry").await;
    let import = format!("/api/v1/clusters/{id}/import");

    // Viewer: reads, nothing else.
    s.get("/api/v1/clusters", &viewer).await.expect(200);
    s.get(&format!("/api/v1/clusters/{id}/status"), &viewer).await.expect(200);
    let denied = s.post_text(&import, &viewer, CONFIG).await;
    assert_eq!((denied.status.as_u16(), denied.code().as_str()), (403, "forbidden"));
    assert_eq!(s.post("/api/v1/pools", &viewer, json!({"name": "x"})).await.status, 403);
    assert_eq!(s.post(&format!("/api/v1/clusters/{id}/transactions?version=0"), &viewer, json!(null)).await.status, 403);
    assert_eq!(s.get("/api/v1/audit", &viewer).await.status, 403);
    assert_eq!(s.get("/api/v1/users", &viewer).await.status, 403);

    // Operator: edits and applies, cannot manage users or enrolments.
    s.post_text(&import, &operator, CONFIG).await.expect(201);
    s.post(&format!("/api/v1/clusters/{id}/apply"), &operator, json!({"version": 1})).await.expect(200);
    s.get("/api/v1/audit", &operator).await.expect(200);
    let user = s.post("/api/v1/users", &operator, json!({"username": "eve", "password": "glacier-tuba-quarry", "role": "admin"})).await;
    assert_eq!(user.status, 403);
    assert_eq!(s.get("/api/v1/users", &operator).await.status, 403);
    assert_eq!(s.post(&format!("/api/v1/clusters/{id}/enrollments"), &operator, json!({"name": "n1"})).await.status, 403);

    // Admin: everything.
    let users = s.get("/api/v1/users", &admin).await.expect(200);
    assert_eq!(users.as_array().unwrap().len(), 3);
    s.post(&format!("/api/v1/clusters/{id}/enrollments"), &admin, json!({"name": "n1"})).await.expect(201);
    let bad_role = s.post("/api/v1/users", &admin, json!({"username": "x", "password": "glacier-tuba-quarry", "role": "root"})).await;
    assert_eq!(bad_role.status, 422);
    let duplicate = s.post("/api/v1/users", &admin, json!({"username": "vera", "password": "glacier-tuba-quarry", "role": "viewer"})).await;
    assert_eq!(duplicate.status, 409);
}

async fn agent_and_user_tokens_do_not_mix(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let a = s.cluster(&admin, "a").await;
    let b = s.cluster(&admin, "b").await;
    s.post_text(&format!("/api/v1/clusters/{a}/import"), &admin, CONFIG).await.expect(201);
    s.post_text(&format!("/api/v1/clusters/{b}/import"), &admin, &CONFIG.replace("10.0.0.1", "10.9.9.9")).await.expect(201);
    for cluster in [a, b] {
        s.post(&format!("/api/v1/clusters/{cluster}/apply"), &admin, json!({"version": 1})).await.expect(200);
    }
    let agent = s.agent(&admin, a, "n1").await;

    // Agent tokens cannot reach user routes, of their cluster or another.
    for path in [
        "/api/v1/clusters".to_string(),
        format!("/api/v1/clusters/{a}/config"),
        format!("/api/v1/clusters/{b}/config"),
        format!("/api/v1/clusters/{b}/status"),
    ] {
        let reply = s.get(&path, &agent).await;
        assert_eq!((reply.status.as_u16(), reply.code().as_str()), (403, "forbidden"), "{path}");
    }
    assert_eq!(s.post_text(&format!("/api/v1/clusters/{a}/import"), &agent, CONFIG).await.status, 403);
    // The desired state it gets is its own cluster's, never another's.
    let desired = s.get("/api/v1/agent/desired?wait=0", &agent).await.expect(200);
    assert_eq!(desired["cluster_id"], a);
    assert!(crate::serve_support::desired_text(&desired).contains("10.0.0.1"));

    // User tokens, even an admin's, cannot act as an agent.
    for (method, path) in [(Method::GET, "/api/v1/agent/desired?wait=0"), (Method::POST, "/api/v1/agent/heartbeat"), (Method::POST, "/api/v1/agent/adopt")] {
        let reply = s.send(s.request(method, path, Some(&admin)).json(&json!({}))).await;
        assert_eq!(reply.status, 403, "{path}");
    }
    // No token: 401 on agent routes too.
    assert_eq!(s.send(s.request(Method::GET, "/api/v1/agent/desired", None)).await.status, 401);
}

async fn api_tokens_act_as_their_user(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    let viewer = s.post("/api/v1/users", &admin, json!({"username": "vera", "password": "glacier-tuba-quarry", "role": "viewer"})).await.expect(201);
    let vera = s.login("vera", "glacier-tuba-quarry").await;

    let created = s.post("/api/v1/tokens", &vera, json!({"name": "ci"})).await.expect(201);
    let token = created["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("fa_"));
    s.get(&format!("/api/v1/clusters/{id}"), &token).await.expect(200);
    assert_eq!(s.post_text(&format!("/api/v1/clusters/{id}/import"), &token, CONFIG).await.status, 403);
    // A viewer cannot mint a token for someone else; an admin can.
    let for_admin = s.post("/api/v1/tokens", &vera, json!({"name": "x", "user_id": 1})).await;
    assert_eq!(for_admin.status, 403);
    let for_vera = s.post("/api/v1/tokens", &admin, json!({"name": "for-vera", "user_id": viewer["id"]})).await.expect(201);
    // Revoked tokens stop working: one's own, or anyone's by an admin; another's is not found.
    let token_id = created["api_token"]["id"].as_i64().unwrap();
    let admin_token = s.post("/api/v1/tokens", &admin, json!({"name": "admin-ci"})).await.expect(201);
    assert_eq!(s.delete(&format!("/api/v1/tokens/{}", admin_token["api_token"]["id"]), &vera).await.status, 404);
    s.delete(&format!("/api/v1/tokens/{token_id}"), &vera).await.expect(204);
    assert_eq!(s.get(&format!("/api/v1/clusters/{id}"), &token).await.status, 401);
    s.delete(&format!("/api/v1/tokens/{}", for_vera["api_token"]["id"]), &admin).await.expect(204);
    assert_eq!(s.get(&format!("/api/v1/clusters/{id}"), for_vera["token"].as_str().unwrap()).await.status, 401);
}

/// Every route that addresses a cluster, with the permission it needs (R read, W write, A admin).
fn cluster_routes(id: i64) -> Vec<(Method, String, char, Option<Value>)> {
    let c = format!("/api/v1/clusters/{id}");
    vec![
        (Method::GET, c.clone(), 'R', None),
        (Method::GET, format!("{c}/status"), 'R', None),
        (Method::GET, format!("{c}/config"), 'R', None),
        (Method::GET, format!("{c}/versions"), 'R', None),
        (Method::GET, format!("{c}/versions/1"), 'R', None),
        (Method::GET, format!("{c}/backends"), 'R', None),
        (Method::GET, format!("{c}/backends/app/servers"), 'R', None),
        (Method::GET, format!("{c}/frontends"), 'R', None),
        (Method::GET, format!("{c}/transactions"), 'R', None),
        (Method::GET, format!("{c}/agents"), 'R', None),
        (Method::GET, format!("/api/v1/audit?cluster_id={id}"), 'W', None),
        (Method::POST, format!("{c}/transactions?version=1"), 'W', Some(json!(null))),
        (Method::POST, format!("{c}/apply"), 'W', Some(json!({"version": 1}))),
        (Method::PUT, format!("{c}/settings"), 'W', Some(json!({}))),
        (Method::GET, format!("{c}/enrollments"), 'A', None),
        (Method::POST, format!("{c}/enrollments"), 'A', Some(json!({"name": "n9"}))),
    ]
}

async fn pool_scoped_users(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let mine = s.cluster(&admin, "mine").await;
    let theirs = s.cluster(&admin, "theirs").await;
    for id in [mine, theirs] {
        s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, CONFIG).await.expect(201);
    }
    let my_pool = s.get(&format!("/api/v1/clusters/{mine}"), &admin).await.expect(200)["pool_id"].as_i64().unwrap();
    let their_pool = s.get(&format!("/api/v1/clusters/{theirs}"), &admin).await.expect(200)["pool_id"].as_i64().unwrap();

    // One user per role, each holding it in `mine`'s pool only (no global role).
    let mut callers = Vec::new();
    for (name, role) in [("pv", "viewer"), ("po", "operator"), ("pa", "admin")] {
        let body = json!({"username": name, "password": "glacier-tuba-quarry", "pool_roles": [{"pool_id": my_pool, "role": role}]});
        let user = s.post("/api/v1/users", &admin, body).await.expect(201);
        assert_eq!(user["role"], Value::Null);
        callers.push((role, s.login(name, "glacier-tuba-quarry").await));
    }
    for (role, token) in &callers {
        let rank = match *role { "viewer" => 1, "operator" => 2, _ => 3 };
        for (method, path, needs, body) in cluster_routes(mine) {
            let needed = match needs { 'R' => 1, 'W' => 2, _ => 3 };
            let mut request = s.request(method.clone(), &path, Some(token));
            if let Some(body) = &body {
                request = request.json(body);
            }
            let status = s.send(request).await.status.as_u16();
            if rank >= needed {
                assert!(status < 400, "{role} {method} {path}: {status}");
            } else {
                assert_eq!(status, 403, "{role} {method} {path}");
            }
        }
        // Nothing at all in the other pool, whatever the role there would allow.
        for (method, path, _, body) in cluster_routes(theirs) {
            let mut request = s.request(method.clone(), &path, Some(token));
            if let Some(body) = &body {
                request = request.json(body);
            }
            assert_eq!(s.send(request).await.status, 403, "{role} {method} {path}");
        }
        assert_eq!(s.get(&format!("/api/v1/pools/{their_pool}"), token).await.status, 403);
        s.get(&format!("/api/v1/pools/{my_pool}"), token).await.expect(200);
        // Lists show only its pool and its clusters.
        let clusters = s.get("/api/v1/clusters", token).await.expect(200);
        let clusters = clusters.as_array().unwrap();
        assert!(clusters.iter().any(|c| c["id"] == mine), "{role}");
        assert!(clusters.iter().all(|c| c["pool_id"] == my_pool), "{role}: {clusters:?}");
        let pools = s.get("/api/v1/pools", token).await.expect(200);
        assert_eq!(pools.as_array().unwrap().len(), 1, "{role}");
        // Global routes need a global role.
        assert_eq!(s.get("/api/v1/users", token).await.status, 403, "{role}");
        assert_eq!(s.get("/api/v1/audit", token).await.status, 403, "{role}");
        assert_eq!(s.post("/api/v1/pools", token, json!({"name": format!("p-{role}")})).await.status, 403, "{role}");
        // Creating a cluster: in its pool with write, never in another.
        let here = s.post("/api/v1/clusters", token, json!({"name": format!("new-{role}"), "pool_id": my_pool})).await;
        assert_eq!(here.status.as_u16(), if rank >= 2 { 201 } else { 403 }, "{role}: {}", here.text);
        let there = s.post("/api/v1/clusters", token, json!({"name": format!("x-{role}"), "pool_id": their_pool})).await;
        assert_eq!(there.status, 403, "{role}");
    }
    // A pool admin manages the agents of its pool's clusters only.
    let pa = &callers[2].1;
    let agent = s.agent(pa, mine, "n1").await;
    s.get("/api/v1/agent/desired?wait=0", &agent).await;
    assert_eq!(s.post(&format!("/api/v1/clusters/{theirs}/enrollments"), pa, json!({"name": "n2"})).await.status, 403);
}

/// The escalation an audit found: `?pool_id=` or `?cluster_id=` on any path used to narrow the
/// caller to that pool, so a pool admin's role there acted as a global one (it made itself a
/// global admin, created users, changed fleet-wide settings), a pool operator created pools,
/// and lists answered with every cluster's data. The query never widens a role now: a route
/// on a global noun needs a global role, and lists show only what the caller may see.
async fn a_pool_role_never_acts_globally_through_the_query(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let mine = s.cluster(&admin, "mine").await;
    let theirs = s.cluster(&admin, "theirs").await;
    let pool_of = |c: Value| c["pool_id"].as_i64().unwrap();
    let a = pool_of(s.get(&format!("/api/v1/clusters/{mine}"), &admin).await.expect(200));
    let b = pool_of(s.get(&format!("/api/v1/clusters/{theirs}"), &admin).await.expect(200));
    let mut ids = Vec::new();
    let mut tokens = Vec::new();
    for (name, role) in [("pa", "admin"), ("po", "operator")] {
        let body = json!({"username": name, "password": "glacier-tuba-quarry", "pool_roles": [{"pool_id": a, "role": role}]});
        ids.push(s.post("/api/v1/users", &admin, body).await.expect(201)["id"].as_i64().unwrap());
        tokens.push(s.login(name, "glacier-tuba-quarry").await);
    }
    let (pa_id, pa, po) = (ids[0], tokens[0].clone(), tokens[1].clone());
    let security = s.get("/api/v1/settings/security", &admin).await.expect(200);
    let rule = |name: &str, cluster: Option<i64>| json!({"name": name, "condition": {"kind": "agent_offline"}, "cluster_id": cluster});
    s.post("/api/v1/alerts/rules", &admin, rule("fleet-wide", None)).await.expect(201);
    s.post("/api/v1/alerts/rules", &admin, rule("theirs-offline", Some(theirs))).await.expect(201);
    s.post("/api/v1/alerts/rules", &admin, rule("mine-offline", Some(mine))).await.expect(201);
    s.post_text(&format!("/api/v1/clusters/{mine}/import"), &admin, CONFIG).await.expect(201);

    for query in [format!("?pool_id={a}"), format!("?cluster_id={mine}"), format!("?pool_id={b}"), format!("?cluster_id={theirs}"), String::new()] {
        // The pool admin cannot make itself a global admin, nor touch users or settings.
        let patch = s.request(Method::PATCH, &format!("/api/v1/users/{pa_id}{query}"), Some(&pa)).json(&json!({"role": "admin"}));
        assert_eq!(s.send(patch).await.status, 403, "PATCH own user {query}");
        let new_user = json!({"username": format!("eve{}", query.len()), "password": "glacier-tuba-quarry", "role": "admin"});
        assert_eq!(s.post(&format!("/api/v1/users{query}"), &pa, new_user).await.status, 403, "POST /users{query}");
        assert_eq!(s.get(&format!("/api/v1/users{query}"), &pa).await.status, 403, "GET /users{query}");
        assert_eq!(s.put(&format!("/api/v1/settings/security{query}"), &pa, security.clone()).await.status, 403, "settings{query}");
        assert_eq!(s.post(&format!("/api/v1/alerts/rules{query}"), &pa, rule("rogue", None)).await.status, 403, "rules{query}");
        // The pool operator cannot create pools.
        for token in [&pa, &po] {
            let pool = s.post(&format!("/api/v1/pools{query}"), token, json!({"name": format!("rogue{}", query.len())})).await;
            assert_eq!(pool.status, 403, "POST /pools{query}");
        }
        // Lists show only pool A's data: no fleet-wide rule, nothing of the other cluster.
        for token in [&pa, &po] {
            let rules = s.get(&format!("/api/v1/alerts/rules{query}"), token).await.expect(200);
            let names: Vec<&str> = rules.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
            assert_eq!(names, ["mine-offline"], "rules{query}");
            let audit = s.get(&format!("/api/v1/audit{query}"), token).await;
            if query == format!("?cluster_id={mine}") {
                let entries = audit.expect(200);
                assert!(!entries.as_array().unwrap().is_empty());
                assert!(entries.as_array().unwrap().iter().all(|e| e["cluster_id"] == mine), "audit{query}: {entries}");
            } else if query.starts_with("?pool_id") {
                // The audit has no pool filter: an unknown parameter, refused as such.
                assert_eq!(audit.status, 400, "audit{query}");
            } else {
                assert_eq!(audit.status, 403, "audit{query}");
            }
        }
    }
    let me = s.get("/api/v1/auth/me", &pa).await.expect(200);
    assert_eq!(me["role"], Value::Null, "still no global role: {me}");
    let users = s.get("/api/v1/users", &admin).await.expect(200);
    assert_eq!(users.as_array().unwrap().len(), 3, "no user was created: {users}");
    assert_eq!(s.get("/api/v1/pools", &admin).await.expect(200).as_array().unwrap().len(), 2);
    assert_eq!(s.get("/api/v1/settings/security", &admin).await.expect(200), security);

    // The event stream: only pool A's events, never another cluster's nor the fleet-wide ones
    // (user changes, failed logins), with or without `?cluster_id=`; another pool's is refused.
    assert_eq!(s.get(&format!("/api/v1/events?cluster_id={theirs}"), &po).await.status, 403);
    for (n, query) in [format!("?cluster_id={mine}&kinds=audit"), "?kinds=audit".to_string()].into_iter().enumerate() {
        let mut stream = s.request(Method::GET, &format!("/api/v1/events{query}"), Some(&po)).send().await.unwrap();
        assert_eq!(stream.status(), 200, "events{query}");
        s.post("/api/v1/users", &admin, json!({"username": format!("u{n}"), "password": "glacier-tuba-quarry", "role": "viewer"})).await.expect(201);
        s.post_text(&format!("/api/v1/clusters/{theirs}/import"), &admin, &CONFIG.replace("10.0.0.1", &format!("10.0.1.{n}"))).await.expect(201);
        let failed = s.send(s.request(Method::POST, "/api/v1/auth/login", None).json(&json!({"username": "admin", "password": "wrong-wrong-wrong"}))).await;
        assert_eq!(failed.status, 401);
        s.post_text(&format!("/api/v1/clusters/{mine}/import"), &admin, &CONFIG.replace("10.0.0.1", &format!("10.0.2.{n}"))).await.expect(201);
        let mut buffer = String::new();
        let seen = crate::serve_events::read_until(&mut stream, &mut buffer, |_, v| v["cluster_id"] == mine).await;
        assert!(seen.iter().all(|(_, v)| v["cluster_id"] == mine), "events{query}: {seen:#?}");
    }
}

/// What the matrix below needs to address every route: the fixtures' ids and markers.
struct Fleet {
    mine: i64,
    theirs: i64,
    a: i64,
    b: i64,
    /// An open transaction of `theirs`, its agent, the fleet-wide rule, a DNS provider, a user
    /// no pool user may touch, an admin's API token.
    their_tx: i64,
    their_agent: i64,
    fleet_rule: i64,
    provider: i64,
    bystander: i64,
    admin_token: i64,
    /// A schedule of a job on `theirs`.
    their_schedule: i64,
}

/// The path of a documented route with its parameters filled for `caller_id`, aiming at pool A
/// (`in_a`) or pool B when it addresses a cluster or pool.
fn fill(template: &str, method: &Method, f: &Fleet, caller_id: i64, in_a: bool) -> String {
    let (cluster, pool) = if in_a { (f.mine, f.a) } else { (f.theirs, f.b) };
    let id = if template.starts_with("/api/v1/clusters/") {
        cluster
    } else if template.starts_with("/api/v1/pools/") {
        pool
    } else if template.starts_with("/api/v1/alerts/rules/") {
        f.fleet_rule
    } else if template.starts_with("/api/v1/dns-providers/") {
        f.provider
    } else if template.starts_with("/api/v1/schedules/") {
        f.their_schedule
    } else {
        1
    };
    let user = if *method == Method::PATCH { caller_id } else { f.bystander };
    let (tid, agent) = if in_a { (1, 1) } else { (f.their_tx, f.their_agent) };
    template
        .replace("{id}", &id.to_string())
        .replace("{user_id}", &user.to_string())
        .replace("{token_id}", &f.admin_token.to_string())
        .replace("{agent_id}", &agent.to_string())
        .replace("{tid}", &tid.to_string())
        .replace("{enrolment_id}", "1")
        .replace("{n}", "1")
        .replace("{action_id}", "1")
        .replace("{vip_id}", "1")
        .replace("{name}", "app")
        .replace("{server}", "s1")
        .replace("{address}", "%3A8080")
        .replace("{acl}", "is_api")
        .replace("{keyword}", "use_backend")
        .replace("{position}", "0")
        .replace("{path}", "haproxy.cfg")
}

/// A body that the route would accept, so that only the permission check can refuse it.
fn body_for(method: &Method, template: &str, f: &Fleet, n: usize) -> Option<Value> {
    let unique = format!("esc{n}");
    Some(match (method.as_str(), template) {
        ("GET" | "DELETE", _) => return None,
        ("POST", "/api/v1/users") => json!({"username": unique, "password": "glacier-tuba-quarry", "role": "admin"}),
        ("PATCH", "/api/v1/users/{user_id}") => json!({"role": "admin"}),
        ("PUT", "/api/v1/users/{user_id}/password") => json!({"password": "glacier-tuba-quarry-2"}),
        ("PUT", "/api/v1/settings/security") => json!({"mfa_required_for_admins": true}),
        ("POST", "/api/v1/pools") => json!({"name": unique}),
        ("POST", "/api/v1/clusters") => json!({"name": unique, "pool_id": f.b}),
        ("POST", "/api/v1/tokens") => json!({"name": unique, "user_id": f.bystander}),
        ("POST" | "PUT", "/api/v1/alerts/rules" | "/api/v1/alerts/rules/{id}") => json!({"name": unique, "condition": {"kind": "agent_offline"}}),
        ("POST", "/api/v1/alerts/rules/{id}/silence") => json!({"seconds": 60}),
        ("POST" | "PUT", "/api/v1/schedules" | "/api/v1/schedules/{id}") => {
            json!({"name": unique, "cron": "0 0 1 1 *", "target": {"type": "job", "cluster_id": f.theirs, "job": {"kind": "diagnostics"}}})
        }
        ("POST", "/api/v1/dns-providers") => json!({"name": unique, "kind": "rfc2136", "zone": "example.com", "server": "127.0.0.1:53",
            "tsig_key_name": "k", "tsig_algorithm": "hmac-sha256", "tsig_secret": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}),
        ("POST", "/api/v1/clusters/{id}/apply") => json!({"version": 1}),
        ("PUT", "/api/v1/clusters/{id}/settings") => json!({}),
        ("POST", "/api/v1/clusters/{id}/enrollments") => json!({"name": unique}),
        ("POST", "/api/v1/clusters/{id}/runtime") => json!({"backend": "app", "server": "s1", "action": "drain"}),
        ("POST", "/api/v1/clusters/{id}/transactions") => json!(null),
        ("PUT", "/api/v1/pools/{id}/failover") => json!({"hostname": "www.example.com", "provider_id": f.provider}),
        _ => json!({}),
    })
}

/// Everything fleet-wide or of pool B a pool user could change, as the admin reads it.
async fn fleet_state(s: &crate::serve_support::Server, admin: &str, f: &Fleet) -> Value {
    let mut state = serde_json::Map::new();
    for path in [
        "/api/v1/users".to_string(),
        "/api/v1/pools".to_string(),
        "/api/v1/clusters".to_string(),
        "/api/v1/settings/security".to_string(),
        "/api/v1/alerts/rules".to_string(),
        "/api/v1/dns-providers".to_string(),
        "/api/v1/acme/accounts".to_string(),
        "/api/v1/certificates".to_string(),
        "/api/v1/tokens".to_string(),
        "/api/v1/schedules".to_string(),
        format!("/api/v1/clusters/{}/versions", f.theirs),
        format!("/api/v1/clusters/{}/transactions", f.theirs),
        format!("/api/v1/clusters/{}/agents", f.theirs),
        format!("/api/v1/clusters/{}/enrollments", f.theirs),
        format!("/api/v1/clusters/{}/vips", f.theirs),
    ] {
        let mut value = s.get(&path, admin).await.expect(200);
        // Times that move without anyone changing anything.
        for item in value.as_array_mut().into_iter().flatten() {
            if let Some(item) = item.as_object_mut() {
                for moving in ["last_used_at", "last_seen_at", "heartbeat_ms", "state", "silenced_until"] {
                    item.remove(moving);
                }
            }
        }
        state.insert(path, value);
    }
    Value::Object(state)
}

/// Every route of the OpenAPI document, for a viewer, an operator and an admin of pool A only,
/// with and without `?pool_id=` / `?cluster_id=` naming pool A or pool B: nothing of pool B is
/// granted or shown, nothing fleet-wide is changed or shown, user tokens never act as agents.
async fn every_documented_route_keeps_a_pool_role_in_its_pool(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let mine = s.cluster(&admin, "mine").await;
    let theirs = s.cluster(&admin, "theirs").await;
    for id in [mine, theirs] {
        s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, CONFIG).await.expect(201);
        s.post(&format!("/api/v1/clusters/{id}/apply"), &admin, json!({"version": 1})).await.expect(200);
    }
    let pool_of = |c: Value| c["pool_id"].as_i64().unwrap();
    let a = pool_of(s.get(&format!("/api/v1/clusters/{mine}"), &admin).await.expect(200));
    let b = pool_of(s.get(&format!("/api/v1/clusters/{theirs}"), &admin).await.expect(200));
    // Agents keep both clusters from being deleted, whatever a route would allow.
    s.agent(&admin, mine, "n1").await;
    s.agent(&admin, theirs, "n1").await;
    let their_agent = s.get(&format!("/api/v1/clusters/{theirs}/agents"), &admin).await.expect(200)[0]["id"].as_i64().unwrap();
    let their_tx = s.post(&format!("/api/v1/clusters/{theirs}/transactions?version=1"), &admin, json!(null)).await.expect(201)["id"].as_i64().unwrap();
    let rule = |name: &str, cluster: Option<i64>| json!({"name": name, "condition": {"kind": "agent_offline"}, "cluster_id": cluster});
    let fleet_rule = s.post("/api/v1/alerts/rules", &admin, rule("fleet-wide-rule", None)).await.expect(201)["id"].as_i64().unwrap();
    s.post("/api/v1/alerts/rules", &admin, rule("theirs-rule", Some(theirs))).await.expect(201);
    let provider = json!({"name": "secret-dns", "kind": "rfc2136", "zone": "example.com", "server": "127.0.0.1:53",
        "tsig_key_name": "k", "tsig_algorithm": "hmac-sha256", "tsig_secret": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"});
    let provider = s.post("/api/v1/dns-providers", &admin, provider).await.expect(201)["id"].as_i64().unwrap();
    let bystander = json!({"username": "bystander", "password": "glacier-tuba-quarry", "role": "viewer"});
    let bystander = s.post("/api/v1/users", &admin, bystander).await.expect(201)["id"].as_i64().unwrap();
    let admin_token = s.post("/api/v1/tokens", &admin, json!({"name": "admin-ci"})).await.expect(201)["api_token"]["id"].as_i64().unwrap();
    let schedule = json!({"name": "theirs-schedule", "cron": "0 0 1 1 *", "target": {"type": "job", "cluster_id": theirs, "job": {"kind": "diagnostics"}}});
    let their_schedule = s.post("/api/v1/schedules", &admin, schedule).await.expect(201)["id"].as_i64().unwrap();
    let f = Fleet { mine, theirs, a, b, their_tx, their_agent, fleet_rule, provider, bystander, admin_token, their_schedule };
    // What no answer to a pool-A user may contain: pool B's and fleet-wide names and ids.
    let mut secrets = vec!["theirs".to_string(), "fleet-wide-rule".into(), "secret-dns".into(), "bystander".into(), "theirs-schedule".into()];
    secrets.extend([theirs.to_string(), b.to_string()].into_iter().filter(|id| id.len() >= 10)); // random ids below 2^53

    let mut callers = Vec::new();
    for (name, role) in [("pv", "viewer"), ("po", "operator"), ("pa", "admin")] {
        let body = json!({"username": name, "password": "glacier-tuba-quarry", "pool_roles": [{"pool_id": a, "role": role}]});
        let id = s.post("/api/v1/users", &admin, body).await.expect(201)["id"].as_i64().unwrap();
        callers.push((role, id, s.login(name, "glacier-tuba-quarry").await));
    }
    let before = fleet_state(&s, &admin, &f).await;

    let document = s.get("/api/v1/openapi.json", &admin).await.expect(200);
    let mut operations = Vec::new();
    for (template, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if let Ok(method) = method.to_uppercase().parse::<Method>() {
                operations.push((method, template.clone()));
            }
        }
    }
    assert!(operations.len() > 100, "{} operations", operations.len());
    // Routes a pool user may call on its own account, and those without authentication.
    let own = ["/api/v1/auth/", "/api/v1/agent/enroll", "/api/v1/health", "/api/v1/openapi.json", "/metrics"];
    let queries = [String::new(), format!("?pool_id={a}"), format!("?cluster_id={mine}"), format!("?pool_id={b}"), format!("?cluster_id={theirs}")];
    let mut sent = 0;
    for (role, caller_id, token) in &callers {
        for (method, template) in &operations {
            let scoped = template.starts_with("/api/v1/clusters/{id}") || template.starts_with("/api/v1/pools/{id}");
            // On pool A's path, yet fleet-wide: deleting a pool (as creating one), and failover
            // settings (they put a fleet-wide DNS provider's credentials to work).
            let fleet_wide_in_a = matches!((method.as_str(), template.as_str()), ("DELETE", "/api/v1/pools/{id}") | ("PUT", "/api/v1/pools/{id}/failover"));
            let is_own = own.iter().any(|p| template.starts_with(p));
            if is_own && *method != Method::GET {
                continue; // logout, password, second factor: the caller's own account
            }
            // Pool A's routes are checked role by role in `pool_scoped_users`; here only that a
            // viewer changes nothing there and that deleting pool A is a global act.
            let targets: &[bool] = if !scoped || *method == Method::GET || (*role != "viewer" && !fleet_wide_in_a) {
                &[false]
            } else {
                &[false, true]
            };
            for &in_a in targets {
                for query in &queries {
                    sent += 1;
                    let path = format!("{}{query}", fill(template, method, &f, *caller_id, in_a));
                    let mut request = s.request(method.clone(), &path, Some(token));
                    if let Some(body) = body_for(method, template, &f, sent) {
                        request = request.json(&body);
                    }
                    if template == "/api/v1/events" {
                        let reply = request.send().await.unwrap();
                        // `pool_id` is not a parameter of the stream: refused as unknown (400).
                        let unknown = query.starts_with("?pool_id") && reply.status() == 400;
                        assert!(reply.status() == 200 || reply.status() == 403 || unknown, "{role} GET {path}: {}", reply.status());
                        continue;
                    }
                    let reply = s.send(request).await;
                    let status = reply.status.as_u16();
                    let what = format!("{role} {method} {path}: {status} {}", reply.text);
                    if scoped && !in_a {
                        assert!(status >= 400, "pool B granted: {what}");
                    } else if scoped {
                        assert!(status >= 400, "a pool viewer changed pool A, or a fleet-wide act: {what}");
                        // A query parameter the route does not know is refused first (400).
                        let unknown_parameter = status == 400 && reply.text.contains("unknown field");
                        if fleet_wide_in_a && !unknown_parameter {
                            assert_eq!(status, 403, "fleet-wide: {what}");
                        }
                    } else if template.starts_with("/api/v1/agent/") {
                        assert!(status >= 400, "a user acted as an agent: {what}");
                    } else if *method != Method::GET {
                        assert!(status >= 400, "a fleet-wide write by a pool {what}");
                    } else if status < 300 && !is_own {
                        for secret in &secrets {
                            assert!(!reply.text.contains(secret.as_str()), "{what}\nshows {secret}");
                        }
                    }
                }
            }
        }
    }
    assert!(sent > 1000, "{sent} requests");
    assert_eq!(fleet_state(&s, &admin, &f).await, before, "a pool user changed something fleet-wide or of pool B");
    // Still no global role, and the pool admin still only administers pool A.
    for (role, _, token) in &callers {
        assert_eq!(s.get("/api/v1/auth/me", token).await.expect(200)["role"], Value::Null, "{role}");
        assert_eq!(s.get("/api/v1/users", token).await.status, 403, "{role}");
    }
}
