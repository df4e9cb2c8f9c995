//! The store's behaviour, identical on SQLite and PostgreSQL.

use fleet_core::{
    AgentReport, ApplyOutcome, AuditFilter, ClusterSettings, EditOp, Error, Role, TransactionState,
};

use crate::support::{beat, Harness, SAMPLE};

/// `name` acting as an operator (configurations without privileged directives need no more).
fn op(name: &str) -> fleet_core::Actor<'_> {
    fleet_core::Actor::new(name, fleet_core::Role::Operator)
}

crate::store_tests!(
    pools_and_clusters,
    import_stores_exact_bytes_and_rejects_errors,
    replace_requires_the_latest_version,
    transaction_lifecycle,
    invalid_ops_name_their_index,
    commit_runs_the_offline_check,
    losing_transaction_becomes_outdated,
    restore_makes_a_new_version,
    apply_enrol_report_status,
    reports_and_heartbeats_at_once_are_each_recorded,
    enrolment_rules,
    users_sessions_and_tokens,
    every_change_is_audited,
    sqlite_runs_in_wal_mode,
    documents_are_parsed_once_per_version,
);

async fn cluster(h: &Harness) -> i64 {
    let pool = h.store.create_pool("admin", "prod", "production").await.unwrap();
    h.store.create_cluster("admin", "edge", pool.id, ClusterSettings::default()).await.unwrap().id
}

async fn pools_and_clusters(h: Harness) {
    let s = &h.store;
    let pool = s.create_pool("admin", "prod", "production").await.unwrap();
    assert!(matches!(s.create_pool("admin", "prod", "again").await, Err(Error::Conflict(_))));
    assert!(matches!(s.create_pool("admin", "bad name", "").await, Err(Error::Invalid { .. })));
    let c = s.create_cluster("admin", "edge", pool.id, ClusterSettings::default()).await.unwrap();
    assert_eq!(c.settings.config_path, "/etc/haproxy/haproxy.cfg");
    assert!(matches!(s.create_cluster("admin", "edge", pool.id, ClusterSettings::default()).await, Err(Error::Conflict(_))));
    assert!(matches!(s.create_cluster("admin", "x", 12345, ClusterSettings::default()).await, Err(Error::NotFound(_))));
    assert_eq!(s.cluster(c.id).await.unwrap(), c);
    assert_eq!(s.cluster_by_name("edge").await.unwrap().id, c.id);
    assert_eq!(s.clusters(Some(pool.id)).await.unwrap(), vec![c.clone()]);
    assert_eq!(s.pools().await.unwrap(), vec![pool.clone()]);
    assert!(matches!(s.cluster(999).await, Err(Error::NotFound(m)) if m == "cluster 999"));
    assert!(matches!(s.delete_pool("admin", pool.id, false).await, Err(Error::Conflict(_))));
    let settings = ClusterSettings {
        config_path: "/srv/haproxy.cfg".into(),
        reload_mode: fleet_core::ReloadMode::Systemd,
        ..ClusterSettings::default()
    };
    let updated = s.update_cluster_settings(op("admin"), c.id, settings.clone()).await.unwrap();
    assert_eq!(updated.settings, settings);
    let empty = s.create_pool("admin", "empty", "").await.unwrap();
    s.delete_pool("admin", empty.id, false).await.unwrap();
    assert!(matches!(s.pool_by_id(empty.id).await, Err(Error::NotFound(_))));
}

