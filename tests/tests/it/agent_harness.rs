//! Shared setup of the agent acceptance tests: the real `fleet serve` and `fleet-agent`
//! binaries (built by `cargo build --workspace`, found next to this test binary), a real
//! HAProxy on loopback, and small HTTP helpers. Every process started here is stopped on drop.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fleet_tests::FleetServe;
use serde_json::{json, Value};

pub(crate) const PASSWORD: &str = "agent-tests-password-1";

/// The HAProxy binary, when installed.
pub(crate) fn haproxy() -> Option<PathBuf> {
    let path = std::env::var_os("FLEET_HAPROXY_BIN").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/sbin/haproxy"));
    path.exists().then_some(path)
}

/// `target/<profile>/<name>`, next to `target/<profile>/deps/it-*`; for a bench built in the
/// release profile, the debug build when there is no release one.
pub(crate) fn binary(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let profile = exe.parent()?.parent()?;
    [profile.join(name), profile.parent()?.join("debug").join(name)].into_iter().find(|p| p.exists())
}

/// Everything the agent tests need, or why they skip.
pub(crate) fn prerequisites() -> Option<(PathBuf, PathBuf, PathBuf)> {
    // Skips, or failures with FLEET_REQUIRE_TOOLS=1 (fleet_tests::require).
    let haproxy = fleet_tests::require(haproxy(), "haproxy (set FLEET_HAPROXY_BIN)")?;
    let fleet = fleet_tests::require(binary("fleet"), "fleet (cargo build -p fleet-server)")?;
    let agent = fleet_tests::require(binary("fleet-agent"), "fleet-agent (cargo build -p fleet-agent)")?;
    Some((haproxy, fleet, agent))
}

/// A loopback port nobody listens on right now.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `N` free ports, distinct: all are held while they are chosen (separate [`free_port`] calls
/// may get the same port back once its probe closed, and two daemons then fight over it).
pub(crate) fn free_ports<const N: usize>() -> [u16; N] {
    let held: Vec<TcpListener> = (0..N).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    std::array::from_fn(|i| held[i].local_addr().unwrap().port())
}

pub(crate) fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fleet-{name}-{}-{}", std::process::id(), free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn signal(pid: u32, signal: &str) {
    let _ = Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).status();
}

/// A running `fleet serve` (the shared [`FleetServe`] child, killed on drop) with an admin
/// session.
pub(crate) struct Server {
    _process: FleetServe,
    pub(crate) url: String,
    token: String,
    http: reqwest::blocking::Client,
}

impl Server {
    pub(crate) fn start(fleet: &Path, data: &Path) -> Server {
        Server::start_on(fleet, data, "127.0.0.1:0")
    }

    /// `fleet serve` on `listen` (a restart reuses the address agents know) and on `data` (a
    /// restart reuses the database too).
    pub(crate) fn start_on(fleet: &Path, data: &Path, listen: &str) -> Server {
        Server::start_with(fleet, data, listen, &[])
    }

    /// [`Server::start_on`] with more `fleet serve` arguments.
    pub(crate) fn start_with(fleet: &Path, data: &Path, listen: &str, args: &[&str]) -> Server {
        let args: Vec<&str> = ["--grace-seconds", "1"].iter().chain(args).copied().collect();
        let process = FleetServe::start(fleet, listen, Some(data), PASSWORD, args);
        let url = process.base.clone();
        let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
        let login: Value = http
            .post(format!("{url}/api/v1/auth/login"))
            .json(&json!({"username": "admin", "password": PASSWORD}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let token = login["token"].as_str().expect("login token").to_string();
        Server { _process: process, url, token, http }
    }

    fn call(&self, method: reqwest::Method, path: &str, body: Option<Body<'_>>) -> Value {
        let mut request = self.http.request(method.clone(), format!("{}{path}", self.url)).bearer_auth(&self.token);
        request = match body {
            Some(Body::Json(value)) => request.json(value),
            Some(Body::Text(text)) => request.header("content-type", "text/plain").body(text.to_string()),
            None => request,
        };
        let response = request.send().unwrap();
        let status = response.status();
        let text = response.text().unwrap();
        assert!(status.is_success(), "{method} {path}: {status}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// A request with the admin session, for answers the test inspects itself (refusals).
    pub(crate) fn request(&self, method: reqwest::Method, path: &str) -> reqwest::blocking::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.url)).bearer_auth(&self.token)
    }

    pub(crate) fn post(&self, path: &str, body: &Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(Body::Json(body)))
    }

