//! Issue 11's acceptance, end to end: a managed tree (two config files, a certificate with its
//! key, a map used by `map_str()`, an ACL pattern file and an error page) imported as a tar
//! through `POST /clusters/{id}/import`, applied to two real agents, each running a real HAProxy
//! on its own loopback address, and served. Then, on both nodes: a map-only version is served
//! within 1 s without a reload, a certificate-only version too; a tree missing a referenced file
//! is refused at import at its `file:line:col`; a server drained at runtime stays drained
//! across a version that reloads.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::agent_harness::{free_port, node_agents, prerequisites, temp_dir, Agent, Server};

/// The two nodes: each binds its own loopback address (`FLEET_NODE_ADDR`, expanded by HAProxy
/// in the shared configuration), so each node's answers are its own.
const NODES: [(&str, &str); 2] = [("node-a", "127.0.0.1"), ("node-b", "127.0.0.2")];

const MAIN: &str = "global\n    log stderr local0 notice\n\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    \
                    timeout server 5s\n    load-server-state-from-file global\n    errorfile 403 errors/403.http\n";

const PAGE: &str = "HTTP/1.0 403 Forbidden\r\nContent-Type: text/plain\r\nCache-Control: no-cache\r\n\r\nblocked by fleet\n";

/// The second config file: routes on the Host header through the map, denies the ACL file's
/// paths with the error page, and answers `<backend> <label>`. The map is read by `set-var`
/// while parsing, where the agent's `default-path origin <managed>` applies. (A map inside a
/// dynamic `use_backend %[...]` is opened after parsing, from HAProxy's working directory: the
/// agent starts HAProxy with `-C <managed>`, so it resolves in the managed directory too, as
/// the agent's `a_relative_map_in_a_dynamic_use_backend_is_read_from_the_current_release` shows.)
fn web(port: u16, tls: u16, label: &str) -> String {
    format!(
        "frontend fe\n    bind \"${{FLEET_NODE_ADDR}}:{port}\"\n    bind \"${{FLEET_NODE_ADDR}}:{tls}\" ssl crt certs/site.pem\n    \
         acl blocked path_beg -f acl/blocked.acl\n    http-request deny deny_status 403 if blocked\n    \
         http-request set-var(txn.backend) req.hdr(host),lower,map_str(maps/hosts.map,be_default)\n    \
         use_backend %[var(txn.backend)]\n    default_backend be_default\n\n\
         backend be_default\n    http-request return status 200 content-type text/plain string \"default {label}\"\n\n\
         backend app_a\n    http-request return status 200 content-type text/plain string \"a {label}\"\n    server s1 127.0.0.1:9 weight 10\n\n\
         backend app_b\n    http-request return status 200 content-type text/plain string \"b {label}\"\n"
    )
}