async fn import_stores_exact_bytes_and_rejects_errors(h: Harness) {
    let s = &h.store;
    let id = cluster(&h).await;
    assert_eq!(s.latest_version(id).await.unwrap(), None);
    let crlf = SAMPLE.replace('\n', "\r\n") + "# crlf, tab:\t, trailing blanks   \r\n";
    let v1 = s.import(op("alice"), id, SAMPLE, "initial").await.unwrap();
    assert_eq!(v1.version.number, 1);
    assert_eq!(v1.version.parent, None);
    h.clock.advance(1000);
    let v2 = s.import(op("alice"), id, &crlf, "crlf").await.unwrap();
    assert_eq!((v2.version.number, v2.version.parent), (2, Some(1)));
    assert_eq!(v2.version.created_at, crate::support::T0 + 1000);
    let latest = s.latest_version(id).await.unwrap().unwrap();
    assert_eq!(latest.text, crlf);
    assert_eq!(latest.info.sha256, fleet_core::secret::sha256_hex(crlf.as_bytes()));
    assert_eq!(s.version(id, 1).await.unwrap().text, SAMPLE);

    let broken = "frontend web\n    bind :80\n    server \"unterminated\n";
    match s.import(op("alice"), id, broken, "broken").await {
        Err(Error::Invalid { message, diagnostics }) => {
            assert!(message.starts_with("configuration has"), "{message}");
            assert!(diagnostics.iter().any(|d| d.is_error() && d.position.line == 3), "{diagnostics:?}");
        }
        other => panic!("expected invalid, got {other:?}"),
    }
    assert_eq!(s.versions(id).await.unwrap().len(), 2);
    assert!(matches!(s.import(op("alice"), 4242, SAMPLE, "").await, Err(Error::NotFound(_))));
}

async fn replace_requires_the_latest_version(h: Harness) {
    let s = &h.store;
    let id = cluster(&h).await;
    let first = s.replace(op("bob"), id, 0, SAMPLE, "first").await.unwrap();
    assert_eq!(first.version.number, 1);
    let text2 = SAMPLE.replace("maxconn 4096", "maxconn 8192");
    assert_eq!(s.replace(op("bob"), id, 1, &text2, "more").await.unwrap().version.number, 2);
    match s.replace(op("bob"), id, 1, SAMPLE, "stale").await {
        Err(Error::Outdated { base: 1, latest: 2 }) => {}
        other => panic!("expected outdated, got {other:?}"),
    }
    assert_eq!(s.latest_version(id).await.unwrap().unwrap().text, text2);
}

async fn transaction_lifecycle(h: Harness) {
    let s = &h.store;
    let id = cluster(&h).await;
    s.import(op("alice"), id, SAMPLE, "initial").await.unwrap();
    assert!(matches!(s.begin("alice", id, 0).await, Err(Error::Outdated { base: 0, latest: 1 })));
    assert!(matches!(s.begin("alice", id, 2).await, Err(Error::Outdated { base: 2, latest: 1 })));
    let tx = s.begin("alice", id, 1).await.unwrap();
    assert_eq!(tx.state, TransactionState::Open);
    let ops = vec![
        EditOp::UpdateServer {
            backend: "app".into(),
            name: "app2".into(),
            address: None,
            weight: Some(5),
            backup: None,
            disabled: Some(true),
            params: None,
        },
        EditOp::AddServer {
            backend: "api".into(),
            name: "api2".into(),
            address: "10.0.1.2:9000".into(),
            weight: None,
            backup: true,
            disabled: false,
            params: vec!["check".into()],
        },
    ];
    let staged = s.stage("alice", tx.id, ops.clone()).await.unwrap();
    assert_eq!(staged.ops, ops);
    assert_eq!(s.transaction(tx.id).await.unwrap().ops, ops);
    assert_eq!(s.open_transactions(id).await.unwrap().len(), 1);
    assert!(matches!(s.open_transactions(999_999).await, Err(Error::NotFound(_))), "no such cluster is not an empty list");
    let preview = s.preview(tx.id).await.unwrap();
    assert!(preview.text.contains("\tserver app2 10.0.0.2:8080 check weight 5 disabled\n"), "{}", preview.text);
    assert!(preview.text.contains("    server api2 10.0.1.2:9000 check backup\n"), "{}", preview.text);
    let committed = s.commit(op("alice"), tx.id, "tune servers").await.unwrap();
    assert_eq!(committed.version.number, 2);
    assert_eq!(committed.version.message, "tune servers");
    assert_eq!(s.latest_version(id).await.unwrap().unwrap().text, preview.text);
    let done = s.transaction(tx.id).await.unwrap();
    assert_eq!((done.state, done.committed_version), (TransactionState::Committed, Some(2)));
    assert!(matches!(s.commit(op("alice"), tx.id, "again").await, Err(Error::Conflict(_))));
    assert!(matches!(s.stage("alice", tx.id, vec![]).await, Err(Error::Conflict(_))));

    let tx2 = s.begin("alice", id, 2).await.unwrap();
    s.discard("alice", tx2.id).await.unwrap();
    assert_eq!(s.transaction(tx2.id).await.unwrap().state, TransactionState::Discarded);
    assert!(matches!(s.discard("alice", tx2.id).await, Err(Error::Conflict(_))));
    assert!(matches!(s.transaction(77).await, Err(Error::NotFound(_))));

    // A transaction on a cluster without versions starts from the empty text.
    let pool = s.pools().await.unwrap()[0].id;
    let fresh = s.create_cluster("alice", "fresh", pool, ClusterSettings::default()).await.unwrap().id;
    let tx3 = s.begin("alice", fresh, 0).await.unwrap();
    s.stage("alice", tx3.id, vec![EditOp::ReplaceText { text: SAMPLE.into() }]).await.unwrap();
    assert_eq!(s.commit(op("alice"), tx3.id, "seed").await.unwrap().version.number, 1);
    assert_eq!(s.latest_version(fresh).await.unwrap().unwrap().text, SAMPLE);
}

