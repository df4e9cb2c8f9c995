//! Hand-written keepalived cases: the grammar's corners, typed views, edits, the offline check.

// Helpers outside `#[test]` functions are test code too.

use haproxy_model::keepalived::{Check, Statement};
use haproxy_parse::keepalived::{check, parse};
use haproxy_render::keepalived::{format, lossless};

fn round_trip(text: &str) {
    assert_eq!(lossless(&parse(text).document), text, "input {text:?}");
}

#[test]
fn keeps_layout_exactly() {
    for text in [
        "",
        "\n",
        "! only a comment",
        "global_defs {\n  router_id a\n}\n",
        "global_defs\n{\n\trouter_id a # c\n}",
        "vrrp_instance VI_1 {\r\n    virtual_ipaddress { 10.0.0.1/32 }\r\n}\r\n",
        "a{b}c\n",
        "} }\n{\n",
        "$IF=eth0\n@high priority 100\n@^low priority 50\ninclude /etc/keepalived/*.conf\n",
        "$MULTI=vrrp_instance ${NAME} { \\\n  interface $IF \\\n}\n$MULTI\n",
        "notify \"/bin/x { # ! }\" 'a b' c\\#d\n",
        "script \"unterminated\n}\n",
        "x \\\n  y\n",
        "trailing \\",
        "\u{0}\u{7f}é\t\r",
    ] {
        round_trip(text);
    }
}

#[test]
fn builds_blocks_whichever_line_the_brace_is_on() {
    let doc =
        parse("vrrp_instance VI_1\n{\n  state MASTER\n  virtual_ipaddress { 10.0.0.1/32 dev eth0 }\n}\n").document;
    let instance = &doc.statements()[0];
    assert_eq!(instance.keyword().as_deref(), Some("vrrp_instance"));
    assert_eq!(instance.arg(0).as_deref(), Some("VI_1"));
    let block = instance.block().unwrap();
    assert_eq!(block.value("state").as_deref(), Some("MASTER"));
    let vips = block.entries("virtual_ipaddress");
    assert_eq!(vips.len(), 1);
    assert_eq!(vips[0].arg_values(), ["dev", "eth0"]);
}

#[test]
fn braces_split_statements_like_keepalived() {
    let doc = parse("a{b}c\n").document;
    let kws: Vec<_> = doc.statements().iter().map(|s| s.keyword().unwrap().into_owned()).collect();
    assert_eq!(kws, ["a", "c"]);
    assert_eq!(doc.statements()[0].block().unwrap().statements()[0].keyword().as_deref(), Some("b"));
}

#[test]
fn comments_and_quotes() {
    let doc = parse("script \"/bin/check --x # y\" ! comment\nuser a\\#b # c\nname 'p q'\n").document;
    let s = doc.statements();
    assert_eq!(s.len(), 3);
    assert_eq!(s[0].arg(0).as_deref(), Some("/bin/check --x # y"));
    assert_eq!(s[0].args().len(), 1);
    assert_eq!(s[1].arg(0).as_deref(), Some("a#b"));
    assert_eq!(s[2].arg(0).as_deref(), Some("p q"));
}

#[test]
fn definitions_config_ids_and_continuations_stay_as_written() {
    let doc = parse("$BLOCK=x { y }\n@node1 router_id n1\nlong \\\n  arg\n").document;
    let s = doc.statements();
    assert_eq!(s.len(), 3);
    assert!(s[0].is_definition());
    assert!(s[0].block().is_none(), "braces in a definition are text");
    assert_eq!(s[1].config_id(), Some("node1"));
    assert_eq!(s[1].keyword().as_deref(), Some("router_id"));
    assert_eq!(s[2].arg_values(), ["arg"]);
}

#[test]
fn reports_unbalanced_braces_and_quotes_with_positions() {
    let parsed = parse("a {\n  b\n}\n}\nc {\n  d \"x\n");
    let found: Vec<_> =
        parsed.diagnostics.iter().map(|d| (d.position.line, d.position.column, d.message.as_str())).collect();
    assert_eq!(
        found,
        [
            (4, 1, "unbalanced braces: '}' without a matching '{'"),
            (5, 3, "unbalanced braces: '{' is never closed"),
            (6, 5, "unterminated quote"),
        ]
    );
}