/// Writes the operator's tree under `tree` (a fresh folder each time).
fn write_tree(tree: &Path, web: &str, map: &str, pem: &[u8]) {
    let _ = std::fs::remove_dir_all(tree);
    for (path, bytes) in [
        ("haproxy.cfg", MAIN.as_bytes()),
        ("conf.d/web.cfg", web.as_bytes()),
        ("certs/site.pem", pem),
        ("maps/hosts.map", map.as_bytes()),
        ("acl/blocked.acl", b"/admin\n".as_slice()),
        ("errors/403.http", PAGE.as_bytes()),
    ] {
        let path = tree.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

/// `tar -C tree -cf - .` sent to the import route: the status and the JSON answer.
fn import_tar(server: &Server, cluster: i64, tree: &Path) -> (u16, Value) {
    let archive = std::process::Command::new("tar").arg("-C").arg(tree).args(["-cf", "-", "."]).output().unwrap();
    assert!(archive.status.success());
    let response = server
        .request(reqwest::Method::POST, &format!("/api/v1/clusters/{cluster}/import?configs=haproxy.cfg,conf.d"))
        .header("content-type", "application/x-tar")
        .body(archive.stdout)
        .send()
        .unwrap();
    (response.status().as_u16(), response.json().unwrap_or(Value::Null))
}

/// Imports the tree as the next version and applies it; its number.
fn release(server: &Server, cluster: i64, tree: &Path) -> i64 {
    let (status, answer) = import_tar(server, cluster, tree);
    assert_eq!(status, 201, "{answer}");
    let version = answer["version"].as_i64().unwrap();
    server.apply(cluster, version);
    version
}

/// `GET path` with `Host: host` on `address`: the status code and the body.
fn get(address: &str, port: u16, host: &str, path: &str) -> (u16, String) {
    let Ok(mut stream) = TcpStream::connect_timeout(&format!("{address}:{port}").parse().unwrap(), Duration::from_secs(2)) else {
        return (0, String::new());
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes());
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, answer.split("\r\n\r\n").nth(1).unwrap_or_default().to_string())
}

/// Waits until every node answers `body` for `Host: a.test`; how long it took.
fn wait_both(port: u16, body: &str, within: Duration) -> Duration {
    let start = Instant::now();
    for (_, address) in NODES {
        loop {
            if get(address, port, "a.test", "/").1 == body {
                break;
            }
            assert!(start.elapsed() < within, "{address} does not serve {body:?} within {within:?}: {:?}", get(address, port, "a.test", "/"));
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    start.elapsed()
}

/// Waits until both agents' status satisfies `done`.
fn wait_agents(server: &Server, cluster: i64, what: &str, done: impl Fn(&Value) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = server.get(&format!("/api/v1/clusters/{cluster}/status"));
        let agents = status["agents"].as_array().cloned().unwrap_or_default();
        if agents.len() == NODES.len() && agents.iter().all(&done) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}: {status}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until each node serves the certificate for `cn` on `tls`.
fn wait_subject(agents: &[Agent], tls: u16, cn: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    for ((_, address), agent) in NODES.iter().zip(agents) {
        while fleet_tests::served_subject_at(&format!("{address}:{tls}")) != format!("subject=CN={cn}") {
            assert!(Instant::now() < deadline, "{address} does not serve CN={cn}:\n{}", agent.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// `SRV_ADMF_FDRAIN` in `show servers state`'s `srv_admin_state`.
const FORCED_DRAIN: u32 = 0x08;

fn admin_state(agent: &Agent, backend: &str, server: &str) -> u32 {
    let answer = agent.master_cli(&format!("@1 show servers state {backend}"));
    let mut lines = answer.lines().filter(|l| !l.trim().is_empty()).skip(1);
    let header: Vec<&str> = lines.next().unwrap().trim_start_matches("# ").split(' ').collect();
    let col = |name: &str| header.iter().position(|c| *c == name).unwrap();
    let row: Vec<&str> = lines.map(|l| l.split(' ').collect::<Vec<_>>()).find(|f| f[col("srv_name")] == server).unwrap();
    row[col("srv_admin_state")].parse().unwrap()
}

#[test]
fn a_tar_imported_bundle_is_served_by_two_nodes_and_changed_at_runtime() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let (Some(one), Some(two)) = (fleet_tests::self_signed_pem_for("one.test"), fleet_tests::self_signed_pem_for("two.test")) else { return };
    let dir = temp_dir("acceptance");
    let server = Server::start(&fleet, &dir.join("data"));
    let mut agents = node_agents(&agent_bin, &haproxy, &server, &dir, &NODES);
    let cluster = server.cluster("acceptance", &agents[0].config);
    let (port, tls) = (free_port(), free_port());
    let tree = dir.join("tree");

    // Imported as a tar, applied, served by both nodes: routes from the map, the certificate,
    // the error page for a path in the ACL file.
    write_tree(&tree, &web(port, tls, "v1"), "a.test app_a\n", &one);
    let first = release(&server, cluster, &tree);
    let listing = server.get(&format!("/api/v1/clusters/{cluster}/files?version={first}"));
    let kinds: Vec<String> = listing["files"].as_array().unwrap().iter().map(|f| format!("{} {}", f["path"].as_str().unwrap(), f["kind"].as_str().unwrap())).collect();
    assert_eq!(
        kinds,
        ["haproxy.cfg config", "conf.d/web.cfg config", "acl/blocked.acl acl", "certs/site.pem certificate", "errors/403.http errorfile", "maps/hosts.map map"]
    );
    for ((name, _), agent) in NODES.iter().zip(agents.iter_mut()) {
        agent.start(Some(&server.enrolment_secret(cluster, name)));
    }
    wait_agents(&server, cluster, "the bundle applied on both nodes", |a| a["applied_version"] == json!(first) && a["last_outcome"] == json!("applied"));
    wait_both(port, "a v1", Duration::from_secs(10));
    wait_subject(&agents, tls, "one.test");
    for (_, address) in NODES {
        assert_eq!(get(address, port, "other.test", "/"), (200, "default v1".to_string()), "{address}");
        assert_eq!(get(address, port, "a.test", "/admin/x"), (403, "blocked by fleet\n".to_string()), "{address}");
    }
    let reloads: Vec<u64> = agents.iter().map(Agent::reloads).collect();

    // Only the map: served within 1 s on both nodes, no reload.
    write_tree(&tree, &web(port, tls, "v1"), "a.test app_b\n", &one);
    let started = Instant::now();
    let map_only = release(&server, cluster, &tree);
    let took = wait_both(port, "b v1", Duration::from_secs(1));
    eprintln!("map-only version served on both nodes {took:?} after its apply ({:?} with import and apply)", started.elapsed());
    wait_agents(&server, cluster, "the map applied at runtime", |a| a["applied_version"] == json!(map_only) && a["last_outcome"] == json!("applied_runtime"));
    assert_eq!(agents.iter().map(Agent::reloads).collect::<Vec<_>>(), reloads, "no reload for a map change");

    // Only the certificate, at the same path: the new one is served on both, no reload.
    write_tree(&tree, &web(port, tls, "v1"), "a.test app_b\n", &two);
    let cert_only = release(&server, cluster, &tree);
    wait_subject(&agents, tls, "two.test");
    wait_agents(&server, cluster, "the certificate applied at runtime", |a| a["applied_version"] == json!(cert_only) && a["last_outcome"] == json!("applied_runtime"));
    assert_eq!(agents.iter().map(Agent::reloads).collect::<Vec<_>>(), reloads, "no reload for a certificate swap");

    // A tree missing the map its config references: refused at import, where it is named.
    std::fs::remove_file(tree.join("maps/hosts.map")).unwrap();
    let (status, answer) = import_tar(&server, cluster, &tree);
    assert_eq!(status, 422, "{answer}");
    let text = web(port, tls, "v1");
    let (line, written) = text.lines().enumerate().find(|(_, l)| l.contains("map_str(")).unwrap();
    let place = format!("conf.d/web.cfg:{}:{}", line + 1, written.find("maps/hosts.map").unwrap() + 1);
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains(&format!("first at {place}: map_str: maps/hosts.map is not in the bundle")), "{message}");
    assert_eq!(server.latest(cluster), Some(cert_only), "nothing written");

    // Drained at runtime on both nodes, then an unrelated version that reloads: still drained.
    let action = server.post(&format!("/api/v1/clusters/{cluster}/runtime"), &json!({"backend": "app_a", "server": "s1", "action": "drain"}));
    let id = action["id"].as_i64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let results = server.get(&format!("/api/v1/clusters/{cluster}/runtime/{id}"))["results"].as_array().cloned().unwrap_or_default();
        if results.len() == NODES.len() {
            assert!(results.iter().all(|r| r["ok"] == json!(true)), "{results:?}");
            break;
        }
        assert!(Instant::now() < deadline, "the drain did not run on both nodes: {results:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(agents.iter().all(|a| admin_state(a, "app_a", "s1") & FORCED_DRAIN != 0));
    write_tree(&tree, &web(port, tls, "v2"), "a.test app_b\n", &two);
    let unrelated = release(&server, cluster, &tree);
    wait_agents(&server, cluster, "the reload on both nodes", |a| a["applied_version"] == json!(unrelated) && a["last_outcome"] == json!("applied"));
    wait_both(port, "b v2", Duration::from_secs(5));
    for (agent, before) in agents.iter().zip(&reloads) {
        assert_eq!(agent.reloads(), before + 1, "one reload:\n{}", agent.log());
        assert_eq!(admin_state(agent, "app_a", "s1") & FORCED_DRAIN, FORCED_DRAIN, "s1 stays drained after the reload");
    }
}
