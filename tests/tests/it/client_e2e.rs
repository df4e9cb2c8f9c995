//! The `fleet` client end to end, as an operator drives it: the real binary against a real
//! `fleet serve` and a real agent running HAProxy. Login, a pool and a cluster, a config folder
//! pushed, `apply --wait` (exit 0 once the agent runs it), an edit through a scripted `$EDITOR`
//! (refused once, then fixed), a drain, and `-o json` read back at each step.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::agent_harness::{config, free_port, prerequisites, temp_dir, wait_served, Agent, Server, PASSWORD};

pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    #[track_caller]
    pub(crate) fn ok(self) -> Run {
        assert_eq!(self.code, 0, "stdout: {}\nstderr: {}", self.stdout, self.stderr);
        self
    }

    #[track_caller]
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }
}

/// The `fleet` binary run as a client with its own config folder under `home`.
pub(crate) fn client(fleet: &Path, home: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    let output = Command::new(fleet)
        .args(args)
        .env_remove("FLEET_SERVER")
        .env_remove("FLEET_TOKEN")
        .env("FLEET_CONFIG_DIR", home.join("config"))
        .envs(env.iter().copied())
        .current_dir(home)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run { code: output.status.code().unwrap_or(-1), stdout: String::from_utf8(output.stdout).unwrap(), stderr: String::from_utf8(output.stderr).unwrap() }
}

/// `SRV_ADMF_FDRAIN` in `show servers state`: drained from the runtime API.
const FORCED_DRAIN: u32 = 0x08;

#[test]
fn an_operator_drives_a_node_with_the_client() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let dir = temp_dir("client-e2e");
    let server = Server::start(&fleet, &dir.join("data"));
    let mut agent = Agent::new(&agent_bin, &haproxy, &server, &dir);
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let run = |env: &[(&str, &str)], args: &[&str]| client(&fleet, &home, env, args);

    run(&[("FLEET_PASSWORD", PASSWORD)], &["login", "--server", &server.url, "--username", "admin"]).ok();
    run(&[], &["pool", "create", "edge"]).ok();
    let config_path = agent.config.to_str().unwrap().to_string();
    run(&[], &["cluster", "create", "web", "--pool", "edge", "--config-path", &config_path, "--reload-mode", "process"]).ok();
    let clusters = run(&[], &["cluster", "ls", "-o", "json"]).ok().json();
    assert_eq!(clusters[0]["name"], "web");

    // A config folder pushed as version 1; the agent enrols with the printed secret.
    let port = free_port();
    let site = home.join("site");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(site.join("haproxy.cfg"), config(port, "v1", "")).unwrap();
    let pushed = run(&[], &["config", "push", "web", "site", "-m", "first", "--yes", "-o", "json"]).ok().json();
    assert_eq!(pushed["version"], 1);
    let enrolment = run(&[], &["enrol", "web", "--name", "node1", "-o", "json"]).ok().json();
    agent.start(Some(enrolment["secret"].as_str().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(30);
    while run(&[], &["agent", "ls", "web", "-o", "json"]).ok().json().as_array().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the agent did not enrol: {}", agent.log());
        std::thread::sleep(Duration::from_millis(100));
    }

    // apply --wait: exit 0 once the agent runs it, and HAProxy serves it.
    let applied = run(&[], &["apply", "web", "--wait", "--timeout", "60", "-o", "json"]);
    let applied = applied.ok().json();
    assert_eq!(applied["succeeded"], true, "{applied}");
    assert_eq!(applied["agents"][0]["name"], "node1");
    assert_eq!(applied["agents"][0]["state"], "applied");
    wait_served(port, "v1", Duration::from_secs(10));

    // An edit through a scripted editor: the first save is refused by the server's check (the
    // note comes back at the top), the second is fixed; then rolled out.
    let editor = home.join("editor.sh");
    let count = home.join("count");
    let script = format!(
        "#!/bin/sh\nset -e\nn=$(cat {c} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {c}\n\
         if [ $n = 1 ]; then sed -i 's/\"v1\"/\"v2\"/; s/balance roundrobin/balance nonsense/' \"$1\";\n\
         else grep -q '^# fleet: line' \"$1\"; sed -i 's/balance nonsense/balance roundrobin/' \"$1\"; fi\n",
        c = count.display()
    );
    std::fs::write(&editor, script).unwrap();
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    let edited = run(&[("EDITOR", editor.to_str().unwrap())], &["config", "edit", "web", "-m", "v2", "-o", "json"]).ok();
    assert_eq!(edited.json()["version"], 2, "{}", edited.stderr);
    assert!(edited.stderr.contains("refused"), "{}", edited.stderr);
    assert_eq!(std::fs::read_to_string(&count).unwrap().trim(), "2", "the editor opened twice");
    let rollout = run(&[], &["apply", "web", "2", "--wait", "--timeout", "60"]).ok();
    assert!(rollout.stdout.contains("1 of 1 agents applied version 2"), "{}", rollout.stdout);
    wait_served(port, "v2", Duration::from_secs(10));

    // A drain reaches HAProxy's runtime API on the node.
    let drained = run(&[], &["drain", "web", "app/s1", "-o", "json"]).ok().json();
    assert_eq!(drained["results"][0]["ok"], true, "{drained}");
    let state = agent.master_cli("@1 show servers state app");
    let s1 = state.lines().find(|l| l.split(' ').nth(3) == Some("s1")).unwrap_or_else(|| panic!("{state}"));
    let admin: u32 = s1.split(' ').nth(6).unwrap().parse().unwrap();
    assert_eq!(admin & FORCED_DRAIN, FORCED_DRAIN, "{state}");

    let status = run(&[], &["status", "web", "-o", "json"]).ok().json();
    assert_eq!(status["desired_version"], 2);
    assert_eq!(status["agents"][0]["applied_version"], 2);
    let versions = run(&[], &["versions", "web"]).ok().stdout;
    assert!(versions.contains("2*"), "the applied version is marked: {versions}");
    drop(agent);
    let _ = std::fs::remove_dir_all(&dir);
}
