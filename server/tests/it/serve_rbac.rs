//! The role matrix over HTTP: viewers read, operators edit and apply, admins manage users and
//! enrolments; agent tokens reach only agent routes of their own cluster, user tokens never act
//! as agents; API tokens act as their user.

use reqwest::Method;
use serde_json::json;

use crate::serve_support::{start, Db};

const CONFIG: &str = "frontend web\n    bind :8080\n    default_backend app\n\nbackend app\n    server s1 10.0.0.1:80\n";

crate::serve_tests!(role_matrix, agent_and_user_tokens_do_not_mix, api_tokens_act_as_their_user);

async fn role_matrix(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    for (name, role) in [("vera", "viewer"), ("otto", "operator")] {
        s.post("/api/v1/users", &admin, json!({"username": name, "password": "password-1", "role": role})).await.expect(201);
    }
    let viewer = s.login("vera", "password-1").await;
    let operator = s.login("otto", "password-1").await;
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
    let user = s.post("/api/v1/users", &operator, json!({"username": "eve", "password": "password-1", "role": "admin"})).await;
    assert_eq!(user.status, 403);
    assert_eq!(s.get("/api/v1/users", &operator).await.status, 403);
    assert_eq!(s.post(&format!("/api/v1/clusters/{id}/enrollments"), &operator, json!({"name": "n1"})).await.status, 403);

    // Admin: everything.
    let users = s.get("/api/v1/users", &admin).await.expect(200);
    assert_eq!(users.as_array().unwrap().len(), 3);
    s.post(&format!("/api/v1/clusters/{id}/enrollments"), &admin, json!({"name": "n1"})).await.expect(201);
    let bad_role = s.post("/api/v1/users", &admin, json!({"username": "x", "password": "password-1", "role": "root"})).await;
    assert_eq!(bad_role.status, 422);
    let duplicate = s.post("/api/v1/users", &admin, json!({"username": "vera", "password": "password-1", "role": "viewer"})).await;
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
    assert!(desired["text"].as_str().unwrap().contains("10.0.0.1"));

    // User tokens, even an admin's, cannot act as an agent.
    for (method, path) in [(Method::GET, "/api/v1/agent/desired?wait=0"), (Method::POST, "/api/v1/agent/heartbeat")] {
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
    let viewer = s.post("/api/v1/users", &admin, json!({"username": "vera", "password": "password-1", "role": "viewer"})).await.expect(201);
    let vera = s.login("vera", "password-1").await;

    let created = s.post("/api/v1/tokens", &vera, json!({"name": "ci"})).await.expect(201);
    let token = created["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("fa_"));
    s.get(&format!("/api/v1/clusters/{id}"), &token).await.expect(200);
    assert_eq!(s.post_text(&format!("/api/v1/clusters/{id}/import"), &token, CONFIG).await.status, 403);
    // A viewer cannot mint a token for someone else; an admin can.
    let for_admin = s.post("/api/v1/tokens", &vera, json!({"name": "x", "user_id": 1})).await;
    assert_eq!(for_admin.status, 403);
    s.post("/api/v1/tokens", &admin, json!({"name": "for-vera", "user_id": viewer["id"]})).await.expect(201);
    // Revoked tokens stop working.
    let token_id = created["api_token"]["id"].as_i64().unwrap();
    assert_eq!(s.delete(&format!("/api/v1/tokens/{token_id}"), &vera).await.status, 403);
    s.delete(&format!("/api/v1/tokens/{token_id}"), &admin).await.expect(204);
    assert_eq!(s.get(&format!("/api/v1/clusters/{id}"), &token).await.status, 401);
}
