//! Traffic rules (issue 21): every kind renders a configuration the offline check and the real
//! `haproxy -c` accept; in the store (both databases) a rule change is one version, editing a
//! rule rewrites only its region, an entries change touches only its list file, and with every
//! rule removed the text is the operator's again, byte for byte.

use fleet_core::bundle::{Bundle, BundleFile, BundlePath, FileKind};
use fleet_core::candidate::{check_bundle, haproxy_check_bundle};
use fleet_core::haproxy_check::HaproxyChecker;
use fleet_core::rules::{with_rules, without_rules, Rule, RuleHits};
use fleet_core::{Actor, ClusterSettings, Error, Role};
use serde_json::json;

use crate::support::Harness;

crate::store_tests!(rules_make_versions_and_leave_the_text_as_it_was, rule_hits_keep_each_nodes_latest_reading);

/// The operator's text, with a comment and a tab (HAProxy 2.6 refuses a file without a final newline).
const TEXT: &str = "global\n    log stderr local0 notice\n\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\n\
    frontend fe\n    bind 127.0.0.1:18081\n    # operator's own rule\n    http-request return status 200 content-type text/plain string ok if { path /ok }\n\tdefault_backend app\n\n\
    frontend api\n    bind 127.0.0.1:18082\n    default_backend app\n\nbackend app\n    server s1 127.0.0.1:9\n";

fn rule(value: serde_json::Value) -> Rule {
    serde_json::from_value(value).unwrap()
}

fn every_kind() -> Vec<Rule> {
    vec![
        rule(json!({"name":"rl","kind":"rate_limit","frontends":["fe"],"limit":10,"period_seconds":10,"deny_status":429})),
        rule(json!({"name":"rl_key","kind":"rate_limit","frontends":["fe"],"limit":5,"period_seconds":60,"header":"X-Api-Key","tarpit":true,"bypass":["10.0.0.0/8","::1"]})),
        rule(json!({"name":"rl_cookie","kind":"rate_limit","frontends":["api"],"limit":5,"period_seconds":1,"cookie":"sid"})),
        rule(json!({"name":"deny","kind":"ip_deny","entries":["127.0.0.2","2001:db8::/32"],"priority":1})),
        rule(json!({"name":"allow","kind":"ip_allow","frontends":["api"],"entries":["127.0.0.0/8","::1"]})),
        rule(json!({"name":"geo","kind":"geo_block","frontends":["fe"],"entries":["ZZ"]})),
        rule(json!({"name":"geo_in","kind":"geo_allow","frontends":["api"],"entries":["FR","--"],"deny_status":403})),
        rule(json!({"name":"debug","kind":"header_filter","header":"X-Debug","match":"present","dry_run":true})),
        rule(json!({"name":"env","kind":"header_filter","header":"X-Env","match":"regex","pattern":"^(dev|test) env$","action":"redirect","location":"https://example.com/"})),
        rule(json!({"name":"hdr_pre","kind":"header_filter","header":"X-Token","match":"prefix","pattern":"bad ","deny_status":400})),
        rule(json!({"name":"admin","kind":"path_filter","match":"prefix","patterns":["/admin","/.git"]})),
        rule(json!({"name":"php","kind":"path_filter","match":"regex","patterns":["\\.php$"]})),
        rule(json!({"name":"methods","kind":"method_allow","methods":["GET","HEAD","POST"]})),
        rule(json!({"name":"body","kind":"body_size_limit","max_bytes":1024})),
        rule(json!({"name":"ua","kind":"user_agent_block","patterns":["sqlmap","nikto scanner"]})),
        rule(json!({"name":"raw","kind":"custom","frontends":["fe"],"lines":["http-request deny deny_status 404 if { path /custom }"]})),
    ]
}

