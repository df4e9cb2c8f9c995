//! DNS failover settings and the decider's lease in the store (both databases): bad settings
//! store nothing; of two replicas claiming the same pool exactly one holds it, and the other
//! takes over only when the holder's lease has run out (a stopped replica). The moves against a
//! real BIND run in the workspace suite (tests/tests/it/dns_failover.rs).

use fleet_core::dns::NewDnsProvider;
use fleet_core::failover::settings::FailoverSettings;
use fleet_core::secrets::{KeyFile, Keyring};
use fleet_core::Error;

use crate::support::Harness;

crate::store_tests!(one_replica_decides_for_a_pool_at_a_time);

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
