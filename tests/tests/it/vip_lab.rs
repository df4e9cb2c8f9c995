//! Virtual IPs end to end (issue 14), with everything real: `fleet serve`, and in each node
//! namespace a `fleet-agent --keepalived` running HAProxy and keepalived; a client namespace
//! reaches HAProxy through the VIP.
//!
//! ```text
//! bridge ns: br0 10.215.0.254/24 (fleet serve listens there; the test thread joins this ns)
//!   |-- veth -- node ns lb1: eth0 10.215.0.1/24   fleet-agent + HAProxy (:8080) + keepalived
//!   |-- veth -- node ns lb2: eth0 10.215.0.2/24   ...
//!   |-- veth -- client ns:   eth0 10.215.0.200/24 (a thread joins it to probe the VIP)
//! ```
//!
//! The VRRP group is defined through the API (`POST /api/v1/clusters/{id}/vips`): the server
//! renders each node's `keepalived/<agent>.conf` with the track file and notify FIFO its agent
//! reported (`vrrp_track_file`, weight 0: HAProxy dead puts the instance in FAULT). HAProxy is
//! "killed" by SIGKILL to its master and workers while the
//! node's `--haproxy-bin` wrapper refuses to start it again (a crash that does not heal), so the
//! measured failover is VRRP's, not the agent's restart; removing the hold lets the agent
//! restart it, and the failback follows the preemption setting. Figures (kill -> first answer
//! of the new holder through the VIP) print as min/median/max over `FLEET_VIP_RUNS` (default 5).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::agent_harness::{prerequisites, temp_dir, Agent, HeldHaproxy, Server};
use crate::netns::{ip, keepalived_bin, run, unavailable, Lab};

const VIP: &str = "10.215.0.100";
const PORT: u16 = 8080;

/// HAProxy's configuration, shared by the nodes: each answers its own name (the agent's
/// environment, inherited by HAProxy).
const HAPROXY: &str = "global\n    log stderr local0 notice\n\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    \
                       timeout server 5s\n\nfrontend web\n    bind :8080\n    \
                       http-request return status 200 content-type text/plain lf-string \"%[env(FLEET_NODE)]\"\n";

/// Moves the calling thread into network namespace `ns` (threads and children it starts
/// afterwards are in it too).
fn join_netns(ns: &str) {
    let file = std::fs::File::open(format!("/var/run/netns/{ns}")).unwrap();
    rustix::thread::move_into_link_name_space(file.as_fd(), Some(rustix::thread::LinkNameSpaceType::Network)).unwrap();
}

/// One request to the VIP: the body, or why not.
fn get_vip() -> Result<String, String> {
    let address: SocketAddr = format!("{VIP}:{PORT}").parse().unwrap();
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_millis(50)).map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_millis(500))).map_err(|e| e.to_string())?;
    stream.write_all(b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n").map_err(|e| format!("write: {e}"))?;
    let mut response = String::new();
    stream.read_to_string(&mut response).map_err(|e| format!("read: {e}"))?;
    response.split("\r\n\r\n").nth(1).map(str::to_string).ok_or_else(|| format!("no body: {response:?}"))
}

/// A node: its namespace, agent and files.
struct Node {
    name: String,
    ns: String,
    agent: Agent,
    /// Its `--haproxy-bin`, which keeps HAProxy down while held.
    held: HeldHaproxy,
    keepalived_config: PathBuf,
    keepalived_pid: PathBuf,
}

impl Node {
    fn holds_vip(&self) -> bool {
        Lab::addresses(&self.ns, "eth0").contains(&format!(" {VIP}/"))
    }

    fn kill_haproxy(&self) {
        self.held.kill(&self.agent);
    }

    fn release_haproxy(&self) {
        self.held.release();
    }

    /// SIGKILL to every keepalived process of this node (it leaves its address behind).
    fn kill_keepalived(&self) {
        let dir = self.agent.state.join("keepalived");
        let pids: Vec<String> = [self.keepalived_pid.clone(), dir.join("vrrp.pid"), dir.join("checkers.pid")]
            .iter()
            .filter_map(|f| std::fs::read_to_string(f).ok())
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty() && Path::new("/proc").join(p).exists())
            .collect();
        assert!(!pids.is_empty(), "{}: no keepalived running", self.name);
        let args: Vec<&str> = ["-KILL"].into_iter().chain(pids.iter().map(String::as_str)).collect();
        run("kill", &args);
    }
}

