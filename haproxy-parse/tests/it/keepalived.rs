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
        src 10.0.0.100 to 192.168.0.0/16 via 10.0.0.254 dev eth1
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
fn the_example_has_only_the_finding_keepalived_also_reports() {
    // keepalived -t: "Sync group G has only 1 virtual router(s) - this probably isn't what you want".
    let checked = check(INSTANCE);
    let messages: Vec<_> = checked.diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(messages, ["vrrp_sync_group 'G' has only one instance (keepalived reports it)"]);
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
    virtual_ipaddress { 10.0.0.1 }
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
    virtual_ipaddress { 10.0.0.2 }
}
vrrp_instance C {
    interface eth0
    virtual_router_id 7
    virtual_ipaddress { 10.0.0.3 }
}
vrrp_instance D {
    priority 10
}
unknown_top x
";
    let no = |what: &str, keepalived: &str| format!("vrrp_instance 'D' has no {what} (keepalived: \"{keepalived}\")");
    assert_eq!(
        messages(text),
        [
            (3, 5, "unknown keyword 'bogus' in vrrp_script".to_string()),
            (7, 23, "virtual_router_id '256' is outside 1..255".to_string()),
            (8, 14, "priority '0' is outside 1..255".to_string()),
            (15, 19, "auth_pass is 9 characters long: keepalived truncates it to 8 and reports it".to_string()),
            (19, 9, "track_script names 'missing', which no vrrp_script defines with a script".to_string()),
            (
                25,
                23,
                "duplicate virtual_router_id 7 on interface eth0: vrrp_instance 'B' (line 13) uses it too".to_string()
            ),
            (28, 1, no("interface", "Unknown interface!")),
            (28, 1, no("virtual_router_id", "the virtual router id must be set")),
            (28, 1, no("virtual_ipaddress", "No VIP specified; at least one is sensible")),
            (31, 1, "unknown keyword 'unknown_top' at top level".to_string()),
        ]
    );
    assert!(check(text).diagnostics.iter().all(|d| d.is_error()), "keepalived -t fails on each of them");
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

// Fault kinds (issue 10): one test per kind, named after it.

fn errors(text: &str) -> Vec<String> {
    check(text).diagnostics.into_iter().filter(|d| d.is_error()).map(|d| d.message).collect()
}

/// A minimal instance keepalived -t accepts, with `extra` lines inside it.
fn instance_with(extra: &str) -> String {
    format!("vrrp_instance V {{\n    interface eth0\n    virtual_router_id 5\n{extra}    virtual_ipaddress {{\n        10.0.0.1/32\n    }}\n}}\n")
}

#[test]
fn dollar_brace_variable_inside_word_is_a_word() {
    let text = "$ADDR=192.0.2.100\nvrrp_instance V {\n    virtual_ipaddress {\n        ${ADDR}/32 dev eth0\n        x${ADDR} ${_RANDOM 1 10}\n    }\n}\n";
    let parsed = parse(text);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    let block = parsed.document.statements()[1].block().unwrap();
    let vips = block.entries("virtual_ipaddress");
    assert_eq!(vips.len(), 2);
    assert_eq!(vips[0].words().iter().map(|w| w.raw()).collect::<Vec<_>>(), ["${ADDR}/32", "dev", "eth0"]);
    assert_eq!(vips[1].words().iter().map(|w| w.raw()).collect::<Vec<_>>(), ["x${ADDR}", "${_RANDOM 1 10}"]);
    // fmt keeps the word whole (it used to split `${ADDR}` into `$`, a block and `ADDR`).
    let formatted = format(&parsed.document);
    assert!(formatted.contains("        ${ADDR}/32 dev eth0\n"), "{formatted}");
    assert_eq!(format(&parse(&formatted).document), formatted);
}

#[test]
fn dollar_brace_variable_in_single_quotes_is_a_word() {
    let doc = parse("notify_master '/bin/up ${NAME}'\n").document;
    assert_eq!(doc.statements().len(), 1);
    assert_eq!(doc.statements()[0].arg(0).as_deref(), Some("/bin/up ${NAME}"));
}

#[test]
fn dollar_variable_inside_word_is_a_word() {
    let doc = parse("$IF=eth0\nvrrp_instance V {\n    interface $IF\n    track_interface {\n        $IF weight 5\n    }\n}\n").document;
    let block = doc.statements()[1].block().unwrap();
    assert_eq!(block.value("interface").as_deref(), Some("$IF"));
    assert_eq!(block.entries("track_interface")[0].words()[0].raw(), "$IF");
}

