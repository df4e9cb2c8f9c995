//! `--haproxy-mode systemd` against a stand-in `systemctl` that does what Debian's
//! haproxy.service does (`haproxy -Ws ... -S /run/haproxy-master.sock`; reload = `haproxy -c`
//! then SIGUSR2 to the master) with the real HAProxy: applies, a failed reload confirmed through
//! the master socket and rolled back, and runtime actions through that socket that survive a
//! reload (saved where the operator's `server-state-file` points).

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use serde_json::json;

use crate::agent_harness::{config, free_port, prerequisites, probe, temp_dir, wait_served, Agent, Server};

pub(crate) const FAKE_SYSTEMCTL: &str = r#"#!/bin/sh
# Stand-in for systemctl: the verbs fleet-agent uses, on a haproxy.service like Debian's.
echo "$*" >> "$FAKE_CALLS"
case "$1" in
  is-active) [ -f "$FAKE_PID" ] && kill -0 "$(cat "$FAKE_PID")" 2>/dev/null ;;
  start) "$FAKE_HAPROXY" -W -D -S "$FAKE_SOCK" -p "$FAKE_PID" -f "$FAKE_CONFIG" >>"$FAKE_LOG" 2>&1 ;;
  reload) "$FAKE_HAPROXY" -c -q -f "$FAKE_CONFIG" >>"$FAKE_LOG" 2>&1 && kill -USR2 "$(cat "$FAKE_PID")" ;;
  stop) kill -USR1 "$(cat "$FAKE_PID")" ;;
  status) echo "haproxy.service (stand-in)"; tail -n 5 "$FAKE_LOG" ;;
  *) echo "stand-in systemctl: unsupported: $*" >&2; exit 2 ;;
esac
"#;

#[test]
fn systemd_mode_reloads_the_unit_and_confirms_through_the_master_socket() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let dir = temp_dir("systemd");
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let systemctl = bin.join("systemctl");
    std::fs::write(&systemctl, FAKE_SYSTEMCTL).unwrap();
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
    let pool = server.post("/api/v1/pools", &json!({"name": "systemd-pool"}));
    let cluster = server.post(
        "/api/v1/clusters",
        &json!({"name": "systemd", "pool_id": pool["id"], "settings": {"config_path": agent.config, "reload_mode": "systemd"}}),
    )["id"]
        .as_i64()
        .unwrap();
    let port = free_port();
    // The unit's command line is the operator's: the state file is named in their `global`.
    let saved_state = dir.join("server-state");
    let config = |port: u16, body: &str, extra: &str| {
        config(port, body, extra).replacen("global\n", &format!("global\n    server-state-file {}\n", saved_state.display()), 1)
    };
    let v1 = server.commit(cluster, &config(port, "v1", ""));
    server.apply(cluster, v1);
    let secret = server.enrolment_secret(cluster, "node1");
    agent.start(Some(&secret));
    server.wait_status(cluster, "v1 applied", |a| a["applied_version"] == json!(v1));
    wait_served(port, "v1", Duration::from_secs(10));

    let v2 = server.commit(cluster, &config(port, "v2", ""));
    server.apply(cluster, v2);
    wait_served(port, "v2", Duration::from_secs(5));
    server.wait_status(cluster, "v2 applied", |a| a["applied_version"] == json!(v2));

    // `systemctl reload` succeeds, the master refuses the bind: seen on the master socket.
    let failing = server.commit(cluster, &config(port, "v3", "    bind 203.0.113.1:8\n"));
    server.apply(cluster, failing);
    let status = server.wait_status(cluster, "the failed reload", |a| a["last_outcome"] == json!("reload_failed"));
    let error = status["last_error"].as_str().unwrap();
    assert!(error.contains("refused the new configuration") && error.contains("rolled back"), "{error}");
    assert_eq!(status["applied_version"], json!(v2));
    assert_eq!(probe(port).unwrap(), "v2");

    let action = server.post(&format!("/api/v1/clusters/{cluster}/runtime"), &json!({"backend": "app", "server": "s1", "action": "weight", "value": 7}));
    let id = action["id"].as_i64().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let action = server.get(&format!("/api/v1/clusters/{cluster}/runtime/{id}"));
        if let Some(result) = action["results"].get(0) {
            assert_eq!(result["ok"], json!(true), "{result}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the runtime action did not run:\n{}", agent.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let state = agent.master_cli_at(&socket, "@1 show servers state app");
    assert!(state.lines().any(|l| l.contains(" s1 ") && l.split(' ').nth(7) == Some("7")), "{state}");

    // A version that reloads: the weight set at runtime is saved before and loaded after.
    let v4 = server.commit(cluster, &config(port, "v4", ""));
    server.apply(cluster, v4);
    wait_served(port, "v4", Duration::from_secs(5));
    server.wait_status(cluster, "v4 applied", |a| a["applied_version"] == json!(v4));
    assert!(std::fs::read_to_string(&saved_state).unwrap().lines().any(|l| l.contains(" s1 ")), "the state was saved");
    let state = agent.master_cli_at(&socket, "@1 show servers state app");
    assert!(state.lines().any(|l| l.contains(" s1 ") && l.split(' ').nth(7) == Some("7")), "s1 keeps weight 7 across the reload: {state}");

    let calls = std::fs::read_to_string(&calls).unwrap();
    assert!(calls.lines().any(|l| l == "start haproxy"), "{calls}");
    assert_eq!(calls.lines().filter(|l| *l == "reload haproxy").count(), 4, "v2, v3, the rollback and v4: {calls}");
    assert!(calls.lines().any(|l| l == "is-active --quiet haproxy"), "{calls}");
}
