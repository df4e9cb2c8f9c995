//! Alert evaluation in the store (both databases), with the test clock: a condition held for
//! `for_seconds` fires once and resolves once, whichever of two replicas evaluates; a pending
//! alert whose condition ends is dropped unnotified; events notify once and only after the
//! rule was made; a silenced rule changes state but notifies nothing. DNS failover moves (by
//! hand and automatic, against a real BIND 9), a pool with every member down (an alert and the
//! pool's webhook) and a VIP changing holder reach the rules of the clusters they concern.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet_core::alerts::NewAlertRule;
use fleet_core::dns::NewDnsProvider;
use fleet_core::failover::decider::Decider;
use fleet_core::failover::settings::FailoverSettings;
use fleet_core::failover::{Decision, Memory};
use fleet_core::secrets::{KeyFile, Keyring};
use fleet_core::vip::{KeepalivedReport, NewVip, NodeInterface};
use fleet_core::{Actor, AgentReport, AlertNotice, ApplyOutcome, Role};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{beat, Harness};

crate::store_tests!(alerts_fire_once_resolve_once_across_replicas, failovers_and_vip_moves_alert_the_rules_of_their_clusters);

fn rule(value: serde_json::Value) -> NewAlertRule {
    serde_json::from_value(value).unwrap()
}

async fn alerts_fire_once_resolve_once_across_replicas(h: Harness) {
    let pool = h.store.create_pool("admin", "edge", "").await.unwrap();
    let cluster = h.store.create_cluster("admin", "edge", pool.id, fleet_core::ClusterSettings::default()).await.unwrap();
    let version = h.store.import(Actor::new("admin", Role::Admin), cluster.id, "defaults\n    mode http\n", "first").await.unwrap().version.number;
    let (_, secret) = h.store.create_enrolment("admin", cluster.id, "node-a", vec![], 86_400_000).await.unwrap();
    let agent = h.store.enrol(&secret, None, "node-a", serde_json::json!({})).await.unwrap().0;
    // The agent's interval (1 s) comes with its heartbeats.
    h.store.heartbeat(agent.id, beat(None, Some(1))).await.unwrap();
    let offline = h.store.create_alert_rule("admin", &rule(serde_json::json!({"name": "offline", "condition": {"kind": "agent_offline"}, "for_seconds": 10}))).await.unwrap();
    let failed = h.store.create_alert_rule("admin", &rule(serde_json::json!({"name": "failed", "condition": {"kind": "apply_failed"}}))).await.unwrap();
    assert!(h.store.create_alert_rule("admin", &rule(serde_json::json!({"name": "offline", "condition": {"kind": "apply_failed"}}))).await.is_err(), "a taken name");
    let other = h.replica(9).await;
    let tick_both = || async { (h.store.alert_tick().await.unwrap(), other.alert_tick().await.unwrap()) };

    // A failed apply fires at once (for_seconds 0), notified by exactly one replica.
    h.store.report(agent.id, &AgentReport::failed(version, ApplyOutcome::Rejected, "bad line")).await.unwrap();
    let (a, b) = tick_both().await;
    let fired: Vec<_> = a.iter().chain(&b).filter(|n| n.rule.id == failed.id).collect();
    assert_eq!(fired.len(), 1, "{a:?} {b:?}");
    assert_eq!((fired[0].transition, fired[0].alert.state.as_str()), ("firing", "firing"));
    let (a, b) = tick_both().await;
    assert!(a.is_empty() && b.is_empty(), "nothing new while it lasts");

    // Offline after 3 s without heartbeat: pending, then firing after for_seconds (10 s).
    h.clock.advance(4_000);
    let (a, b) = tick_both().await;
    assert!(a.is_empty() && b.is_empty());
    assert_eq!(h.store.alerts(Some("pending"), 10).await.unwrap().len(), 1);
    h.clock.advance(10_000);
    let (a, b) = tick_both().await;
    let fired: Vec<_> = a.iter().chain(&b).collect();
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!((fired[0].rule.id, fired[0].transition), (offline.id, "firing"));
    assert!(fired[0].alert.summary.contains("node-a") && fired[0].alert.summary.contains("offline"), "{:?}", fired[0].alert);

    // The agent comes back and applies: both resolve, once.
    h.store.heartbeat(agent.id, beat(None, None)).await.unwrap();
    h.store.report(agent.id, &AgentReport::applied(version)).await.unwrap();
    let (a, b) = tick_both().await;
    let mut resolved: Vec<_> = a.iter().chain(&b).map(|n| (n.rule.id, n.transition)).collect();
    resolved.sort();
    let mut expected = vec![(offline.id, "resolved"), (failed.id, "resolved")];
    expected.sort();
    assert_eq!(resolved, expected);
    assert_eq!(h.store.alerts(Some("open"), 10).await.unwrap(), vec![]);

    // A pending alert whose condition ends is dropped, never notified.
    h.clock.advance(4_000);
    tick_both().await;
    assert_eq!(h.store.alerts(Some("pending"), 10).await.unwrap().len(), 1);
    h.store.heartbeat(agent.id, beat(None, None)).await.unwrap();
    let (a, b) = tick_both().await;
    assert!(a.is_empty() && b.is_empty());
    assert_eq!(h.store.alerts(Some("pending"), 10).await.unwrap(), vec![]);

    // Silenced: the transition happens, nothing is notified, the alert says so.
    h.store.silence_alert_rule("admin", failed.id, 600).await.unwrap();
    h.store.report(agent.id, &AgentReport::failed(version, ApplyOutcome::ReloadFailed, "reload")).await.unwrap();
    let (a, b) = tick_both().await;
    assert!(a.is_empty() && b.is_empty());
    let firing = h.store.alerts(Some("firing"), 10).await.unwrap();
    assert_eq!((firing.len(), firing[0].silenced, firing[0].notified.as_deref()), (1, true, Some("silenced")));
    assert!(h.store.silence_alert_rule("admin", failed.id, 31 * 86_400).await.is_err(), "at most 30 days");

    // Deleting a rule deletes its alerts.
    h.store.delete_alert_rule("admin", failed.id).await.unwrap();
    assert!(h.store.alerts(None, 100).await.unwrap().iter().all(|a| a.rule_id != failed.id));
    assert!(h.store.alerts(Some("burning"), 10).await.is_err());
}