/// The namespaces, server and nodes of one run; everything stopped on drop (agents first: they
/// stop their HAProxy and keepalived).
struct VipLab {
    nodes: Vec<Node>,
    server: Server,
    client: String,
    cluster: i64,
    /// The group's id once defined.
    vip: std::cell::Cell<Option<i64>>,
    dir: PathBuf,
    _lab: Lab,
}

impl Drop for VipLab {
    fn drop(&mut self) {
        let pid_files: Vec<PathBuf> = self.nodes.iter().map(|n| n.keepalived_pid.clone()).collect();
        for node in &self.nodes {
            node.release_haproxy();
        }
        // SIGTERM to each agent: it stops its HAProxy and its keepalived.
        self.nodes.clear();
        // A keepalived whose agent could not stop it.
        for file in pid_files {
            if let Ok(pid) = std::fs::read_to_string(&file) {
                let pid = pid.trim();
                if !pid.is_empty() && Path::new("/proc").join(pid).exists() {
                    run("kill", &["-TERM", pid]);
                }
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// keepalived, HAProxy, the binaries and root, or why the test skips.
fn setup() -> Option<(PathBuf, PathBuf, PathBuf, PathBuf)> {
    if let Some(why) = unavailable() {
        eprintln!("skipping: {why}");
        return None;
    }
    let Some(keepalived) = keepalived_bin() else {
        eprintln!("skipping: keepalived not installed (set FLEET_KEEPALIVED_BIN)");
        return None;
    };
    let (haproxy, fleet, agent) = prerequisites()?;
    Some((keepalived, haproxy, fleet, agent))
}

impl VipLab {
    /// Builds the namespaces, starts `fleet serve` in the bridge namespace, a cluster serving
    /// [`HAPROXY`], and one agent per name (started, version 1 applied).
    fn start(tag: &str, names: &[&str]) -> Option<VipLab> {
        VipLab::start_adopting(tag, names, None)
    }

    /// [`VipLab::start`]; with `adopt`, each node's keepalived.conf holds those bytes before its
    /// agent starts with `--adopt`.
    fn start_adopting(tag: &str, names: &[&str], adopt: Option<&[u8]>) -> Option<VipLab> {
        let (keepalived, haproxy, fleet, agent_bin) = setup()?;
        let mut lab = Lab::new(tag);
        let bridge = lab.namespace();
        ip(&["-n", &bridge, "link", "add", "br0", "type", "bridge"]);
        ip(&["-n", &bridge, "addr", "add", "10.215.0.254/24", "dev", "br0"]);
        ip(&["-n", &bridge, "link", "set", "br0", "up"]);
        let attach = |ns: &str, port: &str, address: &str| {
            ip(&["-n", &bridge, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns]);
            ip(&["-n", &bridge, "link", "set", port, "master", "br0", "up"]);
            ip(&["-n", ns, "addr", "add", address, "dev", "eth0"]);
            ip(&["-n", ns, "link", "set", "eth0", "up"]);
        };
        let client = lab.namespace();
        attach(&client, "pclient", "10.215.0.200/24");
        // The server, and every HTTP call of this test, in the bridge namespace.
        join_netns(&bridge);
        let dir = temp_dir(tag);
        let server = Server::start_with(&fleet, &dir.join("data"), "10.215.0.254:0", &[]);
        let mut nodes = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let ns = lab.namespace();
            attach(&ns, &format!("p{i}"), &format!("10.215.0.{}/24", i + 1));
            let node_dir = dir.join(name);
            std::fs::create_dir_all(&node_dir).unwrap();
            let held = HeldHaproxy::new(&haproxy, &node_dir);
            let mut agent = Agent::new(&agent_bin, &held.wrapper, &server, &node_dir);
            let keepalived_config = node_dir.join("keepalived/keepalived.conf");
            let keepalived_pid = node_dir.join("keepalived.pid");
            agent.netns = Some(ns.clone());
            agent.env = vec![("FLEET_NODE".into(), name.to_string())];
            agent.mode_args.extend(
                [
                    "--keepalived",
                    "--keepalived-config",
                    &keepalived_config.display().to_string(),
                    "--keepalived-pid-file",
                    &keepalived_pid.display().to_string(),
                    "--keepalived-bin",
                    &keepalived.display().to_string(),
                ]
                .map(String::from),
            );
            if let Some(bytes) = adopt {
                std::fs::create_dir_all(keepalived_config.parent().unwrap()).unwrap();
                std::fs::write(&keepalived_config, bytes).unwrap();
                agent.mode_args.push("--adopt".into());
            }
            nodes.push(Node { name: name.to_string(), ns, agent, held, keepalived_config, keepalived_pid });
        }
        let cluster = server.cluster(tag, &nodes[0].agent.config);
        let v1 = server.commit(cluster, HAPROXY);
        server.apply(cluster, v1);
        let mut lab = VipLab { nodes, server, client, cluster, vip: std::cell::Cell::new(None), dir, _lab: lab };
        for node in &mut lab.nodes {
            let secret = lab.server.enrolment_secret(cluster, &node.name);
            node.agent.start(Some(&secret));
        }
        lab.wait_applied(v1);
        Some(lab)
    }

    fn agent(&self, name: &str) -> Value {
        let status = self.server.get(&format!("/api/v1/clusters/{}/status", self.cluster));
        status["agents"].as_array().and_then(|a| a.iter().find(|a| a["name"] == json!(name)).cloned()).unwrap_or(Value::Null)
    }

    fn logs(&self) -> String {
        self.nodes
            .iter()
            .map(|n| {
                let keepalived = std::fs::read_to_string(n.agent.state.join("keepalived/keepalived.log")).unwrap_or_default();
                let tail: Vec<&str> = keepalived.lines().rev().take(15).collect();
                format!("== {} agent\n{}\n== {} keepalived (last lines)\n{}", n.name, n.agent.log(), n.name, tail.into_iter().rev().collect::<Vec<_>>().join("\n"))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Waits until every agent reports `version` applied.
    fn wait_applied(&self, version: i64) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let done = self.nodes.iter().all(|n| {
                let agent = self.agent(&n.name);
                agent["applied_version"] == json!(version) && agent["last_outcome"].as_str().is_some_and(|o| o.starts_with("applied"))
            });
            if done {
                return;
            }
            assert!(Instant::now() < deadline, "version {version} not applied everywhere:\n{}\n{}", self.server.get(&format!("/api/v1/clusters/{}/status", self.cluster)), self.logs());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Defines (then redefines) the group `VI_web` through the API, one node per priority in
    /// order, and waits until every node applied the version it made.
    fn define(&self, vrid: u8, advert_interval: f64, preempt: bool, priorities: &[u8]) -> i64 {
        let nodes: Vec<Value> = self.nodes.iter().zip(priorities).map(|(n, p)| json!({"agent": n.name, "priority": p})).collect();
        let body = json!({"name": "VI_web", "addresses": [format!("{VIP}/24")], "vrid": vrid, "interface": "eth0",
            "advert_interval": advert_interval, "preempt": preempt, "track_haproxy": true, "nodes": nodes});
        let base = format!("/api/v1/clusters/{}/vips", self.cluster);
        let deadline = Instant::now() + Duration::from_secs(20);
        let answer = loop {
            let (status, answer) = match self.vip.get() {
                None => self.server.try_post(&base, &body),
                Some(id) => (200, self.server.call_put(&format!("{base}/{id}"), &body)),
            };
            // 422 until every agent's heartbeat reported its track file.
            if status != 422 || Instant::now() > deadline {
                assert!(status == 200 || status == 201, "{status}: {answer}");
                break answer;
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        assert_eq!(answer["applied"], json!(true), "{answer}");
        if let Some(id) = answer["id"].as_i64().or_else(|| answer["vip"]["id"].as_i64()) {
            self.vip.set(Some(id));
        }
        let version = answer["version"].as_i64().unwrap();
        self.wait_applied(version);
        version
    }

    /// Waits until the cluster's status says `name` holds the group; the time since `start`.
    fn status_holder(&self, name: &str, start: Instant, within: Duration) -> Duration {
        loop {
            let status = self.server.get(&format!("/api/v1/clusters/{}/status", self.cluster));
            let holder = status["vips"].get(0).map(|v| v["holder"].clone()).unwrap_or(Value::Null);
            if holder == json!(name) {
                return start.elapsed();
            }
            assert!(start.elapsed() < within, "status does not show {name} holding the VIP: {status:#}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Probes the VIP from the client namespace until node `name` answers; the time since
    /// `start`.
    fn served_by(&self, name: &str, start: Instant, within: Duration) -> Duration {
        let (client, expected) = (self.client.clone(), name.to_string());
        let found = std::thread::spawn(move || {
            join_netns(&client);
            let mut last = Err(String::new());
            while start.elapsed() < within {
                last = get_vip();
                if last.as_deref() == Ok(expected.as_str()) {
                    return Ok(start.elapsed());
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(last)
        })
        .join()
        .unwrap();
        match found {
            Ok(elapsed) => elapsed,
            Err(last) => panic!("{name} did not answer through the VIP within {within:?} (last: {last:?})\n{}", self.logs()),
        }
    }

    /// Waits until exactly node `name` holds the VIP on its interface.
    fn wait_sole_holder(&self, name: &str, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let holders: Vec<&str> = self.nodes.iter().filter(|n| n.holds_vip()).map(|n| n.name.as_str()).collect();
            if holders == [name] {
                return;
            }
            assert!(Instant::now() < deadline, "holders {holders:?}, expected only {name}\n{}", self.logs());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn node(&self, name: &str) -> &Node {
        self.nodes.iter().find(|n| n.name == name).unwrap()
    }

    /// Kills HAProxy on `from` (held down), measures until `to` answers through the VIP, then
    /// lets HAProxy restart and measures until `back` answers (the failback, or the new holder
    /// keeping it). Returns (failover, status showing the new holder, failback), each since the
    /// kill or the release.
    fn haproxy_failover(&self, from: &str, to: &str, back: &str) -> (Duration, Duration, Duration) {
        let start = Instant::now();
        self.node(from).kill_haproxy();
        let failover = self.served_by(to, start, Duration::from_secs(15));
        // The new holder's agent sends a heartbeat when keepalived announces MASTER: the status
        // shows it within one heartbeat (1 s here) of the move.
        let shown = self.status_holder(to, start, Duration::from_secs(15));
        assert!(shown <= failover + Duration::from_millis(1500), "status showed {to} {shown:?} after the kill, the move took {failover:?}");
        std::thread::sleep(Duration::from_millis(200));
        let start = Instant::now();
        self.node(from).release_haproxy();
        let failback = self.served_by(back, start, Duration::from_secs(20));
        (failover, shown, failback)
    }
}

fn runs() -> usize {
    std::env::var("FLEET_VIP_RUNS").ok().and_then(|r| r.parse().ok()).filter(|r| *r > 0).unwrap_or(5)
}

/// `min / median / max` in ms.
fn figures(times: &[Duration]) -> String {
    let mut ms: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    format!("min {:.0} ms / median {:.0} ms / max {:.0} ms over {} runs", ms[0], ms[ms.len() / 2], ms[ms.len() - 1], ms.len())
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

#[test]
fn vip_two_nodes_vrrp2_advert_1s_failover_failback_and_a_refused_config() {
    let Some(lab) = VipLab::start("vip2", &["lb1", "lb2"]) else { return };
    let configured = lab.define(51, 1.0, true, &[150, 100]);
    lab.served_by("lb1", Instant::now(), Duration::from_secs(20));
    lab.wait_sole_holder("lb1", Duration::from_secs(10));
    // keepalived's own words, read by the agent from the notify FIFO.
    // The address can be up a moment before the agent has read and logged the FIFO line.
    for (name, state) in [("lb1", "state=Master"), ("lb2", "state=Backup")] {
        let seen = |log: &str| log.lines().any(|l| l.contains("vrrp instance state") && l.contains("instance=VI_web") && l.contains(state));
        let deadline = Instant::now() + Duration::from_secs(5);
        while !seen(&lab.node(name).agent.log()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let log = lab.node(name).agent.log();
        assert!(seen(&log), "{name}: {log}");
    }

    // HAProxy dies on the holder: its agent writes the track file at once, keepalived puts the
    // instance in FAULT (priority 0 advert), the backup takes the address.
    let (mut failovers, mut shown, mut failbacks) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs() {
        let (failover, status, failback) = lab.haproxy_failover("lb1", "lb2", "lb1");
        assert!(failover <= Duration::from_millis(3500), "failover took {failover:?} (target 3.5 s)");
        failovers.push(failover);
        shown.push(status);
        failbacks.push(failback);
        lab.wait_sole_holder("lb1", Duration::from_secs(10));
    }
    eprintln!("VRRPv2 advert 1 s, HAProxy killed on the holder -> backup answers through the VIP: {}", figures(&failovers));
    eprintln!("VRRPv2 advert 1 s, HAProxy killed -> the status shows the new holder: {}", figures(&shown));
    eprintln!("VRRPv2 advert 1 s, preempt: HAProxy allowed back -> old holder answers again: {}", figures(&failbacks));

    // keepalived killed on the holder (SIGKILL: it leaves its address behind): the backup takes
    // over after the master-down interval; the agent removes the stale address, restarts
    // keepalived, which preempts back.
    let mut killed = Vec::new();
    for _ in 0..runs().min(2) {
        let start = Instant::now();
        lab.node("lb1").kill_keepalived();
        killed.push(lab.served_by("lb2", start, Duration::from_secs(15)));
        lab.served_by("lb1", Instant::now(), Duration::from_secs(20));
        lab.wait_sole_holder("lb1", Duration::from_secs(10));
    }
    eprintln!("VRRPv2 advert 1 s, keepalived killed on the holder -> backup answers: {}", figures(&killed));
    let log = lab.node("lb1").agent.log();
    assert!(log.contains("removed a virtual address left on the interface by a stopped keepalived"), "{log}");
    assert!(log.contains("keepalived was not running: restarted it"), "{log}");

    // A file keepalived -t refuses: that node reports the version rejected with keepalived's
    // words, and its keepalived keeps running the old file, with the address.
    // (lb1's file is then managed as text.)
    let installed = std::fs::read_to_string(&lab.node("lb1").keepalived_config).unwrap();
    assert!(installed.contains("virtual_router_id 51"), "{installed}");
    let bad = installed.replace("virtual_router_id 51", "virtual_router_id 300");
    let version = lab.server.commit_files(lab.cluster, &[("keepalived/lb1.conf", "keepalived", bad.as_bytes())]);
    lab.server.apply(lab.cluster, version);
    let deadline = Instant::now() + Duration::from_secs(30);
    let lb1 = loop {
        let lb1 = lab.agent("lb1");
        if lb1["last_outcome"] == json!("rejected") || Instant::now() > deadline {
            break lb1;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(lb1["last_outcome"], json!("rejected"), "{lb1}\n{}", lab.logs());
    assert!(lb1["last_error"].as_str().unwrap_or_default().contains("VRID '300' not valid"), "{lb1}");
    assert_ne!(lb1["applied_version"], json!(version));
    assert!(lab.node("lb1").holds_vip(), "the running keepalived keeps its address");
    let installed = std::fs::read_to_string(&lab.node("lb1").keepalived_config).unwrap();
    assert!(installed.contains("virtual_router_id 51"), "the installed file is the previous one");
    lab.served_by("lb1", Instant::now(), Duration::from_secs(5));
    assert!(version > configured);
}

#[test]
fn vip_three_nodes_vrrp3_fast_adverts_event_driven_failover_and_nopreempt() {
    let Some(lab) = VipLab::start("vip3", &["lb1", "lb2", "lb3"]) else { return };
    lab.define(52, 0.05, true, &[150, 100, 50]);
    lab.served_by("lb1", Instant::now(), Duration::from_secs(20));
    lab.wait_sole_holder("lb1", Duration::from_secs(10));

    let (mut failovers, mut shown) = (Vec::new(), Vec::new());
    for _ in 0..runs() {
        let (failover, status, _) = lab.haproxy_failover("lb1", "lb2", "lb1");
        failovers.push(failover);
        shown.push(status);
        lab.wait_sole_holder("lb1", Duration::from_secs(10));
    }
    eprintln!("VRRPv3 advert 0.05 s, HAProxy killed on the holder -> next node answers through the VIP: {}", figures(&failovers));
    eprintln!("VRRPv3 advert 0.05 s, HAProxy killed -> the status shows the new holder: {}", figures(&shown));
    // The target is 300 ms; the median is asserted, a loaded CI machine may stretch one run.
    assert!(median(&failovers) <= Duration::from_millis(300), "median failover {:?} (target 300 ms)", median(&failovers));

    let (mut killed, mut cleared) = (Vec::new(), Vec::new());
    for _ in 0..runs().min(3) {
        let start = Instant::now();
        lab.node("lb1").kill_keepalived();
        // The agent learns of keepalived's death at once and removes the address it left.
        while lab.node("lb1").holds_vip() {
            assert!(start.elapsed() < Duration::from_secs(1), "lb1 kept the address of its dead keepalived\n{}", lab.logs());
            std::thread::sleep(Duration::from_millis(5));
        }
        cleared.push(start.elapsed());
        killed.push(lab.served_by("lb2", start, Duration::from_secs(10)));
        lab.served_by("lb1", Instant::now(), Duration::from_secs(20));
        lab.wait_sole_holder("lb1", Duration::from_secs(10));
    }
    eprintln!("VRRPv3 advert 0.05 s, keepalived killed on the holder -> next node answers: {}", figures(&killed));
    eprintln!("keepalived killed on the holder -> its address removed by the agent: {}", figures(&cleared));

    // Without preemption the address stays where it went.
    lab.define(52, 0.05, false, &[150, 100, 50]);
    lab.served_by("lb1", Instant::now(), Duration::from_secs(10));
    let (failover, _, _) = lab.haproxy_failover("lb1", "lb2", "lb2");
    eprintln!("VRRPv3 advert 0.05 s, nopreempt: failover {} ms", failover.as_millis());
    std::thread::sleep(Duration::from_secs(2));
    lab.wait_sole_holder("lb2", Duration::from_secs(5));
    lab.served_by("lb2", Instant::now(), Duration::from_secs(2));
    // keepalived killed on the new holder leaves its address; the agent removes it before
    // restarting keepalived, which (no preemption) stays backup: the address is on one node.
    let start = Instant::now();
    lab.node("lb2").kill_keepalived();
    lab.served_by("lb1", start, Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(3));
    lab.wait_sole_holder("lb1", Duration::from_secs(10));
    let log = lab.node("lb2").agent.log();
    assert!(log.contains("removed a virtual address left on the interface by a stopped keepalived"), "{log}");
}

#[test]
fn a_node_s_keepalived_conf_is_adopted_byte_for_byte_by_its_agent() {
    let Some(corpus) = fleet_tests::corpus_dir() else {
        eprintln!("skipping: no conformance corpus (FLEET_CORPUS)");
        return;
    };
    // Whatever it holds (a sync group, notify scripts, several instances), and with CRLF line
    // endings and no final newline; every corpus file goes through the same route in the
    // server's tests (serve_keepalived_adopt.rs).
    let mut bytes = std::fs::read_to_string(corpus.join("keepalived/valid/sample-vrrp.sync.conf")).unwrap().replace('\n', "\r\n").into_bytes();
    bytes.truncate(bytes.len() - 2);
    let Some(lab) = VipLab::start_adopting("vipadopt", &["lb1"], Some(&bytes)) else { return };
    let path = format!("/api/v1/clusters/{}/files/keepalived/lb1.conf", lab.cluster);
    let deadline = Instant::now() + Duration::from_secs(30);
    while lab.server.get_status(&path) != 200 {
        assert!(Instant::now() < deadline, "not adopted:\n{}", lab.logs());
        std::thread::sleep(Duration::from_millis(100));
    }
    let response = lab.server.request(reqwest::Method::GET, &path).send().unwrap();
    assert!(response.bytes().unwrap().as_ref() == bytes.as_slice(), "changed on its way through the agent and the server");
    let versions = lab.server.get(&format!("/api/v1/clusters/{}/versions", lab.cluster));
    assert!(versions.to_string().contains("agent:lb1"), "{versions}");
}
