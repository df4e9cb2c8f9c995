//! Schedules through the API (both databases): create, read, list, disable, enable, delete, the
//! runs route and the preview; a bad cron or time zone is a 422 naming the field; a job
//! schedule needs the operator role in its cluster's pool (a viewer there, or an operator of
//! another pool, gets 403); changes are audited. The client CLI drives the same routes.

use serde_json::{json, Value};

use crate::serve_support::{start, Db};

crate::serve_tests!(schedules_are_managed_checked_scoped_and_audited);

fn job(name: &str, cluster: i64, cron: &str) -> Value {
    json!({"name": name, "cron": cron, "timezone": "Europe/Paris", "target": {"type": "job", "cluster_id": cluster, "job": {"kind": "diagnostics"}}})
}

async fn schedules_are_managed_checked_scoped_and_audited(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let mine = s.cluster(&admin, "mine").await;
    let theirs = s.cluster(&admin, "theirs").await;

    // Bad fields: 422 naming the field.
    for (body, field) in [
        (job("x", mine, "*/1 * * *"), "cron:"),
        (json!({"name": "x", "cron": "61 * * * *", "target": {"type": "job", "cluster_id": mine, "job": {"kind": "validate"}}}), "cron:"),
        (json!({"name": "x", "cron": "* * * * *", "timezone": "Europe/Nowhere", "target": {"type": "job", "cluster_id": mine, "job": {"kind": "validate"}}}), "timezone:"),
        (json!({"name": "x", "cron": "* * * * *", "target": {"type": "job", "cluster_id": mine, "job": {"no": "kind"}}}), "kind"),
        (json!({"name": "x", "cron": "* * * * *", "target": {"type": "job", "cluster_id": mine, "job": {"kind": "validate", "timeout": 99999}}}), "target.job:"),
    ] {
        let reply = s.post("/api/v1/schedules", &admin, body).await;
        let answer = reply.expect(422);
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(field) || (field == "kind" && message.contains("kind")), "{answer}");
    }
    assert_eq!(s.post("/api/v1/schedules", &admin, job("x", 9_999_999, "* * * * *")).await.status, 404);

    let created = s.post("/api/v1/schedules", &admin, job("nightly", mine, "30 2 * * *")).await.expect(201);
    let id = created["id"].as_i64().unwrap();
    assert_eq!((created["missed"].as_str(), created["concurrency"].as_str(), created["enabled"].as_bool()), (Some("skip"), Some("forbid"), Some(true)));
    let next = created["next_run_at"].as_str().unwrap();
    assert!(next.ends_with(":30:00.000Z"), "02:30 in Paris is 00:30 or 01:30 UTC: {next}");
    assert_eq!(s.post("/api/v1/schedules", &admin, job("nightly", mine, "* * * * *")).await.status, 409);
    assert_eq!(s.get(&format!("/api/v1/schedules/{id}"), &admin).await.expect(200), created);
    let listed = s.get("/api/v1/schedules", &admin).await.expect(200);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(s.get(&format!("/api/v1/schedules/{id}/runs"), &admin).await.expect(200), json!([]));

    // Disabled: no next run time; enabled again: one.
    let mut disabled = job("nightly", mine, "30 2 * * *");
    disabled["enabled"] = json!(false);
    assert_eq!(s.put(&format!("/api/v1/schedules/{id}"), &admin, disabled).await.expect(200)["next_run_at"], Value::Null);
    assert!(s.put(&format!("/api/v1/schedules/{id}"), &admin, job("nightly", mine, "30 2 * * *")).await.expect(200)["next_run_at"].is_string());

    // Preview: the next times in UTC and as wall time in the zone.
    let preview = s.get("/api/v1/schedules/preview?cron=*/1%20*%20*%20*%20*&timezone=Asia/Kolkata&count=3", &admin).await.expect(200);
    let runs: Vec<&str> = preview["runs"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    assert_eq!(runs.len(), 3);
    let ms: Vec<i64> = runs.iter().map(|r| fleet_core::clock::parse_rfc3339(r).unwrap()).collect();
    assert!(ms.windows(2).all(|w| w[1] - w[0] == 60_000), "{runs:?}");
    assert!(preview["local"][0].as_str().unwrap().ends_with("+05:30"), "{preview}");
    for (query, field) in [("cron=bad&timezone=UTC", "cron:"), ("cron=*%20*%20*%20*%20*&timezone=Nowhere", "timezone:"), ("cron=*%20*%20*%20*%20*&count=0", "count:"), ("cron=*%20*%20*%20*%20*&count=101", "count:")] {
        let answer = s.get(&format!("/api/v1/schedules/preview?{query}"), &admin).await.expect(422);
        assert!(answer["error"]["message"].as_str().unwrap().starts_with(field), "{query}: {answer}");
    }

    // Scope: an operator of `mine`'s pool manages its schedules, not `theirs`'; a viewer reads.
    let pool_of = |c: Value| c["pool_id"].as_i64().unwrap();
    let pool = pool_of(s.get(&format!("/api/v1/clusters/{mine}"), &admin).await.expect(200));
    let their_schedule = s.post("/api/v1/schedules", &admin, job("theirs", theirs, "0 0 1 1 *")).await.expect(201)["id"].as_i64().unwrap();
    // A server backup is fleet-wide: a global admin's, refused to a pool operator, unseen by pool users.
    let backup = |destination: &str| json!({"name": "server backup", "cron": "0 0 1 1 *", "target": {"type": "server_backup", "destination": destination, "retention": 3}});
    let refused = s.post("/api/v1/schedules", &admin, backup("relative/folder")).await.expect(422);
    assert!(refused["error"]["message"].as_str().unwrap().starts_with("target.destination:"), "{refused}");
    let fleet_wide = s.post("/api/v1/schedules", &admin, backup("/var/backups/fleet-test")).await.expect(201);
    assert_eq!(fleet_wide["target"], json!({"type": "server_backup", "destination": "/var/backups/fleet-test", "retention": 3}));
    let mut tokens = Vec::new();
    for (name, role) in [("pv", "viewer"), ("po", "operator")] {
        let body = json!({"username": name, "password": "glacier-tuba-quarry", "pool_roles": [{"pool_id": pool, "role": role}]});
        s.post("/api/v1/users", &admin, body).await.expect(201);
        tokens.push(s.login(name, "glacier-tuba-quarry").await);
    }
    let (viewer, operator) = (&tokens[0], &tokens[1]);
    assert_eq!(s.post("/api/v1/schedules", viewer, job("v", mine, "* * * * *")).await.status, 403);
    assert_eq!(s.post("/api/v1/schedules", operator, job("o", theirs, "* * * * *")).await.status, 403);
    assert_eq!(s.post("/api/v1/schedules", operator, backup("/tmp/x")).await.status, 403, "a server backup needs a global admin");
    assert_eq!(s.get(&format!("/api/v1/schedules/{}", fleet_wide["id"]), operator).await.status, 403);
    let own = s.post("/api/v1/schedules", operator, job("o", mine, "*/5 * * * *")).await.expect(201)["id"].as_i64().unwrap();
    for token in [viewer, operator] {
        let names: Vec<Value> = s.get("/api/v1/schedules", token).await.expect(200).as_array().unwrap().iter().map(|s| s["name"].clone()).collect();
        assert_eq!(names, [json!("nightly"), json!("o")], "only the schedules of its pool");
        assert_eq!(s.get(&format!("/api/v1/schedules/{their_schedule}"), token).await.status, 403);
        assert_eq!(s.get(&format!("/api/v1/schedules/{their_schedule}/runs"), token).await.status, 403);
    }
    assert_eq!(s.put(&format!("/api/v1/schedules/{own}"), operator, job("o", theirs, "*/5 * * * *")).await.status, 403, "moving it to another pool's cluster");
    assert_eq!(s.delete(&format!("/api/v1/schedules/{their_schedule}"), operator).await.status, 403);
    assert_eq!(s.delete(&format!("/api/v1/schedules/{own}"), viewer).await.status, 403);
    s.delete(&format!("/api/v1/schedules/{own}"), operator).await.expect(204);
    s.delete(&format!("/api/v1/schedules/{id}"), &admin).await.expect(204);
    assert_eq!(s.get(&format!("/api/v1/schedules/{id}"), &admin).await.status, 404);

    let audit = s.get(&format!("/api/v1/audit?cluster_id={mine}&limit=100"), &admin).await.expect(200);
    let mut actions: Vec<(String, String)> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with("schedule."))
        .map(|e| (e["action"].as_str().unwrap().to_string(), e["actor"].as_str().unwrap().to_string()))
        .collect();
    actions.sort();
    let expected = [("schedule.create", "admin"), ("schedule.create", "po"), ("schedule.delete", "admin"), ("schedule.delete", "po"), ("schedule.update", "admin"), ("schedule.update", "admin")];
    assert_eq!(actions, expected.map(|(a, b)| (a.to_string(), b.to_string())));
}
