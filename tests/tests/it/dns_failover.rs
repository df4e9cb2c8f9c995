//! DNS failover (issue 15) with real components on loopback: `fleet serve`, two `fleet-agent`s
//! running HAProxy, and an authoritative DNS server holding the zone, asked with `dig` (the
//! real resolver tool, not our client). One scenario, run against each server the fleet
//! publishes through: BIND 9 (`named`, changed by RFC 2136 dynamic updates signed with TSIG)
//! and PowerDNS (`pdns_server` with its SQLite backend, changed through its HTTP API, asked on
//! its DNS port); the two tests run side by side, each with its own fleet. The active node's
//! HAProxy is stopped while its agent runs on, then the active agent is killed (no more
//! heartbeats): each time the record must point at the standby within the detection window +
//! 5 s (detection and publish times printed), and the pool's webhook (a receiver started here,
//! failing once) hears of the first move; it stays there when the node comes back (no
//! fail-back); manual activate and cutover move it (audited); flapping health within the hold
//! time does not move it; a provider whose credential the server refuses fails its test
//! connection and leaves the record and the settings as they were, saying why.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::agent_harness::{free_port, node_agents, prerequisites, temp_dir, webhook_receiver, Agent, HeldHaproxy, Server};

/// The zone both servers hold, and the failover hostname in it.
const ZONE: &str = "fleet-test.example";
const HOSTNAME: &str = "www.fleet-test.example";

/// The authoritative server a scenario publishes through.
enum Dns {
    /// BIND 9, changed by RFC 2136 dynamic updates (provider kind `rfc2136`, TSIG hmac-sha256).
    Bind(fleet_tests::Named),
    /// PowerDNS, changed through its HTTP API (provider kind `powerdns`).
    PowerDns(fleet_tests::PowerDnsServer),
}

impl Dns {
    /// A started BIND 9 holding [`ZONE`]; `None` (after saying why) without `named` or `dig`.
    fn bind() -> Option<Dns> {
        let named = fleet_tests::require(fleet_tests::Named::start(ZONE), "named (scripts/setup.d/40-bind9.sh)")?;
        fleet_tests::require(named.dig(&format!("ns1.{ZONE}"), "A"), "dig")?;
        Some(Dns::Bind(named))
    }

    /// A started PowerDNS holding [`ZONE`]; `None` (after saying why) without `pdns_server`,
    /// its SQLite backend or `dig`.
    fn powerdns() -> Option<Dns> {
        let pdns = fleet_tests::require(fleet_tests::PowerDnsServer::start(ZONE), "pdns_server (scripts/setup.d/45-powerdns.sh)")?;
        fleet_tests::require(pdns.dig(&format!("ns1.{ZONE}"), "A"), "dig")?;
        Some(Dns::PowerDns(pdns))
    }

    /// Its name in messages.
    fn label(&self) -> &'static str {
        match self {
            Dns::Bind(_) => "BIND 9",
            Dns::PowerDns(_) => "PowerDNS",
        }
    }

    /// What `dig` on the server answers for [`HOSTNAME`] A (empty when nothing or no answer).
    fn record(&self) -> Vec<String> {
        match self {
            Dns::Bind(named) => named.dig(HOSTNAME, "A"),
            Dns::PowerDns(pdns) => pdns.dig(HOSTNAME, "A"),
        }
        .unwrap_or_default()
    }

    /// The `POST /api/v1/dns-providers` body for this server, named `name`: with the credential
    /// the server accepts, or (`right` false) one it refuses.
    fn provider(&self, name: &str, right: bool) -> Value {
        match self {
            Dns::Bind(named) => {
                // The right key name with another secret: BIND answers NOTAUTH (TSIG BADSIG).
                let secret = if right { named.secret.as_str() } else { "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ==" };
                json!({"name": name, "kind": "rfc2136", "server": named.addr.to_string(), "zone": ZONE,
                       "tsig_key_name": fleet_tests::NAMED_KEY_NAME, "tsig_algorithm": "hmac-sha256", "tsig_secret": secret})
            }
            Dns::PowerDns(pdns) => {
                let key = if right { pdns.api_key.as_str() } else { "not-the-key" };
                json!({"name": name, "kind": "powerdns", "zone": ZONE, "api_url": pdns.api_url,
                       "dns_server": pdns.dns.to_string(), "api_key": key})
            }
        }
    }

    /// The credential the server accepts (never to be shown back).
    fn secret(&self) -> &str {
        match self {
            Dns::Bind(named) => &named.secret,
            Dns::PowerDns(pdns) => &pdns.api_key,
        }
    }

    /// What a refusal of the wrong credential says, in the API's answer and on the timeline.
    fn refusal(&self) -> &'static str {
        match self {
            Dns::Bind(_) => "BADSIG",
            Dns::PowerDns(_) => "the API key is refused",
        }
    }
}