    /// A POST whose refusal the test checks: the status and the JSON answer.
    pub(crate) fn try_post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self.http.post(format!("{}{path}", self.url)).bearer_auth(&self.token).json(body).send().unwrap();
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    }

    /// A GET answering text (a bundle file).
    pub(crate) fn get_text(&self, path: &str) -> String {
        let response = self.http.get(format!("{}{path}", self.url)).bearer_auth(&self.token).send().unwrap();
        assert!(response.status().is_success(), "GET {path}: {}", response.status());
        response.text().unwrap()
    }

    /// The status of a GET the test expects to fail.
    pub(crate) fn get_status(&self, path: &str) -> u16 {
        self.http.get(format!("{}{path}", self.url)).bearer_auth(&self.token).send().unwrap().status().as_u16()
    }

    pub(crate) fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None)
    }

    pub(crate) fn call_put(&self, path: &str, body: &Value) -> Value {
        self.call(reqwest::Method::PUT, path, Some(Body::Json(body)))
    }

    /// A pool and a cluster whose agents write `config_path`; returns the cluster id.
    pub(crate) fn cluster(&self, name: &str, config_path: &Path) -> i64 {
        let pool = self.post("/api/v1/pools", &json!({"name": format!("{name}-pool")}));
        let cluster = self.post(
            "/api/v1/clusters",
            // `/nonexistent/file` is declared as provided by the nodes, so the server takes a version
            // naming it and the node's `haproxy -c` is the one to refuse it.
            &json!({"name": name, "pool_id": pool["id"], "settings": {"config_path": config_path, "reload_mode": "process", "external": ["/nonexistent/file"]}}),
        );
        cluster["id"].as_i64().unwrap()
    }

    /// The cluster's latest version number.
    pub(crate) fn latest(&self, cluster: i64) -> Option<i64> {
        let versions = self.get(&format!("/api/v1/clusters/{cluster}/versions"));
        versions.as_array().and_then(|v| v.iter().filter_map(|v| v["number"].as_i64()).max())
    }

    /// Stores the files `(path, kind, bytes)` over the latest version in one transaction
    /// (`put_file` ops); returns the new version's number.
    pub(crate) fn commit_files(&self, cluster: i64, files: &[(&str, &str, &[u8])]) -> i64 {
        use base64::Engine as _;
        let latest = self.latest(cluster).expect("a first version to build on");
        let tx = self.post(&format!("/api/v1/clusters/{cluster}/transactions?version={latest}"), &json!({}));
        let tid = tx["id"].as_i64().unwrap();
        let ops: Vec<Value> = files
            .iter()
            .map(|(path, kind, bytes)| {
                json!({"op": "put_file", "path": path, "kind": kind, "content_base64": base64::engine::general_purpose::STANDARD.encode(bytes)})
            })
            .collect();
        self.post(&format!("/api/v1/clusters/{cluster}/transactions/{tid}/ops"), &json!(ops));
        let answer = self.call(reqwest::Method::PUT, &format!("/api/v1/clusters/{cluster}/transactions/{tid}"), None);
        answer["version"].as_i64().unwrap()
    }

    /// Stores `text` as the cluster's next version (import for the first); returns its number.
    pub(crate) fn commit(&self, cluster: i64, text: &str) -> i64 {
        let answer = match self.latest(cluster) {
            None => self.call(reqwest::Method::POST, &format!("/api/v1/clusters/{cluster}/import"), Some(Body::Text(text))),
            Some(n) => self.call(reqwest::Method::PUT, &format!("/api/v1/clusters/{cluster}/config?version={n}"), Some(Body::Text(text))),
        };
        answer["version"].as_i64().unwrap()
    }

    pub(crate) fn apply(&self, cluster: i64, version: i64) {
        self.post(&format!("/api/v1/clusters/{cluster}/apply"), &json!({"version": version}));
    }

    pub(crate) fn enrolment_secret(&self, cluster: i64, name: &str) -> String {
        let enrolment = self.post(&format!("/api/v1/clusters/{cluster}/enrollments"), &json!({"name": name}));
        assert!(enrolment["install_command"].as_str().unwrap().starts_with("fleet-agent --server "));
        enrolment["secret"].as_str().unwrap().to_string()
    }

    /// The first agent of the cluster's status.
    pub(crate) fn agent_status(&self, cluster: i64) -> Value {
        let status = self.get(&format!("/api/v1/clusters/{cluster}/status"));
        status["agents"].get(0).cloned().unwrap_or(Value::Null)
    }

    /// Waits until the agent's status satisfies `done`.
    pub(crate) fn wait_status(&self, cluster: i64, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let agent = self.agent_status(cluster);
            if done(&agent) {
                return agent;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}: {agent}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

enum Body<'a> {
    Json(&'a Value),
    Text(&'a str),
}

/// A running `fleet-agent` in process mode; SIGTERM on drop, then SIGTERM to the HAProxy master
/// it leaves running (`<state>/haproxy.pid`).
pub(crate) struct Agent {
    child: Option<Child>,
    pub(crate) state: PathBuf,
    pub(crate) config: PathBuf,
    binary: PathBuf,
    pub(crate) haproxy: PathBuf,
    pub(crate) server: String,
    /// `--haproxy-mode ...` and mode-specific arguments.
    pub(crate) mode_args: Vec<String>,
    /// Extra environment (a `PATH` with a stand-in `systemctl`).
    pub(crate) env: Vec<(String, String)>,
    /// The network namespace to run in (`ip netns exec`, which execs the agent: same pid).
    pub(crate) netns: Option<String>,
}

impl Agent {
    pub(crate) fn new(binary: &Path, haproxy: &Path, server: &Server, dir: &Path) -> Agent {
        Agent {
            child: None,
            state: dir.join("state"),
            // The managed directory (the config's folder) becomes a symlink to the current
            // release, so it is not the test's own folder.
            config: dir.join("etc").join("haproxy.cfg"),
            binary: binary.into(),
            haproxy: haproxy.into(),
            server: server.url.clone(),
            mode_args: vec!["--haproxy-mode".into(), "process".into()],
            env: Vec::new(),
            netns: None,
        }
    }

    /// Starts the agent (with the enrolment secret when given).
    pub(crate) fn start(&mut self, secret: Option<&str>) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.state.with_extension("log")).unwrap();
        let mut command = match &self.netns {
            Some(ns) => {
                let mut command = Command::new("ip");
                command.args(["netns", "exec", ns]).arg(&self.binary);
                command
            }
            None => Command::new(&self.binary),
        };
        command
            .args(["--server", &self.server, "--heartbeat-seconds", "1", "--poll-seconds", "20"])
            .args(&self.mode_args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .arg("--state-dir")
            .arg(&self.state)
            .arg("--config-path")
            .arg(&self.config)
            .arg("--haproxy-bin")
            .arg(&self.haproxy)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log));
        if let Some(secret) = secret {
            command.args(["--enroll-secret", secret]);
        }
        self.child = Some(command.spawn().unwrap());
    }

    /// The agent's process id (the same across an upgrade: the new binary is exec'ed in place).
    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).expect("a started agent")
    }

    /// SIGKILL, as a crash would.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, as systemd's stop would; how the agent exited (within 20 s).
    pub(crate) fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.as_ref().expect("a running agent").id();
        signal(pid, "TERM");
        self.wait_exit(Duration::from_secs(20))
    }

    /// Waits until the agent exits by itself (within `within`); its exit status.
    pub(crate) fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("a running agent");
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the agent did not exit within {within:?}:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The HAProxy master's pid, as its master CLI says (`show proc`).
    pub(crate) fn master_pid(&self) -> u32 {
        let procs = self.master_cli("show proc");
        let line = procs.lines().find(|l| l.split_whitespace().nth(1) == Some("master")).unwrap_or_else(|| panic!("no master in {procs:?}"));
        line.split_whitespace().next().unwrap().parse().unwrap()
    }

    /// The agent's own log, for failure messages.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.state.with_extension("log")).unwrap_or_default()
    }

    /// A command on HAProxy's master CLI (`@1 ...` reaches the worker).
    pub(crate) fn master_cli(&self, command: &str) -> String {
        self.master_cli_at(&self.state.join("master.sock"), command)
    }

    /// The master's reload counter (`show proc`).
    pub(crate) fn reloads(&self) -> u64 {
        let procs = self.master_cli("show proc");
        procs.lines().nth(1).and_then(|l| l.split_whitespace().nth(2)).and_then(|r| r.parse().ok()).unwrap()
    }

    /// A command on the master CLI at `socket`. The master re-executes itself on each reload
    /// and its CLI socket refuses connections meanwhile: a refused connection is tried again
    /// for up to 5 s.
    pub(crate) fn master_cli_at(&self, socket: &Path, command: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut stream = loop {
            match std::os::unix::net::UnixStream::connect(socket) {
                Ok(stream) => break stream,
                Err(error) if error.kind() == std::io::ErrorKind::ConnectionRefused && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(error) => panic!("master CLI {}: {error}", socket.display()),
            }
        };
        stream.write_all(format!("{command}\n").as_bytes()).unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(child.id(), "TERM");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        // A master left behind by a killed agent: stop it too.
        if let Ok(pid) = std::fs::read_to_string(self.state.join("haproxy.pid")) {
            if let Ok(pid) = pid.trim().parse::<u32>() {
                if Path::new(&format!("/proc/{pid}")).exists() {
                    signal(pid, "TERM");
                }
            }
        }
    }
}

