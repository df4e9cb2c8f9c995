//! Typed edits change only the lines they must: everything else (comments, odd spacing, tabs,
//! CRLF, a missing final newline) stays byte for byte.

use fleet_core::candidate::apply_to_text;
use fleet_core::{EditOp, Error, SectionRef};

use crate::support::SAMPLE;

/// The lines removed from `before` and added in `after`, by a line diff.
fn changes(before: &str, after: &str) -> (Vec<String>, Vec<String>) {
    let diff = similar::TextDiff::from_lines(before, after);
    let mut removed = Vec::new();
    let mut added = Vec::new();
    for change in diff.iter_all_changes() {
        match change.tag() {
            similar::ChangeTag::Delete => removed.push(change.value().to_string()),
            similar::ChangeTag::Insert => added.push(change.value().to_string()),
            similar::ChangeTag::Equal => {}
        }
    }
    (removed, added)
}

fn edit(text: &str, ops: Vec<EditOp>) -> String {
    apply_to_text(text, &ops).unwrap()
}

fn strings(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|l| l.to_string()).collect()
}

fn update_server(backend: &str, name: &str) -> EditOp {
    EditOp::UpdateServer {
        backend: backend.into(),
        name: name.into(),
        address: None,
        weight: None,
        backup: None,
        disabled: None,
        params: None,
    }
}

#[test]
fn server_weight_and_maintenance_touch_one_line_keeping_its_spacing() {
    let mut op = update_server("app", "app1");
    if let EditOp::UpdateServer { weight, disabled, .. } = &mut op {
        *weight = Some(20);
        *disabled = Some(true);
    }
    let after = edit(SAMPLE, vec![op]);
    let (removed, added) = changes(SAMPLE, &after);
    assert_eq!(removed, strings(&["    server app1 10.0.0.1:8080   check weight 10   # primary\n"]));
    assert_eq!(added, strings(&["    server app1 10.0.0.1:8080   check weight 20 disabled   # primary\n"]));
    // And back out of maintenance: the word goes, the spacing before the comment stays.
    let mut op = update_server("app", "app1");
    if let EditOp::UpdateServer { disabled, backup, .. } = &mut op {
        *disabled = Some(false);
        *backup = Some(true);
    }
    let again = edit(&after, vec![op]);
    let (_, added) = changes(&after, &again);
    assert_eq!(added, strings(&["    server app1 10.0.0.1:8080   check weight 20 backup   # primary\n"]));
}

#[test]
fn new_server_lands_after_its_siblings_with_their_indentation() {
    let op = EditOp::AddServer {
        backend: "app".into(),
        name: "app3".into(),
        address: "10.0.0.3:8080".into(),
        weight: Some(5),
        backup: false,
        disabled: false,
        params: vec!["check".into(), "inter".into(), "2s".into()],
    };
    let after = edit(SAMPLE, vec![op]);
    let (removed, added) = changes(SAMPLE, &after);
    assert!(removed.is_empty());
    assert_eq!(added, strings(&["\tserver app3 10.0.0.3:8080 check inter 2s weight 5\n"]));
    assert!(after.contains("\tserver app2 10.0.0.2:8080 check\n\tserver app3 10.0.0.3:8080 check inter 2s weight 5\n    # app3 retired\n"));
}

#[test]
fn deletes_remove_exactly_their_lines() {
    let after = edit(SAMPLE, vec![EditOp::DeleteServer { backend: "app".into(), name: "app2".into() }]);
    let (removed, added) = changes(SAMPLE, &after);
    assert_eq!(removed, strings(&["\tserver app2 10.0.0.2:8080 check\n"]));
    assert!(added.is_empty());

    let after = edit(
        SAMPLE,
        vec![EditOp::DeleteAcl { proxy: "web".into(), name: "is_api".into() }, EditOp::DeleteRule {
            proxy: "web".into(),
            keyword: "use_backend".into(),
            position: 0,
        }],
    );
    let (removed, _) = changes(SAMPLE, &after);
    assert_eq!(removed, strings(&["    acl is_api path_beg /api\n", "    use_backend api if is_api\n"]));
}