const INSTANCE: &str = "\
global_defs {
    router_id lb1
    enable_script_security
    script_user root wheel
    vrrp_garp_interval 0.1
}
vrrp_script chk {
    script \"/usr/bin/killall -0 haproxy\"
    interval 2
    weight -20
    fall 3
    rise 2
    timeout 5
    user root
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    nopreempt
    preempt_delay 5
    unicast_src_ip 10.0.0.1
    unicast_peer {
        10.0.0.2
        10.0.0.3
    }
    authentication {
        auth_type PASS
        auth_pass s3cret
    }
    virtual_ipaddress {
        10.0.0.100/24 dev eth0 label eth0:vip brd 10.0.0.255 scope global
    }
    virtual_routes {
        src 10.0.0.100 to 192.168.0.0/16 via 10.0.0.254
    }
    track_script {
        chk weight -30
    }
    track_interface {
        eth1 weight 10
    }
    notify_master \"/bin/up MASTER\"
}
vrrp_sync_group G {
    group {
        VI_1
    }
}
virtual_server 10.0.0.100 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    delay_loop 6
    real_server 192.168.1.1 80 {
        weight 2
        HTTP_GET {
            url {
                path /health
                status_code 200
            }
            connect_timeout 3
        }
        TCP_CHECK {
            connect_port 80
        }
        MISC_CHECK {
            misc_path \"/bin/true\"
        }
    }
}
";

#[test]
fn typed_views_read_the_vrrp_side() {
    let doc = parse(INSTANCE).document;
    let global = doc.global_defs().unwrap();
    assert_eq!(global.router_id.as_deref(), Some("lb1"));
    assert!(global.enable_script_security);
    assert_eq!(global.script_user.unwrap().group.as_deref(), Some("wheel"));
    assert_eq!(global.vrrp_knobs, [("vrrp_garp_interval".to_string(), vec!["0.1".to_string()])]);
    let script = &doc.vrrp_scripts()[0];
    assert_eq!(script.script.as_deref(), Some("/usr/bin/killall -0 haproxy"));
    assert_eq!(
        (script.interval, script.weight, script.fall, script.rise, script.timeout),
        (Some(2.0), Some(-20), Some(3), Some(2), Some(5.0))
    );
    let vi = &doc.vrrp_instances()[0];
    assert_eq!(vi.name, "VI_1");
    assert_eq!(vi.interface.as_deref(), Some("eth0"));
    assert_eq!((vi.virtual_router_id, vi.priority, vi.advert_int), (Some(51), Some(150), Some(1.0)));
    assert!(vi.nopreempt);
    assert_eq!(vi.preempt_delay, Some(5.0));
    assert_eq!(vi.unicast_peers, ["10.0.0.2", "10.0.0.3"]);
    assert_eq!(vi.authentication.as_ref().unwrap().auth_pass.as_deref(), Some("s3cret"));
    let vip = &vi.virtual_ipaddresses[0];
    assert_eq!(vip.address, "10.0.0.100/24");
    assert_eq!(
        (vip.dev.as_deref(), vip.label.as_deref(), vip.brd.as_deref(), vip.scope.as_deref()),
        (Some("eth0"), Some("eth0:vip"), Some("10.0.0.255"), Some("global"))
    );
    assert_eq!(vi.virtual_routes[0][0], "src");
    assert_eq!(vi.track_scripts[0].name, "chk");
    assert_eq!(vi.track_scripts[0].weight, Some(-30));
    assert_eq!(vi.track_interfaces[0].weight, Some(10));
    assert_eq!(vi.notify, [("notify_master".to_string(), "/bin/up MASTER".to_string())]);
    assert_eq!(doc.vrrp_sync_groups()[0].group, ["VI_1"]);
}