fn bundle() -> Bundle {
    Bundle::new(vec![
        BundleFile::new(BundlePath::new("haproxy.cfg").unwrap(), FileKind::Config, TEXT.as_bytes().to_vec()),
        BundleFile::new(BundlePath::new("geo/countries.map").unwrap(), FileKind::Map, b"127.0.0.4/32 ZZ\n10.0.0.0/8 FR\n".to_vec()),
    ])
    .unwrap()
}

#[test]
fn every_kind_renders_a_configuration_haproxy_accepts() {
    let settings = ClusterSettings::default();
    let rules = every_kind();
    let rendered = with_rules(&bundle(), &rules).unwrap();
    let offline: Vec<_> = check_bundle(&rendered, &settings).into_iter().filter(|d| d.is_error()).collect();
    assert!(offline.is_empty(), "the offline check refuses the rendered rules: {offline:?}\n{}", rendered.text());
    if let Some(bin) = fleet_tests::haproxy_check_bin() {
        let verdict = haproxy_check_bundle(&rendered, &settings, &HaproxyChecker::new(bin)).unwrap();
        assert!(!verdict.has_errors(), "haproxy -c refuses the rendered rules: {}\n{}", verdict.message("haproxy.cfg"), rendered.text());
        // Each kind alone, too (a rule's lines must not lean on another's).
        for one in &rules {
            let alone = with_rules(&bundle(), std::slice::from_ref(one)).unwrap();
            let verdict = haproxy_check_bundle(&alone, &settings, &HaproxyChecker::new(fleet_tests::haproxy_check_bin().unwrap())).unwrap();
            assert!(!verdict.has_errors(), "{}: {}\n{}", one.name, verdict.message("haproxy.cfg"), alone.text());
        }
    }
    assert_eq!(without_rules(rendered.text()), TEXT);
    assert_eq!(with_rules(&rendered, &[]).unwrap(), bundle());
}

async fn rules_make_versions_and_leave_the_text_as_it_was(h: Harness) {
    let s = &h.store;
    let actor = Actor::new("alice", Role::Operator);
    let pool = s.create_pool("admin", "prod", "").await.unwrap();
    let cluster = s.create_cluster("admin", "edge", pool.id, ClusterSettings::default()).await.unwrap().id;
    let none = s.create_rule(actor, cluster, &every_kind()[3]).await;
    assert!(matches!(none, Err(Error::Conflict(_))), "no version yet: {none:?}");
    let v1 = s.import_bundle(actor, cluster, &bundle(), "v1").await.unwrap().version.number;

    let mut number = v1;
    for one in every_kind() {
        let change = s.create_rule(actor, cluster, &one).await.unwrap();
        number += 1;
        assert_eq!(change.committed.version.number, number, "one version per rule");
    }
    assert_eq!(s.rules(cluster).await.unwrap().first().unwrap().name, "deny", "priority 1 first");
    let dup = s.create_rule(actor, cluster, &every_kind()[0]).await;
    assert!(matches!(dup, Err(Error::Conflict(_))), "{dup:?}");
    let bad = s.create_rule(actor, cluster, &rule(json!({"name":"x","kind":"ip_deny","frontends":["nope"],"entries":[]}))).await;
    assert!(matches!(bad, Err(Error::Invalid { .. })), "{bad:?}");

    // An update rewrites only that rule's lines.
    let before = s.bundle(cluster, number).await.unwrap();
    let mut changed = every_kind().remove(0);
    if let fleet_core::rules::RuleKind::RateLimit(r) = &mut changed.kind {
        r.limit = 20;
    }
    s.update_rule(actor, cluster, "rl", &changed).await.unwrap();
    number += 1;
    let after = s.bundle(cluster, number).await.unwrap();
    let diff: Vec<_> = before.text().lines().zip(after.text().lines()).filter(|(a, b)| a != b).collect();
    assert_eq!(diff, vec![("    acl fleet_rule_rl sc_http_req_rate(0) gt 10", "    acl fleet_rule_rl sc_http_req_rate(0) gt 20")]);

    // Entries: only the list file changes.
    let change = s.rule_entries(actor, cluster, "deny", &["127.0.0.3".into()], &["2001:db8::/32".into()]).await.unwrap();
    assert_eq!(change.rule.unwrap().entries().unwrap(), ["127.0.0.2", "127.0.0.3"]);
    number += 1;
    let entries = s.bundle(cluster, number).await.unwrap();
    assert_eq!(entries.text(), after.text());
    let list = BundlePath::new("fleet-rules/deny.acl").unwrap();
    assert_eq!(entries.file(&list).unwrap().content, b"127.0.0.2\n127.0.0.3\n");
    let refused = s.rule_entries(actor, cluster, "methods", &["x".into()], &[]).await;
    assert!(matches!(refused, Err(Error::Invalid { .. })), "{refused:?}");
    assert!(matches!(s.rule(cluster, "nope").await, Err(Error::NotFound(_))));

    // Every rule removed: the operator's bundle again, byte for byte.
    for one in every_kind() {
        s.delete_rule(actor, cluster, &one.name).await.unwrap();
    }
    let last = s.latest_version(cluster).await.unwrap().unwrap().info.number;
    assert_eq!(s.bundle(cluster, last).await.unwrap(), bundle());
    assert!(s.rules(cluster).await.unwrap().is_empty());
}

