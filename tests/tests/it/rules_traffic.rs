//! Traffic rules (issue 21) through a real agent and HAProxy, with real requests on loopback from
//! chosen source addresses (127.0.0.2, .3 ... bound by the client): rate limits with their own
//! counters, IP lists changed at runtime without a reload, geo blocking from a map, header, path,
//! method, body size and user-agent filters, dry run; removing every rule gives back the text.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::agent_harness::{bring_up, prerequisites, temp_dir, Agent, Server, PASSWORD};
use crate::client_e2e::client;

/// The operator's configuration: answers `ok <dry-run header>` on `port`.
fn waf_config(port: u16) -> String {
    format!(
        "global\n    log stderr local0 notice\n\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n    \
         load-server-state-from-file global\n\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    # the operator's answer\n    \
         http-request return status 200 content-type text/plain lf-string \"ok %[req.hdr(x-fleet-rule-dry-run)]\"\n    default_backend app\n\n\
         backend app\n    balance roundrobin\n    server s1 127.0.0.1:9 weight 10\n    server s2 127.0.0.1:9 weight 10\n"
    )
}

/// HTTP clients bound to a source address each (127.0.0.N).
struct Clients {
    port: u16,
    by_source: HashMap<u8, reqwest::blocking::Client>,
}

impl Clients {
    fn new(port: u16) -> Clients {
        Clients { port, by_source: HashMap::new() }
    }

    /// One request from 127.0.0.`from`: the status and the body.
    fn send(&mut self, from: u8, method: &str, path: &str, headers: &[(&str, &str)], body: Option<String>) -> (u16, String) {
        let client = self.by_source.entry(from).or_insert_with(|| {
            reqwest::blocking::Client::builder()
                .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, from)))
                .no_proxy()
                .pool_max_idle_per_host(0)
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap()
        });
        let mut request = client.request(method.parse().unwrap(), format!("http://127.0.0.1:{}{path}", self.port));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        match request.send() {
            Ok(response) => (response.status().as_u16(), response.text().unwrap_or_default()),
            Err(e) => (0, e.to_string()),
        }
    }

    fn status(&mut self, from: u8) -> u16 {
        self.send(from, "GET", "/", &[], None).0
    }
}