/// Asks `dig` of `dns` every 100 ms until it answers exactly `want`; how long that took.
fn wait_record(dns: &Dns, want: &str, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < within {
        if dns.record() == [want] {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// What every failover test starts from, whatever DNS server holds the record: `fleet serve`,
/// two agents (`node-a` declaring 198.51.100.1, `node-b` 198.51.100.2) running HAProxy through a
/// [`HeldHaproxy`] wrapper each, one version applied on both, in one pool.
pub(crate) struct TwoNodes {
    pub(crate) server: Server,
    pub(crate) agents: Vec<Agent>,
    pub(crate) held: Vec<HeldHaproxy>,
    pub(crate) pool: i64,
    /// The frontend's port (each node binds its own address, `FLEET_NODE_ADDR`).
    pub(crate) port: u16,
    pub(crate) _dir: std::path::PathBuf,
}

/// [`TwoNodes`] whose frontend answers 200 itself.
fn two_nodes(name: &str) -> Option<TwoNodes> {
    two_nodes_with(name, "    http-request return status 200 content-type text/plain string app\n", &[])
}

/// [`TwoNodes`], both running the version: frontend `fe` bound on each node's address with the
/// lines `frontend` under it, then `sections`... `env` adds environment to node i's agent (and
/// so its HAProxy). `None` (after saying why) without haproxy or the binaries.
pub(crate) fn two_nodes_with(name: &str, frontend: &str, env: &[Vec<(String, String)>]) -> Option<TwoNodes> {
    let (haproxy, fleet, agent_bin) = prerequisites()?;
    let nodes = [("node-a", "127.0.0.1"), ("node-b", "127.0.0.2")];
    let dir = temp_dir(name);
    let server = Server::start(&fleet, &dir.join("data"));
    let mut agents = node_agents(&agent_bin, &haproxy, &server, &dir, &nodes);
    let mut held = Vec::new();
    for ((agent, public), (name, _)) in agents.iter_mut().zip(["198.51.100.1", "198.51.100.2"]).zip(nodes) {
        agent.mode_args.extend(["--public-ip".to_string(), public.to_string()]);
        agent.env.extend(env.get(held.len()).cloned().unwrap_or_default());
        let wrapper = HeldHaproxy::new(&haproxy, &dir.join(name).join("bin"));
        agent.haproxy = wrapper.wrapper.clone();
        held.push(wrapper);
    }
    let cluster = server.cluster("failover", &agents[0].config);
    let pool = server.get(&format!("/api/v1/clusters/{cluster}"))["pool_id"].as_i64().unwrap();
    let port = free_port();
    let config = format!(
        "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\n\
         frontend fe\n    bind \"${{FLEET_NODE_ADDR}}:{port}\"\n{frontend}"
    );
    let version = server.commit(cluster, &config);
    server.apply(cluster, version);
    for ((name, _), agent) in nodes.iter().zip(agents.iter_mut()) {
        agent.start(Some(&server.enrolment_secret(cluster, name)));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = server.get(&format!("/api/v1/clusters/{cluster}/status"));
        let agents = status["agents"].as_array().cloned().unwrap_or_default();
        if agents.len() == 2 && agents.iter().all(|a| a["applied_version"] == json!(version) && !a["facts"]["runtime"].is_null()) {
            break;
        }
        assert!(Instant::now() < deadline, "both nodes do not run version {version}: {status}");
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(TwoNodes { server, agents, held, pool, port, _dir: dir })
}

fn events(server: &Server, pool: i64) -> Vec<(String, String)> {
    timeline(server, pool).into_iter().map(|(_, kind, message)| (kind, message)).collect()
}

/// The pool's timeline, newest first: (Unix ms, kind, message).
fn timeline(server: &Server, pool: i64) -> Vec<(i64, String, String)> {
    let listed = server.get(&format!("/api/v1/pools/{pool}/failover/events"));
    let text = |e: &Value, k: &str| e[k].as_str().unwrap().to_string();
    listed.as_array().unwrap().iter().map(|e| (e["at"].as_i64().unwrap(), text(e, "kind"), text(e, "message"))).collect()
}

fn unix_ms() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

/// After a failure at `failed_at` (Unix ms), the move to `to`: detection (the decider saw
/// `from` unhealthy) and publish (the DNS update stored) times, from the timeline.
fn detection_and_publish(server: &Server, pool: i64, failed_at: i64, from: &str, to: &str) -> (i64, i64) {
    let events = timeline(server, pool);
    let at = |kind: &str, needle: &str| events.iter().filter(|(at, k, m)| *at >= failed_at && k == kind && m.contains(needle)).map(|e| e.0).min();
    let detected = at("detection", &format!("{from} is unhealthy")).unwrap_or_else(|| panic!("no detection: {events:#?}"));
    let published = at("dns_update", &format!("now points at {to}")).unwrap_or_else(|| panic!("no dns update: {events:#?}"));
    (detected - failed_at, published - detected)
}


#[test]
fn the_record_follows_the_healthy_member_and_never_flaps_back_by_itself() {
    if prerequisites().is_none() {
        return;
    }
    // A missing named or dig skips, or fails with FLEET_REQUIRE_TOOLS=1.
    let Some(bind) = Dns::bind() else { return };
    scenario(&bind, "dns-failover");
}

#[test]
fn the_same_against_powerdns() {
    if prerequisites().is_none() {
        return;
    }
    // A missing pdns_server, its SQLite backend or dig skips, or fails with FLEET_REQUIRE_TOOLS=1.
    let Some(pdns) = Dns::powerdns() else { return };
    scenario(&pdns, "dns-failover-pdns");
}

/// The whole scenario (the module's docs) against `dns`, with a fleet of its own in a scratch
/// folder named after `name`.
fn scenario(dns: &Dns, name: &str) {
    let Some(TwoNodes { server, mut agents, held, pool, _dir, .. }) = two_nodes(name) else { return };
    let via = dns.label();
    let body = dns.provider("right", true);
    let provider = server.post("/api/v1/dns-providers", &body);
    assert_eq!(provider["kind"], body["kind"], "{provider:#}");
    assert!(!provider.to_string().contains(dns.secret()), "the credential is never shown: {provider}");
    let tested = server.post(&format!("/api/v1/dns-providers/{}/test", provider["id"]), &json!(null));
    assert_eq!(tested["ok"], true, "{via}: {tested:#}");
    assert!(tested["elapsed_ms"].is_u64(), "{tested:#}");

    let (webhook, notified) = webhook_receiver(1);
    let settings = json!({"hostname": HOSTNAME, "record_types": ["A"], "ttl": 30, "provider_id": provider["id"],
        "automatic": true, "detection_window_seconds": 10, "hold_seconds": 0, "failback": null, "webhook_url": webhook, "active": "node-a"});
    let set = server.call_put(&format!("/api/v1/pools/{pool}/failover"), &settings);
    assert_eq!(set["active"], "node-a", "{set:#}");
    assert_eq!(dns.record(), ["198.51.100.1"], "made active at once ({via})");
    let shown = server.get(&format!("/api/v1/pools/{pool}/failover"));
    assert_eq!(shown["published"], json!(["A: 198.51.100.1"]), "{shown:#}");
    assert!(shown["members"].as_array().unwrap().iter().all(|m| m["healthy"] == true), "{shown:#}");

    // The active node's HAProxy stops (and stays down); its agent runs on and says so.
    let failed_at = unix_ms();
    held[0].kill(&agents[0]);
    let moved = wait_record(dns, "198.51.100.2", Duration::from_secs(10 + 5));
    let Some(moved) = moved else { panic!("{via}: the record did not move within window + 5 s: {:?}\n{:#?}", dns.record(), events(&server, pool)) };
    let (detection, publish) = detection_and_publish(&server, pool, failed_at, "node-a", "node-b");
    eprintln!("dns failover ({via}), haproxy stopped: detected in {detection} ms, published {publish} ms later, dig sees it after {moved:?}");
    assert!(publish <= 5_000, "{via}: published {publish} ms after detection");
    // The webhook hears of it: the first answer is 503, the retry delivers it.
    let deadline = Instant::now() + Duration::from_secs(15);
    while !events(&server, pool).iter().any(|(k, _)| k == "notification") {
        assert!(Instant::now() < deadline, "no notification: {:#?}", events(&server, pool));
        std::thread::sleep(Duration::from_millis(100));
    }
    let notes = events(&server, pool);
    assert!(notes.iter().any(|(k, m)| k == "notification" && m.contains("answered 200 (attempt 2")), "{notes:#?}");
    let bodies = notified.lock().unwrap().clone();
    assert_eq!(bodies.len(), 2, "one failed attempt, one delivered: {bodies:#?}");
    for body in &bodies {
        assert_eq!((&body["event"], &body["from"], &body["to"], &body["hostname"]), (&json!("dns_failover.move"), &json!("node-a"), &json!("node-b"), &json!(HOSTNAME)), "{body:#}");
        assert_eq!(body["pool_id"], json!(pool));
    }
    // HAProxy comes back on node-a: no fail-back by itself.
    held[0].release();
    wait_healthy(&server, pool);

    // Now the active agent dies: no more heartbeats. Detection within the window, publish after.
    let failed_at = unix_ms();
    agents[1].kill();
    let moved = wait_record(dns, "198.51.100.1", Duration::from_secs(10 + 5));
    let Some(moved) = moved else { panic!("{via}: the record did not move within window + 5 s: {:?}\n{:#?}", dns.record(), events(&server, pool)) };
    let (detection, publish) = detection_and_publish(&server, pool, failed_at, "node-b", "node-a");
    eprintln!("dns failover ({via}), agent killed: detected in {detection} ms, published {publish} ms later, dig sees it after {moved:?} (window 10 s, heartbeat 1 s)");
    assert!(publish <= 5_000, "{via}: published {publish} ms after detection");
    assert_eq!(server.get(&format!("/api/v1/pools/{pool}/failover"))["active"], "node-a");

    // It comes back: no fail-back by itself.
    agents[1].start(None);
    wait_healthy(&server, pool);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(dns.record(), ["198.51.100.1"], "no fail-back without the setting ({via})");

    // By hand: activate, then cut over to the next ready standby; both audited.
    server.post(&format!("/api/v1/pools/{pool}/failover/activate"), &json!({"agent": "node-b"}));
    assert_eq!(dns.record(), ["198.51.100.2"], "{via}");
    server.post(&format!("/api/v1/pools/{pool}/failover/activate"), &json!({"agent": "node-a"}));
    assert_eq!(dns.record(), ["198.51.100.1"], "{via}");
    let cut = server.post(&format!("/api/v1/pools/{pool}/failover/cutover"), &json!(null));
    assert_eq!(cut["active"], "node-b", "{cut:#}");
    assert_eq!(dns.record(), ["198.51.100.2"], "{via}");
    let audit = server.get("/api/v1/audit");
    let actions: Vec<&str> = audit.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.iter().filter(|a| **a == "failover.activate").count() >= 3, "{actions:?}");
    assert_eq!(actions.iter().filter(|a| **a == "failover.cutover").count(), 1, "the cutover under its own action: {actions:?}");
    assert_eq!(actions.iter().filter(|a| **a == "failover.move").count(), 2, "{actions:?}");

    // Anti-flap: with a hold of 60 s, the active node failing right after the cutover does not
    // move the record again (it would flap back to the node it just left).
    let mut holding = settings.clone();
    holding["hold_seconds"] = json!(60);
    holding.as_object_mut().unwrap().remove("active");
    server.call_put(&format!("/api/v1/pools/{pool}/failover"), &holding);
    let updates = |server: &Server| events(server, pool).iter().filter(|(k, _)| k == "dns_update").count();
    let before = updates(&server);
    held[1].kill(&agents[1]);
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(dns.record(), ["198.51.100.2"], "{via}: moved within the hold time: {:#?}", events(&server, pool));
    assert_eq!(updates(&server), before);
    assert!(events(&server, pool).iter().any(|(k, m)| k == "decision" && m.starts_with("hold: would move to node-a")), "{:#?}", events(&server, pool));
    held[1].release();
    wait_healthy(&server, pool);

    // A provider whose credential the server refuses: test connection says so; a move through
    // it is refused with the reason, on the timeline too; the record and the settings stay.
    let refusal = dns.refusal();
    let wrong = server.post("/api/v1/dns-providers", &dns.provider("wrong", false));
    let tested = server.post(&format!("/api/v1/dns-providers/{}/test", wrong["id"]), &json!(null));
    assert_eq!(tested["ok"], false, "{tested:#}");
    assert!(tested["detail"].as_str().unwrap().contains(refusal), "{tested:#}");
    let mut bad = settings.clone();
    bad["provider_id"] = wrong["id"].clone();
    bad["active"] = json!("node-a");
    let response = server.request(reqwest::Method::PUT, &format!("/api/v1/pools/{pool}/failover")).json(&bad).send().unwrap();
    let status = response.status().as_u16();
    let answer: Value = response.json().unwrap_or(Value::Null);
    assert_eq!(status, 409, "{answer}");
    assert!(answer.to_string().contains(refusal), "{answer}");
    assert_eq!(dns.record(), ["198.51.100.2"], "the record is left as it was ({via})");
    assert_eq!(server.get(&format!("/api/v1/pools/{pool}/failover"))["settings"]["provider_id"], provider["id"], "and the settings too");
    assert!(events(&server, pool).iter().any(|(k, m)| k == "error" && m.contains(refusal)), "{:#?}", events(&server, pool));
}

/// Waits (15 s at most) until every member of the pool is healthy.
fn wait_healthy(server: &Server, pool: i64) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !server.get(&format!("/api/v1/pools/{pool}/failover"))["members"].as_array().unwrap().iter().all(|m| m["healthy"] == true) {
        assert!(Instant::now() < deadline, "a member is not healthy again");
        std::thread::sleep(Duration::from_millis(200));
    }
}