/// Rule hits: each agent's latest reading per rule, replaced whole by its next heartbeat's,
/// served by agent name with the time it was received; 404 for an unknown rule.
async fn rule_hits_keep_each_nodes_latest_reading(h: Harness) {
    let s = &h.store;
    let actor = Actor::new("alice", Role::Operator);
    let pool = s.create_pool("admin", "prod", "").await.unwrap();
    let cluster = s.create_cluster("admin", "edge", pool.id, ClusterSettings::default()).await.unwrap().id;
    s.import_bundle(actor, cluster, &bundle(), "v1").await.unwrap();
    s.create_rule(actor, cluster, &every_kind()[0]).await.unwrap();
    let mut agents = Vec::new();
    for name in ["node-b", "node-a"] {
        let (_, secret) = s.create_enrolment("admin", cluster, name, vec![], 60_000).await.unwrap();
        agents.push(s.enrol(&secret, None, "host", json!({})).await.unwrap().0.id);
    }
    let reading = |rule: &str, tracked, over_limit, max_rate| RuleHits { rule: rule.into(), tracked, over_limit, max_rate };
    assert!(s.rule_hits(cluster, "rl").await.unwrap().is_empty(), "nothing measured yet");
    s.heartbeat(agents[0], fleet_core::wire::Heartbeat { rule_hits: Some(vec![reading("rl", 3, 1, 11), reading("gone", 1, 0, 1)]), ..Default::default() }).await.unwrap();
    let first = s.now();
    h.clock.advance(5_000);
    s.heartbeat(agents[1], fleet_core::wire::Heartbeat { rule_hits: Some(vec![reading("rl", 2, 0, 4)]), ..Default::default() }).await.unwrap();
    let shown = s.rule_hits(cluster, "rl").await.unwrap();
    let seen: Vec<_> = shown.iter().map(|n| (n.agent.as_str(), n.hits.tracked, n.hits.over_limit, n.hits.max_rate, n.measured_at)).collect();
    assert_eq!(seen, [("node-a", 2, 0, 4, first + 5_000), ("node-b", 3, 1, 11, first)], "by agent name");
    // The next reading replaces the agent's previous ones, a u64 beyond i64 is clamped.
    s.heartbeat(agents[0], fleet_core::wire::Heartbeat { rule_hits: Some(vec![reading("rl", u64::MAX, 0, 0)]), ..Default::default() }).await.unwrap();
    let shown = s.rule_hits(cluster, "rl").await.unwrap();
    assert_eq!(shown[1].hits.tracked, i64::MAX as u64);
    assert_eq!(shown[1].measured_at, first + 5_000);
    assert!(matches!(s.rule_hits(cluster, "gone").await, Err(Error::NotFound(_))), "not a rule of the cluster");
}