/// One agent (not started) per `(name, loopback address)` of `nodes`, each in `dir/<name>`
/// with `FLEET_NODE_ADDR` set to its address, for a configuration shared by the nodes that
/// binds `"${FLEET_NODE_ADDR}:port"`.
pub(crate) fn node_agents(binary: &Path, haproxy: &Path, server: &Server, dir: &Path, nodes: &[(&str, &str)]) -> Vec<Agent> {
    nodes
        .iter()
        .map(|(name, address)| {
            std::fs::create_dir_all(dir.join(name)).unwrap();
            let mut agent = Agent::new(binary, haproxy, server, &dir.join(name));
            agent.env = vec![("FLEET_NODE_ADDR".into(), address.to_string())];
            agent
        })
        .collect()
}

/// A `--haproxy-bin` wrapper that refuses to start HAProxy while a hold file exists, so a test
/// can stop a node's HAProxy and keep it down (a crash that does not heal) while the agent,
/// which restarts a dead HAProxy, keeps running.
pub(crate) struct HeldHaproxy {
    /// The wrapper script to pass as `--haproxy-bin`.
    pub(crate) wrapper: PathBuf,
    hold: PathBuf,
}

impl HeldHaproxy {
    /// Writes the wrapper of `haproxy` in `dir`.
    pub(crate) fn new(haproxy: &Path, dir: &Path) -> HeldHaproxy {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(dir).unwrap();
        let hold = dir.join("hold-haproxy");
        let wrapper = dir.join("haproxy");
        let script = format!(
            "#!/bin/sh\n[ -e '{}' ] && {{ echo 'haproxy held down by the test' >&2; exit 1; }}\nexec '{}' \"$@\"\n",
            hold.display(),
            haproxy.display()
        );
        std::fs::write(&wrapper, script).unwrap();
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
        HeldHaproxy { wrapper, hold }
    }