/// Polls `check` every 5 ms until it holds; how long that took. Panics after `within`.
fn wait_until(what: &str, within: Duration, mut check: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if check() {
            return start.elapsed();
        }
        assert!(start.elapsed() < within, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Posts a rule change; waits until the agent runs its version (answered applied).
fn change(server: &Server, cluster: i64, path: &str, body: &Value) -> Value {
    let answer = server.post(&format!("/api/v1/clusters/{cluster}/rules{path}"), body);
    assert_eq!(answer["applied"], json!(true), "{answer}");
    let version = answer["version"].clone();
    server.wait_status(cluster, "the rules' version applied", |a| a["applied_version"] == version);
    answer
}

fn delete(server: &Server, cluster: i64, name: &str) {
    let answer = server.request(reqwest::Method::DELETE, &format!("/api/v1/clusters/{cluster}/rules/{name}")).send().unwrap();
    assert!(answer.status().is_success(), "delete {name}: {}", answer.status());
}

/// The operator's config and a geo map as the cluster's version, applied and served.
fn start(name: &str) -> Option<(Server, Agent, i64, Clients, String, std::path::PathBuf)> {
    let (haproxy, fleet, agent_bin) = prerequisites()?;
    let (server, agent, cluster, port, dir) = bring_up(name, &haproxy, &fleet, &agent_bin);
    let text = waf_config(port);
    let version = server.commit_files(cluster, &[("haproxy.cfg", "config", text.as_bytes()), ("geo/countries.map", "map", b"127.0.0.4/32 ZZ\n10.0.0.0/8 FR\n")]);
    server.apply(cluster, version);
    server.wait_status(cluster, "the operator's config applied", |a| a["applied_version"] == json!(version));
    let mut clients = Clients::new(port);
    wait_until("the operator's config served", Duration::from_secs(10), || clients.send(1, "GET", "/", &[], None) == (200, "ok ".into()));
    Some((server, agent, cluster, clients, text, dir))
}

#[test]
fn ip_lists_change_at_runtime_and_geo_blocks_from_the_map() {
    let Some((server, agent, cluster, mut clients, text, _dir)) = start("rules-lists") else { return };
    change(&server, cluster, "", &json!({"name": "deny", "kind": "ip_deny", "frontends": ["fe"], "entries": ["127.0.0.2"]}));
    assert_eq!(clients.status(2), 403, "127.0.0.2 is denied");
    assert_eq!(clients.status(3), 200, "127.0.0.3 is not");

    // Adding 127.0.0.3: the list file alone changes, the runtime API takes it, no reload.
    let reloads = agent.reloads();
    let started = Instant::now();
    let answer = server.post(&format!("/api/v1/clusters/{cluster}/rules/deny/entries"), &json!({"entries": ["127.0.0.3"]}));
    assert_eq!(answer["applied"], json!(true), "{answer}");
    let took = wait_until("127.0.0.3 denied after it was added", Duration::from_secs(1), || clients.status(3) == 403);
    eprintln!("an added address denied {:?} after the request ({took:?} after its answer)", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(1), "within 1 s of the request: {:?}", started.elapsed());
    let version = answer["version"].clone();
    server.wait_status(cluster, "applied at runtime", |a| a["applied_version"] == version && a["last_outcome"] == json!("applied_runtime"));
    assert_eq!(agent.reloads(), reloads, "no reload for an entries change (show proc)");
    let acl = std::fs::read_to_string(agent.config.parent().unwrap().join("fleet-rules/deny.acl")).unwrap();
    assert_eq!(acl, "127.0.0.2\n127.0.0.3\n", "the file matches what runs, for the next reload");

    // And removing it again.
    server.post(&format!("/api/v1/clusters/{cluster}/rules/deny/entries"), &json!({"remove": ["127.0.0.3"]}));
    wait_until("127.0.0.3 allowed after it was removed", Duration::from_secs(1), || clients.status(3) == 200);
    assert_eq!(clients.status(2), 403);
    assert_eq!(agent.reloads(), reloads);

    // Geo: 127.0.0.4 is in country ZZ in the map.
    change(&server, cluster, "", &json!({"name": "geo", "kind": "geo_block", "frontends": ["fe"], "entries": ["ZZ"]}));
    assert_eq!(clients.status(4), 403, "127.0.0.4 (ZZ) is blocked");
    assert_eq!(clients.status(5), 200, "127.0.0.5 (not in the map) passes");
    assert_eq!(clients.status(3), 200);

    // Every rule removed: the operator's text, byte for byte, and everyone passes.
    delete(&server, cluster, "deny");
    delete(&server, cluster, "geo");
    assert_eq!(server.get_text(&format!("/api/v1/clusters/{cluster}/config")), text);
    let latest = server.latest(cluster).unwrap();
    server.apply(cluster, latest);
    server.wait_status(cluster, "the text without rules applied", |a| a["applied_version"] == json!(latest));
    assert_eq!((clients.status(2), clients.status(4)), (200, 200));
}

#[test]
fn rate_limits_count_per_rule_and_pass_again_after_the_window() {
    let Some((server, agent, cluster, mut clients, _text, _dir)) = start("rules-rate") else { return };
    change(&server, cluster, "", &json!({"name": "per_source", "kind": "rate_limit", "frontends": ["fe"], "limit": 10, "period_seconds": 10, "deny_status": 429}));
    change(&server, cluster, "", &json!({"name": "per_key", "kind": "rate_limit", "frontends": ["fe"], "limit": 3, "period_seconds": 10, "header": "X-Key"}));

    let window = Instant::now();
    let answers: Vec<u16> = (0..11).map(|_| clients.status(6)).collect();
    assert_eq!(answers[..10], [200; 10], "the first 10 pass: {answers:?}");
    assert_eq!(answers[10], 429, "the 11th within the window gets 429: {answers:?}");
    assert_eq!(clients.status(7), 200, "another source is not affected");

    // The per-key rule counts in its own table: 127.0.0.8 is denied by it after 3, while its
    // per-source count (4) is far from 10.
    let keyed: Vec<u16> = (0..4).map(|_| clients.send(8, "GET", "/", &[("X-Key", "k1")], None).0).collect();
    assert_eq!(keyed, [200, 200, 200, 429], "the per-key limit: {keyed:?}");
    let per_source = agent.master_cli("@1 show table fleet_rl_per_source");
    let per_key = agent.master_cli("@1 show table fleet_rl_per_key");
    eprintln!("{per_source}\n{per_key}");
    assert!(per_source.contains("key=::ffff:127.0.0.6") && per_source.contains("key=::ffff:127.0.0.8"), "{per_source}");
    assert!(per_key.contains("key=k1") && !per_key.contains("127.0.0"), "{per_key}");
    assert!(window.elapsed() < Duration::from_secs(10), "all within the window: {:?}", window.elapsed());

    // Hits per rule, as the agent read the tables for its next heartbeat (every 1 s): two
    // sources tracked by per_source (127.0.0.6 and 127.0.0.8; 127.0.0.7 made one request too),
    // one of them (127.0.0.6, at 11) over the limit of 10 while its window lasts.
    let hits = |rule: &str| server.get(&format!("/api/v1/clusters/{cluster}/rules/{rule}/hits"));
    let mut seen = Value::Null;
    let took = wait_until("the per_source hits in the API", Duration::from_secs(5), || {
        seen = hits("per_source");
        seen[0]["over_limit"] == json!(1)
    });
    eprintln!("per-rule hits in the API {took:?} after the requests: {seen}");
    assert_eq!(seen.as_array().map(Vec::len), Some(1), "one node: {seen}");
    assert_eq!((seen[0]["rule"].clone(), seen[0]["tracked"].clone(), seen[0]["max_rate"].clone()), (json!("per_source"), json!(3), json!(11)), "{seen}");
    assert!(seen[0]["measured_at"].as_i64().is_some() && seen[0]["agent"].is_string(), "{seen}");
    let keyed_hits = hits("per_key");
    assert_eq!((keyed_hits[0]["tracked"].clone(), keyed_hits[0]["over_limit"].clone(), keyed_hits[0]["max_rate"].clone()), (json!(1), json!(1), json!(4)), "{keyed_hits}");

    // After the window, 127.0.0.6 passes again. Requests made while waiting would count (a denied
    // request is tracked too), so the wait watches the table: its entry for 127.0.0.6 expires
    // `period_seconds` after its last request.
    wait_until("127.0.0.6's entry expires", Duration::from_secs(30), || {
        std::thread::sleep(Duration::from_millis(200));
        !agent.master_cli("@1 show table fleet_rl_per_source").contains("key=::ffff:127.0.0.6 ")
    });
    eprintln!("127.0.0.6's count expired {:?} after its first request", window.elapsed());
    assert!(window.elapsed() >= Duration::from_secs(9), "not before the window passed: {:?}", window.elapsed());
    assert_eq!(clients.status(6), 200, "127.0.0.6 passes again after the window");
}

#[test]
fn filters_deny_what_they_match_and_dry_run_only_marks() {
    let Some((server, _agent, cluster, mut clients, text, _dir)) = start("rules-filters") else { return };
    for rule in [
        json!({"name": "debug", "kind": "header_filter", "header": "X-Debug", "match": "present"}),
        json!({"name": "admin", "kind": "path_filter", "match": "prefix", "patterns": ["/admin"]}),
        json!({"name": "methods", "kind": "method_allow", "methods": ["GET", "HEAD", "POST"]}),
        json!({"name": "body", "kind": "body_size_limit", "max_bytes": 100}),
        json!({"name": "ua", "kind": "user_agent_block", "patterns": ["sqlmap"]}),
        json!({"name": "probe", "kind": "header_filter", "header": "X-Probe", "match": "exact", "pattern": "yes", "dry_run": true}),
    ] {
        change(&server, cluster, "", &rule);
    }
    let ok = (200, "ok ".to_string());
    assert_eq!(clients.send(9, "GET", "/", &[], None), ok);
    assert_eq!(clients.send(9, "GET", "/", &[("X-Debug", "1")], None).0, 403, "header_filter denies");
    assert_eq!(clients.send(9, "GET", "/admin/users", &[], None).0, 403, "path_filter denies");
    assert_eq!(clients.send(9, "GET", "/public/admin", &[], None), ok, "path_filter matches prefixes only");
    assert_eq!(clients.send(9, "DELETE", "/", &[], None).0, 405, "method_allow denies");
    assert_eq!(clients.send(9, "POST", "/", &[], Some("x".repeat(50))), ok, "a small body passes");
    assert_eq!(clients.send(9, "POST", "/", &[], Some("x".repeat(200))).0, 413, "body_size_limit denies");
    assert_eq!(clients.send(9, "GET", "/", &[("User-Agent", "SQLMap/1.7")], None).0, 403, "user_agent_block denies");
    assert_eq!(clients.send(9, "GET", "/", &[("User-Agent", "curl/8")], None), ok);
    assert_eq!(clients.send(9, "GET", "/", &[("X-Probe", "yes")], None), (200, "ok probe".to_string()), "dry run marks and does not deny");
    assert_eq!(clients.send(9, "GET", "/", &[("X-Probe", "no")], None), ok);

    // A disabled rule stops denying; removing every rule restores the text byte for byte.
    let disabled = server.call_put(
        &format!("/api/v1/clusters/{cluster}/rules/debug"),
        &json!({"name": "debug", "kind": "header_filter", "header": "X-Debug", "match": "present", "enabled": false}),
    );
    let version = disabled["version"].clone();
    server.wait_status(cluster, "the disabled rule applied", |a| a["applied_version"] == version);
    assert_eq!(clients.send(9, "GET", "/", &[("X-Debug", "1")], None), ok, "a disabled rule denies nothing");
    for name in ["debug", "admin", "methods", "body", "ua", "probe"] {
        delete(&server, cluster, name);
    }
    assert_eq!(server.get_text(&format!("/api/v1/clusters/{cluster}/config")), text);
}

#[test]
fn the_client_adds_lists_changes_and_removes_rules() {
    let Some((_haproxy, fleet, _agent)) = prerequisites() else { return };
    let dir = temp_dir("rules-client");
    let server = Server::start(&fleet, &dir.join("data"));
    let cluster = server.cluster("rulesweb", &dir.join("haproxy.cfg"));
    let text = waf_config(crate::agent_harness::free_port());
    server.commit(cluster, &text);
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let run = |args: &[&str]| client(&fleet, &home, &[("FLEET_PASSWORD", PASSWORD)], args);
    run(&["login", "--server", &server.url, "--username", "admin"]).ok();

    let added = run(&["rule", "add", "rulesweb", "api", "rate_limit", "--frontend", "fe", "--set", "limit=10", "--set", "period_seconds=10", "-o", "json"]).ok().json();
    assert_eq!((added["limit"].clone(), added["version"].clone()), (json!(10), json!(2)), "{added}");
    run(&["rule", "add", "rulesweb", "bad", "ip_deny", "--entry", "192.0.2.0/24", "--priority", "5"]).ok();
    let listed = run(&["rule", "ls", "rulesweb"]).ok().stdout;
    assert!(listed.contains("bad") && listed.contains("ip_deny") && listed.contains("(all)") && listed.contains("enforced"), "{listed}");
    let changed = run(&["rule", "entries", "rulesweb", "bad", "--add", "198.51.100.7", "--remove", "192.0.2.0/24", "-o", "json"]).ok().json();
    assert_eq!(changed["entries"], json!(["198.51.100.7"]));
    let refused = run(&["rule", "add", "rulesweb", "worse", "ip_deny", "--entry", "nonsense"]);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("not an IPv4 or IPv6 address"), "{}", refused.stderr);

    // A DB-IP country CSV becomes the geo map a geo rule reads.
    std::fs::write(home.join("countries.csv"), "127.0.0.4,127.0.0.4,ZZ\n10.0.0.0,10.0.0.255,FR\n").unwrap();
    run(&["rule", "geo-map", "rulesweb", "countries.csv"]).ok();
    assert_eq!(server.get_text(&format!("/api/v1/clusters/{cluster}/files/geo/countries.map")), "127.0.0.4/32 ZZ\n10.0.0.0/24 FR\n");
    run(&["rule", "add", "rulesweb", "geo", "geo_block", "--entry", "ZZ"]).ok();
    let shown = run(&["rule", "show", "rulesweb", "geo"]).ok().json();
    assert_eq!(shown["map"], "geo/countries.map");
    assert_eq!(shown["hits"], json!([]), "no per-rule counter for a geo rule (only rate limits have tables): {shown}");

    for name in ["api", "bad", "geo"] {
        run(&["rule", "rm", "rulesweb", name]).ok();
    }
    assert_eq!(server.get_text(&format!("/api/v1/clusters/{cluster}/config")), text, "no rule left: the text as imported");
    let _ = std::fs::remove_dir_all(&dir);
}
