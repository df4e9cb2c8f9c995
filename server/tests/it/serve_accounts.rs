//! Accounts over HTTP: login throttling (429 with `Retry-After`), passwords and sessions, the
//! TOTP second factor in two login steps, users, own API tokens, agents and enrolments.

use std::time::Duration;

use fleet_core::auth::totp;
use fleet_core::{Clock, SystemClock};
use reqwest::Method;
use serde_json::{json, Value};

use crate::serve_support::{start, Db, Server, ADMIN_PASSWORD};

const PASSWORD: &str = "glacier-tuba-quarry";

crate::serve_tests!(
    failed_logins_are_throttled_with_retry_after,
    passwords_users_and_sessions,
    totp_login_in_two_steps,
    own_tokens_agents_and_enrolments,
);

async fn raw_login(s: &Server, username: &str, password: &str) -> (u16, Option<String>, Value) {
    let response = s
        .client
        .post(s.url("/api/v1/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
    (status, retry, response.json().await.unwrap_or(Value::Null))
}

async fn failed_logins_are_throttled_with_retry_after(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    s.post("/api/v1/users", &admin, json!({"username": "ada", "password": PASSWORD, "role": "viewer"})).await.expect(201);
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let (status, retry, body) = raw_login(&s, "ada", "wrong password!").await;
        if status == 429 {
            assert_eq!(retry.as_deref(), Some("1"), "{body}");
            assert_eq!(body["error"]["code"], "throttled");
        }
        statuses.push(status);
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 401, 429, 429, 429, 429]);
    // The same for the right password while the lockout lasts, and for other spellings of the name.
    assert_eq!(raw_login(&s, "ADA", PASSWORD).await.0, 429);
    // An unknown user is throttled the same way (no enumeration by behaviour).
    let unknown: Vec<u16> = futures_statuses(&s, "nobody-here", 7).await;
    assert_eq!(unknown, [401, 401, 401, 401, 401, 401, 429]);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let (status, _, body) = raw_login(&s, "ada", PASSWORD).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("session")), "{body}");
    // The lockout was audited once, with the name escaped and bounded.
    let audit = s.get("/api/v1/audit?limit=1000", &admin).await.expect(200);
    let locked = audit.as_array().unwrap().iter().filter(|e| e["action"] == "session.login_locked").count();
    assert_eq!(locked, 2, "ada and nobody-here");
}

async fn futures_statuses(s: &Server, username: &str, n: usize) -> Vec<u16> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(raw_login(s, username, "wrong password!").await.0);
    }
    out
}

async fn passwords_users_and_sessions(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    // Weak passwords and confusable names are refused.
    for (name, password, status) in [("ada", "short", 422), ("ada", "password1234", 422), ("ADMIN", PASSWORD, 409), ("admın", PASSWORD, 409), ("a b", PASSWORD, 422)] {
        let reply = s.post("/api/v1/users", &admin, json!({"username": name, "password": password, "role": "viewer"})).await;
        assert_eq!(reply.status.as_u16(), status, "{name} {password}: {}", reply.text);
    }
    let ada = s.post("/api/v1/users", &admin, json!({"username": "ada", "password": PASSWORD, "role": "viewer"})).await.expect(201);
    let id = ada["id"].as_i64().unwrap();
    let session = s.login("ada", PASSWORD).await;
    let me = s.get("/api/v1/auth/me", &session).await.expect(200);
    assert_eq!((me["username"].as_str(), me["role"].as_str()), (Some("ada"), Some("viewer")));

    // Own password: the current one is checked, every session ends.
    let wrong = s.put("/api/v1/auth/password", &session, json!({"current_password": "nope-nope-nope", "new_password": "tuba-glacier-quarry"})).await;
    assert_eq!(wrong.status, 403);
    s.put("/api/v1/auth/password", &session, json!({"current_password": PASSWORD, "new_password": "tuba-glacier-quarry"})).await.expect(204);
    assert_eq!(s.get("/api/v1/auth/me", &session).await.status, 401);
    let session = s.login("ada", "tuba-glacier-quarry").await;

    // Admin: role change, password reset (ends sessions), delete.
    let changed = s.send(s.request(Method::PATCH, &format!("/api/v1/users/{id}"), Some(&admin)).json(&json!({"role": "operator"}))).await.expect(200);
    assert_eq!(changed["role"], "operator");
    assert_eq!(s.get("/api/v1/auth/me", &session).await.expect(200)["role"], "operator");
    s.put(&format!("/api/v1/users/{id}/password"), &admin, json!({"password": "reset-glacier-tuba"})).await.expect(204);
    assert_eq!(s.get("/api/v1/auth/me", &session).await.status, 401);
    let session = s.login("ada", "reset-glacier-tuba").await;
    assert_eq!(s.delete(&format!("/api/v1/users/{id}"), &session).await.status, 403, "not an admin");
    let admin_id = s.get("/api/v1/auth/me", &admin).await.expect(200)["id"].as_i64().unwrap();
    assert_eq!(s.delete(&format!("/api/v1/users/{admin_id}"), &admin).await.status, 409, "not oneself");
    s.delete(&format!("/api/v1/users/{id}"), &admin).await.expect(204);
    assert_eq!(s.get("/api/v1/auth/me", &session).await.status, 401);
    assert_eq!(raw_login(&s, "ada", "reset-glacier-tuba").await.0, 401);
}

