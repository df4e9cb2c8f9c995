//! `fleet serve` as a command: bad arguments and databases fail before the port is bound, the
//! first admin's password (given or generated and printed once), JSON logs with request ids.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("fleet-serve-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn bad_database_fails_before_binding() {
    let output = Command::new(env!("CARGO_BIN_EXE_fleet"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database", "mysql://root:hunter2@db/fleet"])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stdout.contains("listening"), "{stdout}");
    assert!(stderr.contains("fleet: error: invalid: unsupported database url"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "the password leaked: {stderr}");

    let usage = Command::new(env!("CARGO_BIN_EXE_fleet")).args(["serve", "--listen", "not-an-address"]).output().unwrap();
    assert_eq!(usage.status.code(), Some(2), "clap usage error");
}

/// A metrics token that cannot be read, or is empty, stops the server before it binds (an
/// unreadable file must not leave `/metrics` open by surprise).
#[test]
fn bad_metrics_token_fails_before_binding() {
    let dir = scratch("metrics-token");
    let empty = dir.join("empty.token");
    std::fs::write(&empty, "\n").unwrap();
    let missing = dir.join("missing.token");
    for (file, said) in [(&empty, "the metrics token is empty".to_string()), (&missing, format!("cannot read --metrics-token-file {}", missing.display()))] {
        let output = Command::new(env!("CARGO_BIN_EXE_fleet"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data", dir.join("data").to_str().unwrap(), "--metrics-token-file", file.to_str().unwrap()])
            .env("RUST_LOG", "off")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(!String::from_utf8_lossy(&output.stdout).contains("listening"));
        assert!(stderr.contains(&said), "{stderr}");
    }
    let both = Command::new(env!("CARGO_BIN_EXE_fleet"))
        .args(["serve", "--metrics-token", "t", "--metrics-token-file", empty.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(both.status.code(), Some(2), "clap: one or the other");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn short_admin_password_is_refused() {
    let dir = scratch("short");
    let output = Command::new(env!("CARGO_BIN_EXE_fleet"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&dir)
        .env("FLEET_ADMIN_PASSWORD", "short")
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("password must have at least 12 characters"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A child process killed and reaped on drop.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `fleet serve` on `dir` without FLEET_ADMIN_PASSWORD; returns the child, its base URL and
/// every stdout line before `listening on`.
fn start_plain(dir: &std::path::Path, extra: &[&str]) -> (Running, String, Vec<String>) {
    let spawned = Command::new(env!("CARGO_BIN_EXE_fleet"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir)
        .args(extra)
        .env_remove("FLEET_ADMIN_PASSWORD")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = Running(spawned);
    let mut lines = Vec::new();
    let mut reader = BufReader::new(child.0.stdout.take().unwrap());
    loop {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).unwrap() > 0, "fleet serve ended early: {lines:?}");
        let line = line.trim_end().to_string();
        if let Some(base) = line.strip_prefix("listening on ") {
            return (child, base.to_string(), lines);
        }
        lines.push(line);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_admin_password_is_printed_once_and_logs_are_json() {
    let dir = scratch("generated");
    let (mut child, base, lines) = start_plain(&dir, &["--log-format", "json"]);
    let line = lines.iter().find(|l| l.starts_with("created user admin with password ")).unwrap();
    let password = line["created user admin with password ".len()..].split(' ').next().unwrap().to_string();
    assert!(password.len() >= 16, "{password}");

    let client = reqwest::Client::new();
    let login = client
        .post(format!("{base}/api/v1/auth/login"))
        .header("x-request-id", "trace-me-42")
        .json(&json!({"username": "admin", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    assert_eq!(login.headers()["x-request-id"], "trace-me-42");
    let anonymous = client.get(format!("{base}/api/v1/health")).send().await.unwrap();
    assert!(anonymous.headers()["x-request-id"].to_str().unwrap().starts_with('r'));

    Command::new("kill").args(["-TERM", &child.0.id().to_string()]).status().unwrap();
    let status = child.0.wait().unwrap();
    assert!(status.success());
    let mut stderr = String::new();
    child.0.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let records: Vec<Value> = stderr.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    let traced = records.iter().find(|r| r["span"]["id"] == "trace-me-42").unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(traced["span"]["method"], "POST");
    assert!(!stderr.contains(&password), "the password went to the logs");

    // A second start on the same database creates nobody and prints no password.
    let (again, _, lines) = start_plain(&dir, &[]);
    assert!(lines.iter().all(|l| !l.contains("password")), "{lines:?}");
    drop(again);
    tokio::time::sleep(Duration::from_millis(10)).await;
    let _ = std::fs::remove_dir_all(&dir);
}