async fn invalid_ops_name_their_index(h: Harness) {
    let s = &h.store;
    let id = cluster(&h).await;
    s.import(op("alice"), id, SAMPLE, "initial").await.unwrap();
    let tx = s.begin("alice", id, 1).await.unwrap();
    s.stage("alice", tx.id, vec![EditOp::DeleteServer { backend: "app".into(), name: "app1".into() }]).await.unwrap();
    let bad = vec![
        EditOp::SetDefaultBackend { frontend: "web".into(), backend: Some("api".into()) },
        EditOp::AddServer {
            backend: "nope".into(),
            name: "x".into(),
            address: "10.0.0.9:80".into(),
            weight: None,
            backup: false,
            disabled: false,
            params: vec![],
        },
    ];
    match s.stage("alice", tx.id, bad).await {
        Err(Error::Invalid { message, .. }) => {
            assert_eq!(message, "op 2 (add_server): backend \"nope\" not found");
        }
        other => panic!("expected invalid, got {other:?}"),
    }
    // Nothing of the failed batch was staged.
    assert_eq!(s.transaction(tx.id).await.unwrap().ops.len(), 1);
}

async fn commit_runs_the_offline_check(h: Harness) {
    let s = &h.store;
    let id = cluster(&h).await;
    s.import(op("alice"), id, SAMPLE, "initial").await.unwrap();
    let tx = s.begin("alice", id, 1).await.unwrap();
    // Syntactically fine op, but the result does not parse: an unterminated quote.
    let broken = SAMPLE.replace("maxconn 4096", "maxconn \"4096");
    s.stage("alice", tx.id, vec![EditOp::ReplaceText { text: SAMPLE.into() }]).await.unwrap();
    assert!(matches!(
        s.stage("alice", tx.id, vec![EditOp::ReplaceText { text: broken }]).await,
        Err(Error::Invalid { message, diagnostics }) if message.starts_with("op 1 (replace_text)") && !diagnostics.is_empty()
    ));
    // Deleting the backend the frontend uses leaves dangling references: the check blocks the commit.
    s.stage("alice", tx.id, vec![EditOp::DeleteBackend { name: "api".into() }]).await.unwrap();
    let preview = s.preview(tx.id).await.unwrap();
    assert!(!preview.text.contains("\nbackend api"));
    match s.commit(op("alice"), tx.id, "oops").await {
        Err(Error::Invalid { diagnostics, .. }) => assert!(diagnostics.iter().any(|d| d.is_error())),
        other => panic!("expected the offline check to block the commit, got {other:?}"),
    }
    assert_eq!(s.transaction(tx.id).await.unwrap().state, TransactionState::Open);
    assert_eq!(s.versions(id).await.unwrap().len(), 1);
}

