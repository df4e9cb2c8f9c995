//! DNS failover settings and the decider's lease in the store (both databases): bad settings
//! store nothing; of two replicas claiming the same pool exactly one holds it, and the other
//! takes over only when the holder's lease has run out (a stopped replica); two replicas'
//! deciders running at once against a real BIND 9 move the record once per failure, never twice,
//! and follow the active member's new address once. With fail-back on, the record returns to
//! the preferred member once it has been healthy long enough (and a cutover is audited as one);
//! a DNS update that fails (an unreachable server, a zone the server does not serve) leaves the
//! record as it was, says why on the timeline, and is retried with growing delays.
//! The moves with real agents run in the workspace suite (tests/tests/it/dns_failover.rs).

use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet_core::dns::NewDnsProvider;
use fleet_core::failover::decider::Decider;
use fleet_core::failover::settings::FailoverSettings;
use fleet_core::failover::Decision;
use fleet_core::secrets::{KeyFile, Keyring};
use fleet_core::Error;

use crate::support::{beat, Harness};

crate::store_tests!(
    one_replica_decides_for_a_pool_at_a_time,
    two_deciders_never_move_the_record_twice,
    failback_returns_to_the_preferred_member_once_healthy_long_enough,
    a_failing_dns_update_leaves_the_record_and_is_retried_with_backoff
);

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

    // A heartbeat's answer: the cluster's drift setting, and its pool's probe once there is one
    // (its host defaulting to the failover hostname).
    let settings_enforce = fleet_core::ClusterSettings { drift: fleet_core::monitor::DriftPolicy::Enforce, ..fleet_core::ClusterSettings::default() };
    let cluster = h.store.create_cluster("admin", "edge-a", pool.id, settings_enforce).await.unwrap();
    let answer = h.store.heartbeat_answer(cluster.id).await.unwrap();
    assert_eq!((answer.failover_probe, answer.drift), (None, fleet_core::monitor::DriftPolicy::Enforce));
    h.store.put_failover("admin", &ring, pool.id, &settings(provider.id, "www.example.com")).await.unwrap();
    assert_eq!(h.store.heartbeat_answer(cluster.id).await.unwrap().failover_probe, None, "failover without a probe");
    let probed: FailoverSettings = serde_json::from_value(serde_json::json!({"hostname": "www.example.com", "provider_id": provider.id,
        "probe": {"frontend": "www", "path": "/health"}})).unwrap();
    h.store.put_failover("admin", &ring, pool.id, &probed).await.unwrap();
    let probe = h.store.heartbeat_answer(cluster.id).await.unwrap().failover_probe.expect("the pool's probe");
    assert_eq!((probe.frontend.as_str(), probe.path.as_str(), probe.host.as_deref()), ("www", "/health", Some("www.example.com")));
    assert!(matches!(h.store.heartbeat_answer(cluster.id + 1000).await, Err(Error::NotFound(_))));
    // A heartbeat answers the same (written and answered in its batch).
    let (_, secret) = h.store.create_enrolment("admin", cluster.id, "n1", vec![], 60_000).await.unwrap();
    let agent = h.store.enrol(&secret, None, "host", serde_json::json!({})).await.unwrap().0;
    let answer = h.store.heartbeat(agent.id, beat(None, Some(5))).await.unwrap();
    assert_eq!((answer.failover_probe, answer.drift), (Some(probe), fleet_core::monitor::DriftPolicy::Enforce));
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

/// A real BIND 9 serving `fleet-test.example`, answering `dig`; `None` (a skip, or a failure
/// with `FLEET_REQUIRE_TOOLS=1`) when named, tsig-keygen or dig is missing.
async fn start_named() -> Option<fleet_tests::Named> {
    let named = fleet_tests::require(tokio::task::spawn_blocking(|| fleet_tests::Named::start("fleet-test.example")).await.unwrap(), "named")?;
    fleet_tests::require(named.dig(&named.zone, "SOA"), "dig")?;
    Some(named)
}

