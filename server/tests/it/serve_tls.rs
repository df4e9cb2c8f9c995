//! `fleet serve` over TLS and its master key: the self-signed CA (HTTP/2 and HTTP/1.1 by ALPN,
//! its fingerprint in install commands, the same CA after a restart and after `fleet secrets
//! rotate`), an operator's certificate made by the real openssl, a key file created 0600, a
//! wrong key stopping the server, and the warning for plain HTTP off loopback.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fleet_tests::{unique_name, FleetServe};
use serde_json::json;

use crate::serve_support::{Server, ADMIN_PASSWORD};

fn fleet() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_fleet"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique_name(&format!("fleet-tls-{name}-")));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A client that trusts only `ca_pem` (no system roots), speaking HTTP/1.1 only when asked.
fn client(ca_pem: &[u8], http1_only: bool) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem).unwrap());
    if http1_only {
        builder = builder.http1_only();
    }
    builder.build().unwrap()
}

/// `fleet serve --tls-self-signed` on `data` (kept after the process), with a client that
/// trusts the CA it wrote.
fn start_self_signed(data: &Path, extra: &[&str]) -> Server {
    let mut args = vec!["--grace-seconds", "1", "--tls-self-signed"];
    args.extend(extra);
    let process = FleetServe::start(fleet(), "127.0.0.1:0", Some(data), ADMIN_PASSWORD, args);
    assert!(process.base.starts_with("https://127.0.0.1:"), "{}", process.base);
    let ca = std::fs::read(data.join("tls/ca.pem")).unwrap();
    Server { base: process.base.clone(), process, client: client(&ca, false), database: None }
}

/// The SHA-256 fingerprint of a PEM certificate, as the real openssl computes it.
fn openssl_fingerprint(pem: &Path) -> String {
    let out = Command::new("openssl").args(["x509", "-noout", "-fingerprint", "-sha256", "-in"]).arg(pem).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let hex = text.trim().rsplit('=').next().unwrap().replace(':', "").to_lowercase();
    format!("sha256:{hex}")
}

async fn install_command(s: &Server, admin: &str) -> String {
    let id = s.cluster(admin, &unique_name("edge")).await;
    let issued = s.post(&format!("/api/v1/clusters/{id}/enrollments"), admin, json!({"name": "n1"})).await.expect(201);
    issued["install_command"].as_str().unwrap().to_string()
}

fn pinned(command: &str) -> String {
    let at = command.find("--ca-fingerprint ").unwrap_or_else(|| panic!("no pin in {command}"));
    command[at + "--ca-fingerprint ".len()..].split(' ').next().unwrap().to_string()
}

