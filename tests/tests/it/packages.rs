//! The Debian packages and the agent install script, on this machine as an operator uses them:
//! `scripts/package-deb` builds `fleet` and `fleet-agent` from the test build's binaries,
//! `dpkg -i` installs them, `fleet serve` starts as its unit says (through systemd when it runs,
//! else by the unit's `ExecStart` line as the unit's user), the server hands out the agent at
//! `/install/agent.sh`, the script refuses a binary whose checksum differs and installs, enrols
//! and starts one that matches, and `dpkg --purge` takes everything away.
//!
//! Needs root and dpkg; skips (saying why) on a machine where the packages are installed for
//! real, so a developer's installation is never replaced.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::agent_harness::{binary, free_port, haproxy, temp_dir};

const PASSWORD: &str = "package-admin-password";
const SCRIPT_BIN: &str = "/usr/local/bin/fleet-agent";
const SCRIPT_UNIT: &str = "/etc/systemd/system/fleet-agent.service";

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"))
}

#[track_caller]
fn ok(output: Output) -> String {
    assert!(output.status.success(), "exit {:?}\nstdout: {}\nstderr: {}", output.status, String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn installed(package: &str) -> bool {
    run("dpkg-query", &["-W", "-f=${Status}", package]).stdout.starts_with(b"install ok installed")
}

fn sha256(path: &Path) -> String {
    ok(run("sha256sum", &[path.to_str().unwrap()])).split_whitespace().next().unwrap().to_string()
}

/// The value of `Key=` in a systemd unit.
fn unit_value(unit: &str, key: &str) -> String {
    unit.lines().find_map(|l| l.strip_prefix(&format!("{key}="))).unwrap_or_else(|| panic!("no {key}= in:\n{unit}")).to_string()
}

/// Starts a unit's service as systemd would: through systemctl when systemd runs, else its
/// `ExecStart` line in a shell that read the unit's `EnvironmentFile` (with `overrides` after
/// it), as the unit's `User=`.
fn start_unit(unit_path: &str, overrides: &str, log: &Path) -> Option<Child> {
    let unit = std::fs::read_to_string(unit_path).unwrap();
    let env_file = unit_value(&unit, "EnvironmentFile").trim_start_matches('-').to_string();
    let exec = unit_value(&unit, "ExecStart");
    let as_user = match unit.lines().find_map(|l| l.strip_prefix("User=")) {
        Some(user) => format!("runuser -u {user} -- "),
        None => String::new(),
    };
    let line = format!("set -a; . {env_file}; {overrides} set +a; exec {as_user}{exec}");
    let log = std::fs::File::create(log).unwrap();
    Some(Command::new("sh").args(["-c", &line]).stdin(Stdio::null()).stdout(log.try_clone().unwrap()).stderr(log).spawn().unwrap())
}

/// Undoes what the test installs, pass or fail.
struct Cleanup {
    children: Vec<Child>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        // The unit's shell execs runuser, which runs the server as its child.
        let _ = run("pkill", &["-u", "fleet", "-f", "/usr/bin/fleet serve"]);
        let _ = run("pkill", &["-f", "^/usr/local/bin/fleet-agent --state-dir /var/lib/fleet-agent"]);
        let _ = run("dpkg", &["--purge", "fleet", "fleet-agent"]);
        for path in [SCRIPT_BIN, SCRIPT_UNIT, "/etc/default/fleet-agent", "/etc/default/fleet-agent.before-install"] {
            let _ = std::fs::remove_file(path);
        }
        let _ = std::fs::remove_dir_all("/var/lib/fleet-agent");
    }
}

struct Api {
    base: String,
    http: reqwest::blocking::Client,
    token: String,
}

impl Api {
    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method.clone(), format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().unwrap();
        let status = response.status();
        let text = response.text().unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

fn wait_for<T>(what: &str, seconds: u64, mut probe: impl FnMut() -> Option<T>, log: &Path) -> T {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(Instant::now() < deadline, "{what} within {seconds} s; log:\n{}", std::fs::read_to_string(log).unwrap_or_default());
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn packages_install_serve_hand_out_the_agent_and_purge_cleanly() {
    if !run("id", &["-u"]).stdout.starts_with(b"0\n") {
        eprintln!("skipped: installing packages needs root");
        return;
    }
    if Command::new("dpkg-deb").arg("--version").output().is_err() {
        eprintln!("skipped: dpkg-deb is not installed (not a Debian system)");
        return;
    }
    if installed("fleet") || installed("fleet-agent") || Path::new("/var/lib/fleet-agent").exists() {
        eprintln!("skipped: fleet packages or an agent are installed on this machine for real; not replacing them");
        return;
    }
    let (Some(fleet), Some(haproxy)) = (binary("fleet"), haproxy()) else {
        eprintln!("skipped: needs the built binaries and haproxy");
        return;
    };
    let dir = temp_dir("packages");
    let mut cleanup = Cleanup { children: Vec::new() };

    // Built from the binaries under test, uncompressed (the release script compresses with xz).
    let built = ok(Command::new(fleet_tests::workspace_root().join("scripts/package-deb"))
        .args(["--bin-dir", fleet.parent().unwrap().to_str().unwrap(), "--out", dir.join("deb").to_str().unwrap(), "--compression", "none"])
        .output()
        .unwrap());
    let debs: Vec<&str> = built.lines().collect();
    assert_eq!(debs.len(), 2, "{built}");
    assert!(debs[0].contains("/fleet_") && debs[1].contains("/fleet-agent_") && debs.iter().all(|d| d.ends_with(".deb")), "{built}");
    ok(run("dpkg", &["-i", debs[0], debs[1]]));

    // What the packages put where.
    for path in [
        "/usr/bin/fleet", "/usr/lib/fleet/fleet-agent", "/lib/systemd/system/fleet.service", "/etc/default/fleet",
        "/usr/share/man/man1/fleet.1.gz", "/usr/share/bash-completion/completions/fleet",
        "/usr/bin/fleet-agent", "/lib/systemd/system/fleet-agent.service", "/etc/default/fleet-agent",
    ] {
        assert!(Path::new(path).exists(), "{path} was not installed");
    }
    assert!(ok(run("getent", &["passwd", "fleet"])).contains("/var/lib/fleet"), "the system user fleet");
    let data = std::fs::metadata("/var/lib/fleet").unwrap();
    assert_eq!(data.mode() & 0o777, 0o700);
    assert_eq!(data.uid().to_string(), ok(run("id", &["-u", "fleet"])).trim());
    assert_eq!(sha256(Path::new("/usr/bin/fleet-agent")), sha256(&binary("fleet-agent").unwrap()));

    // fleet serve as its unit runs it: the packaged defaults, the port and password this test needs.
    let port = free_port();
    let log = dir.join("serve.log");
    let overrides = format!("FLEET_SERVE_ARGS='--listen 127.0.0.1:{port}'; FLEET_ADMIN_PASSWORD={PASSWORD};");
    cleanup.children.extend(start_unit("/lib/systemd/system/fleet.service", &overrides, &log));
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    wait_for("fleet serve answers", 60, || http.get(format!("{base}/api/v1/health")).send().ok().filter(|r| r.status().is_success()), &log);
    assert!(std::fs::metadata("/var/lib/fleet/fleet.db").unwrap().uid() == data.uid(), "the database belongs to the user fleet");
    let login: Value = http.post(format!("{base}/api/v1/auth/login")).json(&json!({"username": "admin", "password": PASSWORD})).send().unwrap().json().unwrap();
    let api = Api { base: base.clone(), http: http.clone(), token: login["token"].as_str().unwrap().to_string() };

    // An enrolment names the script's SHA-256; the served script has it.
    let pool = api.call(reqwest::Method::POST, "/api/v1/pools", Some(json!({"name": "edge"})));
    let node = dir.join("node");
    std::fs::create_dir_all(&node).unwrap();
    let config_path = node.join("haproxy.cfg");
    let cluster = api.call(reqwest::Method::POST, "/api/v1/clusters", Some(json!({"name": "web", "pool_id": pool["id"], "settings": {"config_path": config_path, "reload_mode": "process"}})));
    let cluster_id = cluster["id"].as_i64().unwrap();
    let enrolment = api.call(reqwest::Method::POST, &format!("/api/v1/clusters/{cluster_id}/enrollments"), Some(json!({"name": "node1"})));
    let install = &enrolment["install_script"];
    assert_eq!(install["url"], format!("{base}/install/agent.sh"), "{enrolment}");
    let script_path = dir.join("fleet-agent-install.sh");
    let script = http.get(install["url"].as_str().unwrap()).send().unwrap().text().unwrap();
    std::fs::write(&script_path, &script).unwrap();
    assert_eq!(sha256(&script_path), install["sha256"].as_str().unwrap());
    assert!(!script.contains(enrolment["secret"].as_str().unwrap()), "the public script never holds a secret");
    let command = install["command"].as_str().unwrap();
    assert!(command.contains("sha256sum -c") && command.contains(enrolment["secret"].as_str().unwrap()), "{command}");

    // The agent package goes first: the script installs its own copy.
    ok(run("dpkg", &["--purge", "fleet-agent"]));
    for path in ["/usr/bin/fleet-agent", "/lib/systemd/system/fleet-agent.service", "/etc/default/fleet-agent", "/var/lib/fleet-agent"] {
        assert!(!Path::new(path).exists(), "{path} survived dpkg --purge fleet-agent");
    }

    // A binary that is not the one the script names is refused before anything is installed.
    let secret = enrolment["secret"].as_str().unwrap();
    let config_arg = config_path.to_str().unwrap();
    let script_args = ["--enroll-secret", secret, "--config-path", config_arg, "--haproxy-mode", "process", "--haproxy-bin", haproxy.to_str().unwrap()];
    let served = "/usr/lib/fleet/fleet-agent";
    let original = std::fs::read(served).unwrap();
    std::fs::write(served, b"#!/bin/sh\necho not the agent\n").unwrap();
    let tampered = Command::new("sh").arg(&script_path).args(script_args).output().unwrap();
    std::fs::write(served, &original).unwrap();
    std::fs::set_permissions(served, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(!tampered.status.success());
    let stderr = String::from_utf8_lossy(&tampered.stderr);
    assert!(stderr.contains("nothing was installed"), "{stderr}");
    assert!(!Path::new(SCRIPT_BIN).exists() && !Path::new(SCRIPT_UNIT).exists(), "a refused binary left files behind");

    // The real one: installed, its unit and defaults written, enrolled (token 0600).
    let installed_run = ok(Command::new("sh").arg(&script_path).args(script_args).output().unwrap());
    assert_eq!(sha256(Path::new(SCRIPT_BIN)), sha256(Path::new(served)));
    let unit = std::fs::read_to_string(SCRIPT_UNIT).unwrap();
    assert!(unit_value(&unit, "ExecStart").starts_with(SCRIPT_BIN), "{unit}");
    let defaults = std::fs::read_to_string("/etc/default/fleet-agent").unwrap();
    assert!(defaults.contains(&format!("--server {base} --config-path {config_arg}")), "{defaults}");
    let token = std::fs::metadata("/var/lib/fleet-agent/token").unwrap();
    assert_eq!(token.mode() & 0o777, 0o600);
    let agents = api.call(reqwest::Method::GET, &format!("/api/v1/clusters/{cluster_id}/agents"), None);
    assert_eq!(agents[0]["name"], "node1", "{agents}");
    assert!(installed_run.contains("systemd is not running") || installed_run.contains("running"), "{installed_run}");
    assert!(!std::fs::read_to_string(&script_path).unwrap().contains(secret));

    // Started the way its unit says, the agent heartbeats with the stored token: online.
    let agent_log = dir.join("agent.log");
    cleanup.children.extend(start_unit(SCRIPT_UNIT, "", &agent_log));
    wait_for(
        "the installed agent is online",
        30,
        || {
            let status = api.call(reqwest::Method::GET, &format!("/api/v1/clusters/{cluster_id}/status"), None);
            (status["agents"][0]["state"] == "online").then_some(())
        },
        &agent_log,
    );

    // Uninstall by the script, then purge the server package: nothing of either remains.
    for child in &mut cleanup.children {
        let _ = child.kill();
        let _ = child.wait();
    }
    cleanup.children.clear();
    let _ = run("pkill", &["-u", "fleet", "-f", "/usr/bin/fleet serve"]);
    let _ = run("pkill", &["-f", "^/usr/local/bin/fleet-agent --state-dir /var/lib/fleet-agent"]);
    ok(Command::new("sh").arg(&script_path).arg("--uninstall").output().unwrap());
    assert!(!Path::new(SCRIPT_BIN).exists() && !Path::new(SCRIPT_UNIT).exists() && !Path::new("/etc/default/fleet-agent").exists());
    ok(run("dpkg", &["--purge", "fleet"]));
    assert!(!installed("fleet"));
    for path in ["/usr/bin/fleet", "/usr/lib/fleet", "/lib/systemd/system/fleet.service", "/etc/default/fleet", "/var/lib/fleet", "/usr/share/man/man1/fleet.1.gz"] {
        assert!(!Path::new(path).exists(), "{path} survived dpkg --purge fleet");
    }
    let _ = std::fs::remove_dir_all(&dir);
    drop(cleanup);
}
