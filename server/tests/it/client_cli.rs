//! The client commands against a real `fleet serve` (no agent: `tests/` has the end-to-end
//! test with one): login and the stored session, pools and clusters by name, push / pull / edit
//! of a bundle folder, versions, diff, restore, apply without agents, `-o json` everywhere,
//! completions and man pages.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::serve_support::{start_on, ADMIN_PASSWORD};
use crate::support::Scratch;

/// One run of the client.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    #[track_caller]
    fn ok(self) -> Run {
        assert_eq!(self.code, 0, "stdout: {}\nstderr: {}", self.stdout, self.stderr);
        self
    }

    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }
}

/// `fleet ARGS` with its config folder in `home`, the environment `env` and no terminal.
fn fleet(home: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_fleet"))
        .args(args)
        .env_remove("FLEET_SERVER")
        .env_remove("FLEET_TOKEN")
        .env_remove("FLEET_PASSWORD")
        .env("FLEET_CONFIG_DIR", home.join("config"))
        .envs(env.iter().copied())
        .current_dir(home)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run { code: output.status.code().unwrap_or(-1), stdout: String::from_utf8(output.stdout).unwrap(), stderr: String::from_utf8(output.stderr).unwrap() }
}

const CONFIG: &str = "global\n    maxconn 100\n\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\n\
frontend web\n    bind :8080\n    default_backend app\n\nbackend app\n    server s1 10.0.0.1:80 weight 10\n    server s2 10.0.0.2:80\n";

