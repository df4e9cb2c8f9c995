//! Names wherever ids: `/clusters/<name>/...` and `/pools/<name>/...` reach what the id does,
//! through the same pool scope; an unknown name is a 404 naming it (401 without credentials);
//! a name that looks like a number is reached by its id only; a cluster without agents can be
//! deleted, by name too.

use serde_json::{json, Value};

use crate::serve_support::{start, Db};

crate::serve_tests!(names_reach_what_ids_reach, deleting_a_cluster);

async fn names_reach_what_ids_reach(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let edge = s.post("/api/v1/pools", &admin, json!({"name": "edge"})).await.expect(201);
    let other = s.post("/api/v1/pools", &admin, json!({"name": "other"})).await.expect(201);
    let prod = s.post("/api/v1/clusters", &admin, json!({"name": "prod.eu-1", "pool_id": edge["id"]})).await.expect(201);
    let theirs = s.post("/api/v1/clusters", &admin, json!({"name": "theirs", "pool_id": other["id"]})).await.expect(201);

    // The same answers by name as by id, sub-resources and queries included.
    assert_eq!(s.get("/api/v1/clusters/prod.eu-1", &admin).await.expect(200), prod);
    assert_eq!(s.get("/api/v1/pools/edge", &admin).await.expect(200), edge);
    s.post_text("/api/v1/clusters/prod.eu-1/import?message=by%20name", &admin, "global\n").await.expect(201);
    let versions = s.get(&format!("/api/v1/clusters/{}/versions", prod["id"]), &admin).await.expect(200);
    assert_eq!(versions[0]["message"], "by name");
    assert_eq!(s.get("/api/v1/clusters/prod.eu-1/config?version=1", &admin).await.text, "global\n");
    s.get("/api/v1/pools/edge/failover/events", &admin).await.expect(200);

    // Unknown names: 404 naming them, for callers with credentials only.
    let missing = s.get("/api/v1/clusters/nope/status", &admin).await;
    assert_eq!((missing.status.as_u16(), missing.code().as_str()), (404, "not_found"));
    assert!(missing.json()["error"]["message"].as_str().unwrap().contains("\"nope\""), "{}", missing.text);
    assert_eq!(s.get("/api/v1/pools/nope", &admin).await.status, 404);
    assert_eq!(s.get("/api/v1/clusters/nope", "fs_bogus").await.status, 401, "no hint of which names exist");
    assert_eq!(s.send(s.request(reqwest::Method::GET, "/api/v1/clusters/prod.eu-1", None)).await.status, 401);

    // A name that looks like a number is an id: the cluster named "123" is reached by its id.
    let numeric = s.post("/api/v1/clusters", &admin, json!({"name": "123", "pool_id": edge["id"]})).await.expect(201);
    if numeric["id"] != json!(123) {
        assert_eq!(s.get("/api/v1/clusters/123", &admin).await.status, 404, "123 is read as an id");
    }
    s.get(&format!("/api/v1/clusters/{}", numeric["id"]), &admin).await.expect(200);

    // The pool scope applies to names as to ids.
    let body = json!({"username": "edgeop", "password": "glacier-tuba-quarry", "pool_roles": [{"pool_id": edge["id"], "role": "operator"}]});
    s.post("/api/v1/users", &admin, body).await.expect(201);
    let operator = s.login("edgeop", "glacier-tuba-quarry").await;
    s.get("/api/v1/clusters/prod.eu-1/status", &operator).await.expect(200);
    s.get("/api/v1/pools/edge", &operator).await.expect(200);
    assert_eq!(s.get("/api/v1/clusters/theirs/status", &operator).await.status, 403);
    assert_eq!(s.get("/api/v1/pools/other", &operator).await.status, 403);
    let by_id = s.get(&format!("/api/v1/clusters/{}/status", theirs["id"]), &operator).await;
    assert_eq!(by_id.status, 403);
}

async fn deleting_a_cluster(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let id = s.cluster(&admin, "doomed").await;
    s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, "global\n").await.expect(201);
    let token = s.agent(&admin, id, "node1").await;
    let refused = s.delete("/api/v1/clusters/doomed", &admin).await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert!(refused.text.contains("revoke"), "{}", refused.text);
    let agents = s.get("/api/v1/clusters/doomed/agents", &admin).await.expect(200);
    let agent_id = agents[0]["id"].as_i64().unwrap();
    s.delete(&format!("/api/v1/clusters/doomed/agents/{agent_id}"), &admin).await.expect(204);
    assert_eq!(s.get("/api/v1/agent/me", &token).await.status, 401);
    s.delete("/api/v1/clusters/doomed", &admin).await.expect(204);
    assert_eq!(s.get(&format!("/api/v1/clusters/{id}"), &admin).await.status, 404);
    let clusters = s.get("/api/v1/clusters", &admin).await.expect(200);
    assert!(clusters.as_array().unwrap().iter().all(|c: &Value| c["id"] != id));
    let audit = s.get(&format!("/api/v1/audit?cluster_id={id}"), &admin).await.expect(200);
    assert!(audit.as_array().unwrap().iter().any(|e| e["action"] == "cluster.delete"), "{audit}");
}