async fn losing_transaction_becomes_outdated(h: Harness) {
    let s = &h.store;
    let id = cluster(&h).await;
    s.import(op("alice"), id, SAMPLE, "initial").await.unwrap();
    let a = s.begin("alice", id, 1).await.unwrap();
    let b = s.begin("bob", id, 1).await.unwrap();
    let weight = |w| EditOp::UpdateServer {
        backend: "app".into(),
        name: "app1".into(),
        address: None,
        weight: Some(w),
        backup: None,
        disabled: None,
        params: None,
    };
    s.stage("alice", a.id, vec![weight(20)]).await.unwrap();
    s.stage("bob", b.id, vec![weight(30)]).await.unwrap();
    assert_eq!(s.commit(op("alice"), a.id, "a").await.unwrap().version.number, 2);
    match s.commit(op("bob"), b.id, "b").await {
        Err(Error::Outdated { .. }) | Err(Error::Conflict(_)) => {}
        other => panic!("expected outdated, got {other:?}"),
    }
    assert_eq!(s.transaction(b.id).await.unwrap().state, TransactionState::Outdated);
    assert!(matches!(s.stage("bob", b.id, vec![weight(1)]).await, Err(Error::Outdated { base: 1, latest: 2 })));
    assert!(s.latest_version(id).await.unwrap().unwrap().text.contains("weight 20"));
}

async fn restore_makes_a_new_version(h: Harness) {
    let s = &h.store;
    let id = cluster(&h).await;
    s.import(op("alice"), id, SAMPLE, "v1").await.unwrap();
    s.replace(op("alice"), id, 1, &SAMPLE.replace("daemon", "nbthread 4"), "v2").await.unwrap();
    let restored = s.restore(op("carol"), id, 1, "").await.unwrap();
    assert_eq!((restored.version.number, restored.version.parent), (3, Some(2)));
    assert_eq!(restored.version.message, "restore version 1");
    assert_eq!(restored.version.author, "carol");
    assert_eq!(s.latest_version(id).await.unwrap().unwrap().text, SAMPLE);
    assert_eq!(s.version(id, 3).await.unwrap().info.sha256, s.version(id, 1).await.unwrap().info.sha256);
    assert!(matches!(s.restore(op("carol"), id, 9, "").await, Err(Error::NotFound(_))));
    let diff = s.diff_versions(id, 2, Some(1)).await.unwrap();
    assert!(diff.config.unified.contains("-    daemon\n") && diff.config.unified.contains("+    nbthread 4\n"), "{}", diff.config.unified);
    assert!(!diff.config.summary.is_empty());
    assert_eq!(s.diff_versions(id, 2, None).await.unwrap(), diff, "the default is the version before");
    assert!(s.diff_versions(id, 3, Some(1)).await.unwrap().is_empty());
    let from_nothing = s.diff_versions(id, 1, None).await.unwrap();
    assert!(from_nothing.config.unified.starts_with("--- version 0\n+++ version 1\n"), "{}", from_nothing.config.unified);
    assert!(matches!(s.diff_versions(id, 2, Some(8)).await, Err(Error::NotFound(_))));
    assert!(matches!(s.diff_versions(id, i64::MIN, None).await, Err(Error::NotFound(_))));
    let numbers: Vec<i64> = s.versions(id).await.unwrap().iter().map(|v| v.number).collect();
    assert_eq!(numbers, vec![1, 2, 3]);
}

