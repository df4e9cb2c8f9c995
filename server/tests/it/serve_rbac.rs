//! The role matrix over HTTP: viewers read, operators edit and apply, admins manage users and
//! enrolments; agent tokens reach only agent routes of their own cluster, user tokens never act
//! as agents; API tokens act as their user; a role held in one pool reaches that pool's
//! clusters on every route and nothing else.

use reqwest::Method;
use serde_json::{json, Value};

use crate::serve_support::{start, Db};

const CONFIG: &str = "frontend web\n    bind :8080\n    default_backend app\n\nbackend app\n    server s1 10.0.0.1:80\n";

crate::serve_tests!(role_matrix, agent_and_user_tokens_do_not_mix, api_tokens_act_as_their_user, pool_scoped_users);

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
