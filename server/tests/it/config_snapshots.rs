//! Snapshots of what `fleet config check` prints: the diagnostics' exact text (position,
//! severity, message, source line and caret) is part of the interface.

use crate::support::{fleet_in, haproxy_bin, Scratch};

/// A file with one problem per line the checks know about.
const BROKEN: &str = "\
global
    maxconn 100

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe
    bind :99999
    use_backend api if is_api
    default_backend missing
\tserver s1 127.0.0.1:80

backend app
    balance weighted
    http-request set-header X-Name \"unterminated
";

#[test]
fn offline_diagnostics() {
    let dir = Scratch::new();
    dir.file("broken.cfg", BROKEN);
    let run = fleet_in(dir.path(), &["config", "check", "broken.cfg"], b"");
    assert_eq!(run.code, 1);
    insta::assert_snapshot!(run.stderr);
}

#[test]
fn haproxy_alerts_mapped_to_lines() {
    let Some(haproxy) = haproxy_bin() else { return };
    let dir = Scratch::new();
    // HAProxy rejects an unknown keyword and warns about a frontend without timeouts; the
    // offline check has nothing to say about `frobnicate` beyond HAProxy's own words.
    dir.file("h.cfg", "global\n    maxconn 100\n\nfrontend fe\n    bind 127.0.0.1:20999\n    frobnicate on\n");
    let run = fleet_in(dir.path(), &["config", "check", "h.cfg", "--haproxy-bin", haproxy.to_str().unwrap()], b"");
    assert_eq!(run.code, 1);
    insta::assert_snapshot!(run.stderr);
}

#[test]
fn haproxy_decides_over_an_offline_error() {
    let Some(haproxy) = haproxy_bin() else { return };
    let dir = Scratch::new();
    // Which section line 18 is in depends on HAProxy's environment (`FLEET_DEBUG_PORT`); the
    // offline check cannot know it, HAProxy 2.6 accepts the file: exit 0, the offline finding
    // (if any) is a warning.
    let text = "defaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\n\
        frontend www\n    bind 127.0.0.1:18080\n    default_backend app\n\nbackend app\n    balance roundrobin\n\
        .if defined(FLEET_DEBUG_PORT)\nfrontend debug\n    bind 127.0.0.1:18081\n    default_backend app\n.endif\n\
        \x20   server s1 127.0.0.1:8080\n";
    dir.file("env.cfg", text);
    let bin = haproxy.to_str().unwrap();
    let run = fleet_in(dir.path(), &["config", "check", "env.cfg", "--haproxy-bin", bin], b"");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains(": error:"), "{}", run.stderr);
    let offline = fleet_in(dir.path(), &["config", "check", "env.cfg"], b"");
    if offline.code == 1 {
        assert!(run.stderr.contains("env.cfg:18:5: warning: ") && run.stderr.contains("(haproxy -c accepts the configuration)"), "{}", run.stderr);
    }
    // Standard input is checked in a private folder, with the same verdict.
    let run = fleet_in(dir.path(), &["config", "check", "-", "--haproxy-bin", bin], text.as_bytes());
    assert_eq!(run.code, 0, "{}", run.stderr);
}