    /// SIGKILL to `agent`'s HAProxy master and workers, with the hold on so it stays down.
    pub(crate) fn kill(&self, agent: &Agent) {
        std::fs::write(&self.hold, "").unwrap();
        let master = std::fs::read_to_string(agent.state.join("haproxy.pid")).unwrap().trim().to_string();
        let mut pids = children(&master);
        pids.push(master);
        let status = Command::new("kill").arg("-KILL").args(&pids).status().unwrap();
        assert!(status.success(), "kill -KILL {pids:?}");
    }

    /// Lets the agent start HAProxy again.
    pub(crate) fn release(&self) {
        let _ = std::fs::remove_file(&self.hold);
    }
}

/// The pids whose parent is `pid` (HAProxy's workers).
fn children(pid: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|p| p.chars().all(|c| c.is_ascii_digit()))
        .filter(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
            stat.rfind(')').and_then(|at| stat[at + 1..].split_whitespace().nth(1).map(|pp| pp == pid)).unwrap_or(false)
        })
        .collect()
}

/// A webhook receiver on loopback: answers 503 to the first `failing` requests (the sender
/// must retry), 200 after; keeps every body (JSON, or the text when it is not).
pub(crate) fn webhook_receiver(failing: usize) -> (String, Arc<Mutex<Vec<Value>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks/failover", listener.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let kept = bodies.clone();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut buf = [0u8; 8192];
            let body = loop {
                let Ok(read) = stream.read(&mut buf) else { break None };
                request.extend_from_slice(&buf[..read]);
                let text = String::from_utf8_lossy(&request).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length: usize = text[..end]
                        .lines()
                        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
                        .unwrap_or(0);
                    if request.len() >= end + 4 + length {
                        break Some(text[end + 4..].to_string());
                    }
                }
                if read == 0 {
                    break None;
                }
            };
            let status = if n < failing { "503 Service Unavailable" } else { "200 OK" };
            let _ = stream.write_all(format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").as_bytes());
            if let Some(body) = body {
                kept.lock().unwrap().push(serde_json::from_str(&body).unwrap_or(Value::String(body)));
            }
        }
    });
    (url, bodies)
}