async fn totp_login_in_two_steps(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    // An array is not the settings object (serde alone would read `[]` as every default).
    let refused = s.put("/api/v1/settings/security", &admin, json!([true])).await.expect(400);
    assert!(refused["error"]["message"].as_str().unwrap_or_default().contains("JSON object"), "{refused}");
    s.put("/api/v1/settings/security", &admin, json!([])).await.expect(400);
    // Required for every admin: the next admin login may only enrol.
    s.put("/api/v1/settings/security", &admin, json!({"mfa_required_for_admins": true})).await.expect(200);
    let (_, _, first) = raw_login(&s, "admin", ADMIN_PASSWORD).await;
    assert_eq!(first["mfa_enrolment_required"], true, "{first}");
    let limited = first["token"].as_str().unwrap().to_string();
    assert_eq!(s.get("/api/v1/clusters", &limited).await.status, 403);

    let enrolment = s.post("/api/v1/auth/mfa/enrol", &limited, json!(null)).await.expect(200);
    assert!(enrolment["qr_svg"].as_str().unwrap().contains("<svg"));
    assert!(enrolment["otpauth_uri"].as_str().unwrap().starts_with("otpauth://totp/"));
    let secret = enrolment["secret"].as_str().unwrap().to_string();
    let code = |offset_ms: i64| totp::code_at(&secret, SystemClock.now_ms() + offset_ms).unwrap();
    assert_eq!(s.post("/api/v1/auth/mfa/confirm", &limited, json!({"code": "000000"})).await.status, 422);
    let confirmed = s.post("/api/v1/auth/mfa/confirm", &limited, json!({"code": code(0)})).await.expect(200);
    let recovery: Vec<String> = confirmed["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
    assert_eq!(recovery.len(), 10);
    s.get("/api/v1/clusters", &limited).await.expect(200);

    // Two steps: a challenge, then the code (the next step's: the current one was used).
    let (status, _, step) = raw_login(&s, "admin", ADMIN_PASSWORD).await;
    assert_eq!((status, step["status"].as_str()), (200, Some("mfa_required")), "{step}");
    assert!(step.get("token").is_none());
    let challenge = step["challenge"].as_str().unwrap();
    let login_mfa = |challenge: String, code: String| {
        s.send(s.request(Method::POST, "/api/v1/auth/login/mfa", None).json(&json!({"challenge": challenge, "code": code})))
    };
    assert_eq!(login_mfa(challenge.into(), "123456".into()).await.status, 401);
    let session = login_mfa(challenge.into(), code(30_000)).await.expect(200);
    s.get("/api/v1/clusters", session["token"].as_str().unwrap()).await.expect(200);
    // A recovery code instead of the authenticator.
    let (_, _, step) = raw_login(&s, "admin", ADMIN_PASSWORD).await;
    login_mfa(step["challenge"].as_str().unwrap().into(), recovery[0].clone()).await.expect(200);
    let me = s.get("/api/v1/auth/me", session["token"].as_str().unwrap()).await.expect(200);
    assert_eq!((me["mfa_enabled"].as_bool(), me["mfa_required"].as_bool()), (Some(true), Some(true)));
}

async fn own_tokens_agents_and_enrolments(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    s.post("/api/v1/users", &admin, json!({"username": "vic", "password": PASSWORD, "role": "viewer"})).await.expect(201);
    let vic = s.login("vic", PASSWORD).await;

    // Own tokens: listed by prefix, with expiry and last use; revoked by their owner only.
    let created = s.post("/api/v1/tokens", &vic, json!({"name": "ci", "ttl_seconds": 3600})).await.expect(201);
    let secret = created["token"].as_str().unwrap().to_string();
    s.get("/api/v1/clusters", &secret).await.expect(200);
    let listed = s.get("/api/v1/tokens", &vic).await.expect(200);
    let token = &listed.as_array().unwrap()[0];
    assert!(secret.starts_with(token["prefix"].as_str().unwrap()));
    assert!(token["expires_at"].as_i64().is_some() && token["last_used_at"].as_i64().is_some());
    assert!(!listed.to_string().contains(&secret));
    assert_eq!(s.post("/api/v1/tokens", &vic, json!({"name": "x", "ttl_seconds": 400 * 86_400})).await.status, 422);
    let token_id = token["id"].as_i64().unwrap();
    let other = s.post("/api/v1/tokens", &admin, json!({"name": "admin-ci"})).await.expect(201);
    assert_eq!(s.delete(&format!("/api/v1/tokens/{}", other["api_token"]["id"]), &vic).await.status, 404);
    s.delete(&format!("/api/v1/tokens/{token_id}"), &vic).await.expect(204);
    assert_eq!(s.get("/api/v1/clusters", &secret).await.status, 401);

    // Enrolments: capped lifetime, listed while pending, revocable.
    let enrollments = format!("/api/v1/clusters/{id}/enrollments");
    assert_eq!(s.post(&enrollments, &admin, json!({"name": "n0", "ttl_seconds": 30 * 86_400})).await.status, 422);
    let pending = s.post(&enrollments, &admin, json!({"name": "n2"})).await.expect(201);
    assert_eq!(s.get(&enrollments, &admin).await.expect(200).as_array().unwrap().len(), 1);
    assert_eq!(s.get(&enrollments, &vic).await.status, 403);
    s.delete(&format!("{enrollments}/{}", pending["id"]), &admin).await.expect(204);
    let body = json!({"secret": pending["secret"], "hostname": "n2.test", "facts": {}});
    assert_eq!(s.send(s.request(Method::POST, "/api/v1/agent/enroll", None).json(&body)).await.status, 401);

    // Agents: listed, token rotated (the old one stops at once), revoked (gone from status).
    let agent = s.agent(&admin, id, "n1").await;
    let agents = s.get(&format!("/api/v1/clusters/{id}/agents"), &vic).await.expect(200);
    let agent_id = agents[0]["id"].as_i64().unwrap();
    let heartbeat = |token: String| s.send(s.request(Method::POST, "/api/v1/agent/heartbeat", Some(&token)).json(&json!({})));
    assert_eq!(heartbeat(agent.clone()).await.status, 200);
    assert_eq!(s.post(&format!("/api/v1/clusters/{id}/agents/{agent_id}/token"), &vic, json!(null)).await.status, 403);
    let rotated = s.post(&format!("/api/v1/clusters/{id}/agents/{agent_id}/token"), &admin, json!(null)).await.expect(201);
    let new_token = rotated["token"].as_str().unwrap().to_string();
    assert_eq!(heartbeat(agent).await.status, 401);
    assert_eq!(heartbeat(new_token.clone()).await.status, 200);
    s.delete(&format!("/api/v1/clusters/{id}/agents/{agent_id}"), &admin).await.expect(204);
    assert_eq!(heartbeat(new_token).await.status, 401);
    let status = s.get(&format!("/api/v1/clusters/{id}/status"), &admin).await.expect(200);
    assert!(status["agents"].as_array().unwrap().is_empty(), "{status}");
}