async fn apply_enrol_report_status(h: Harness) {
    let s = &h.store;
    let id = cluster(&h).await;
    s.import(op("alice"), id, SAMPLE, "v1").await.unwrap();
    assert_eq!(s.desired_version(id).await.unwrap(), None);
    assert!(matches!(s.apply("alice", id, 2).await, Err(Error::NotFound(_))));
    s.apply("alice", id, 1).await.unwrap();
    assert_eq!(s.desired_version(id).await.unwrap().unwrap().text, SAMPLE);
    let (_, secret) = s.create_enrolment("alice", id, "node-1", vec![], 60_000).await.unwrap();
    let (agent, token) =
        s.enrol(&secret, Some("192.0.2.10".parse().unwrap()), "lb1.example", serde_json::json!({"haproxy": "2.6"})).await.unwrap();
    assert_eq!((agent.name.as_str(), agent.cluster_id), ("node-1", id));
    assert_eq!(s.agent_by_token(&token).await.unwrap().id, agent.id);
    assert!(matches!(s.agent_by_token("fg_wrong").await, Err(Error::Unauthorized)));
    h.clock.advance(5_000);
    s.heartbeat(agent.id, beat(None, None)).await.unwrap();
    let report = AgentReport::applied(1);
    let after = s.report(agent.id, &report).await.unwrap();
    assert_eq!(after.applied_version, Some(1));
    assert_eq!(after.last_seen_at, Some(crate::support::T0 + 5_000));
    let failed = AgentReport::failed(1, ApplyOutcome::ReloadFailed, "bind failed");
    s.report(agent.id, &failed).await.unwrap();
    let status = s.status(id).await.unwrap();
    assert_eq!(status.desired_version, Some(1));
    assert_eq!(status.agents.len(), 1);
    assert_eq!(status.agents[0].applied_version, Some(1));
    assert_eq!(status.agents[0].last_outcome, Some(ApplyOutcome::ReloadFailed));
    assert_eq!(status.agents[0].last_error.as_deref(), Some("bind failed"));
    assert_eq!(status.agents[0].facts["haproxy"], "2.6");
    assert!(status.agents[0].last_diagnostics.is_empty());
    let bad = AgentReport::applied(7);
    assert!(matches!(s.report(agent.id, &bad).await, Err(Error::NotFound(_))));
    // HAProxy's alerts, located in the version's text, come back through the status.
    let alert = haproxy_model::Diagnostic::error(haproxy_model::Position::new(3, 5), "haproxy: unknown keyword 'x'");
    let rejected = AgentReport { diagnostics: vec![alert.clone()], ..AgentReport::failed(1, ApplyOutcome::Rejected, "[ALERT] ...") };
    s.report(agent.id, &rejected).await.unwrap();
    let node = AgentReport::failed(1, ApplyOutcome::NodeError, "cannot write /etc/haproxy/haproxy.cfg.fleet-new: No space left on device");
    let status = s.status(id).await.unwrap();
    assert_eq!(status.agents[0].last_diagnostics, vec![alert]);
    s.report(agent.id, &node).await.unwrap();
    let status = s.status(id).await.unwrap();
    assert_eq!(status.agents[0].last_outcome, Some(ApplyOutcome::NodeError));
    assert!(status.agents[0].last_diagnostics.is_empty(), "each report replaces the last one's alerts");
}

/// Many agents reporting and heartbeating at the same moment (as after an apply) share
/// transactions ([`fleet_core::Store::report`] batches them): every report is recorded and
/// audited as its own, and a report of a version that does not exist is refused alone.
async fn reports_and_heartbeats_at_once_are_each_recorded(h: Harness) {
    let s = &h.store;
    let id = cluster(&h).await;
    s.import(op("alice"), id, SAMPLE, "v1").await.unwrap();
    s.apply("alice", id, 1).await.unwrap();
    let mut agents = Vec::new();
    for n in 0..60 {
        let (_, secret) = s.create_enrolment("alice", id, &format!("n{n}"), vec![], 60_000).await.unwrap();
        let (agent, token) = s.enrol(&secret, None, "host", serde_json::json!({})).await.unwrap();
        agents.push((agent.id, token));
    }
    // Every 10th agent reports a version its cluster does not have; every 10th (another one)
    // a rejection, which keeps its applied version; every 10th presents a wrong token too.
    let mut joins = Vec::new();
    for (n, (agent, token)) in agents.iter().cloned().enumerate() {
        let s = s.clone();
        joins.push(tokio::spawn(async move {
            let report: AgentReport = match n % 10 {
                3 => AgentReport::applied(9),
                5 => serde_json::from_value(serde_json::json!({"version": 1, "outcome": "rejected", "error": "no"})).unwrap(),
                _ => AgentReport::applied(1),
            };
            let first = s.heartbeat(agent, beat(Some(serde_json::json!({"node": n})), Some(5)));
            // A second heartbeat at once (a retried request) may land in the same batch.
            let again = s.heartbeat(agent, beat(None, Some(5)));
            let wrong = format!("{token}x");
            let (reported, first, again, me, stranger) = tokio::join!(s.report(agent, &report), first, again, s.agent_by_token(&token), s.agent_by_token(&wrong));
            first.unwrap();
            again.unwrap();
            assert_eq!(me.unwrap().id, agent, "{n}: a token finds its own agent");
            assert!(matches!(stranger, Err(Error::Unauthorized)), "{n}: {stranger:?}");
            (n, reported)
        }));
    }
    for join in joins {
        let (n, reported) = join.await.unwrap();
        match n % 10 {
            3 => assert!(matches!(reported, Err(Error::NotFound(ref m)) if m.contains("version 9")), "{n}: {reported:?}"),
            5 => {
                let agent = reported.unwrap();
                assert_eq!((agent.applied_version, agent.last_outcome), (None, Some(ApplyOutcome::Rejected)), "{n}");
            }
            _ => {
                let agent = reported.unwrap();
                assert_eq!((agent.name.as_str(), agent.applied_version), (format!("n{n}").as_str(), Some(1)), "{n}: the answer is the agent as recorded");
            }
        }
    }
    let status = s.status(id).await.unwrap();
    for agent in &status.agents {
        let n: usize = agent.name[1..].parse().unwrap();
        assert_eq!(agent.applied_version, if n % 10 == 3 || n % 10 == 5 { None } else { Some(1) }, "{}", agent.name);
        assert_eq!(agent.facts["node"], n, "{}", agent.name);
    }
    let audit = s.audit_entries(&AuditFilter { cluster_id: Some(id), action: Some("agent.report".into()), limit: 500, ..AuditFilter::default() }).await.unwrap();
    assert_eq!(audit.len(), 54, "one entry per recorded report");
    assert!(matches!(s.report(123_456, &AgentReport::applied(1)).await, Err(Error::NotFound(ref m)) if m.contains("agent 123456")));
}

