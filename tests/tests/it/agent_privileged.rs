//! Defence in depth on the node (DESIGN.md "Trust boundaries", issue 12 item 1): a version with
//! privileged directives, accepted by the server (an admin, a cluster that allows them), is
//! refused by an agent without `--allow-privileged`, which keeps serving its old version; the
//! same agent restarted with the allowance applies it.

use std::time::Duration;

use serde_json::{json, Value};

use crate::agent_harness::{bring_up, config, prerequisites, probe, wait_served, Server, PASSWORD};

/// `PUT /api/v1/clusters/{id}/settings` as the admin (the harness's client only posts and gets).
fn put_settings(server: &Server, cluster: i64, settings: &Value) {
    let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let login: Value = http
        .post(format!("{}/api/v1/auth/login", server.url))
        .json(&json!({"username": "admin", "password": PASSWORD}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let response = http
        .put(format!("{}/api/v1/clusters/{cluster}/settings", server.url))
        .bearer_auth(login["token"].as_str().unwrap())
        .json(settings)
        .send()
        .unwrap();
    let status = response.status();
    assert!(status.is_success(), "{status}: {}", response.text().unwrap_or_default());
}

#[test]
fn an_agent_refuses_privileged_directives_it_does_not_allow_and_keeps_serving() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let (server, mut agent, cluster, port, _dir) = bring_up("privileged", &haproxy, &fleet, &agent_bin);
    let v1_text = std::fs::read_to_string(&agent.config).unwrap();

    // The server lets it in: an admin, on a cluster that allows health checks by command.
    let allowed = json!({"config_path": agent.config, "reload_mode": "process", "allowed_privileges": ["external-check", "insecure-fork"]});
    put_settings(&server, cluster, &allowed);
    let v2_text = config(port, "v2", "")
        .replacen("global\n", "global\n    insecure-fork-wanted\n    external-check\n", 1)
        .replace("    balance roundrobin\n", "    balance roundrobin\n    option external-check\n    external-check command /bin/true\n");
    let v2 = server.commit(cluster, &v2_text);
    server.apply(cluster, v2);

    // The node does not: refused before anything is written, the old version keeps serving.
    let status = server.wait_status(cluster, "the refusal", |a| a["last_outcome"] == json!("refused_by_node_policy"));
    let line = v2_text.lines().position(|l| l.contains("external-check command")).unwrap() + 1;
    let error = status["last_error"].as_str().unwrap();
    assert!(error.starts_with("refused by the node's policy (--allow-privileged lacks external-check,insecure-fork): "), "{error}");
    assert!(error.contains("line 2, column 5: insecure-fork-wanted (insecure-fork)"), "{error}");
    assert!(error.contains(&format!("line {line}, column 5: external-check command /bin/true (external-check)")), "{error}");
    let located: Vec<u64> = status["last_diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["position"]["line"].as_u64().unwrap())
        .collect();
    assert_eq!(located, vec![2, 3, line as u64], "{status}");
    assert_eq!(status["applied_version"], json!(1));
    assert_eq!(probe(port).unwrap(), "v1", "the node keeps serving");
    assert_eq!(std::fs::read_to_string(&agent.config).unwrap(), v1_text, "nothing was written");
    let releases = std::fs::read_dir(agent.state.join("releases")).unwrap().flatten().filter(|e| e.path().is_dir()).count();
    assert_eq!(releases, 1, "no release staged for the refused version");

    // The node's operator opts in: the same version applies (HAProxy accepts it).
    agent.kill();
    agent.mode_args.extend(["--allow-privileged".to_string(), "external-check,insecure-fork".to_string()]);
    agent.start(None);
    wait_served(port, "v2", Duration::from_secs(10));
    server.wait_status(cluster, "v2 applied", |a| a["applied_version"] == json!(v2) && a["last_outcome"] == json!("applied"));
}