#[test]
fn the_client_drives_a_server() {
    let server = start_on(None, &[]);
    let home = Scratch::new();
    let h = home.path();
    let no_env: &[(&str, &str)] = &[];

    // No server anywhere: a usage error that says what to do.
    let lost = fleet(h, no_env, &["pool", "ls"]);
    assert_eq!(lost.code, 2, "{}", lost.stderr);
    assert!(lost.stderr.contains("fleet login --server URL"), "{}", lost.stderr);

    // Login: the password from FLEET_PASSWORD; the session kept 0600.
    let wrong = fleet(h, &[("FLEET_PASSWORD", "not-the-password")], &["login", "--server", &server.base, "--username", "admin"]);
    assert_eq!(wrong.code, 1, "{}", wrong.stderr);
    fleet(h, &[("FLEET_PASSWORD", ADMIN_PASSWORD)], &["login", "--server", &server.base, "--username", "admin"]).ok();
    let stored = h.join("config/credentials.json");
    assert_eq!(std::fs::metadata(&stored).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(h.join("config")).unwrap().permissions().mode() & 0o777, 0o700);
    let me = fleet(h, no_env, &["whoami", "-o", "json"]).ok().json();
    assert_eq!(me["username"], "admin");

    // Pools and clusters by name; `-o json` parses; tables for people.
    fleet(h, no_env, &["pool", "create", "edge"]).ok();
    let created = fleet(h, no_env, &["cluster", "create", "prod", "--pool", "edge", "-o", "json"]).ok().json();
    assert_eq!(created["name"], "prod");
    let clusters = fleet(h, no_env, &["cluster", "ls", "-o", "json"]).ok().json();
    assert_eq!(clusters.as_array().unwrap().len(), 1);
    let table = fleet(h, no_env, &["cluster", "ls"]).ok().stdout;
    assert!(table.starts_with("NAME") && table.contains("prod") && table.contains("edge"), "{table}");
    let refused = fleet(h, no_env, &["cluster", "create", "prod", "--pool", "edge"]);
    assert_eq!(refused.code, 1, "a name taken: the server's refusal");
    assert!(refused.stderr.contains("already exists"), "{}", refused.stderr);

    // Push a folder: the first version, in one transaction.
    let site = h.join("site");
    std::fs::create_dir_all(site.join("maps")).unwrap();
    std::fs::write(site.join("haproxy.cfg"), CONFIG).unwrap();
    std::fs::write(site.join("maps/hosts.map"), "a.example app\n").unwrap();
    let unasked = fleet(h, no_env, &["config", "push", "prod", "site"]);
    assert_eq!(unasked.code, 2, "no terminal to ask on and no --yes: {}", unasked.stderr);
    assert!(unasked.stdout.contains("+ maps/hosts.map"), "the diff is shown first: {}", unasked.stdout);
    let pushed = fleet(h, no_env, &["config", "push", "prod", "site", "-m", "first", "--yes", "-o", "json"]).ok().json();
    assert_eq!(pushed["version"], 1);
    let again = fleet(h, no_env, &["config", "push", "prod", "site", "--yes"]).ok();
    assert!(again.stdout.contains("nothing to push"), "{}", again.stdout);

    // Pull it back: the same bytes.
    fleet(h, no_env, &["config", "pull", "prod", "copy"]).ok();
    assert_eq!(std::fs::read_to_string(h.join("copy/haproxy.cfg")).unwrap(), CONFIG);
    assert_eq!(std::fs::read_to_string(h.join("copy/maps/hosts.map")).unwrap(), "a.example app\n");
    assert_eq!(fleet(h, no_env, &["config", "pull", "prod", "copy"]).code, 2, "a folder that is not empty");

    // A second version from the pulled copy: one file changed, one removed.
    std::fs::write(h.join("copy/haproxy.cfg"), CONFIG.replace("maxconn 100", "maxconn 200")).unwrap();
    std::fs::remove_file(h.join("copy/maps/hosts.map")).unwrap();
    let second = fleet(h, no_env, &["config", "push", "prod", "copy", "--yes", "-m", "more"]).ok();
    assert!(second.stdout.contains("-    maxconn 100") && second.stdout.contains("+    maxconn 200"), "{}", second.stdout);
    assert!(second.stdout.contains("- maps/hosts.map"), "{}", second.stdout);

    // Edit through a scripted editor: a broken edit is refused and re-opened with the errors at
    // their lines, the fixed one commits.
    let editor = h.join("editor.sh");
    let script = format!(
        "#!/bin/sh\nset -e\nn=$(cat {count} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {count}\n\
         if [ $n = 1 ]; then sed -i 's/maxconn 200/maxconn 300/; s/^    server s2/    balance nonsense\\n    server s2/' \"$1\";\n\
         else grep -q '^# fleet: line' \"$1\" && cp \"$1\" {seen}; sed -i '/balance nonsense/d' \"$1\"; fi\n",
        count = h.join("count").display(),
        seen = h.join("seen").display(),
    );
    std::fs::write(&editor, script).unwrap();
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    let edited = fleet(h, &[("EDITOR", editor.to_str().unwrap())], &["config", "edit", "prod", "-m", "via editor", "-o", "json"]);
    let edited = edited.ok();
    assert_eq!(edited.json()["version"], 3, "{}", edited.stderr);
    assert!(edited.stderr.contains("refused"), "{}", edited.stderr);
    let noted = std::fs::read_to_string(h.join("seen")).unwrap();
    let line = noted.lines().position(|l| l.contains("balance nonsense")).unwrap() + 1;
    assert!(noted.contains(&format!("# fleet: line {line}:")), "the note points at the line the editor shows:\n{noted}");
    let text = server_text(&server.base, h, "prod");
    assert!(text.contains("maxconn 300") && !text.contains("nonsense") && !text.contains("# fleet"), "{text}");

    // Versions, diff, restore.
    let versions = fleet(h, no_env, &["versions", "prod", "-o", "json"]).ok().json();
    let messages: Vec<&str> = versions.as_array().unwrap().iter().map(|v| v["message"].as_str().unwrap()).collect();
    assert_eq!(messages, ["first", "more", "via editor"]);
    let diff = fleet(h, no_env, &["diff", "prod", "1", "3"]).ok().stdout;
    assert!(diff.contains("+    maxconn 300") && diff.contains("- maps/hosts.map"), "{diff}");
    let diff_json = fleet(h, no_env, &["diff", "prod", "3", "-o", "json"]).ok().json();
    assert!(diff_json["files"].as_array().unwrap().len() == 1, "{diff_json}");
    let restored = fleet(h, no_env, &["restore", "prod", "1", "-m", "back", "-o", "json"]).ok().json();
    assert_eq!(restored["version"], 4);

    // Apply without agents: set, but --wait has nobody to wait for.
    fleet(h, no_env, &["apply", "prod", "4"]).ok();
    let cluster = fleet(h, no_env, &["cluster", "show", "prod", "-o", "json"]).ok().json();
    assert_eq!(cluster["cluster"]["desired_version"], 4);
    let nobody = fleet(h, no_env, &["apply", "prod", "--wait", "--timeout", "5"]);
    assert_eq!(nobody.code, 1, "{}", nobody.stderr);
    assert!(nobody.stderr.contains("no agents"), "{}", nobody.stderr);

    // Enrol prints the install command; agents and status read back.
    let enrolment = fleet(h, no_env, &["enrol", "prod", "-o", "json"]).ok().json();
    assert_eq!(enrolment["name"], "node-1");
    assert!(enrolment["install_command"].as_str().unwrap().contains("fleet-agent"), "{enrolment}");
    let status = fleet(h, no_env, &["status", "prod", "-o", "json"]).ok().json();
    assert_eq!(status["desired_version"], 4);

    // FLEET_TOKEN and FLEET_SERVER stand in for the stored session; logout ends it.
    let token = serde_json::from_str::<Value>(&std::fs::read_to_string(&stored).unwrap()).unwrap()["token"].as_str().unwrap().to_string();
    let elsewhere = Scratch::new();
    let env = [("FLEET_SERVER", server.base.as_str()), ("FLEET_TOKEN", token.as_str())];
    fleet(elsewhere.path(), &env, &["pool", "ls"]).ok();
    fleet(h, no_env, &["logout"]).ok();
    let after = fleet(h, no_env, &["pool", "ls"]);
    assert_eq!(after.code, 1, "{}", after.stderr);
    assert!(after.stderr.contains("fleet login"), "{}", after.stderr);
    assert_eq!(fleet(elsewhere.path(), &env, &["pool", "ls"]).code, 1, "the session ended on the server");

    // Cluster and pool removal: refused while an agent is enrolled, unless decommissioned or
    // forced.
    fleet(h, &[("FLEET_PASSWORD", ADMIN_PASSWORD)], &["login", "--username", "admin"]).ok();
    let enrol_agent = |secret: &str| {
        let body = serde_json::json!({"secret": secret, "hostname": "lb.test", "facts": {}});
        let answer = reqwest::blocking::Client::new().post(format!("{}/api/v1/agent/enroll", server.base)).json(&body).send().unwrap();
        assert!(answer.status().is_success(), "{}", answer.status());
    };
    enrol_agent(enrolment["secret"].as_str().unwrap());
    let refused = fleet(h, no_env, &["cluster", "rm", "prod", "--yes"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("still has 1 enrolled agent(s) (node-1)"), "{}", refused.stderr);
    let decommissioned = fleet(h, no_env, &["agent", "decommission", "prod", "node-1", "--stop-haproxy", "-o", "json"]).ok().json();
    assert_eq!((decommissioned["agent"].clone(), decommissioned["stop_haproxy"].clone()), (Value::from("node-1"), Value::from(true)));
    assert_eq!(fleet(h, no_env, &["agent", "ls", "prod", "-o", "json"]).ok().json(), Value::Array(Vec::new()));
    let again = fleet(h, no_env, &["enrol", "prod", "-o", "json"]).ok().json();
    enrol_agent(again["secret"].as_str().unwrap());
    assert_eq!(fleet(h, no_env, &["pool", "rm", "edge"]).code, 1, "a pool with a cluster");
    fleet(h, no_env, &["cluster", "rm", "prod", "--yes", "--force"]).ok();
    fleet(h, no_env, &["pool", "rm", "edge"]).ok();
    assert_eq!(fleet(h, no_env, &["pool", "ls", "-o", "json"]).ok().json(), Value::Array(Vec::new()));
}

/// The latest text of a cluster, read with the stored session.
fn server_text(base: &str, home: &Path, cluster: &str) -> String {
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(home.join("config/credentials.json")).unwrap()).unwrap();
    let client = reqwest::blocking::Client::new();
    let url = format!("{base}/api/v1/clusters/{cluster}/config");
    client.get(url).bearer_auth(stored["token"].as_str().unwrap()).send().unwrap().text().unwrap()
}

