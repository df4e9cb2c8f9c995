//! DNS failover settings and the decider's lease in the store (both databases): bad settings
//! store nothing; of two replicas claiming the same pool exactly one holds it, and the other
//! takes over only when the holder's lease has run out (a stopped replica); two replicas'
//! deciders running at once against a real BIND 9 move the record once per failure, never twice,
//! and follow the active member's new address once.
//! The moves with real agents run in the workspace suite (tests/tests/it/dns_failover.rs).

use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet_core::dns::NewDnsProvider;
use fleet_core::failover::decider::Decider;
use fleet_core::failover::settings::FailoverSettings;
use fleet_core::secrets::{KeyFile, Keyring};
use fleet_core::Error;

use crate::support::Harness;

crate::store_tests!(one_replica_decides_for_a_pool_at_a_time, two_deciders_never_move_the_record_twice);

fn settings(provider_id: i64, hostname: &str) -> FailoverSettings {
    serde_json::from_value(serde_json::json!({"hostname": hostname, "provider_id": provider_id})).unwrap()
}

async fn one_replica_decides_for_a_pool_at_a_time(h: Harness) {
    let dir = std::env::temp_dir().join(fleet_tests::unique_name("fleet-failover-key-"));
    let ring: Keyring = h.store.keyring(&KeyFile::new(dir.join("secret.key"))).await.unwrap();
    let provider: NewDnsProvider = serde_json::from_value(serde_json::json!({"name": "bind", "kind": "rfc2136", "server": "127.0.0.1:1",
        "zone": "example.com", "tsig_key_name": "k", "tsig_secret": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ=="}))
    .unwrap();
    let provider = h.store.create_dns_provider("admin", &ring, &provider).await.unwrap();
    let pool = h.store.create_pool("admin", "edge", "").await.unwrap();

    let refused = |r: Result<_, Error>| match r {
        Err(e) => e.to_string(),
        Ok(v) => panic!("accepted: {v:?}"),
    };
    assert!(refused(h.store.put_failover("admin", &ring, pool.id, &settings(provider.id, "www.example.org")).await).contains("not in zone"));
    assert!(refused(h.store.put_failover("admin", &ring, pool.id, &settings(provider.id + 1, "www.example.com")).await).contains("no dns provider"));
    let short = FailoverSettings { detection_window_seconds: 5, ..settings(provider.id, "www.example.com") };
    assert!(refused(h.store.put_failover("admin", &ring, pool.id, &short).await).contains("10 to 120"));
    assert!(matches!(h.store.failover(pool.id).await, Err(Error::NotFound(_))), "nothing stored");

    h.store.put_failover("admin", &ring, pool.id, &settings(provider.id, "www.example.com")).await.unwrap();
    let other = h.replica(7).await;
    assert_eq!(h.store.claim_failover_pools("replica-a", 10_000).await.unwrap(), vec![pool.id]);
    assert_eq!(other.claim_failover_pools("replica-b", 10_000).await.unwrap(), Vec::<i64>::new(), "held by replica-a");
    assert_eq!(h.store.claim_failover_pools("replica-a", 10_000).await.unwrap(), vec![pool.id], "the holder renews");
    h.clock.advance(11_000);
    assert_eq!(other.claim_failover_pools("replica-b", 10_000).await.unwrap(), vec![pool.id], "a lapsed lease is taken over");
    assert_eq!(h.store.claim_failover_pools("replica-a", 10_000).await.unwrap(), Vec::<i64>::new());
    std::fs::remove_dir_all(dir).unwrap();
}

/// The zone's SOA serial as BIND serves it: BIND adds one per applied UPDATE, so it counts the
/// changes made to the zone whoever made them.
fn serial(named: &fleet_tests::Named) -> u64 {
    let soa = named.dig(&named.zone, "SOA").unwrap();
    soa[0].split_whitespace().nth(2).unwrap().parse().unwrap()
}

async fn two_deciders_never_move_the_record_twice(h: Harness) {
    if fleet_tests::named_bin().is_none() {
        eprintln!("skipped: named is not installed (scripts/setup.d/40-bind9.sh)");
        return;
    }
    let Some(named) = tokio::task::spawn_blocking(|| fleet_tests::Named::start("fleet-test.example")).await.unwrap() else { return };
    if named.dig(&named.zone, "SOA").is_none() {
        eprintln!("skipped: dig is not installed");
        return;
    }
    let dir = std::env::temp_dir().join(fleet_tests::unique_name("fleet-failover-key-"));
    let key = KeyFile::new(dir.join("secret.key"));
    let ring: Keyring = h.store.keyring(&key).await.unwrap();
    let other = h.replica(7).await;
    let other_ring = other.keyring(&key).await.unwrap();
    let provider: NewDnsProvider = serde_json::from_value(serde_json::json!({"name": "bind", "kind": "rfc2136", "server": named.addr.to_string(),
        "zone": named.zone, "tsig_key_name": fleet_tests::NAMED_KEY_NAME, "tsig_secret": named.secret}))
    .unwrap();
    let provider = h.store.create_dns_provider("admin", &ring, &provider).await.unwrap();
    let pool = h.store.create_pool("admin", "edge", "").await.unwrap();
    let cluster = h.store.create_cluster("admin", "edge", pool.id, fleet_core::ClusterSettings::default()).await.unwrap();
    let mut agents = Vec::new();
    for (name, address) in [("node-a", "198.51.100.1"), ("node-b", "198.51.100.2")] {
        let (_, secret) = h.store.create_enrolment("admin", cluster.id, name, vec![], 86_400_000).await.unwrap();
        let facts = serde_json::json!({"runtime": {"Uptime_sec": 1}, "public_ips": [address]});
        agents.push((h.store.enrol(&secret, None, name, facts.clone()).await.unwrap().0.id, facts));
    }
    let heartbeat = |i: usize| {
        let (id, facts) = agents[i].clone();
        let store = h.store.clone();
        async move { store.heartbeat(id, Some(facts), None).await.unwrap() }
    };
    let mut settings = settings(provider.id, "www.fleet-test.example");
    settings.hold_seconds = 0;
    settings.detection_window_seconds = 10;
    settings.active = Some("node-a".into());
    h.store.put_failover("admin", &ring, pool.id, &settings).await.unwrap();
    let www = || named.dig("www.fleet-test.example", "A").unwrap();
    assert_eq!(www(), ["198.51.100.1"]);

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let tick = Duration::from_millis(20);
    let lease = Duration::from_secs(10);
    let deciders = [
        tokio::spawn(Decider::new(h.store.clone(), Arc::new(ring.clone()), "replica-a".into(), tick, lease).run(stopped.clone())),
        tokio::spawn(Decider::new(other.clone(), Arc::new(other_ring), "replica-b".into(), tick, lease).run(stopped)),
    ];
    // Each round the healthy member goes silent past the window (11 s of the test clock, which
    // also lapses the lease: both replicas race to claim it) and the other one beats.
    let mut expected_serial = serial(&named);
    for round in 0..4 {
        let (silent, beating) = if round % 2 == 0 { (0, 1) } else { (1, 0) };
        let target = ["198.51.100.1", "198.51.100.2"][beating];
        h.clock.advance(11_000);
        heartbeat(beating).await;
        let start = Instant::now();
        while www() != [target] {
            if start.elapsed() > Duration::from_secs(10) {
                panic!("round {round}: the record did not move to {target} (node {silent} silent): {:#?}", h.store.failover_events(pool.id, 20).await);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Several more ticks of both deciders: nothing else may change the zone.
        tokio::time::sleep(Duration::from_millis(400)).await;
        expected_serial += 1;
        assert_eq!(serial(&named), expected_serial, "round {round}: the zone changed more than once for one failure");
    }
    // Dynamic DNS: the active member (node-a after the last round) declares a new address.
    let moved_address = serde_json::json!({"runtime": {"Uptime_sec": 1}, "public_ips": ["198.51.100.11"]});
    h.store.heartbeat(agents[0].0, Some(moved_address), None).await.unwrap();
    let start = Instant::now();
    while www() != ["198.51.100.11"] {
        if start.elapsed() > Duration::from_secs(10) {
            panic!("the record did not follow node-a's new address: {:#?}", h.store.failover_events(pool.id, 5).await);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(serial(&named), expected_serial + 1, "one update for the address change");
    stop.send(true).unwrap();
    for decider in deciders {
        decider.await.unwrap();
    }
    let updates = h.store.failover_events(pool.id, 100).await.unwrap().into_iter().filter(|e| e.kind == "dns_update").count();
    assert_eq!(updates, 5, "one dns update per failure, one for the address change");
    let audit = h.store.audit_log(None, 100).await.unwrap();
    assert_eq!(audit.iter().filter(|e| e.action == "failover.move").count(), 4, "one audited move per failure");
    assert_eq!(audit.iter().filter(|e| e.action == "failover.sync").count(), 1, "one audited address sync");
    assert_eq!(h.store.failover(pool.id).await.unwrap().active.as_deref(), Some("node-a"));
    std::fs::remove_dir_all(dir).unwrap();
}