async fn enrolment_rules(h: Harness) {
    let s = &h.store;
    let id = cluster(&h).await;
    assert!(matches!(s.create_enrolment("a", id, "n", vec!["10.0.0.0/99".into()], 1000).await, Err(Error::Invalid { .. })));
    let (_, secret) = s.create_enrolment("a", id, "n1", vec!["10.0.0.0/8".into()], 60_000).await.unwrap();
    let json = serde_json::json!({});
    assert!(matches!(s.enrol(&secret, Some("192.0.2.1".parse().unwrap()), "h", json.clone()).await, Err(Error::Forbidden(_))));
    assert!(matches!(s.enrol(&secret, None, "h", json.clone()).await, Err(Error::Forbidden(_))));
    s.enrol(&secret, Some("10.1.2.3".parse().unwrap()), "h", json.clone()).await.unwrap();
    // One time only.
    assert!(matches!(s.enrol(&secret, Some("10.1.2.3".parse().unwrap()), "h", json.clone()).await, Err(Error::Unauthorized)));
    let (_, expiring) = s.create_enrolment("a", id, "n2", vec![], 1_000).await.unwrap();
    h.clock.advance(1_000);
    assert!(matches!(s.enrol(&expiring, None, "h", json.clone()).await, Err(Error::Unauthorized)));
    assert!(matches!(s.enrol("fe_unknown", None, "h", json.clone()).await, Err(Error::Unauthorized)));

    // Issuing: the secret, its lifetime (the default unless asked) and the install command.
    let ask = |name: &str, ttl| fleet_core::EnrolmentRequest { name: name.into(), allowed_cidrs: vec![], ttl };
    let day = std::time::Duration::from_secs(86_400);
    let at = |server_url| fleet_core::InstallSource { server_url, ca: None, script: None };
    let issued = s.issue_enrolment("a", id, ask("n3", None), day, at("https://fleet.example")).await.unwrap();
    assert_eq!((issued.cluster_id, issued.name.as_str()), (id, "n3"));
    assert_eq!(issued.expires_at, fleet_core::Clock::now_ms(h.clock.as_ref()) + 86_400_000);
    assert!(issued.install_command.contains("https://fleet.example") && issued.install_command.contains(&issued.secret));
    assert_eq!(issued.install_script, None, "no script when the server hands out no agent");
    let source = fleet_core::InstallSource { script: Some("#!/bin/sh\n"), ..at("https://fleet.example") };
    let scripted = s.issue_enrolment("a", id, ask("n3b", None), day, source).await.unwrap();
    let install = scripted.install_script.expect("the script install");
    assert_eq!(install.url, "https://fleet.example/install/agent.sh");
    assert_eq!(install.sha256, fleet_core::secret::sha256_hex(b"#!/bin/sh\n"));
    assert!(install.command.contains(&install.sha256) && install.command.contains(&scripted.secret), "{}", install.command);
    let short = s.issue_enrolment("a", id, ask("n4", Some(std::time::Duration::from_secs(5))), day, at("http://x")).await.unwrap();
    assert_eq!(short.expires_at, fleet_core::Clock::now_ms(h.clock.as_ref()) + 5_000);
    s.enrol(&issued.secret, None, "h", json).await.unwrap();
    let zero = ask("n5", Some(std::time::Duration::ZERO));
    assert!(matches!(s.issue_enrolment("a", id, zero, day, at("http://x")).await, Err(Error::Invalid { .. })));
    assert!(matches!(s.issue_enrolment("a", 999_999, ask("n6", None), day, at("http://x")).await, Err(Error::NotFound(_))));
}

