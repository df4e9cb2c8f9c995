//! `fleet-agent` command-line behaviour that needs no server: usage errors exit 64 before
//! anything starts, unreadable credentials and CA files are named in the error.

// Test code: a failed setup step should stop the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::{Command, Output};

fn state_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fleet-agent-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn agent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fleet-agent")).args(args).env("RUST_LOG", "off").output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn missing_arguments_are_a_usage_error() {
    let output = agent(&["--state-dir", "/tmp/x"]);
    assert_eq!(output.status.code(), Some(64));
    assert!(stderr(&output).contains("--server"), "{}", stderr(&output));
    let output = agent(&["--server", "http://127.0.0.1:9", "--state-dir", "/tmp/x", "--haproxy-mode", "docker"]);
    assert_eq!(output.status.code(), Some(64));
}

#[test]
fn an_unknown_privilege_is_a_usage_error() {
    let output = agent(&["--server", "http://127.0.0.1:9", "--state-dir", "/tmp/x", "--allow-privileged", "program,shell"]);
    assert_eq!(output.status.code(), Some(64));
    let message = stderr(&output);
    assert!(message.contains("--allow-privileged") && message.contains("unknown privilege \"shell\" (one of program,"), "{message}");
}

#[test]
fn no_token_and_no_secret_is_a_usage_error() {
    let dir = state_dir("nosecret");
    let output = agent(&["--server", "http://127.0.0.1:9", "--state-dir", dir.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(64));
    let message = stderr(&output);
    assert!(message.contains("no token in") && message.contains("--enroll-secret"), "{message}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_bad_ca_file_is_named() {
    let dir = state_dir("ca");
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    let args = |ca: &str| vec!["--server".to_string(), "https://127.0.0.1:9".into(), "--state-dir".into(), dir.display().to_string(), "--ca-file".into(), ca.into()];
    let missing = dir.join("missing.pem");
    let output = Command::new(env!("CARGO_BIN_EXE_fleet-agent")).args(args(missing.to_str().unwrap())).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("cannot read CA file"), "{}", stderr(&output));
    std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_fleet-agent")).args(args(ca.to_str().unwrap())).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("invalid CA file"), "{}", stderr(&output));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_unreachable_server_is_retried_not_fatal() {
    // Enrolment against a closed port keeps retrying (with backoff) instead of exiting.
    let dir = state_dir("retry");
    let mut child = Command::new(env!("CARGO_BIN_EXE_fleet-agent"))
        .args(["--server", "http://127.0.0.1:9", "--enroll-secret", "fe_x", "--state-dir", dir.to_str().unwrap()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(child.try_wait().unwrap().is_none(), "the agent is still trying");
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let log = stderr(&output);
    assert!(log.matches("enrolment failed").count() >= 2, "retried: {log}");
    std::fs::remove_dir_all(dir).unwrap();
}