#[test]
fn typed_views_read_the_lvs_side() {
    let doc = parse(INSTANCE).document;
    let vs = &doc.virtual_servers()[0];
    assert_eq!(vs.address, ["10.0.0.100", "80"]);
    assert_eq!((vs.scheduler.as_deref(), vs.method.as_deref()), (Some("rr"), Some("NAT")));
    let rs = &vs.real_servers[0];
    assert_eq!((rs.address.as_str(), rs.port.as_deref(), rs.weight), ("192.168.1.1", Some("80"), Some(2)));
    assert_eq!(rs.checks.len(), 3);
    match &rs.checks[0] {
        Check::Http { tls, urls, connect_timeout, .. } => {
            assert!(!tls);
            assert_eq!(urls[0].path.as_deref(), Some("/health"));
            assert_eq!(*connect_timeout, Some(3.0));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(rs.checks[1], Check::Tcp { connect_port: Some(80), connect_timeout: None });
    assert_eq!(rs.checks[2], Check::Misc { path: Some("/bin/true".into()), timeout: None });
}

#[test]
fn the_example_checks_clean() {
    let checked = check(INSTANCE);
    assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
}

#[test]
fn edits_touch_only_their_words() {
    let text = "vrrp_instance VI_1 {\n    priority 100   # was 90\n    interface eth0\n}\n";
    let mut doc = parse(text).document;
    let block = doc.statements_mut()[0].block_mut().unwrap();
    block.set_value("priority", "120");
    block.set_value("advert_int", "2");
    block.push_statement(Statement::from_values(&["notify_master", "/bin/a b"], ""));
    assert_eq!(
        lossless(&doc),
        "vrrp_instance VI_1 {\n    priority 120   # was 90\n    interface eth0\n    advert_int 2\n    notify_master \"/bin/a b\"\n}\n"
    );
    assert_eq!(doc.vrrp_instances()[0].priority, Some(120));
}

fn messages(text: &str) -> Vec<(u32, u32, String)> {
    check(text).diagnostics.into_iter().map(|d| (d.position.line, d.position.column, d.message)).collect()
}

#[test]
fn check_reports_each_rule_at_its_word() {
    let text = "\
vrrp_script chk {
    script /bin/true
    bogus 1
}
vrrp_instance A {
    interface eth0
    virtual_router_id 256
    priority 0
}
vrrp_instance B {
    interface eth0
    virtual_router_id 7
    authentication {
        auth_pass 123456789
    }
    track_script {
        chk
        missing
    }
}
vrrp_instance C {
    interface eth0
    virtual_router_id 7
}
vrrp_instance D {
    priority 10
}
unknown_top x
";
    assert_eq!(
        messages(text),
        [
            (3, 5, "unknown keyword 'bogus' in vrrp_script".to_string()),
            (7, 23, "virtual_router_id '256' is outside 1..255".to_string()),
            (8, 14, "priority '0' is outside 1..255".to_string()),
            (14, 19, "auth_pass is 9 characters long: keepalived truncates it to 8".to_string()),
            (18, 9, "track_script names 'missing', which no vrrp_script defines".to_string()),
            (
                23,
                23,
                "duplicate virtual_router_id 7 on interface eth0: vrrp_instance 'B' (line 12) uses it too".to_string()
            ),
            (25, 1, "vrrp_instance 'D' has no interface".to_string()),
            (25, 1, "vrrp_instance 'D' has no virtual_router_id".to_string()),
            (28, 1, "unknown keyword 'unknown_top' at top level".to_string()),
        ]
    );
    let warnings: Vec<_> = check(text).diagnostics.into_iter().filter(|d| !d.is_error()).collect();
    assert_eq!(warnings.len(), 1);
}

#[test]
fn check_leaves_substitutions_and_includes_alone() {
    let text = "$VRID=51\ninclude scripts.conf\nvrrp_instance A {\n  interface eth0\n  virtual_router_id $VRID\n  track_script {\n    from_include\n  }\n}\n";
    assert!(messages(text).is_empty(), "{:?}", messages(text));
}

#[test]
fn fmt_lays_out_canonically() {
    let text = "# head\n\n\n! second\nglobal_defs\n{\n  router_id   x   # id\n\n\n  enable_script_security\n\n}\nvrrp_instance V { virtual_ipaddress { 10.0.0.1/32 } }\n";
    let out = format(&parse(text).document);
    assert_eq!(
        out,
        "# head\n\n! second\nglobal_defs {\n    router_id x # id\n\n    enable_script_security\n}\nvrrp_instance V {\n    virtual_ipaddress {\n        10.0.0.1/32\n    }\n}\n"
    );
    assert_eq!(format(&parse(&out).document), out);
}

#[test]
fn fmt_keeps_definitions_as_written() {
    let text = "$CMD=/bin/notify   a\tb\n$BLOCK=one \\\n  two \\\n\nglobal_defs {\n}\n";
    let out = format(&parse(text).document);
    assert_eq!(out, "$CMD=/bin/notify   a\tb\n$BLOCK=one \\\n    two \\\n\nglobal_defs {\n}\n");
    assert_eq!(format(&parse(&out).document), out);
    let doc = parse(&out).document;
    assert_eq!(doc.statements().len(), 3, "the multi-line definition still ends at the blank line");
}

#[test]
fn push_statement_into_one_line_and_empty_blocks() {
    let mut doc = parse("vrrp_instance V {\n    virtual_ipaddress { 10.0.0.1/32 }\n    track_script {\n    }\n}\n").document;
    let block = doc.statements_mut()[0].block_mut().unwrap();
    let vips = block.find_mut("virtual_ipaddress").unwrap().block_mut().unwrap();
    vips.push_statement(Statement::from_values(&["10.0.0.2/32"], ""));
    let tracks = block.find_mut("track_script").unwrap().block_mut().unwrap();
    tracks.push_statement(Statement::from_values(&["chk", "weight", "-10"], ""));
    let text = lossless(&doc);
    assert_eq!(
        text,
        // A one-line block opens up; its header's indentation is not known to the block, so the
        // layout is a best guess (fmt gives the canonical one) but the meaning is exact.
        "vrrp_instance V {\n    virtual_ipaddress { 10.0.0.1/32\n    10.0.0.2/32\n}\n    track_script {\n        chk weight -10\n    }\n}\n"
    );
    let reparsed = parse(&text);
    assert!(reparsed.diagnostics.is_empty());
    let instance = &reparsed.document.vrrp_instances()[0];
    assert_eq!(instance.virtual_ipaddresses.len(), 2);
    assert_eq!(instance.track_scripts[0].weight, Some(-10));
}
