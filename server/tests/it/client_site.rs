//! `fleet site new`, `fleet plan -f`, `fleet apply -f` against a real `fleet serve`: a starter
//! site applied, a second plan empty (idempotence), a change shown and landed, `--prune` only
//! when asked, bad site files named at file:line:col, and a failed cluster leaving the server as
//! it was while the other cluster's change lands.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::serve_support::{start_on, ADMIN_PASSWORD};
use crate::support::Scratch;

pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

pub(crate) fn fleet(home: &Path, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_fleet"))
        .args(args)
        .env_remove("FLEET_SERVER")
        .env_remove("FLEET_TOKEN")
        .env("FLEET_CONFIG_DIR", home.join("config"))
        .env("FLEET_PASSWORD", ADMIN_PASSWORD)
        .current_dir(home)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run { code: output.status.code().unwrap_or(-1), stdout: String::from_utf8(output.stdout).unwrap(), stderr: String::from_utf8(output.stderr).unwrap() }
}

#[track_caller]
pub(crate) fn expect(run: Run, code: i32) -> Run {
    assert_eq!(run.code, code, "stdout: {}\nstderr: {}", run.stdout, run.stderr);
    run
}

#[test]
fn a_site_file_is_planned_and_applied() {
    let server = start_on(None, &[]);
    let home = Scratch::new();
    let h = home.path();
    expect(fleet(h, &["login", "--server", &server.base]), 0);

    expect(fleet(h, &["site", "new", "shop", "--domain", "shop.example.com", "--backend", "10.0.0.1:8080", "--backend", "10.0.0.2:8080"]), 0);
    expect(fleet(h, &["config", "check", "shop/shop/haproxy.cfg"]), 0);
    let site = "shop/fleet.toml";

    let first = expect(fleet(h, &["plan", "-f", site]), 2);
    assert!(first.stdout.contains("+ pool default") && first.stdout.contains("+ cluster shop (pool default)"), "{}", first.stdout);
    assert!(first.stdout.contains("+ haproxy.cfg") || first.stdout.contains("haproxy.cfg"), "{}", first.stdout);
    expect(fleet(h, &["apply", "-f", site, "--auto-approve"]), 0);
    let again = expect(fleet(h, &["plan", "-f", site]), 0);
    assert!(again.stdout.contains("no changes"), "{}", again.stdout);
    let cluster: Value = serde_json::from_str(&expect(fleet(h, &["cluster", "show", "shop", "-o", "json"]), 0).stdout).unwrap();
    assert_eq!(cluster["cluster"]["desired_version"], 1, "the site's config is rolled out");

    // A change in the files shows in the plan and lands with apply; then nothing again.
    let cfg = h.join("shop/shop/haproxy.cfg");
    std::fs::write(&cfg, std::fs::read_to_string(&cfg).unwrap().replace("maxconn 4096", "maxconn 8192")).unwrap();
    std::fs::write(h.join("shop/fleet.toml"), std::fs::read_to_string(h.join("shop/fleet.toml")).unwrap().replace("agents = []", "agents = [\"lb1\"]")).unwrap();
    let change = expect(fleet(h, &["plan", "-f", site, "-o", "json"]), 2);
    let changes: Value = serde_json::from_str(&change.stdout).unwrap();
    let kinds: Vec<&str> = changes["changes"].as_array().unwrap().iter().map(|c| c["change"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["config", "rollout", "enrol"], "{changes}");
    let applied = expect(fleet(h, &["apply", "-f", site, "--auto-approve"]), 0);
    assert!(applied.stdout.contains("fleet-agent"), "the enrolment's install command: {}", applied.stdout);
    expect(fleet(h, &["plan", "-f", site]), 0);
    let versions: Value = serde_json::from_str(&expect(fleet(h, &["versions", "shop", "-o", "json"]), 0).stdout).unwrap();
    assert_eq!(versions.as_array().unwrap().len(), 2);

    // Clusters the file does not declare stay unless --prune.
    expect(fleet(h, &["cluster", "create", "extra", "--pool", "default"]), 0);
    expect(fleet(h, &["plan", "-f", site]), 0);
    let prune = expect(fleet(h, &["plan", "-f", site, "--prune"]), 2);
    assert!(prune.stdout.contains("- cluster extra"), "{}", prune.stdout);
    assert!(!prune.stdout.contains("- pool default"), "{}", prune.stdout);
    expect(fleet(h, &["apply", "-f", site, "--prune", "--auto-approve"]), 0);
    expect(fleet(h, &["plan", "-f", site, "--prune"]), 0);

    // Bad site files: an unknown key and a bad reference, at file:line:col; exit 1.
    std::fs::write(h.join("bad.toml"), "[[cluster]]\nname = \"shop\"\npool = \"default\"\nconfig = \"shop/shop\"\nconfg_path = \"/x\"\n").unwrap();
    let unknown = expect(fleet(h, &["plan", "-f", "bad.toml"]), 1);
    assert!(unknown.stderr.contains("bad.toml:5:1: error: unknown field `confg_path`"), "{}", unknown.stderr);
    std::fs::write(h.join("bad.toml"), "[[cluster]]\nname = \"shop\"\npool = \"nowhere\"\nconfig = \"shop/shop\"\n").unwrap();
    let reference = expect(fleet(h, &["plan", "-f", "bad.toml"]), 1);
    assert!(reference.stderr.contains("bad.toml:3:8: error: no pool named \"nowhere\""), "{}", reference.stderr);

    // A failed cluster is left as it was and reported; the other cluster's change lands.
    std::fs::create_dir_all(h.join("shop/api")).unwrap();
    std::fs::write(h.join("shop/api/haproxy.cfg"), "global\n    maxconn 10\n").unwrap();
    let two = std::fs::read_to_string(h.join("shop/fleet.toml")).unwrap() + "\n[[cluster]]\nname = \"api\"\npool = \"default\"\n";
    std::fs::write(h.join("shop/fleet.toml"), two).unwrap();
    std::fs::write(&cfg, std::fs::read_to_string(&cfg).unwrap().replace("balance roundrobin", "balance nonsense")).unwrap();
    let plan = expect(fleet(h, &["plan", "-f", site]), 2);
    assert!(plan.stdout.contains("error"), "the offline check shows in the plan: {}", plan.stdout);
    let failed = expect(fleet(h, &["apply", "-f", site, "--auto-approve"]), 1);
    assert!(failed.stdout.contains("failed: ~ cluster shop config"), "{}", failed.stdout);
    assert!(failed.stdout.contains("done: + cluster api"), "{}", failed.stdout);
    let versions: Value = serde_json::from_str(&expect(fleet(h, &["versions", "shop", "-o", "json"]), 0).stdout).unwrap();
    assert_eq!(versions.as_array().unwrap().len(), 2, "shop is as it was");
    let api: Value = serde_json::from_str(&expect(fleet(h, &["versions", "api", "-o", "json"]), 0).stdout).unwrap();
    assert_eq!(api.as_array().unwrap().len(), 1);
}
