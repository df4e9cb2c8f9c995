//! Node lifecycle (issue 18) with the real `fleet serve`, `fleet-agent` and HAProxy on loopback:
//! SIGTERM leaves HAProxy serving and the next agent adopts its master (`--stop-haproxy-on-exit`
//! stops it), a decommissioned agent stops HAProxy when asked and exits, and a cluster delete is
//! refused while an agent is enrolled, then forced (the agent hears 410 and exits, HAProxy keeps
//! serving).

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::agent_harness::{bring_up, config, free_port, prerequisites, probe, temp_dir, wait_served, Agent, Server};

/// Waits until `done` holds (bounded), with `what` and the agent's log in the failure.
fn wait_for(agent: &Agent, what: &str, within: Duration, done: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}:\n{}", agent.log());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// True while `pid` runs (a zombie waiting for a container's init to reap it counts as gone).
fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    stat.rfind(')').and_then(|at| stat[at + 1..].split_whitespace().next()) != Some("Z")
}

/// The id of agent `name` of `cluster`.
fn agent_id(server: &Server, cluster: i64, name: &str) -> i64 {
    let agents = server.get(&format!("/api/v1/clusters/{cluster}/agents"));
    agents.as_array().unwrap().iter().find(|a| a["name"] == name).unwrap_or_else(|| panic!("no agent {name}: {agents}"))["id"].as_i64().unwrap()
}

/// What the server answers a token on an agent route: the status and the JSON body.
fn agent_call(server: &Server, token: &str) -> (u16, Value) {
    let response = reqwest::blocking::Client::new().get(format!("{}/api/v1/agent/me", server.url)).bearer_auth(token).send().unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

/// The status and JSON body of a DELETE with the admin session.
fn delete(server: &Server, path: &str) -> (u16, Value) {
    let response = server.request(reqwest::Method::DELETE, path).send().unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

#[test]
fn sigterm_leaves_haproxy_serving_and_the_next_agent_adopts_its_master() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let (server, mut agent, cluster, port, _dir) = bring_up("adopt-master", &haproxy, &fleet, &agent_bin);
    let master = agent.master_pid();

    let status = agent.terminate();
    assert!(status.success(), "{status}:\n{}", agent.log());
    assert!(agent.log().contains("leaving haproxy running"), "{}", agent.log());
    assert!(alive(master), "the master {master} outlived the agent");
    assert_eq!(probe(port).as_deref(), Ok("v1"), "HAProxy keeps serving without its agent");

    // The next agent adopts the master it finds on the socket: no second master, no busy port.
    agent.start(None);
    wait_for(&agent, "the adoption", Duration::from_secs(30), || agent.log().contains("adopting the running haproxy master"));
    let v2 = server.commit(cluster, &config(port, "v2", ""));
    server.apply(cluster, v2);
    server.wait_status(cluster, "version 2 applied", |a| a["applied_version"] == json!(v2));
    wait_served(port, "v2", Duration::from_secs(10));
    assert_eq!(agent.master_pid(), master, "the same master, reloaded:\n{}", agent.log());
    assert_eq!(agent.log().matches("started haproxy master").count(), 1, "one start in all (the first agent's):\n{}", agent.log());

    // --stop-haproxy-on-exit: the old behaviour.
    assert!(agent.terminate().success());
    agent.mode_args.push("--stop-haproxy-on-exit".into());
    let adoptions = agent.log().matches("adopting the running haproxy master").count();
    agent.start(None);
    wait_for(&agent, "the second adoption", Duration::from_secs(30), || agent.log().matches("adopting the running haproxy master").count() > adoptions);
    server.wait_status(cluster, "the adopted master reported", |a| a["applied_version"] == json!(v2) && a["last_outcome"] == json!("applied"));
    assert!(agent.terminate().success(), "{}", agent.log());
    wait_for(&agent, "the master to stop", Duration::from_secs(15), || !alive(master));
    assert!(probe(port).is_err(), "nothing serves once the agent stopped HAProxy");
}

#[test]
fn a_decommissioned_agent_stops_haproxy_when_asked_and_exits() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let (server, mut agent, cluster, port, _dir) = bring_up("decommission-stop", &haproxy, &fleet, &agent_bin);
    let master = agent.master_pid();
    let token = std::fs::read_to_string(agent.state.join("token")).unwrap().trim().to_string();
    let id = agent_id(&server, cluster, "node1");

    let answer = server.post(&format!("/api/v1/clusters/{cluster}/agents/{id}/decommission"), &json!({"stop_haproxy": true}));
    assert_eq!((answer["agent"].clone(), answer["stop_haproxy"].clone(), answer["reason"].clone()), (json!("node1"), json!(true), json!("decommissioned")));
    let status = agent.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "exits cleanly: {status}\n{}", agent.log());
    let log = agent.log();
    assert!(log.contains("this agent was decommissioned") && log.contains("fleet-agent decommissioned: exiting"), "{log}");
    assert!(log.contains("haproxy stopped, as the decommission asked"), "{log}");
    assert!(!alive(master), "the master {master} was stopped");
    assert!(probe(port).is_err(), "nothing answers on port {port} any more");

    // The token is revoked and kept as a tombstone; the node keeps it aside.
    let (code, body) = agent_call(&server, &token);
    assert_eq!(code, 410, "{body}");
    assert_eq!((body["error"]["code"].clone(), body["error"]["decommission"]["stop_haproxy"].clone()), (json!("decommissioned"), json!(true)));
    assert!(!agent.state.join("token").exists() && agent.state.join("token.decommissioned").exists());
    assert!(server.get(&format!("/api/v1/clusters/{cluster}/agents")).as_array().unwrap().is_empty());
    // Started again (systemd would not, Restart=on-failure), it exits at once and says why.
    agent.start(None);
    assert!(agent.wait_exit(Duration::from_secs(20)).success(), "{}", agent.log());
    assert!(agent.log().contains("this node was decommissioned"), "{}", agent.log());
    assert!(probe(port).is_err(), "and starts no HAProxy");
    let audit = server.get(&format!("/api/v1/audit?cluster_id={cluster}&action=agent.decommission"));
    assert_eq!(audit.as_array().unwrap().len(), 1, "{audit}");
    assert_eq!(audit[0]["details"]["stop_haproxy"], json!(true));
}