#[test]
fn directives_rules_binds_and_default_backend() {
    let ops = vec![
        EditOp::SetDirective {
            section: SectionRef { kind: "defaults".into(), name: None },
            keyword: "timeout".into(),
            args: vec!["client".into(), "60s".into()],
        },
        EditOp::SetDirective {
            section: SectionRef { kind: "global".into(), name: None },
            keyword: "maxconn".into(),
            args: vec!["8192".into()],
        },
        EditOp::AddRule {
            proxy: "web".into(),
            words: strings(&["http-request", "set-header", "X-Env", "prod"]),
            position: Some(0),
        },
        EditOp::AddBind { frontend: "web".into(), address: ":443".into(), params: strings(&["ssl", "crt", "/etc/site.pem"]) },
        EditOp::SetDefaultBackend { frontend: "web".into(), backend: Some("api".into()) },
    ];
    let after = edit(SAMPLE, ops);
    let (removed, added) = changes(SAMPLE, &after);
    assert_eq!(
        removed,
        strings(&[
            "    maxconn 4096   # raised in 2024\n",
            "    timeout client  30s\n",
            "    default_backend app\n",
        ])
    );
    assert_eq!(
        added,
        strings(&[
            "    maxconn 8192   # raised in 2024\n",
            "    timeout client  60s\n",
            "    bind :443 ssl crt /etc/site.pem\n",
            "    http-request set-header X-Env prod\n",
            "    default_backend api\n",
        ])
    );
    assert!(after.contains("    bind :80\n    bind :443 ssl crt /etc/site.pem\n    acl is_api"));
    assert!(after.contains("    http-request set-header X-Env prod\n    http-request deny if"));
}

#[test]
fn new_backend_is_appended_and_existing_text_is_untouched() {
    let ops = vec![EditOp::AddBackend {
        name: "static".into(),
        from: None,
        lines: strings(&["balance   source", "server s1 10.0.2.1:80 check"]),
    }];
    let after = edit(SAMPLE, ops);
    assert!(after.starts_with(SAMPLE));
    assert_eq!(&after[SAMPLE.len()..], "\nbackend static\n    balance   source\n    server s1 10.0.2.1:80 check\n");
    haproxy_parse::check(&after).into_result().unwrap();
}

#[test]
fn deleting_a_backend_keeps_the_comment_that_introduces_the_next_one() {
    let text = "frontend f\n    bind :80\n    default_backend b\n\nbackend a\n    server a1 10.0.0.1:80\n\n# b serves everything\nbackend b\n    server b1 10.0.0.2:80\n";
    let after = edit(text, vec![EditOp::DeleteBackend { name: "a".into() }]);
    assert_eq!(after, "frontend f\n    bind :80\n    default_backend b\n\n# b serves everything\nbackend b\n    server b1 10.0.0.2:80\n");
}

#[test]
fn crlf_and_missing_final_newline_survive_edits() {
    let text = "backend app\r\n  server a 10.0.0.1:80 # keep\r\n  server b 10.0.0.2:80";
    let op = EditOp::AddServer {
        backend: "app".into(),
        name: "c".into(),
        address: "[2001:db8::1]:80".into(),
        weight: None,
        backup: false,
        disabled: true,
        params: vec![],
    };
    let after = edit(text, vec![op]);
    assert_eq!(after, "backend app\r\n  server a 10.0.0.1:80 # keep\r\n  server b 10.0.0.2:80\r\n  server c [2001:db8::1]:80 disabled");
    let deleted = edit(&after, vec![EditOp::DeleteServer { backend: "app".into(), name: "c".into() }]);
    assert_eq!(deleted, text);
}

