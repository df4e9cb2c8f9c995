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