async fn two_deciders_never_move_the_record_twice(h: Harness) {
    let Some(named) = start_named().await else { return };
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
        async move { store.heartbeat(id, beat(Some(facts), None)).await.unwrap() }
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
    h.store.heartbeat(agents[0].0, beat(Some(moved_address), None)).await.unwrap();
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

/// A pool `edge` with cluster `edge` and members node-a (198.51.100.1) and node-b
/// (198.51.100.2), both heartbeating; a provider for `named`, or for `server`/`zone` when given.
struct Pool {
    ring: Keyring,
    dir: std::path::PathBuf,
    pool_id: i64,
    provider_id: i64,
    agents: Vec<(i64, serde_json::Value)>,
}

impl Pool {
    async fn new(h: &Harness, named: &fleet_tests::Named) -> Pool {
        let dir = std::env::temp_dir().join(fleet_tests::unique_name("fleet-failover-key-"));
        let ring: Keyring = h.store.keyring(&KeyFile::new(dir.join("secret.key"))).await.unwrap();
        let provider = Pool::provider(h, &ring, "bind", &named.addr.to_string(), &named.zone, named).await;
        let pool = h.store.create_pool("admin", "edge", "").await.unwrap();
        let cluster = h.store.create_cluster("admin", "edge", pool.id, fleet_core::ClusterSettings::default()).await.unwrap();
        let mut agents = Vec::new();
        for (name, address) in [("node-a", "198.51.100.1"), ("node-b", "198.51.100.2")] {
            let (_, secret) = h.store.create_enrolment("admin", cluster.id, name, vec![], 86_400_000).await.unwrap();
            let facts = serde_json::json!({"runtime": {"Uptime_sec": 1}, "public_ips": [address]});
            agents.push((h.store.enrol(&secret, None, name, facts.clone()).await.unwrap().0.id, facts));
        }
        Pool { ring, dir, pool_id: pool.id, provider_id: provider, agents }
    }

    async fn provider(h: &Harness, ring: &Keyring, name: &str, server: &str, zone: &str, named: &fleet_tests::Named) -> i64 {
        let provider: NewDnsProvider = serde_json::from_value(serde_json::json!({"name": name, "kind": "rfc2136", "server": server,
            "zone": zone, "tsig_key_name": fleet_tests::NAMED_KEY_NAME, "tsig_secret": named.secret}))
        .unwrap();
        h.store.create_dns_provider("admin", ring, &provider).await.unwrap().id
    }

    /// One decision by the decider `replica-a` (which must hold the lease to move).
    async fn tick(&self, h: &Harness, memory: &mut fleet_core::failover::Memory) -> Decision {
        h.store.failover_tick("replica-a", &self.ring, self.pool_id, memory).await.unwrap().decision
    }

    async fn heartbeat(&self, h: &Harness, i: usize) {
        h.store.heartbeat(self.agents[i].0, beat(Some(self.agents[i].1.clone()), None)).await.unwrap();
    }
}

async fn failback_returns_to_the_preferred_member_once_healthy_long_enough(h: Harness) {
    let Some(named) = start_named().await else { return };
    let p = Pool::new(&h, &named).await;
    let mut settings = settings(p.provider_id, "www.fleet-test.example");
    settings.hold_seconds = 0;
    settings.detection_window_seconds = 10;
    settings.failback = Some(30);
    settings.active = Some("node-a".into());
    h.store.put_failover("admin", &p.ring, p.pool_id, &settings).await.unwrap();
    let www = || named.dig("www.fleet-test.example", "A").unwrap();
    assert_eq!(www(), ["198.51.100.1"]);
    let mut memory = fleet_core::failover::Memory::default();
    let claim = || async { assert_eq!(h.store.claim_failover_pools("replica-a", 60_000).await.unwrap(), vec![p.pool_id]) };
    claim().await;
    assert_eq!(p.tick(&h, &mut memory).await, Decision::Stay);

    // node-a (the preferred member) goes silent: the record moves to node-b.
    h.clock.advance(11_000);
    p.heartbeat(&h, 1).await;
    claim().await;
    assert!(matches!(p.tick(&h, &mut memory).await, Decision::Move { to, .. } if to == "node-b"));
    assert_eq!(www(), ["198.51.100.2"]);

    // node-a comes back: healthy for less than 30 s, the record stays.
    p.heartbeat(&h, 0).await;
    assert_eq!(p.tick(&h, &mut memory).await, Decision::Stay);
    h.clock.advance(20_000);
    p.heartbeat(&h, 0).await;
    p.heartbeat(&h, 1).await;
    assert_eq!(p.tick(&h, &mut memory).await, Decision::Stay, "healthy for 20 s of 30");
    assert_eq!(www(), ["198.51.100.2"]);
    // Healthy for 30 s: back to node-a, said so on the timeline.
    h.clock.advance(10_000);
    p.heartbeat(&h, 0).await;
    p.heartbeat(&h, 1).await;
    claim().await;
    match p.tick(&h, &mut memory).await {
        Decision::Move { to, reason } => assert_eq!((to.as_str(), reason.as_str()), ("node-a", "fail-back to node-a (healthy again)")),
        other => panic!("no fail-back: {other:?}"),
    }
    assert_eq!(www(), ["198.51.100.1"]);
    assert_eq!(p.tick(&h, &mut memory).await, Decision::Stay);

    // A cutover by hand is audited as one, not as an activate.
    let cut = h.store.cut_over("admin", &p.ring, p.pool_id).await.unwrap();
    assert_eq!(cut.active.as_deref(), Some("node-b"));
    assert_eq!(www(), ["198.51.100.2"]);
    let audit = h.store.audit_log(None, 100).await.unwrap();
    let count = |action: &str| audit.iter().filter(|e| e.action == action).count();
    assert_eq!((count("failover.activate"), count("failover.move"), count("failover.cutover")), (1, 2, 1), "{:?}", audit.iter().map(|e| &e.action).collect::<Vec<_>>());
    std::fs::remove_dir_all(&p.dir).unwrap();
}

async fn a_failing_dns_update_leaves_the_record_and_is_retried_with_backoff(h: Harness) {
    let Some(named) = start_named().await else { return };
    let p = Pool::new(&h, &named).await;
    let mut good = settings(p.provider_id, "www.fleet-test.example");
    good.hold_seconds = 0;
    good.detection_window_seconds = 10;
    good.active = Some("node-a".into());
    h.store.put_failover("admin", &p.ring, p.pool_id, &good).await.unwrap();
    let www = || named.dig("www.fleet-test.example", "A").unwrap();
    assert_eq!(www(), ["198.51.100.1"]);

    // A zone the server does not serve: BIND refuses the update; nothing moves, the timeline
    // says why.
    let elsewhere = Pool::provider(&h, &p.ring, "elsewhere", &named.addr.to_string(), "elsewhere.example", &named).await;
    let mut refused = settings(elsewhere, "www.elsewhere.example");
    refused.detection_window_seconds = 10;
    refused.hold_seconds = 0;
    h.store.put_failover("admin", &p.ring, p.pool_id, &refused).await.unwrap();
    h.clock.advance(11_000);
    p.heartbeat(&h, 1).await;
    assert_eq!(h.store.claim_failover_pools("replica-a", 60_000).await.unwrap(), vec![p.pool_id]);
    let tick = h.store.failover_tick("replica-a", &p.ring, p.pool_id, &mut fleet_core::failover::Memory::default()).await.unwrap();
    assert!(matches!(tick.decision, Decision::Move { ref to, .. } if to == "node-b") && tick.moved.is_none(), "{tick:?}");
    let failover = h.store.failover(p.pool_id).await.unwrap();
    assert_eq!(failover.active.as_deref(), Some("node-a"), "not stored as moved");
    let timeline = h.store.failover_events(p.pool_id, 100).await.unwrap();
    assert!(timeline.iter().any(|e| e.kind == "error" && e.message.starts_with("cannot point www.elsewhere.example at node-b:")), "{timeline:#?}");
    assert_eq!(www(), ["198.51.100.1"]);

    // An unreachable server (nothing listens on the port) with a decider running: the record is
    // left as it was, and the attempts are spaced out (1 s doubling, jittered: 0.5-1 s, then
    // 1-2 s ...), not one per 20 ms tick.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let unreachable = Pool::provider(&h, &p.ring, "unreachable", &closed.to_string(), &named.zone, &named).await;
    let mut down = settings(unreachable, "www.fleet-test.example");
    down.detection_window_seconds = 10;
    down.hold_seconds = 0;
    h.store.put_failover("admin", &p.ring, p.pool_id, &down).await.unwrap();
    let errors = || async { h.store.failover_events(p.pool_id, 1000).await.unwrap().into_iter().filter(|e| e.kind == "error").count() };
    let before = errors().await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let decider = tokio::spawn(Decider::new(h.store.clone(), Arc::new(p.ring.clone()), "replica-a".into(), Duration::from_millis(20), Duration::from_secs(60)).run(stopped));
    let start = Instant::now();
    let mut seen = Vec::new();
    while start.elapsed() < Duration::from_millis(4_000) {
        let now = errors().await - before;
        if now > seen.len() {
            seen.push(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.send(true).unwrap();
    decider.await.unwrap();
    let attempts = errors().await - before;
    assert!((3..=4).contains(&attempts), "{attempts} failed attempts in 4 s (attempt times {seen:?})");
    for pair in seen.windows(2) {
        assert!(pair[1] - pair[0] >= Duration::from_millis(400), "retried too soon: {seen:?}");
    }
    if seen.len() >= 3 {
        assert!(seen[2] - seen[1] > seen[1] - seen[0] - Duration::from_millis(100), "the delay grows: {seen:?}");
    }
    let timeline = h.store.failover_events(p.pool_id, 1000).await.unwrap();
    let said = |e: &&fleet_core::failover::settings::FailoverEvent| e.kind == "error" && e.message.contains("cannot point www.fleet-test.example at node-b") && e.message.contains("unreachable");
    assert_eq!(timeline.iter().filter(said).count(), attempts, "each attempt says why: {timeline:#?}");
    assert_eq!(h.store.failover(p.pool_id).await.unwrap().active.as_deref(), Some("node-a"));
    assert_eq!(www(), ["198.51.100.1"], "the record is left as it was");
    std::fs::remove_dir_all(&p.dir).unwrap();
}