#[test]
fn decommission_without_stop_and_forced_deletes_leave_haproxy_serving() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let (server, mut first, cluster, port, dir) = bring_up("decommission-keep", &haproxy, &fleet, &agent_bin);
    let master = first.master_pid();

    // A second cluster with its own agent, for the deletes.
    std::fs::create_dir_all(dir.join("n2")).unwrap();
    let mut second = Agent::new(&agent_bin, &haproxy, &server, &dir.join("n2"));
    let other = server.cluster("decommission-other", &second.config);
    let other_port = free_port();
    let v1 = server.commit(other, &config(other_port, "other", ""));
    server.apply(other, v1);
    let secret = server.enrolment_secret(other, "node2");
    second.start(Some(&secret));
    server.wait_status(other, "the second agent applied", |a| a["applied_version"] == json!(v1));
    wait_served(other_port, "other", Duration::from_secs(10));
    let other_master = second.master_pid();
    let other_token = std::fs::read_to_string(second.state.join("token")).unwrap().trim().to_string();

    // Decommissioned without stopping HAProxy.
    let id = agent_id(&server, cluster, "node1");
    server.post(&format!("/api/v1/clusters/{cluster}/agents/{id}/decommission"), &json!({}));
    assert!(first.wait_exit(Duration::from_secs(30)).success(), "{}", first.log());
    assert!(first.log().contains("haproxy left running, as the decommission asked"), "{}", first.log());
    assert!(alive(master));
    assert_eq!(probe(port).as_deref(), Ok("v1"), "HAProxy keeps serving");

    // Deletes refused while an agent is enrolled.
    let (code, body) = delete(&server, &format!("/api/v1/clusters/{other}"));
    assert_eq!(code, 409, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("still has 1 enrolled agent(s) (node2)") && message.contains("force=true"), "{message}");
    let pool = server.get(&format!("/api/v1/clusters/{other}"))["pool_id"].as_i64().unwrap();
    let (code, body) = delete(&server, &format!("/api/v1/pools/{pool}"));
    assert_eq!(code, 409, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("1 enrolled agent(s)"), "{body}");
    assert_eq!(agent_call(&server, &other_token).0, 200, "nothing was revoked");

    // Forced: the agent hears 410 (cluster_deleted) and exits; its HAProxy keeps serving.
    let (code, body) = delete(&server, &format!("/api/v1/pools/{pool}?force=true"));
    assert_eq!(code, 204, "{body}");
    assert_eq!(server.get_status(&format!("/api/v1/clusters/{other}")), 404);
    assert!(second.wait_exit(Duration::from_secs(30)).success(), "{}", second.log());
    assert!(second.log().contains("reason=cluster_deleted"), "{}", second.log());
    let (code, body) = agent_call(&server, &other_token);
    assert_eq!((code, body["error"]["decommission"]["reason"].clone()), (410, json!("cluster_deleted")), "{body}");
    assert!(alive(other_master));
    assert_eq!(probe(other_port).as_deref(), Ok("other"));
    let audit = server.get("/api/v1/audit?action=pool.delete");
    assert_eq!(audit[0]["details"]["clusters"], json!(["decommission-other"]), "{audit}");
    let audit = server.get(&format!("/api/v1/audit?cluster_id={other}&action=cluster.delete"));
    assert_eq!(audit[0]["details"]["revoked_agents"], json!(["node2"]), "{audit}");

    // The first cluster has no agent left: deleted without force.
    let (code, body) = delete(&server, &format!("/api/v1/clusters/{cluster}"));
    assert_eq!(code, 204, "{body}");
}

