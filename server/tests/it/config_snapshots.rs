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
    // `default_backend api` (line 9) names a backend of another file HAProxy loads (`-f
    // api.cfg`); the offline check cannot see it, HAProxy 2.6 with both files accepts: exit 0,
    // the offline finding is a warning.
    let text = "defaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\nfrontend www\n    bind 127.0.0.1:18080\n    default_backend api\n\nbackend app\n    balance roundrobin\n    server s1 127.0.0.1:8080\n";
    let api = dir.file("api.cfg", "defaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\nbackend api\n    server a1 127.0.0.1:8081\n");
    dir.file("env.cfg", text);
    let bin = haproxy.to_str().unwrap();
    let api_arg = format!("--haproxy-arg={api}");
    let with_api = ["--haproxy-bin", bin, "--haproxy-arg=-f", api_arg.as_str()];
    let run = fleet_in(dir.path(), &[&["config", "check", "env.cfg"][..], &with_api[..]].concat(), b"");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains(": error:"), "{}", run.stderr);
    let offline = fleet_in(dir.path(), &["config", "check", "env.cfg"], b"");
    assert_eq!(offline.code, 1, "{}", offline.stderr);
    assert!(run.stderr.contains("env.cfg:9:21: warning: ") && run.stderr.contains("(haproxy -c accepts the configuration)"), "{}", run.stderr);
    // Standard input is checked in a private folder, with the same verdict.
    let run = fleet_in(dir.path(), &[&["config", "check", "-"][..], &with_api[..]].concat(), text.as_bytes());
    assert_eq!(run.code, 0, "{}", run.stderr);
}