#[test]
fn brace_that_is_not_a_parameter_still_opens_a_block() {
    // `$` not followed by a parameter name in keepalived's shape: braces are braces.
    for text in ["a ${ b }\n", "a ${1X}\n", "a ${X }\n"] {
        let doc = parse(text).document;
        assert!(doc.statements()[0].block().is_some(), "{text:?}");
        assert_eq!(lossless(&doc), text);
    }
}

#[test]
fn undefined_dollar_brace_parameter_is_an_error() {
    // keepalived leaves an unknown `${X}` as written and then reads its braces as a block.
    let text = instance_with("").replace("10.0.0.1/32", "${X}/32");
    assert_eq!(errors(&text).len(), 1, "{:?}", errors(&text));
    assert!(errors(&format!("$X=10.0.0.1\n{text}")).is_empty());
    // An include may define it; keepalived's own parameters are always defined.
    assert!(errors(&format!("include defs.conf\n{text}")).is_empty());
    assert!(errors(&instance_with("").replace("10.0.0.1/32", "10.0.0.${_RANDOM 1 9}/32")).is_empty());
}

#[test]
fn include_inside_block_is_allowed() {
    let text = "vrrp_instance V {\n    interface eth0\n    include role.conf\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.0.2.100/32\n    }\n}\n";
    assert!(messages(text).is_empty(), "{:?}", messages(text));
    for form in ["include", "includer", "includem", "includew", "includeb", "includea"] {
        let text = instance_with(&format!("    {form} role.conf\n"));
        assert!(messages(&text).is_empty(), "{form}: {:?}", messages(&text));
        let text = format!("global_defs {{\n    {form} globals.conf\n}}\n");
        assert!(messages(&text).is_empty(), "{form}: {:?}", messages(&text));
    }
    // keepalived reads `include` with no file name as a keyword, and knows no such keyword.
    assert_eq!(errors(&instance_with("    include\n")), ["unknown keyword 'include' in vrrp_instance"]);
}

#[test]
fn include_inside_block_may_supply_what_the_block_lacks() {
    let text = "vrrp_instance V {\n    include instance_body.conf\n}\n";
    assert!(errors(text).is_empty(), "{:?}", errors(text));
    let text = "vrrp_sync_group G {\n    include groups.conf\n}\nvrrp_script S {\n    include script.conf\n}\n";
    assert!(errors(text).is_empty(), "{:?}", errors(text));
}

#[test]
fn keyword_removed_from_keepalived_is_unknown() {
    // Read by older releases, refused by keepalived 2.2.7 (probed with the binary).
    assert_eq!(errors("global_defs {\n    lvs_id LVS_1\n}\n"), ["unknown keyword 'lvs_id' in global_defs"]);
    assert_eq!(errors("vrrp_garp_interval 1\n"), ["unknown keyword 'vrrp_garp_interval' at top level"]);
    // ... and keywords 2.2.7 has that the old table lacked are known.
    assert!(errors("global_defs {\n    lvs_flush_onstop\n    vrrp_rlimit_rtime 1000\n}\n").is_empty());
    assert!(errors("interface_up_down_delays {\n}\n").is_empty());
}

#[test]
fn keyword_of_another_checker_is_unknown() {
    let rs = |checker: &str, line: &str| {
        format!("virtual_server 10.0.0.1 80 {{\n    lb_kind NAT\n    protocol TCP\n    real_server 10.0.0.2 80 {{\n        {checker} {{\n            {line}\n        }}\n    }}\n}}\n")
    };
    assert!(errors(&rs("MISC_CHECK", "misc_path /bin/true")).is_empty());
    assert_eq!(errors(&rs("TCP_CHECK", "misc_path /bin/true")), ["unknown keyword 'misc_path' in TCP_CHECK"]);
}

#[test]
fn virtual_server_keepalived_reports_is_an_error() {
    let vs = |head: &str, checker: &str| {
        format!("virtual_server 10.0.0.1 80 {{\n{head}    real_server 10.0.0.2 80 {{\n        {checker} {{\n            connect_timeout 3\n        }}\n    }}\n}}\n")
    };
    assert!(errors(&vs("    lb_kind NAT\n    protocol TCP\n", "TCP_CHECK")).is_empty());
    let no_protocol = errors(&vs("    lb_kind NAT\n", "TCP_CHECK"));
    assert_eq!(no_protocol, ["virtual_server has no protocol (keepalived reports it and uses UDP)"]);
    assert_eq!(errors(&vs("    protocol TCP\n", "TCP_CHECK")).len(), 1, "no forwarding method");
    assert_eq!(errors(&vs("    lb_kind NAT\n    protocol TCP\n", "HTTP_GET")).len(), 1, "HTTP_GET without url");
    let misc = vs("    lb_kind NAT\n    protocol TCP\n", "MISC_CHECK").replace("connect_timeout 3", "misc_timeout 3");
    assert_eq!(errors(&misc).len(), 1, "MISC_CHECK without misc_path");
}