#[test]
fn systemd_mode_leaves_haproxy_to_its_unit_and_a_decommission_stops_the_unit() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let dir = temp_dir("life-systemd");
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let systemctl = bin.join("systemctl");
    std::fs::write(&systemctl, crate::agent_systemd::FAKE_SYSTEMCTL).unwrap();
    std::fs::set_permissions(&systemctl, std::fs::Permissions::from_mode(0o755)).unwrap();
    let server = Server::start(&fleet, &dir.join("data"));
    let mut agent = Agent::new(&agent_bin, &haproxy, &server, &dir);
    let socket = dir.join("haproxy-master.sock");
    let calls = dir.join("calls");
    agent.mode_args = ["--haproxy-mode", "systemd", "--systemd-unit", "haproxy", "--master-socket"]
        .iter()
        .map(|s| s.to_string())
        .chain([socket.display().to_string()])
        .collect();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    agent.env = vec![
        ("PATH".into(), path),
        ("FAKE_CALLS".into(), calls.display().to_string()),
        ("FAKE_HAPROXY".into(), haproxy.display().to_string()),
        ("FAKE_SOCK".into(), socket.display().to_string()),
        // The harness stops the master named here when the test ends.
        ("FAKE_PID".into(), agent.state.join("haproxy.pid").display().to_string()),
        ("FAKE_CONFIG".into(), agent.config.display().to_string()),
        ("FAKE_LOG".into(), dir.join("haproxy.log").display().to_string()),
    ];
    let pool = server.post("/api/v1/pools", &json!({"name": "life-systemd-pool"}));
    let cluster = server.post(
        "/api/v1/clusters",
        &json!({"name": "life-systemd", "pool_id": pool["id"], "settings": {"config_path": agent.config, "reload_mode": "systemd"}}),
    )["id"]
        .as_i64()
        .unwrap();
    let port = free_port();
    let v1 = server.commit(cluster, &config(port, "v1", ""));
    server.apply(cluster, v1);
    let secret = server.enrolment_secret(cluster, "node1");
    agent.start(Some(&secret));
    server.wait_status(cluster, "v1 applied", |a| a["applied_version"] == json!(v1));
    wait_served(port, "v1", Duration::from_secs(10));

    // SIGTERM: the unit's HAProxy is none of the agent's business, with or without the flag.
    assert!(agent.terminate().success(), "{}", agent.log());
    agent.mode_args.push("--stop-haproxy-on-exit".into());
    let seen = server.agent_status(cluster)["last_seen_at"].clone();
    assert!(seen.is_string(), "{seen}");
    agent.start(None);
    server.wait_status(cluster, "a heartbeat of the restarted agent", |a| a["last_seen_at"] != seen);
    assert!(agent.terminate().success(), "{}", agent.log());
    assert!(!std::fs::read_to_string(&calls).unwrap().lines().any(|l| l.starts_with("stop")));
    assert_eq!(probe(port).as_deref(), Ok("v1"));

    // A decommission that asks to stop HAProxy stops the unit.
    agent.start(None);
    let id = agent_id(&server, cluster, "node1");
    server.post(&format!("/api/v1/clusters/{cluster}/agents/{id}/decommission"), &json!({"stop_haproxy": true}));
    assert!(agent.wait_exit(Duration::from_secs(30)).success(), "{}", agent.log());
    let calls = std::fs::read_to_string(&calls).unwrap();
    assert!(calls.lines().any(|l| l == "stop haproxy"), "{calls}");
    wait_for(&agent, "the unit's haproxy to stop serving", Duration::from_secs(15), || probe(port).is_err());
}