#[tokio::test]
async fn self_signed_https_speaks_http2_and_http1_and_pins_its_ca_in_install_commands() {
    let data = scratch("self-signed");
    let s = start_self_signed(&data, &[]);
    let health = s.client.get(s.url("/api/v1/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.version(), reqwest::Version::HTTP_2, "h2 chosen by ALPN");
    let ca = std::fs::read(data.join("tls/ca.pem")).unwrap();
    let http1 = client(&ca, true).get(s.url("/api/v1/health")).send().await.unwrap();
    assert_eq!((http1.status(), http1.version()), (reqwest::StatusCode::OK, reqwest::Version::HTTP_11));
    // A client that does not trust the CA is refused by its own TLS stack.
    let untrusting = reqwest::Client::builder().tls_built_in_root_certs(false).build().unwrap();
    assert!(untrusting.get(s.url("/api/v1/health")).send().await.is_err());

    let admin = s.admin().await;
    let command = install_command(&s, &admin).await;
    assert!(command.starts_with(&format!("fleet-agent --server {} --ca-fingerprint sha256:", s.base)), "{command}");
    assert_eq!(pinned(&command), openssl_fingerprint(&data.join("tls/ca.pem")));

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("secret.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the master key is created 0600");
    }
    drop(s);
    let _ = std::fs::remove_dir_all(data);
}

#[tokio::test]
async fn the_ca_survives_restart_and_rotation_and_a_wrong_key_stops_the_server() {
    let data = scratch("rotate");
    let s = start_self_signed(&data, &[]);
    let admin = s.admin().await;
    let before = pinned(&install_command(&s, &admin).await);
    drop(s);
    let old_key = std::fs::read(data.join("secret.key")).unwrap();

    let rotate = Command::new(fleet()).args(["secrets", "rotate", "--data"]).arg(&data).output().unwrap();
    let said = String::from_utf8_lossy(&rotate.stdout);
    assert!(rotate.status.success(), "{said} {}", String::from_utf8_lossy(&rotate.stderr));
    assert!(said.starts_with("resealed 1 secret(s) under key "), "{said}");
    assert_ne!(std::fs::read(data.join("secret.key")).unwrap(), old_key);

    // Same CA after the rotation: its key was resealed, not replaced.
    let s = start_self_signed(&data, &[]);
    let admin = s.admin().await;
    assert_eq!(pinned(&install_command(&s, &admin).await), before);
    drop(s);

    // The old key opens nothing any more: the server refuses to start, naming the key ids.
    std::fs::write(data.join("secret.key"), &old_key).unwrap();
    let stderr = refused_start(&data, &["--tls-self-signed"]);
    assert!(stderr.contains("tls-ca-key was sealed with key ") && stderr.contains("wrong --secret-key-file?"), "{stderr}");
    // Nor is a missing key replaced by a new one.
    std::fs::remove_file(data.join("secret.key")).unwrap();
    let stderr = refused_start(&data, &[]);
    assert!(stderr.contains("is missing but the database holds 1 secret(s)"), "{stderr}");
    assert!(!data.join("secret.key").exists());
    let _ = std::fs::remove_dir_all(data);
}

/// `fleet serve` on `data` that must stop at start with exit status 1: its stderr.
fn refused_start(data: &Path, extra: &[&str]) -> String {
    let out = Command::new(fleet())
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .args(extra)
        .env("FLEET_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    stderr
}

#[tokio::test]
async fn an_operator_certificate_is_served_without_a_pin() {
    let dir = scratch("operator");
    let (cert, key) = (dir.join("server.pem"), dir.join("server.key"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .args(["-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE", "-addext", "extendedKeyUsage=serverAuth", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let (cert_arg, key_arg) = (cert.display().to_string(), key.display().to_string());
    let process = FleetServe::start(fleet(), "127.0.0.1:0", None, ADMIN_PASSWORD, ["--tls-cert", &cert_arg, "--tls-key", &key_arg]);
    let s = Server { base: process.base.clone(), process, client: client(&std::fs::read(&cert).unwrap(), false), database: None };
    assert!(s.base.starts_with("https://"), "{}", s.base);
    let health = s.client.get(s.url("/api/v1/health")).send().await.unwrap();
    assert_eq!((health.status(), health.version()), (reqwest::StatusCode::OK, reqwest::Version::HTTP_2));
    let admin = s.admin().await;
    let command = install_command(&s, &admin).await;
    assert!(command.starts_with(&format!("fleet-agent --server {} --enroll-secret ", s.base)), "{command}");

    let stderr = refused_start(&dir.join("data"), &["--tls-cert", &key_arg, "--tls-key", &key_arg]);
    assert!(stderr.contains(&format!("{}: no CERTIFICATE block", key.display())), "{stderr}");
    drop(s);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn plain_http_off_loopback_warns_at_start() {
    let data = scratch("plain");
    let mut child = Command::new(fleet())
        .args(["serve", "--listen", "0.0.0.0:0", "--data"])
        .arg(&data)
        .env("FLEET_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("RUST_LOG", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut warning = None;
    while warning.is_none() && Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            warning = line.starts_with("fleet: warning: serving plain HTTP on 0.0.0.0:").then_some(line);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(data);
    let warning = warning.expect("a warning about plain HTTP");
    assert!(warning.contains("use --tls-cert/--tls-key or --tls-self-signed"), "{warning}");
}