#[test]
fn instance_without_virtual_address_is_an_error() {
    let text = "vrrp_instance V {\n    interface eth0\n    virtual_router_id 5\n    virtual_ipaddress_excluded {\n        10.0.0.1\n    }\n}\n";
    assert_eq!(
        errors(text),
        ["vrrp_instance 'V' has no virtual_ipaddress (keepalived: \"No VIP specified; at least one is sensible\")"]
    );
    assert!(errors(&instance_with("")).is_empty());
}

#[test]
fn unicast_instance_needs_no_interface() {
    let text = instance_with("").replace("    interface eth0\n", "    unicast_peer {\n        10.0.0.9\n    }\n");
    assert!(errors(&text).is_empty(), "{:?}", errors(&text));
}

#[test]
fn config_id_line_findings_are_warnings() {
    // `@node` lines apply on one node only: keepalived -t may not see them at all.
    let text = instance_with("    @lb_a priority 300\n    @lb_a bogus_knob 1\n");
    assert!(errors(&text).is_empty(), "{:?}", errors(&text));
    assert_eq!(check(&text).diagnostics.len(), 2);
}

#[test]
fn vrrp_script_without_script_is_an_error() {
    assert_eq!(errors("vrrp_script chk {\n    interval 2\n}\n"), ["vrrp_script 'chk' has no script (keepalived removes it)"]);
    assert!(errors("vrrp_script chk {\n    script /bin/true\n}\n").is_empty());
}

#[test]
fn sync_group_without_instances_is_an_error() {
    let two = format!("{}{}", instance_with(""), instance_with("").replace("V {", "W {").replace("_id 5", "_id 6"));
    let text = format!("vrrp_sync_group G {{\n    VI_1\n}}\n{two}");
    assert_eq!(
        errors(&text),
        [
            "vrrp_sync_group 'G' has no group of instances (keepalived removes it)",
            "unknown keyword 'VI_1' in vrrp_sync_group"
        ]
    );
    let text = format!("vrrp_sync_group G {{\n    group {{\n        V\n        W\n    }}\n}}\n{two}");
    assert!(errors(&text).is_empty(), "{:?}", errors(&text));
    // keepalived: "Virtual router X specified in sync group G doesn't exist", "has only 1 virtual router(s)".
    let text = format!("vrrp_sync_group G {{\n    group {{\n        V\n        X\n    }}\n}}\n{two}");
    assert_eq!(errors(&text).len(), 2, "{:?}", errors(&text));
}

#[test]
fn fwmark_virtual_server_with_protocol_is_an_error() {
    let text = "virtual_server fwmark 1 {\n    lb_kind NAT\n    protocol TCP\n    real_server 10.0.0.2 80 {\n    }\n}\n";
    assert_eq!(errors(text), ["protocol in a fwmark virtual_server is ignored (keepalived reports it)"]);
    assert!(errors(&text.replace("fwmark 1", "10.0.0.1 80")).is_empty());
}

#[test]
fn garp_interval_out_of_range_is_an_error() {
    let text = "global_defs {\n    vrrp_garp_interval 0\n    vrrp_gna_interval 0.5\n}\n";
    assert_eq!(errors(text), ["vrrp_garp_interval '0' is outside 0.000001..4294.967295 seconds"]);
}

#[test]
fn authentication_keepalived_refuses_is_an_error() {
    let auth = |kind: &str| format!("    authentication {{\n        auth_type {kind}\n        auth_pass secret\n    }}\n");
    assert!(errors(&instance_with(&auth("PASS"))).is_empty());
    let strict = format!("global_defs {{\n    vrrp_strict\n}}\n{}", instance_with(&auth("PASS")));
    assert_eq!(errors(&strict), ["vrrp_instance 'V': strict mode does not support authentication"]);
    let v3 = instance_with(&format!("    version 3\n{}", auth("PASS")));
    assert_eq!(errors(&v3), ["vrrp_instance 'V': VRRP version 3 does not support authentication"]);
    let ah_master = instance_with(&format!("    state MASTER\n    priority 100\n{}", auth("AH")));
    assert_eq!(
        errors(&ah_master),
        ["vrrp_instance 'V': initial state MASTER is incompatible with AH authentication unless priority is 255"]
    );
    assert!(errors(&ah_master.replace("priority 100", "priority 255")).is_empty());
}