#[test]
fn completions_and_man_pages_are_generated() {
    let home = Scratch::new();
    let h = home.path();
    for shell in ["bash", "zsh", "fish"] {
        let script = fleet(h, &[], &["completions", shell]).ok().stdout;
        assert!(script.contains("fleet") && script.contains("cluster") && script.contains("push"), "{shell}: {script}");
    }
    fleet(h, &[], &["manpages", "man"]).ok();
    let main = std::fs::read_to_string(h.join("man/fleet.1")).unwrap();
    assert!(main.contains(".TH") && main.contains("login"), "{main}");
    let push = std::fs::read_to_string(h.join("man/fleet-config-push.1")).unwrap();
    assert!(push.contains("\\-\\-yes") || push.contains("--yes"), "{push}");
}

#[test]
fn job_and_snapshot_commands_reach_the_jobs_routes() {
    let server = start_on(None, &[]);
    let home = Scratch::new();
    let h = home.path();
    let no_env: &[(&str, &str)] = &[];
    fleet(h, &[("FLEET_PASSWORD", ADMIN_PASSWORD)], &["login", "--server", &server.base, "--username", "admin"]).ok();
    fleet(h, no_env, &["pool", "create", "edge"]).ok();
    fleet(h, no_env, &["cluster", "create", "lb", "--pool", "edge"]).ok();
    // No agents to run on: the server's refusal, exit 1.
    let none = fleet(h, no_env, &["job", "run", "lb", "reload"]);
    assert_eq!(none.code, 1, "{}", none.stderr);
    assert!(none.stderr.contains("has no agents"), "{}", none.stderr);
    // Not a kind: refused by the server, nothing queued.
    let shell = fleet(h, no_env, &["job", "run", "lb", "shell"]);
    assert_eq!(shell.code, 1, "{}", shell.stderr);
    assert!(shell.stderr.contains("shell"), "{}", shell.stderr);
    let table = fleet(h, no_env, &["job", "ls", "lb"]).ok().stdout;
    assert_eq!(table.trim(), "(none)", "no jobs yet");
    assert_eq!(fleet(h, no_env, &["job", "ls", "lb", "-o", "json"]).ok().json(), serde_json::json!([]));
    assert_eq!(fleet(h, no_env, &["snapshot", "ls", "lb", "-o", "json"]).ok().json(), serde_json::json!([]));
    let missing = fleet(h, no_env, &["snapshot", "diff", "lb", "42"]);
    assert_eq!(missing.code, 1, "{}", missing.stderr);
    assert!(missing.stderr.contains("snapshot 42"), "{}", missing.stderr);
}

