//! keepalived adoption over HTTP, as `fleet-agent --keepalived --adopt` sends it: the agent
//! learns its name (`GET /api/v1/agent/me`), uploads its node's keepalived.conf
//! (`POST /api/v1/agent/keepalived`), and every keepalived file of the corpus comes back byte
//! for byte from `GET /api/v1/clusters/{id}/files/keepalived/<agent>.conf`.

use reqwest::Method;

use crate::serve_support::{start, Db};
use crate::support::corpus_dir;

const CONFIG: &str = "frontend web\n    bind :8080\n    default_backend app\n\nbackend app\n    server s1 10.0.0.1:80\n";

crate::serve_tests!(an_agent_adopts_its_keepalived_conf_once, every_corpus_keepalived_file_round_trips_byte_for_byte);

async fn an_agent_adopts_its_keepalived_conf_once(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let id = s.cluster(&admin, "vip").await;
    let agent = s.agent(&admin, id, "lb-1").await;
    let me = s.get("/api/v1/agent/me", &agent).await.expect(200);
    assert_eq!((me["cluster_id"].as_i64(), me["name"].as_str()), (Some(id), Some("lb-1")), "{me}");
    assert!(me["agent_id"].as_i64().is_some());
    assert_eq!(s.get("/api/v1/agent/me", &admin).await.status, 403, "a user token is not an agent");

    let adopt = |body: &'static [u8]| s.request(Method::POST, "/api/v1/agent/keepalived", Some(&agent)).body(body);
    // No version yet: HAProxy's configuration comes first.
    let early = s.send(adopt(b"vrrp_instance VI_1 {\n}\n")).await;
    assert_eq!(early.status, 409, "{}", early.text);
    assert!(early.text.contains("no version yet"), "{}", early.text);

    s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, CONFIG).await.expect(201);
    // Whatever it contains: not even keepalived syntax is asked for.
    let text: &[u8] = b"! node file\r\nvrrp_instance VI_1 {   # unclosed\n\tvirtual_ipaddress { 198.18.0.50/24 }";
    let made = s.send(adopt(text)).await.expect(201);
    assert_eq!(made["version"], 2);
    let file = s.request(Method::GET, &format!("/api/v1/clusters/{id}/files/keepalived/lb-1.conf"), Some(&admin)).send().await.unwrap();
    assert_eq!(file.status(), 200);
    assert_eq!(file.bytes().await.unwrap().as_ref(), text);
    let files = s.get(&format!("/api/v1/clusters/{id}/files"), &admin).await.expect(200);
    let listed = files["files"].as_array().unwrap().iter().find(|f| f["path"] == "keepalived/lb-1.conf").cloned().unwrap_or_default();
    assert_eq!(listed["kind"], "keepalived", "{files}");
    let versions = s.get(&format!("/api/v1/clusters/{id}/versions"), &admin).await.expect(200);
    assert!(versions.to_string().contains("agent:lb-1"), "authored by the agent: {versions}");

    // Once: the cluster manages the file from now on.
    let again = s.send(adopt(b"# other\n")).await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert!(again.text.contains("already has keepalived/lb-1.conf"), "{}", again.text);
    // Agent routes only.
    let user = s.send(s.request(Method::POST, "/api/v1/agent/keepalived", Some(&admin)).body("x")).await;
    assert_eq!(user.status, 403);
}

async fn every_corpus_keepalived_file_round_trips_byte_for_byte(db: Db) {
    let Some(corpus) = corpus_dir() else {
        eprintln!("skipping: no conformance corpus (FLEET_CORPUS)");
        return;
    };
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let id = s.cluster(&admin, "corpus").await;
    s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, CONFIG).await.expect(201);
    let manifest = std::fs::read_to_string(corpus.join("manifest.tsv")).unwrap();
    let mut adopted = Vec::new();
    for (n, row) in manifest.lines().skip(1).enumerate() {
        let columns: Vec<&str> = row.split('\t').collect();
        if columns.get(1) != Some(&"keepalived") {
            continue;
        }
        let bytes = std::fs::read(corpus.join(columns[0])).unwrap();
        let name = format!("node-{n}");
        let agent = s.agent(&admin, id, &name).await;
        let request = s.request(Method::POST, "/api/v1/agent/keepalived?message=adopted", Some(&agent)).body(bytes.clone());
        let made = s.send(request).await;
        assert_eq!(made.status, 201, "{}: {}", columns[0], made.text);
        adopted.push((columns[0].to_string(), name, bytes));
    }
    assert!(adopted.len() >= 26, "only {} keepalived files in the manifest", adopted.len());
    for (path, name, bytes) in &adopted {
        let file = s.request(Method::GET, &format!("/api/v1/clusters/{id}/files/keepalived/{name}.conf"), Some(&admin)).send().await.unwrap();
        assert_eq!(file.status(), 200, "{path}");
        assert!(file.bytes().await.unwrap().as_ref() == bytes.as_slice(), "{path} changed on its way through the server");
    }
}
