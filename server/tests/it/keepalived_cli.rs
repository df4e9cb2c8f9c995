//! `fleet keepalived check --keepalived-bin`: when keepalived runs, its verdict decides.


use crate::support::{fleet, Scratch};

use fleet_tests::keepalived_bin;

/// An offline error (VRID 0 is outside 1..255) for a stand-in keepalived to judge.
const OFFLINE_ERROR: &str =
    "vrrp_instance V {\n    interface eth0\n    virtual_router_id 0\n    virtual_ipaddress {\n        192.0.2.1/32\n    }\n}\n";

#[test]
fn offline_error_keepalived_accepts_is_a_warning_and_the_file_passes() {
    let scratch = Scratch::new();
    let file = scratch.file("unconfirmed.conf", OFFLINE_ERROR);
    let offline = fleet(&["keepalived", "check", &file]);
    assert_eq!(offline.code, 1, "{offline:?}");
    assert!(offline.stderr.contains("error: virtual_router_id '0' is outside 1..255"), "{}", offline.stderr);
    // /bin/true stands in for a keepalived that accepts the file.
    let accepted = fleet(&["keepalived", "check", "--keepalived-bin", "/bin/true", &file]);
    assert_eq!(accepted.code, 0, "{accepted:?}");
    assert!(
        accepted.stderr.contains("warning: virtual_router_id '0' is outside 1..255 (not confirmed: keepalived -t accepts the file)"),
        "{}",
        accepted.stderr
    );
    assert!(!accepted.stderr.contains("error:"), "{}", accepted.stderr);
    // ... and /bin/false for one that rejects a file the offline check finds clean.
    let clean = scratch.file("clean.conf", "global_defs {\n    router_id lb_a\n}\n");
    let rejected = fleet(&["keepalived", "check", "--keepalived-bin", "/bin/false", &clean]);
    assert_eq!(rejected.code, 1, "{rejected:?}");
    assert!(rejected.stderr.contains("keepalived -t failed"), "{}", rejected.stderr);
}

#[test]
fn real_keepalived_decides_both_ways() {
    let Some(bin) = keepalived_bin() else { return };
    let bin = bin.to_string_lossy().into_owned();
    let scratch = Scratch::new();
    // No interface needed: keepalived -t accepts this on any host.
    let good = scratch.file(
        "good.conf",
        "global_defs {\n    router_id lb_a\n    lvs_flush_onstop\n}\nvirtual_server 192.0.2.10 80 {\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    real_server 192.0.2.11 80 {\n        TCP_CHECK {\n            connect_timeout 3\n        }\n    }\n}\n",
    );
    let run = fleet(&["keepalived", "check", "--keepalived-bin", &bin, &good]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stderr.contains("error:") && !run.stderr.contains("warning:"), "{}", run.stderr);
    // lvs_id was removed from keepalived: both the offline table and keepalived refuse it.
    let bad = scratch.file("bad.conf", "global_defs {\n    lvs_id LVS_1\n}\n");
    let run = fleet(&["keepalived", "check", "--keepalived-bin", &bin, &bad]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("Unknown keyword 'lvs_id'"), "keepalived's own message: {}", run.stderr);
    assert!(run.stderr.contains("error: unknown keyword 'lvs_id' in global_defs"), "{}", run.stderr);
}
