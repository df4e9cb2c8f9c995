//! `fleet serve --demo`: one command brings up the server, a demo cluster and a local agent
//! running HAProxy; SIGTERM stops all of it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::agent_harness::{prerequisites, temp_dir, wait_served, PASSWORD};

#[test]
fn demo_serves_through_a_local_agent_and_stops_with_the_server() {
    let Some((haproxy, fleet, _agent)) = prerequisites() else { return };
    let data = temp_dir("demo");
    let mut server = Command::new(&fleet)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--grace-seconds", "1", "--data"])
        .arg(&data)
        .env("FLEET_ADMIN_PASSWORD", PASSWORD)
        .env("FLEET_HAPROXY_BIN", &haproxy)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let port: u16 = loop {
        let line = lines.next().expect("fleet serve --demo printed no demo address").unwrap();
        if let Some(rest) = line.strip_prefix("demo: HAProxy will answer on http://127.0.0.1:") {
            break rest.split('/').next().unwrap().parse().unwrap();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let took = wait_served(port, "hello from HAProxy Fleet", Duration::from_secs(20));
    eprintln!("demo served {took:?} after the server announced it");

    let pid: u32 = std::fs::read_to_string(data.join("demo/agent/haproxy.pid")).unwrap().trim().parse().unwrap();
    Command::new("kill").arg("-TERM").arg(server.id().to_string()).status().unwrap();
    assert!(server.wait().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while Path::new(&format!("/proc/{pid}")).exists() {
        assert!(Instant::now() < deadline, "the demo's haproxy master {pid} outlived the server");
        std::thread::sleep(Duration::from_millis(50));
    }
}