#[test]
fn strict_mode_master_must_own_the_address() {
    let text = instance_with("    strict_mode\n    state MASTER\n    priority 100\n");
    assert_eq!(errors(&text).len(), 1, "{:?}", errors(&text));
    assert!(errors(&text.replace("priority 100", "priority 255")).is_empty());
    assert!(errors(&text.replace("    strict_mode\n", "")).is_empty());
}

#[test]
fn deprecated_lvs_sync_daemon_interface_in_instance_is_an_error() {
    let text = instance_with("    lvs_sync_daemon_interface eth1\n");
    assert_eq!(errors(&text).len(), 1, "{:?}", errors(&text));
}

#[test]
fn cases_check_clean_and_fmt_keeps_them_parsing_alike() {
    let Some(cases) = crate::keepalived_corpus::cases_dir() else { return };
    for name in ["ka_conditional_var.conf", "ka_include_in_block.conf"] {
        let text = std::fs::read_to_string(cases.join(name)).unwrap();
        let checked = check(&text);
        assert!(!checked.has_errors(), "{name}: {:?}", checked.diagnostics);
        let formatted = format(&checked.document);
        let again = check(&formatted);
        assert!(!again.has_errors(), "{name} after fmt: {:?}", again.diagnostics);
        assert_eq!(
            crate::keepalived_corpus::words(&checked.document),
            crate::keepalived_corpus::words(&again.document),
            "{name}: fmt changed the words"
        );
    }
}

#[test]
fn tracked_route_without_interface_is_an_error() {
    let routes = |entry: &str| instance_with(&format!("    virtual_routes {{\n        {entry}\n    }}\n"));
    assert_eq!(errors(&routes("192.168.0.0/16 via 10.0.0.254")).len(), 1);
    assert_eq!(errors(&routes("blackhole 192.168.113.1/32")).len(), 1);
    for fine in ["192.168.0.0/16 via 10.0.0.254 dev eth0", "192.168.0.0/16 via 10.0.0.254 no_track"] {
        assert!(errors(&routes(fine)).is_empty(), "{fine}: {:?}", errors(&routes(fine)));
    }
}

#[test]
fn ip_rule_without_preference_is_an_error() {
    assert_eq!(errors("static_rules {\n    from 10.1.0.0/16 table 5\n}\n").len(), 1);
    assert!(errors("static_rules {\n    from 10.1.0.0/16 table 5 preference 100\n}\n").is_empty());
    let text = instance_with("    virtual_rules {\n        from 10.1.0.0/16 table 5\n    }\n");
    assert_eq!(errors(&text).len(), 1);
}

#[test]
fn invalid_virtual_address_is_an_error() {
    // Each judged by keepalived -t 2.2.7 first.
    for bad in ["192.168.100./24", "10.0.0.1/33", "01.2.3.4", "2001:db8::1/129", "10.0.0.1/32x", "1.2.3.4.5"] {
        let text = instance_with("").replace("10.0.0.1/32", bad);
        assert_eq!(errors(&text).len(), 1, "{bad}: {:?}", errors(&text));
    }
    for good in ["10.0.0.1", "10.0.0.1/0", "2001:db8::1/64", "::ffff:10.0.0.1", "10.0.0.1/", "10.0.0.1/+5", "10.0.0.1/05"] {
        let text = instance_with("").replace("10.0.0.1/32", good);
        assert!(errors(&text).is_empty(), "{good}: {:?}", errors(&text));
    }
}

#[test]
fn duplicate_vrid_in_separate_vrid_spaces_is_not_an_error() {
    // keepalived -t accepts one unicast and one multicast instance sharing a VRID (the old
    // rule refused it), and refuses two multicast ones on one interface.
    let second = instance_with("").replace("V {", "W {");
    let both_multicast = format!("{}{second}", instance_with(""));
    assert_eq!(errors(&both_multicast).len(), 1, "{:?}", errors(&both_multicast));
    let unicast = format!("{}{second}", instance_with("    unicast_peer {\n        192.0.2.9\n    }\n"));
    assert!(errors(&unicast).is_empty(), "{:?}", errors(&unicast));
}

#[test]
fn sync_group_mixing_owner_and_backup_is_an_error() {
    let owner = instance_with("    state MASTER\n    priority 255\n");
    let backup = instance_with("    state BACKUP\n    priority 100\n").replace("V {", "W {").replace("_id 5", "_id 6");
    let group = "vrrp_sync_group G {\n    group {\n        V\n        W\n    }\n}\n";
    assert_eq!(errors(&format!("{owner}{backup}{group}")).len(), 1);
    // The other order is fine for keepalived: the group starts as BACKUP and stays so.
    let reversed = group.replace("        V\n        W\n", "        W\n        V\n");
    assert!(errors(&format!("{owner}{backup}{reversed}")).is_empty());
}