async fn users_sessions_and_tokens(h: Harness) {
    let s = &h.store;
    assert_eq!(s.user_count().await.unwrap(), 0);
    assert!(matches!(s.create_user("system", "admin", "short", Role::Admin).await, Err(Error::Invalid { .. })));
    let admin = s.create_user("system", "admin", "correct horse", Role::Admin).await.unwrap();
    assert!(matches!(s.create_user("system", "admin", "another pass", Role::Viewer).await, Err(Error::Conflict(_))));
    assert!(matches!(s.login("admin", "wrong password", 1000).await, Err(Error::Unauthorized)));
    assert!(matches!(s.login("nobody", "correct horse", 1000).await, Err(Error::Unauthorized)));
    let (user, token) = s.login("admin", "correct horse", 60_000).await.unwrap();
    assert_eq!(user, admin);
    assert_eq!(s.session_user(&token).await.unwrap().0, admin);
    h.clock.advance(60_000);
    assert!(matches!(s.session_user(&token).await, Err(Error::Unauthorized)));
    let (_, token2) = s.login("admin", "correct horse", 60_000).await.unwrap();
    s.logout(&token2).await.unwrap();
    assert!(matches!(s.session_user(&token2).await, Err(Error::Unauthorized)));
    let (api, secret) = s.create_api_token("admin", admin.id, "ci").await.unwrap();
    assert_eq!(s.api_token_user(&secret).await.unwrap(), admin);
    s.revoke_api_token("admin", api.id).await.unwrap();
    assert!(matches!(s.api_token_user(&secret).await, Err(Error::Unauthorized)));
    assert_eq!(s.users().await.unwrap(), vec![admin]);
}

async fn every_change_is_audited(h: Harness) {
    let s = &h.store;
    let id = cluster(&h).await;
    s.import(op("alice"), id, SAMPLE, "v1").await.unwrap();
    let tx = s.begin("bob", id, 1).await.unwrap();
    s.stage("bob", tx.id, vec![EditOp::DeleteServer { backend: "app".into(), name: "app2".into() }]).await.unwrap();
    s.commit(op("bob"), tx.id, "remove app2").await.unwrap();
    s.restore(op("carol"), id, 1, "back").await.unwrap();
    s.apply("carol", id, 3).await.unwrap();
    let log = s.audit_log(Some(id), 100).await.unwrap();
    let mut actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    actions.sort_unstable();
    assert_eq!(
        actions,
        vec![
            "cluster.apply",
            "cluster.create",
            "transaction.begin",
            "transaction.commit",
            "transaction.stage",
            "version.import",
            "version.restore"
        ]
    );
    let commit = log.iter().find(|e| e.action == "transaction.commit").unwrap();
    assert_eq!((commit.actor.as_str(), commit.version), ("bob", Some(2)));
    assert_eq!(commit.details["message"], "remove app2");
    let all = s.audit_log(None, 100).await.unwrap();
    assert!(all.iter().any(|e| e.action == "pool.create" && e.cluster_id.is_none()));
}

