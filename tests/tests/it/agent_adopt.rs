//! `fleet-agent --adopt` (issue 11): a node's existing managed tree (config, map, certificate)
//! becomes its cluster's first version, authored by the agent; HAProxy keeps serving those
//! files; once the cluster has a version, adoption is refused with 409 and changes nothing.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::agent_harness::{bundle_config, free_port, prerequisites, temp_dir, wait_served, Agent, Server};

#[test]
fn an_agent_adopts_its_nodes_tree_as_the_first_version_only() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let Some(pem) = fleet_tests::self_signed_pem_for("adopted.test") else { return };
    let dir = temp_dir("adopt");
    let server = Server::start(&fleet, &dir.join("data"));
    let mut agent = Agent::new(&agent_bin, &haproxy, &server, &dir);
    agent.mode_args.push("--adopt".into());
    let cluster = server.cluster("adopt", &agent.config);

    // The node as an operator set it up by hand, before the fleet.
    let (port, tls) = (free_port(), free_port());
    let managed = agent.config.parent().unwrap().to_path_buf();
    std::fs::create_dir_all(managed.join("maps")).unwrap();
    std::fs::create_dir_all(managed.join("certs")).unwrap();
    std::fs::write(&agent.config, bundle_config(port, tls, "adopted", "")).unwrap();
    std::fs::write(managed.join("maps/hosts.map"), "test A\n").unwrap();
    std::fs::write(managed.join("certs/site.pem"), &pem).unwrap();

    let secret = server.enrolment_secret(cluster, "node1");
    agent.start(Some(&secret));
    wait_served(port, "adopted A", Duration::from_secs(10));
    let deadline = Instant::now() + Duration::from_secs(15);
    while server.latest(cluster).is_none() {
        assert!(Instant::now() < deadline, "no version adopted:\n{}", agent.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let version = server.get(&format!("/api/v1/clusters/{cluster}/versions/1"));
    assert_eq!(version["author"], json!("agent:node1"), "{version}");
    let listing = server.get(&format!("/api/v1/clusters/{cluster}/files?version=1"));
    let listed = |f: &Value| format!("{} {} {}", f["path"].as_str().unwrap(), f["kind"].as_str().unwrap(), f["private_key"]);
    let files: Vec<String> = listing["files"].as_array().unwrap().iter().map(listed).collect();
    assert_eq!(files, ["haproxy.cfg config false", "certs/site.pem certificate true", "maps/hosts.map map false"]);
    let audit = server.get(&format!("/api/v1/audit?cluster_id={cluster}"));
    let entries = audit.as_array().or_else(|| audit["entries"].as_array()).cloned().unwrap_or_default();
    assert!(entries.iter().any(|e| e["action"] == json!("version.adopt") && e["actor"] == json!("agent:node1")), "{audit}");

    // Applying the adopted version switches the node to a release of the same files.
    server.apply(cluster, 1);
    server.wait_status(cluster, "version 1 applied", |a| a["applied_version"] == json!(1));
    assert_eq!(crate::agent_harness::probe(port).unwrap(), "adopted A");
    assert_eq!(fleet_tests::served_subject(tls), "subject=CN=adopted.test");

    // The cluster has a version now: the agent's upload is a conflict that says why, and a user
    // token cannot use the agent route at all.
    let token = std::fs::read_to_string(agent.state.join("token")).unwrap();
    let tree = std::process::Command::new("tar").arg("-C").arg(&managed).args(["-cf", "-", "."]).output().unwrap().stdout;
    let upload = |bearer: &str| {
        let response = reqwest::blocking::Client::new()
            .post(format!("{}/api/v1/agent/adopt?configs=haproxy.cfg", server.url))
            .bearer_auth(bearer)
            .header("content-type", "application/x-tar")
            .body(tree.clone())
            .send()
            .unwrap();
        (response.status().as_u16(), response.json::<Value>().unwrap_or(Value::Null))
    };
    let (status, body) = upload(token.trim());
    assert_eq!(status, 409, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(&format!("cluster {cluster} already has version 1: an agent adopts")), "{message}");
    let login: Value = server.post("/api/v1/auth/login", &json!({"username": "admin", "password": crate::agent_harness::PASSWORD}));
    assert_eq!(upload(login["token"].as_str().unwrap()).0, 403);
    assert_eq!(server.latest(cluster), Some(1), "nothing adopted twice");

    // A restarted agent with --adopt leaves the cluster alone and keeps serving.
    agent.kill();
    agent.start(None);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !agent.log().contains("not adopted: the cluster already has a version") {
        assert!(Instant::now() < deadline, "the restarted agent did not try:\n{}", agent.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(server.latest(cluster), Some(1));
    assert_eq!(crate::agent_harness::probe(port).unwrap(), "adopted A");
}
