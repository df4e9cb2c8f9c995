//! ACME orders at rest (`Store::create_acme_order`, migration 0010) on both databases: a bad
//! request is refused before anything is stored, naming what is wrong; with no unfinished
//! order there is nothing to claim. The issuance itself runs against pebble in the workspace
//! suite (tests/tests/it/acme_pebble.rs).

use fleet_core::certs::acme::{ChallengeKind, KeyType, NewOrder};
use fleet_core::{Actor, ClusterSettings, Error, Role};

use crate::support::{Harness, SAMPLE};

crate::store_tests!(bad_orders_store_nothing);

async fn bad_orders_store_nothing(h: Harness) {
    let pool = h.store.create_pool("admin", "p", "").await.unwrap();
    let cluster = h.store.create_cluster("admin", "edge", pool.id, ClusterSettings::default()).await.unwrap().id;
    h.store.import(Actor::new("admin", Role::Admin), cluster, SAMPLE, "first").await.unwrap();
    let order = |names: &[&str], account_id: i64| NewOrder {
        names: names.iter().map(|n| n.to_string()).collect(),
        account_id,
        challenge: ChallengeKind::Http01,
        clusters: vec![cluster],
        frontends: vec![],
        certificate_id: None,
        path: None,
        key_type: KeyType::EcdsaP256,
        auto_apply: true,
        dns_provider_id: None,
    };
    let refused = |r: Result<_, Error>| match r {
        Err(e) => e.to_string(),
        Ok(o) => panic!("accepted: {o:?}"),
    };
    assert!(refused(h.store.create_acme_order("admin", &order(&[], 1)).await).contains("at least one DNS name"));
    assert!(refused(h.store.create_acme_order("admin", &order(&["bad name"], 1)).await).contains("not a DNS name"));
    assert!(refused(h.store.create_acme_order("admin", &order(&["*.example.com"], 1)).await).contains("dns-01"));
    // DNS-01 needs a provider whose zone holds every name; frontends are http-01's.
    let dns = NewOrder { challenge: ChallengeKind::Dns01, ..order(&["*.example.com"], 1) };
    assert!(refused(h.store.create_acme_order("admin", &dns).await).contains("no dns provider holds _acme-challenge.example.com"));
    let dns_frontends = NewOrder { frontends: vec!["web".into()], ..dns.clone() };
    assert!(refused(h.store.create_acme_order("admin", &dns_frontends).await).contains("only for challenge http-01"));
    let http_provider = NewOrder { dns_provider_id: Some(7), ..order(&["www.example.com"], 1) };
    assert!(refused(h.store.create_acme_order("admin", &http_provider).await).contains("only for challenge dns-01"));
    let missing = h.store.create_acme_order("admin", &order(&["www.example.com"], 1)).await;
    assert!(matches!(missing, Err(Error::NotFound(_))), "{missing:?}");
    // RSA keys are made (client::new_key): an rsa2048 order passes the checks up to the account.
    let rsa = NewOrder { key_type: KeyType::Rsa2048, ..order(&["www.example.com"], 1) };
    let missing = h.store.create_acme_order("admin", &rsa).await;
    assert!(matches!(missing, Err(Error::NotFound(_))), "{missing:?}");
    assert!(h.store.acme_accounts().await.unwrap().is_empty());
    assert_eq!(h.store.claim_acme_order(60_000).await.unwrap(), None, "nothing stored, nothing to claim");
    assert!(matches!(h.store.acme_order(1).await, Err(Error::NotFound(_))));
}