#[tokio::test]
async fn open_sqlite_creates_the_data_folder() {
    let dir = crate::support::TempDir::new();
    let path = dir.path().join("nested/data/fleet.db");
    let store = fleet_core::Store::open_sqlite(&path, fleet_core::StoreOptions::default()).await.unwrap();
    assert_eq!(store.backend(), fleet_core::Backend::Sqlite);
    assert!(path.exists());
    store.close().await;
    let reopened = fleet_core::Store::open_sqlite(&path, fleet_core::StoreOptions::default()).await.unwrap();
    assert_eq!(reopened.user_count().await.unwrap(), 0);
    assert!(matches!(
        fleet_core::Store::open("mysql://x", fleet_core::StoreOptions::default()).await,
        Err(Error::Invalid { .. })
    ));
}

async fn sqlite_runs_in_wal_mode(h: Harness) {
    let id = cluster(&h).await;
    h.store.import(op("alice"), id, SAMPLE, "v1").await.unwrap();
    match h.store.backend() {
        fleet_core::Backend::Sqlite => {
            let path = h.url.trim_start_matches("sqlite://");
            assert!(std::path::Path::new(&format!("{path}-wal")).exists(), "no write-ahead log next to {path}");
        }
        _ => assert!(h.url.starts_with("postgres")),
    }
}

/// Versions are immutable, so reads, stages and commits share one parse per version (and one per
/// transaction state), and what they read is what the text says.
async fn documents_are_parsed_once_per_version(h: Harness) {
    use fleet_core::read::{self, Part};
    use fleet_core::TextAt;
    use haproxy_model::Side;

    let s = &h.store;
    let id = cluster(&h).await;
    assert!(matches!(s.document_at(id, TextAt::Latest).await, Err(Error::NotFound(_))));
    s.import(op("alice"), id, SAMPLE, "v1").await.unwrap();
    let before = s.document_cache_stats();
    let latest = s.document_at(id, TextAt::Latest).await.unwrap();
    for _ in 0..5 {
        let again = s.document_at(id, TextAt::Version(1)).await.unwrap();
        assert!(std::sync::Arc::ptr_eq(&latest, &again), "a read parsed version 1 again");
    }
    let after = s.document_cache_stats();
    // The import parsed version 1 (to check its privileged directives): every read shares that.
    assert_eq!(after.misses - before.misses, 0, "{after:?}");
    assert_eq!(haproxy_render::lossless(latest.document()), SAMPLE);
    assert!(matches!(s.document_at(id, TextAt::Version(7)).await, Err(Error::NotFound(_))));

    // Inside a transaction: the staged state, with the line numbers of the text it would commit.
    let tx = s.begin("alice", id, 1).await.unwrap();
    let add = EditOp::AddServer {
        backend: "app".into(),
        name: "s9".into(),
        address: "10.0.0.9:80".into(),
        weight: None,
        backup: false,
        disabled: false,
        params: vec![],
    };
    s.stage("alice", tx.id, vec![add]).await.unwrap();
    let staged = s.document_at(id, TextAt::Transaction(tx.id)).await.unwrap();
    let preview = s.preview(tx.id).await.unwrap().text;
    assert_eq!(haproxy_render::lossless(staged.document()), preview);
    let s9 = read::server(staged.document(), "app", "s9").unwrap();
    let line = preview.lines().position(|l| l.contains("server s9")).unwrap() + 1;
    assert_eq!(s9.line as usize, line);
    assert!(read::server(latest.document(), "app", "s9").is_err(), "the cached version is not edited");
    let again = s.document_at(id, TextAt::Transaction(tx.id)).await.unwrap();
    assert!(std::sync::Arc::ptr_eq(&staged, &again));
    let committed = s.commit(op("alice"), tx.id, "add s9").await.unwrap();
    let v2 = s.document_at(id, TextAt::Version(committed.version.number)).await.unwrap();
    let names: Vec<_> = read::parts(v2.document(), Side::Backend, "app", Part::Servers)
        .unwrap()
        .into_iter()
        .filter_map(|d| match d.body {
            haproxy_model::export::DirectiveBody::Server(server) => server.name,
            _ => None,
        })
        .collect();
    assert_eq!(names, ["app1", "app2", "s9"]);
}
