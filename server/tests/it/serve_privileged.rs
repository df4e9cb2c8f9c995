//! Privileged directives over HTTP (DESIGN.md "Trust boundaries"): an operator's import of a
//! `program` section is 403 naming the directive and its line; an admin needs the cluster's
//! `allowed_privileges`, which only an admin changes; the diff and the audit name what came in.

use serde_json::json;

use crate::serve_support::{start, Db};

const CONFIG: &str = "frontend web\n    bind :8080\n    default_backend app\n\nbackend app\n    server s1 10.0.0.1:80\n";

crate::serve_tests!(privileged_directives_need_admin_and_the_clusters_allowance);

async fn privileged_directives_need_admin_and_the_clusters_allowance(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    s.post("/api/v1/users", &admin, json!({"username": "otto", "password": "glacier-tuba-quarry", "role": "operator"}))
        .await
        .expect(201);
    let operator = s.login("otto", "glacier-tuba-quarry").await;
    let import = format!("/api/v1/clusters/{id}/import");
    let settings = format!("/api/v1/clusters/{id}/settings");
    let with_program = format!("{CONFIG}\nprogram mirror\n    command /bin/true\n");

    // An operator: 403 naming the directive and its line; nothing stored.
    let refused = s.post_text(&import, &operator, &with_program).await;
    assert_eq!((refused.status.as_u16(), refused.code().as_str()), (403, "forbidden"), "{}", refused.text);
    let message = refused.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains("need the admin role") && message.contains("line 8, column 1: program mirror (program)"), "{message}");
    let versions = s.get(&format!("/api/v1/clusters/{id}/versions"), &operator).await.expect(200);
    assert_eq!(versions, json!([]), "nothing was stored");

    // An admin on a cluster that does not allow it: 403 naming the missing allowance.
    let refused = s.post_text(&import, &admin, &with_program).await;
    assert_eq!(refused.status.as_u16(), 403, "{}", refused.text);
    assert!(refused.text.contains("allowed_privileges lacks program"), "{}", refused.text);

    // Only an admin raises the allowance.
    let allow = json!({"config_path": "/etc/haproxy/haproxy.cfg", "allowed_privileges": ["program"]});
    let raise = s.put(&settings, &operator, allow.clone()).await;
    assert_eq!((raise.status.as_u16(), raise.code().as_str()), (403, "forbidden"), "{}", raise.text);
    let cluster = s.put(&settings, &admin, allow.clone()).await.expect(200);
    assert_eq!(cluster["settings"]["allowed_privileges"], json!(["program"]));
    let unknown = s.put(&settings, &admin, json!({"allowed_privileges": ["shell"]})).await;
    assert_eq!(unknown.status.as_u16(), 422, "{}", unknown.text);
    // An operator's update that keeps it passes (the reload mode is theirs to change).
    let keep = json!({"config_path": "/etc/haproxy/haproxy.cfg", "reload_mode": "systemd", "allowed_privileges": ["program"]});
    s.put(&settings, &operator, keep).await.expect(200);

    // The admin now succeeds; the diff and the audit name the directive.
    let version = s.post_text(&import, &admin, &with_program).await.expect(201)["version"].as_i64().unwrap();
    let diff = s.get(&format!("/api/v1/clusters/{id}/versions/{version}/diff"), &operator).await.expect(200);
    assert_eq!(diff["privileged"][0]["directive"], "program mirror");
    assert_eq!(diff["privileged"][0]["line"], 8);
    assert!(diff["summary"].is_array() && diff["unified"].is_string(), "the old fields stay: {diff}");
    let audit = s.get(&format!("/api/v1/audit?cluster_id={id}"), &admin).await.expect(200);
    let entry = audit.as_array().unwrap().iter().find(|e| e["action"] == "version.import").unwrap();
    assert_eq!(entry["details"]["privileged"][1]["directive"], "command /bin/true");
}