#[test]
fn renaming_and_rebasing_a_proxy_edits_its_header_only() {
    let text = "defaults base\n    mode http\n\nbackend app # main\n    server a 10.0.0.1:80\n";
    let op = EditOp::UpdateBackend { name: "app".into(), rename: Some("main".into()), from: Some("base".into()) };
    let after = edit(text, vec![op]);
    assert_eq!(after, "defaults base\n    mode http\n\nbackend main from base # main\n    server a 10.0.0.1:80\n");
}

#[test]
fn values_that_need_quoting_are_quoted() {
    let op = EditOp::AddRule {
        proxy: "web".into(),
        words: strings(&["http-request", "set-header", "X-Note", "a b#c"]),
        position: None,
    };
    let after = edit(SAMPLE, vec![op]);
    let parsed = haproxy_parse::parse(&after);
    let section = parsed.document.section(&haproxy_model::SectionKind::Frontend, "web").unwrap();
    let rule = section.statements("http-request").last().unwrap().1;
    assert_eq!(rule.value(3).as_deref(), Some("a b#c"));
}

#[test]
fn invalid_ops_say_which_and_why() {
    let cases: Vec<(EditOp, &str)> = vec![
        (EditOp::DeleteServer { backend: "app".into(), name: "ghost".into() }, "op 0 (delete_server): server \"ghost\" not found in backend \"app\""),
        (update_server("app", "ghost"), "op 0 (update_server): nothing to change"),
        (EditOp::DeleteBackend { name: "nope".into() }, "op 0 (delete_backend): backend \"nope\" not found"),
        (
            EditOp::AddBackend { name: "app".into(), from: None, lines: vec![] },
            "op 0 (add_backend): backend \"app\" already exists",
        ),
        (
            EditOp::AddBackend { name: "x".into(), from: Some("missing".into()), lines: vec![] },
            "op 0 (add_backend): defaults \"missing\" not found",
        ),
        (
            EditOp::AddRule { proxy: "web".into(), words: strings(&["http-request", "deny"]), position: Some(5) },
            "op 0 (add_rule): position 5 is out of range: frontend \"web\" has 1 \"http-request\" rules",
        ),
        (
            EditOp::AddRule { proxy: "web".into(), words: strings(&["balance", "source"]), position: None },
            "op 0 (add_rule): \"balance\" is not a rule keyword (one of http-request, http-response, \
             http-after-response, tcp-request, tcp-response, redirect, use_backend, default_backend, use-server, \
             stick); use set_directive",
        ),
        (
            EditOp::DeleteRule { proxy: "web".into(), keyword: "use_backend".into(), position: 1 },
            "op 0 (delete_rule): position 1 is out of range: frontend \"web\" has 1 \"use_backend\" rules",
        ),
        (
            EditOp::AddAcl { proxy: "web".into(), name: "x".into(), words: strings(&["path", "a\nb"]) },
            "op 0 (add_acl): value \"a\\nb\" contains a line break or NUL",
        ),
        (
            EditOp::SetDefaultBackend { frontend: "app".into(), backend: Some("api".into()) },
            "op 0 (set_default_backend): frontend \"app\" not found",
        ),
    ];
    for (op, expected) in cases {
        match apply_to_text(SAMPLE, &[op]) {
            Err(Error::Invalid { message, .. }) => assert_eq!(message, expected),
            other => panic!("expected {expected:?}, got {other:?}"),
        }
    }
}