/// One HTTP/1.0 request on a new connection: the body, or the error.
pub(crate) fn probe(port: u16) -> Result<String, String> {
    let mut stream = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2)).map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).map_err(|e| e.to_string())?;
    stream.write_all(b"GET / HTTP/1.0\r\nHost: test\r\n\r\n").map_err(|e| format!("write: {e}"))?;
    let mut response = String::new();
    stream.read_to_string(&mut response).map_err(|e| format!("read: {e}"))?;
    if !response.starts_with("HTTP/1.0 200") && !response.starts_with("HTTP/1.1 200") {
        return Err(format!("unexpected answer: {response:?}"));
    }
    Ok(response.split("\r\n\r\n").nth(1).unwrap_or("").to_string())
}

/// Waits until the frontend answers `body`; how long it took.
pub(crate) fn wait_served(port: u16, body: &str, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        if probe(port).as_deref() == Ok(body) {
            return start.elapsed();
        }
        assert!(start.elapsed() < within, "{body:?} not served within {within:?} (last: {:?})", probe(port));
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A small valid configuration answering `body` on `port`, with a backend `app` of two servers
/// for the runtime tests; `extra` lines go into the frontend.
pub(crate) fn config(port: u16, body: &str, extra: &str) -> String {
    format!(
        "global\n    log stderr local0 notice\n\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n    \
         load-server-state-from-file global\n\n\
         frontend fe\n    bind 127.0.0.1:{port}\n{extra}    http-request return status 200 content-type text/plain string \"{body}\"\n    default_backend app\n\n\
         backend app\n    balance roundrobin\n    server s1 127.0.0.1:9 weight 10\n    server s2 127.0.0.1:9 weight 10\n"
    )
}

/// Enrols an agent on a new cluster, applies version 1 and waits until it is served.
pub(crate) fn bring_up(name: &str, haproxy: &Path, fleet: &Path, agent_bin: &Path) -> (Server, Agent, i64, u16, PathBuf) {
    bring_up_with(name, haproxy, fleet, agent_bin, &[])
}

/// [`bring_up`] with more `fleet serve` arguments.
pub(crate) fn bring_up_with(name: &str, haproxy: &Path, fleet: &Path, agent_bin: &Path, args: &[&str]) -> (Server, Agent, i64, u16, PathBuf) {
    let dir = temp_dir(name);
    let server = Server::start_with(fleet, &dir.join("data"), "127.0.0.1:0", args);
    let mut agent = Agent::new(agent_bin, haproxy, &server, &dir);
    let cluster = server.cluster(name, &agent.config);
    let port = free_port();
    let v1 = server.commit(cluster, &config(port, "v1", ""));
    server.apply(cluster, v1);
    let secret = server.enrolment_secret(cluster, "node1");
    agent.start(Some(&secret));
    server.wait_status(cluster, "version 1 applied", |a| a["applied_version"] == json!(v1));
    wait_served(port, "v1", Duration::from_secs(10));
    (server, agent, cluster, port, dir)
}

/// A configuration answering `<body> <map value of host "test">` on `port`, and TLS on `tls`
/// with `certs/site.pem`; `extra` lines go into the frontend.
pub(crate) fn bundle_config(port: u16, tls: u16, body: &str, extra: &str) -> String {
    format!(
        "global\n    log stderr local0 notice\n\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n    \
         load-server-state-from-file global\n\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    bind 127.0.0.1:{tls} ssl crt certs/site.pem\n{extra}    \
         http-request return status 200 content-type text/plain lf-string \"{body} %[req.hdr(host),map_str(maps/hosts.map,none)]\"\n    \
         default_backend app\n\nbackend app\n    balance roundrobin\n    server s1 127.0.0.1:9 weight 10\n    server s2 127.0.0.1:9 weight 10\n"
    )
}
