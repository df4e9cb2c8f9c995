//! Runtime actions through `POST /api/v1/clusters/{id}/runtime`: drain, ready and weight reach
//! HAProxy's runtime API (visible in `show servers state`) without a reload.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::agent_harness::{bring_up, prerequisites, Agent, Server};

/// `show servers state app` as (server name, admin state, user weight) rows.
pub(crate) fn servers_state(agent: &Agent) -> Vec<(String, u32, u32)> {
    let answer = agent.master_cli("@1 show servers state app");
    let mut lines = answer.lines().filter(|l| !l.trim().is_empty());
    let _version = lines.next();
    let header: Vec<&str> = lines.next().unwrap().trim_start_matches("# ").split(' ').collect();
    let col = |name: &str| header.iter().position(|c| *c == name).unwrap();
    let (name, admin, weight) = (col("srv_name"), col("srv_admin_state"), col("srv_uweight"));
    lines
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            (fields[name].to_string(), fields[admin].parse().unwrap(), fields[weight].parse().unwrap())
        })
        .collect()
}

fn run_action(server: &Server, cluster: i64, body: Value) -> Value {
    let action = server.post(&format!("/api/v1/clusters/{cluster}/runtime"), &body);
    let id = action["id"].as_i64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let action = server.get(&format!("/api/v1/clusters/{cluster}/runtime/{id}"));
        if let Some(result) = action["results"].get(0) {
            assert_eq!(result["agent"], json!("node1"));
            return result.clone();
        }
        assert!(Instant::now() < deadline, "no agent ran {body}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `SRV_ADMF_FDRAIN`: the server was put in drain mode from the runtime API.
pub(crate) const FORCED_DRAIN: u32 = 0x08;

#[test]
fn drain_ready_and_weight_apply_without_a_reload() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let (server, agent, cluster, _port, _dir) = bring_up("runtime", &haproxy, &fleet, &agent_bin);
    let procs_before = agent.master_cli("show proc");
    assert_eq!(servers_state(&agent), vec![("s1".into(), 0, 10), ("s2".into(), 0, 10)]);

    let result = run_action(&server, cluster, json!({"backend": "app", "server": "s1", "action": "drain"}));
    assert_eq!(result["ok"], json!(true), "{result}");
    let s1 = &servers_state(&agent)[0];
    assert_eq!(s1.1 & FORCED_DRAIN, FORCED_DRAIN, "s1 drains: {s1:?}");

    let result = run_action(&server, cluster, json!({"backend": "app", "server": "s1", "action": "ready"}));
    assert_eq!(result["ok"], json!(true), "{result}");
    assert_eq!(servers_state(&agent)[0].1, 0, "s1 is ready again");

    let result = run_action(&server, cluster, json!({"backend": "app", "server": "s2", "action": "weight", "value": 42}));
    assert_eq!(result["ok"], json!(true), "{result}");
    assert_eq!(servers_state(&agent)[1], ("s2".into(), 0, 42));

    // HAProxy's own refusal comes back as the agent's result.
    let result = run_action(&server, cluster, json!({"backend": "app", "server": "nope", "action": "drain"}));
    assert_eq!(result["ok"], json!(false));
    assert!(result["output"].as_str().unwrap().contains("No such server"), "{result}");

    let master_line = |procs: &str| procs.lines().nth(1).unwrap().split_whitespace().take(5).collect::<Vec<_>>().join(" ");
    assert_eq!(master_line(&agent.master_cli("show proc")), master_line(&procs_before), "no reload happened");
    let workers = |procs: &str| procs.lines().skip_while(|l| !l.starts_with("# workers")).nth(1).map(|l| l.split_whitespace().next().unwrap().to_string());
    assert_eq!(workers(&agent.master_cli("show proc")), workers(&procs_before), "the same worker serves");

    // The heartbeat carries the runtime summary.
    let status = server.wait_status(cluster, "a runtime summary", |a| a["facts"]["runtime"]["servers"]["app/s2"]["weight"] == json!(42));
    assert!(status["facts"]["runtime"]["proxies"]["fe/frontend"]["status"].as_str().is_some(), "{status}");
}

#[test]
fn a_drained_server_stays_drained_across_an_apply_that_reloads() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let (server, agent, cluster, port, _dir) = bring_up("drain-survives", &haproxy, &fleet, &agent_bin);
    let result = run_action(&server, cluster, json!({"backend": "app", "server": "s1", "action": "drain"}));
    assert_eq!(result["ok"], json!(true), "{result}");
    let result = run_action(&server, cluster, json!({"backend": "app", "server": "s2", "action": "weight", "value": 3}));
    assert_eq!(result["ok"], json!(true), "{result}");
    let reloads = |procs: String| procs.lines().nth(1).and_then(|l| l.split_whitespace().nth(2).map(str::to_string)).unwrap();
    let before = reloads(agent.master_cli("show proc"));

    // An unrelated change: a reload, with the runtime state saved before and loaded after.
    let v2 = server.commit(cluster, &crate::agent_harness::config(port, "v2", ""));
    server.apply(cluster, v2);
    crate::agent_harness::wait_served(port, "v2", Duration::from_secs(5));
    server.wait_status(cluster, "v2 applied", |a| a["applied_version"] == json!(v2));
    assert_ne!(reloads(agent.master_cli("show proc")), before, "the apply reloaded");
    let state = servers_state(&agent);
    assert_eq!(state[0].1 & FORCED_DRAIN, FORCED_DRAIN, "s1 is still drained: {state:?}");
    assert_eq!(state[1].2, 3, "s2 keeps its runtime weight: {state:?}");
}