#[test]
fn ops_round_trip_through_json() {
    let op = EditOp::UpdateServer {
        backend: "app".into(),
        name: "app1".into(),
        address: None,
        weight: Some(3),
        backup: None,
        disabled: Some(true),
        params: None,
    };
    let json = serde_json::to_string(&op).unwrap();
    assert_eq!(json, r#"{"op":"update_server","backend":"app","name":"app1","weight":3,"disabled":true}"#);
    let back: EditOp = serde_json::from_str(&json).unwrap();
    assert_eq!(back, op);
    let parsed: EditOp = serde_json::from_str(r#"{"op":"delete_backend","name":"x"}"#).unwrap();
    assert_eq!(parsed, EditOp::DeleteBackend { name: "x".into() });
}

#[test]
fn sections_that_are_not_proxies_are_added_and_deleted_whole() {
    let text = "global\n    maxconn 100\n\ndefaults base\n    mode http\n\n# what every proxy inherits\ndefaults\n    timeout client 5s\n\nbackend app\n    server a 10.0.0.1:80\n\nuserlist ops   # admins\n    user a insecure-password x\n\n# the end\n";
    let defaults = |name: &str| SectionRef { kind: "defaults".into(), name: Some(name.into()) };
    // A new defaults section sits before the last one (and the comment introducing it): no
    // proxy changes what it inherits.
    let op = EditOp::AddSection { section: defaults("tcp"), from: Some("base".into()), lines: strings(&["mode tcp"]) };
    let after = edit(text, vec![op.clone()]);
    assert_eq!(after, text.replace("# what every", "defaults tcp from base\n    mode tcp\n\n# what every"));
    haproxy_parse::check(&after).into_result().unwrap();
    let json = serde_json::to_string(&op).unwrap();
    assert_eq!(json, r#"{"op":"add_section","section":{"kind":"defaults","name":"tcp"},"from":"base","lines":["mode tcp"]}"#);
    assert_eq!(serde_json::from_str::<EditOp>(&json).unwrap(), op);
    // Deleting it gives the text back; other kinds go at the end and come back out whole.
    assert_eq!(edit(&after, vec![EditOp::DeleteSection { section: defaults("tcp") }]), text);
    let userlist = SectionRef { kind: "userlist".into(), name: Some("more".into()) };
    let after = edit(text, vec![EditOp::AddSection { section: userlist.clone(), from: None, lines: strings(&["group g"]) }]);
    assert_eq!(after, format!("{text}\nuserlist more\n    group g\n"));
    // Exactly its lines go (the blank line the add wrote before it is the previous section's).
    assert_eq!(edit(&after, vec![EditOp::DeleteSection { section: userlist }]), format!("{text}\n"));
    let ops = edit(text, vec![EditOp::DeleteSection { section: SectionRef { kind: "userlist".into(), name: Some("ops".into()) } }]);
    assert_eq!(ops, text.replace("userlist ops   # admins\n    user a insecure-password x\n\n", ""));

    let cases: Vec<(EditOp, &str)> = vec![
        (EditOp::AddSection { section: defaults("base"), from: None, lines: vec![] }, "op 0 (add_section): defaults \"base\" already exists"),
        (EditOp::AddSection { section: defaults("a/b"), from: None, lines: vec![] }, "op 0 (add_section): invalid defaults name \"a/b\": character '/' is not permitted"),
        (
            EditOp::AddSection { section: SectionRef { kind: "backend".into(), name: Some("x".into()) }, from: None, lines: vec![] },
            "op 0 (add_section): backend sections are added and deleted with the backend ops",
        ),
        (
            EditOp::AddSection { section: SectionRef { kind: "userlist".into(), name: Some("u".into()) }, from: Some("base".into()), lines: vec![] },
            "op 0 (add_section): from is only for defaults sections, not userlist",
        ),
        (EditOp::DeleteSection { section: defaults("nope") }, "op 0 (delete_section): defaults \"nope\" not found"),
    ];
    for (op, expected) in cases {
        match apply_to_text(text, &[op]) {
            Err(Error::Invalid { message, .. }) => assert_eq!(message, expected),
            other => panic!("expected {expected:?}, got {other:?}"),
        }
    }
    let inherited = "defaults base\n    mode http\n\nbackend app from base\n";
    match apply_to_text(inherited, &[EditOp::DeleteSection { section: defaults("base") }]) {
        Err(Error::Invalid { message, .. }) => assert_eq!(message, "op 0 (delete_section): defaults \"base\" is inherited by backend \"app\" (from base): change that first"),
        other => panic!("a defaults section in use is kept, got {other:?}"),
    }
}
