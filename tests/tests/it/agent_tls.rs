//! Agents against a real HTTPS `fleet serve --tls-self-signed`: enrolment with `--ca-file` and
//! with the `--ca-fingerprint` of the install command, and a server holding another CA (an
//! interceptor) refused with a clear error while the enrolment secret stays unused.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fleet_tests::FleetServe;
use serde_json::{json, Value};

use crate::agent_harness::{prerequisites, temp_dir, PASSWORD};

/// A `fleet serve --tls-self-signed` with an admin client that trusts only its CA.
struct TlsServer {
    process: FleetServe,
    http: reqwest::blocking::Client,
    token: String,
}

impl TlsServer {
    fn start(fleet: &Path) -> TlsServer {
        let process = FleetServe::start(fleet, "127.0.0.1:0", None, PASSWORD, ["--grace-seconds", "1", "--tls-self-signed"]);
        assert!(process.base.starts_with("https://"), "{}", process.base);
        let ca = reqwest::Certificate::from_pem(&std::fs::read(process.data.join("tls/ca.pem")).unwrap()).unwrap();
        let http = reqwest::blocking::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let login: Value = http
            .post(process.url("/api/v1/auth/login"))
            .json(&json!({"username": "admin", "password": PASSWORD}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let token = login["token"].as_str().unwrap().to_string();
        TlsServer { process, http, token }
    }

    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, self.process.url(path)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().unwrap();
        let status = response.status();
        let text = response.text().unwrap();
        assert!(status.is_success(), "{path}: {status}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// `fleet_agent_requests_total` for HTTP version `version` ("1.1" or "2").
    fn agent_requests(&self, version: &str) -> u64 {
        let text = self.http.get(self.process.url("/metrics")).send().unwrap().text().unwrap();
        let prefix = format!("fleet_agent_requests_total{{http_version=\"{version}\"}} ");
        text.lines().find_map(|l| l.strip_prefix(prefix.as_str())).and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("no {prefix} in {text}"))
    }

    fn cluster(&self, name: &str) -> i64 {
        let pool = self.call(reqwest::Method::POST, "/api/v1/pools", Some(json!({"name": format!("{name}-pool")})));
        let cluster = self.call(reqwest::Method::POST, "/api/v1/clusters", Some(json!({"name": name, "pool_id": pool["id"]})));
        cluster["id"].as_i64().unwrap()
    }

    /// `(secret, install command)` of a new enrolment.
    fn enrolment(&self, cluster: i64, name: &str) -> (String, String) {
        let issued = self.call(reqwest::Method::POST, &format!("/api/v1/clusters/{cluster}/enrollments"), Some(json!({"name": name})));
        (issued["secret"].as_str().unwrap().to_string(), issued["install_command"].as_str().unwrap().to_string())
    }

    fn agent_names(&self, cluster: i64) -> Vec<String> {
        let status = self.call(reqwest::Method::GET, &format!("/api/v1/clusters/{cluster}/status"), None);
        status["agents"].as_array().into_iter().flatten().filter_map(|a| a["name"].as_str().map(String::from)).collect()
    }
}

/// `fleet-agent` enrolling against `server` with `trust` arguments; its stderr goes to
/// `<dir>/agent.log`.
fn agent(binary: &Path, haproxy: &Path, server: &str, dir: &Path, secret: &str, trust: &[&str]) -> Child {
    let log = std::fs::File::create(dir.join("agent.log")).unwrap();
    Command::new(binary)
        // The test's SIGTERM ends HAProxy too (by default it would outlive the agent).
        .args(["--server", server, "--enroll-secret", secret, "--heartbeat-seconds", "1", "--stop-haproxy-on-exit"])
        .args(trust)
        .arg("--state-dir")
        .arg(dir.join("state"))
        .arg("--config-path")
        .arg(dir.join("haproxy.cfg"))
        .arg("--haproxy-bin")
        .arg(haproxy)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap()
}

fn stop(mut child: Child) {
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn wait_enrolled(server: &TlsServer, cluster: i64, name: &str, dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    // The server lists the agent as soon as it answered the enrolment, a moment before the
    // agent has written the token it received: wait for both.
    while !server.agent_names(cluster).iter().any(|n| n == name) || !dir.join("state/token").is_file() {
        let log = std::fs::read_to_string(dir.join("agent.log")).unwrap_or_default();
        assert!(Instant::now() < deadline, "agent {name} did not enrol over https and store its token:\n{log}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn pin_of(command: &str) -> String {
    let at = command.find("--ca-fingerprint ").unwrap_or_else(|| panic!("no pin in {command}"));
    command[at + "--ca-fingerprint ".len()..].split(' ').next().unwrap().to_string()
}

#[test]
fn agents_enrol_over_https_with_a_ca_file_or_the_pinned_fingerprint() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let server = TlsServer::start(&fleet);
    let cluster = server.cluster("tls-edge");
    let ca_file = server.process.data.join("tls/ca.pem");

    let dir = temp_dir("tls-ca-file");
    let (secret, _) = server.enrolment(cluster, "by-file");
    let child = agent(&agent_bin, &haproxy, &server.process.base, &dir, &secret, &["--ca-file", &ca_file.display().to_string()]);
    wait_enrolled(&server, cluster, "by-file", &dir);
    stop(child);
    // Over TLS the agent speaks HTTP/2 (ALPN), with a CA file as with a pinned CA.
    let h2 = server.agent_requests("2");
    assert!(h2 >= 1 && server.agent_requests("1.1") == 0, "agent requests: {h2} over HTTP/2, {} over HTTP/1.1", server.agent_requests("1.1"));

    let pinned = temp_dir("tls-pinned");
    let (secret, command) = server.enrolment(cluster, "by-pin");
    let pin = pin_of(&command);
    let child = agent(&agent_bin, &haproxy, &server.process.base, &pinned, &secret, &["--ca-fingerprint", &pin]);
    wait_enrolled(&server, cluster, "by-pin", &pinned);
    stop(child);
    assert!(server.agent_requests("2") > h2 && server.agent_requests("1.1") == 0, "the pinned agent: HTTP/2 too");
    for dir in [dir, pinned] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn a_server_without_the_pinned_ca_is_refused_and_the_secret_stays_unused() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let server = TlsServer::start(&fleet);
    let cluster = server.cluster("tls-pinned");
    let (secret, command) = server.enrolment(cluster, "n1");
    // An interceptor: another server with its own self-signed CA, on another port.
    let interceptor = TlsServer::start(&fleet);

    let dir = temp_dir("tls-intercepted");
    let child = agent(&agent_bin, &haproxy, &interceptor.process.base, &dir, &secret, &["--ca-fingerprint", &pin_of(&command)]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let refusal = "does not hold the pinned CA";
    let mut log = String::new();
    while !log.contains(refusal) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        log = std::fs::read_to_string(dir.join("agent.log")).unwrap_or_default();
    }
    stop(child);
    assert!(log.contains(&format!("the server's certificate chain does not hold the pinned CA {}", pin_of(&command))), "{log}");
    assert!(!dir.join("state/token").exists(), "no token from the interceptor");
    assert!(interceptor.agent_names(interceptor.cluster("other")).is_empty());

    // The secret was never sent: the real server still accepts it.
    let real = temp_dir("tls-real");
    let child = agent(&agent_bin, &haproxy, &server.process.base, &real, &secret, &["--ca-fingerprint", &pin_of(&command)]);
    wait_enrolled(&server, cluster, "n1", &real);
    stop(child);
    for dir in [dir, real] {
        let _ = std::fs::remove_dir_all(dir);
    }
}