/// A webhook receiver on loopback: answers 200 to every POST and passes on each body.
async fn webhook_receiver() -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                let n = stream.read(&mut buf).await.unwrap_or(0);
                request.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&request).to_string();
                let Some(head_end) = text.find("\r\n\r\n") else {
                    if n == 0 {
                        break;
                    }
                    continue;
                };
                let length = text[..head_end]
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap()))
                    .unwrap_or(0);
                if request.len() >= head_end + 4 + length || n == 0 {
                    let _ = tx.send(text[head_end + 4..].to_string());
                    break;
                }
            }
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await;
        }
    });
    (url, rx)
}

/// Which rules (by name) notified `notices`, sorted, with the summaries.
fn notified(notices: &[AlertNotice]) -> Vec<(String, String)> {
    let mut names: Vec<_> = notices.iter().map(|n| (n.rule.rule.name.clone(), n.alert.summary.clone())).collect();
    names.sort();
    names
}

async fn failovers_and_vip_moves_alert_the_rules_of_their_clusters(h: Harness) {
    let Some(named) = fleet_tests::require(tokio::task::spawn_blocking(|| fleet_tests::Named::start("fleet-test.example")).await.unwrap(), "named") else { return };
    let dir = std::env::temp_dir().join(fleet_tests::unique_name("fleet-alerts-key-"));
    let ring: Keyring = h.store.keyring(&KeyFile::new(dir.join("secret.key"))).await.unwrap();
    let provider: NewDnsProvider = serde_json::from_value(serde_json::json!({"name": "bind", "kind": "rfc2136", "server": named.addr.to_string(),
        "zone": named.zone, "tsig_key_name": fleet_tests::NAMED_KEY_NAME, "tsig_secret": named.secret}))
    .unwrap();
    let provider = h.store.create_dns_provider("admin", &ring, &provider).await.unwrap();
    // Pool edge holds clusters edge-1 and edge-2; pool other holds other-1.
    let edge = h.store.create_pool("admin", "edge", "").await.unwrap();
    let edge_1 = h.store.create_cluster("admin", "edge-1", edge.id, fleet_core::ClusterSettings::default()).await.unwrap();
    let edge_2 = h.store.create_cluster("admin", "edge-2", edge.id, fleet_core::ClusterSettings::default()).await.unwrap();
    let other = h.store.create_pool("admin", "other", "").await.unwrap();
    let other_1 = h.store.create_cluster("admin", "other-1", other.id, fleet_core::ClusterSettings::default()).await.unwrap();
    h.store.import(Actor::new("admin", Role::Admin), edge_1.id, "defaults\n    mode http\n", "first").await.unwrap();
    let keepalived: KeepalivedReport = serde_json::from_value(serde_json::json!({"running": true,
        "track_file": "/var/lib/fleet-agent/keepalived/haproxy.track", "notify_fifo": "/var/lib/fleet-agent/keepalived/notify.fifo"}))
    .unwrap();
    let mut agents = Vec::new();
    for (name, address) in [("node-a", "198.51.100.1"), ("node-b", "198.51.100.2")] {
        let (_, secret) = h.store.create_enrolment("admin", edge_1.id, name, vec![], 86_400_000).await.unwrap();
        let facts = serde_json::json!({"runtime": {"Uptime_sec": 1}, "public_ips": [address]});
        let id = h.store.enrol(&secret, None, name, facts.clone()).await.unwrap().0.id;
        h.store.heartbeat(id, fleet_core::wire::Heartbeat { keepalived: Some(keepalived.clone()), ..Default::default() }).await.unwrap();
        agents.push((id, facts));
    }
    let vip: NewVip = serde_json::from_value(serde_json::json!({"name": "web", "addresses": ["198.18.0.50/24"], "vrid": 51, "interface": "eth0",
        "nodes": [{"agent": "node-a", "priority": 150}, {"agent": "node-b", "priority": 100}]}))
    .unwrap();
    h.store.create_vip(Actor::new("admin", Role::Admin), &ring, edge_1.id, &vip).await.unwrap();

    for (name, condition, cluster) in [
        ("failover fleet", "dns_failover", None),
        ("failover edge-2", "dns_failover", Some(edge_2.id)),
        ("failover other-1", "dns_failover", Some(other_1.id)),
        ("vip edge-1", "vip_moved", Some(edge_1.id)),
        ("vip edge-2", "vip_moved", Some(edge_2.id)),
    ] {
        h.store.create_alert_rule("admin", &rule(serde_json::json!({"name": name, "condition": {"kind": condition}, "cluster_id": cluster}))).await.unwrap();
    }
    let replica = h.replica(9).await;
    let tick_both = || async {
        let mut notices = h.store.alert_tick().await.unwrap();
        notices.extend(replica.alert_tick().await.unwrap());
        notified(&notices)
    };

    // A move by hand: a failover of pool edge, so of edge-2 too (a cluster of the pool), not of other-1.
    let (webhook, mut bodies) = webhook_receiver().await;
    let settings: FailoverSettings = serde_json::from_value(serde_json::json!({"hostname": "www.fleet-test.example", "provider_id": provider.id,
        "detection_window_seconds": 10, "hold_seconds": 0, "active": "node-a", "webhook_url": webhook}))
    .unwrap();
    h.store.put_failover("admin", &ring, edge.id, &settings).await.unwrap();
    let manual = tick_both().await;
    assert_eq!(manual.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["failover edge-2", "failover fleet"], "{manual:?}");
    assert!(manual[0].1.starts_with("pool edge: www.fleet-test.example now points at node-a"), "{manual:?}");
    assert_eq!(tick_both().await, vec![], "an event notifies once");

    // The VIP's addresses appear on node-a: the MASTER transition as heartbeats show it.
    let holding = [NodeInterface { name: "eth0".into(), up: true, addresses: vec!["198.18.0.50/24".into()] }];
    h.store.heartbeat(agents[0].0, fleet_core::wire::Heartbeat { interfaces: Some(holding.to_vec()), ..Default::default() }).await.unwrap();
    assert_eq!(tick_both().await, vec![("vip edge-1".to_string(), "vip web is now held by node-a".to_string())]);

    // An automatic move: node-a silent past the window, node-b beating.
    h.clock.advance(11_000);
    h.store.heartbeat(agents[1].0, beat(Some(agents[1].1.clone()), None)).await.unwrap();
    assert_eq!(h.store.claim_failover_pools("replica-a", 10_000).await.unwrap(), vec![edge.id]);
    let mut memory = Memory::default();
    let tick = h.store.failover_tick("replica-a", &ring, edge.id, &mut memory).await.unwrap();
    assert!(matches!(tick.decision, Decision::Move { ref to, .. } if to == "node-b") && tick.moved.is_some(), "{tick:?}");
    assert_eq!(named.dig("www.fleet-test.example", "A").unwrap(), ["198.51.100.2"]);
    let automatic = tick_both().await;
    assert_eq!(automatic.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["failover edge-2", "failover fleet"], "{automatic:?}");
    assert!(automatic[0].1.contains("now points at node-b") && automatic[0].1.contains("node-a is unhealthy"), "{automatic:?}");

    // Every member down, with a decider running: the record stays, one all_down event, the
    // pool's webhook hears of it, and the dns_failover rules fire once.
    h.clock.advance(11_000);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let decider = tokio::spawn(Decider::new(h.store.clone(), Arc::new(ring.clone()), "replica-a".into(), Duration::from_millis(20), Duration::from_secs(10)).run(stopped));
    let body = tokio::time::timeout(Duration::from_secs(20), bodies.recv()).await.expect("the all-down webhook").unwrap();
    let document: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!((document["event"].as_str(), document["active"].as_str(), document["pool_id"].as_i64()), (Some("dns_failover.all_down"), Some("node-b"), Some(edge.id)), "{document}");
    let start = Instant::now();
    while !h.store.failover_events(edge.id, 20).await.unwrap().iter().any(|e| e.kind == "notification") {
        assert!(start.elapsed() < Duration::from_secs(10), "the delivery is on the timeline");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.send(true).unwrap();
    decider.await.unwrap();
    let timeline = h.store.failover_events(edge.id, 50).await.unwrap();
    assert_eq!(timeline.iter().filter(|e| e.kind == "all_down").count(), 1, "once per episode: {timeline:#?}");
    assert!(timeline.iter().any(|e| e.kind == "notification" && e.message.contains("answered 200")), "{timeline:#?}");
    assert_eq!(named.dig("www.fleet-test.example", "A").unwrap(), ["198.51.100.2"], "the record keeps pointing at the last member");
    let down = tick_both().await;
    assert_eq!(down.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["failover edge-2", "failover fleet"], "{down:?}");
    assert_eq!(down[0].1, "pool edge: no healthy member with an address: www.fleet-test.example keeps pointing at node-b", "{down:?}");
    assert!(bodies.try_recv().is_err(), "one webhook per episode");
    assert_eq!(h.store.alerts(Some("event"), 100).await.unwrap().len(), 7, "2 + 1 + 2 + 2 events");
    std::fs::remove_dir_all(dir).unwrap();
}