#[test]
fn the_client_manages_schedules() {
    let server = start_on(None, &[]);
    let home = Scratch::new();
    let h = home.path();
    let no_env: &[(&str, &str)] = &[];
    fleet(h, &[("FLEET_PASSWORD", ADMIN_PASSWORD)], &["login", "--server", &server.base, "--username", "admin"]).ok();
    fleet(h, no_env, &["pool", "create", "edge"]).ok();
    fleet(h, no_env, &["cluster", "create", "prod", "--pool", "edge"]).ok();

    let created = fleet(h, no_env, &["schedule", "create", "nightly", "--cron", "30 2 * * *", "--timezone", "Europe/Paris", "--cluster", "prod", "--job", "diagnostics", "-o", "json"]).ok().json();
    assert_eq!(created["target"]["job"], serde_json::json!({"kind": "diagnostics"}));
    let said = fleet(h, no_env, &["schedule", "create", "weekly", "--cron", "0 4 * * SUN", "--cluster", "prod", "--job", r#"{"kind":"snapshot"}"#, "--missed", "run_once"]).ok();
    assert!(said.stdout.starts_with("created schedule weekly (id "), "{}", said.stdout);
    let table = fleet(h, no_env, &["schedule", "ls"]).ok().stdout;
    assert!(table.starts_with("NAME"), "{table}");
    assert!(table.contains("nightly") && table.contains("30 2 * * *") && table.contains("Europe/Paris") && table.contains("diagnostics on cluster"), "{table}");
    assert!(table.contains("snapshot on cluster"), "{table}");
    let backup = fleet(h, no_env, &["schedule", "create", "backups", "--cron", "@daily", "--server-backup", "s3://bucket/fleet", "--retention", "3", "-o", "json"]).ok().json();
    assert_eq!(backup["target"], serde_json::json!({"type": "server_backup", "destination": "s3://bucket/fleet", "retention": 3}));
    assert!(fleet(h, no_env, &["schedule", "ls"]).ok().stdout.contains("server backup to s3://bucket/fleet (keep 3)"));
    let neither = fleet(h, no_env, &["schedule", "create", "x", "--cron", "@daily"]);
    assert_eq!(neither.code, 2, "{}", neither.stderr);

    // Bad input: the server's 422, the field named, exit 1.
    let bad = fleet(h, no_env, &["schedule", "create", "x", "--cron", "* * *", "--cluster", "prod", "--job", "validate"]);
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    assert!(bad.stderr.contains("cron:"), "{}", bad.stderr);
    let bad = fleet(h, no_env, &["schedule", "preview", "* * * * *", "--timezone", "Moon/Crater"]);
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    assert!(bad.stderr.contains("timezone:"), "{}", bad.stderr);

    let preview = fleet(h, no_env, &["schedule", "preview", "0 * * * *", "--timezone", "Asia/Kolkata", "--count", "3"]).ok().stdout;
    let lines: Vec<&str> = preview.lines().collect();
    assert_eq!(lines.len(), 4, "{preview}");
    assert!(lines[0].starts_with("UTC") && lines[0].contains("LOCAL (Asia/Kolkata)"), "{preview}");
    assert!(lines[1].contains(":30:00") && lines[1].contains("+05:30"), "on the hour in Kolkata is :30 UTC: {preview}");

    let disabled = fleet(h, no_env, &["schedule", "disable", "nightly", "-o", "json"]).ok().json();
    assert_eq!((disabled["enabled"].as_bool(), disabled["next_run_at"].is_null()), (Some(false), true));
    assert!(fleet(h, no_env, &["schedule", "ls"]).ok().stdout.contains("disabled"));
    let enabled = fleet(h, no_env, &["schedule", "enable", "nightly"]).ok().stdout;
    assert!(enabled.starts_with("schedule nightly enabled, next run "), "{enabled}");
    let shown = fleet(h, no_env, &["schedule", "show", "nightly"]).ok().stdout;
    assert!(shown.contains("cron:        30 2 * * * (Europe/Paris)") && shown.contains("(none)"), "{shown}");
    assert_eq!(fleet(h, no_env, &["schedule", "runs", "nightly", "-o", "json"]).ok().json(), serde_json::json!([]));
    fleet(h, no_env, &["schedule", "rm", "nightly"]).ok();
    let gone = fleet(h, no_env, &["schedule", "show", "nightly"]);
    assert_eq!(gone.code, 2, "{}", gone.stderr);
    assert!(gone.stderr.contains("no schedule named \"nightly\""), "{}", gone.stderr);
}
