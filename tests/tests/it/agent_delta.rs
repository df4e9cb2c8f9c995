//! Delta pushes on a real node (issue 20): a one-line change of a large map reaches the agent as
//! a delta and lands byte-identical files that HAProxy serves; a delta altered on the way (a
//! proxy rewrites one hunk) is refused by the agent's checks, which then fetches every file and
//! still lands the exact bundle.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::agent_harness::{bring_up, bundle_config, free_port, prerequisites, wait_served, Agent, Server};

/// A map of `lines` hosts, `test` mapped to `value`.
fn map(lines: usize, value: &str) -> String {
    let mut text = format!("test {value}\n");
    for i in 0..lines {
        text.push_str(&format!("host{i}.example.com app{}\n", i % 7));
    }
    text
}

fn commit(server: &Server, cluster: i64, config: &str, map: &str, pem: &[u8]) -> i64 {
    server.commit_files(
        cluster,
        &[("haproxy.cfg", "config", config.as_bytes()), ("maps/hosts.map", "map", map.as_bytes()), ("certs/site.pem", "certificate", pem)],
    )
}

fn applied(server: &Server, cluster: i64, version: i64) {
    server.wait_status(cluster, "the version applied", |a| a["applied_version"] == json!(version) && a["last_outcome"].as_str().is_some_and(|o| o.starts_with("applied")));
}

fn managed_map(agent: &Agent) -> String {
    std::fs::read_to_string(agent.config.parent().unwrap().join("maps/hosts.map")).unwrap()
}

/// Counts of what the tampering proxy saw: desired-state answers carrying a delta (each one
/// altered) and answers carrying every file.
#[derive(Default)]
struct Seen {
    deltas: AtomicUsize,
    whole: AtomicUsize,
}

/// An HTTP/1.1 proxy to `upstream`, one request per connection (`Connection: close`), that
/// appends a line to the first hunk of every delta answer: the hunk's file then no longer
/// hashes to its announced sha256.
fn tampering_proxy(upstream: String) -> (String, Arc<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Seen::default());
    let counts = seen.clone();
    std::thread::spawn(move || {
        let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(120)).build().unwrap();
        for stream in listener.incoming().map_while(Result::ok) {
            let (http, upstream, seen) = (http.clone(), upstream.clone(), counts.clone());
            std::thread::spawn(move || {
                let _ = relay(stream, &http, &upstream, &seen);
            });
        }
    });
    (url, seen)
}

fn relay(stream: TcpStream, http: &reqwest::blocking::Client, upstream: &str, seen: &Seen) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut head = String::new();
    reader.read_line(&mut head)?;
    let mut parts = head.split_whitespace();
    let (method, target) = (parts.next().unwrap_or("GET").to_string(), parts.next().unwrap_or("/").to_string());
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
            if ["authorization", "content-type"].iter().any(|h| name.eq_ignore_ascii_case(h)) {
                headers.push((name.to_string(), value.trim().to_string()));
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let mut request = http.request(method.parse().unwrap(), format!("{upstream}{target}")).body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let (status, mut answer) = match request.send() {
        Ok(response) => (response.status().as_u16(), response.bytes().map(|b| b.to_vec()).unwrap_or_default()),
        Err(_) => (502, Vec::new()),
    };
    if target.starts_with("/api/v1/agent/desired") && status == 200 {
        let mut state: Value = serde_json::from_slice(&answer).unwrap_or_default();
        match state.pointer_mut("/delta/files/0/hunks/0/add") {
            Some(Value::String(add)) => {
                add.push_str("tampered.example.com evil\n");
                seen.deltas.fetch_add(1, Ordering::SeqCst);
                answer = serde_json::to_vec(&state).unwrap();
            }
            _ => {
                seen.whole.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
    let mut stream = stream;
    write!(stream, "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", answer.len())?;
    stream.write_all(&answer)?;
    stream.flush()
}

#[test]
fn a_one_line_change_lands_as_a_delta_and_a_tampered_delta_falls_back_to_every_file() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let (server, mut agent, cluster, port, _dir) = bring_up("delta-push", &haproxy, &fleet, &agent_bin);
    let tls = free_port();
    let config = bundle_config(port, tls, "v", "");
    let pem = fleet_tests::self_signed_pem_for("one.test").unwrap();
    let first = commit(&server, cluster, &config, &map(20_000, "A"), &pem);
    server.apply(cluster, first);
    wait_served(port, "v A", Duration::from_secs(10));
    applied(&server, cluster, first);

    // A one-line change of the 600 KB map: a delta, and the exact bytes on disk.
    let changed = map(20_000, "B");
    let second = commit(&server, cluster, &config, &changed, &pem);
    server.apply(cluster, second);
    wait_served(port, "v B", Duration::from_secs(5));
    applied(&server, cluster, second);
    assert_eq!(managed_map(&agent), changed, "the file built from the delta is the committed one");
    assert!(agent.log().contains("built the new bundle from a delta"), "no delta was used:\n{}", agent.log());

    // Through a proxy that alters every delta: the agent refuses it and fetches every file.
    let (proxy, seen) = tampering_proxy(server.url.clone());
    agent.kill();
    agent.server = proxy;
    agent.start(None);
    // The restart's first poll knows nothing: every file. Wait until it has polled again with
    // its bundle as `known` (a held long-poll) before the next apply.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while seen.whole.load(Ordering::SeqCst) < 1 {
        assert!(std::time::Instant::now() < deadline, "the agent did not poll through the proxy:\n{}", agent.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    let whole_before = seen.whole.load(Ordering::SeqCst);
    let third_map = map(20_000, "C");
    let third = commit(&server, cluster, &config, &third_map, &pem);
    server.apply(cluster, third);
    wait_served(port, "v C", Duration::from_secs(10));
    applied(&server, cluster, third);
    assert_eq!(managed_map(&agent), third_map, "the refused delta left no trace: the whole file was fetched");
    assert!(seen.deltas.load(Ordering::SeqCst) >= 1, "the proxy saw no delta");
    assert!(seen.whole.load(Ordering::SeqCst) > whole_before, "no whole bundle was fetched after the refusal");
    assert!(agent.log().contains("the delta does not build the announced bundle"), "{}", agent.log());
    assert!(!managed_map(&agent).contains("tampered"));
}
