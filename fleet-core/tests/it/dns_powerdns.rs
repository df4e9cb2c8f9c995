//! The PowerDNS provider against a real PowerDNS Authoritative (`pdns_server` with its SQLite
//! backend, started on loopback with the API on and a key made for the run; the zone made with
//! `pdnsutil`): A and TXT RRsets are replaced, read back by `dig` (asked of pdns's DNS port) as
//! well as through the API, deleted; test connection; a wrong API key is refused in words and
//! changes nothing; an unknown zone and an unreachable API say so; the propagation check asks
//! pdns's own DNS listener.

use std::net::SocketAddr;
use std::time::Duration;

use fleet_core::dns::{test_connection, DnsError, DnsProvider, PowerDns, Propagation, RecordSet, RecordType};
use fleet_tests::PowerDnsServer;

fn provider(pdns: &PowerDnsServer, zone: &str, key: &str) -> PowerDns {
    PowerDns::new(&pdns.api_url, "localhost", zone, key, pdns.dns).unwrap().with_timeout(Duration::from_secs(5)).unwrap()
}

/// A real PowerDNS; `None` skips, or fails with `FLEET_REQUIRE_TOOLS=1`.
fn start() -> Option<PowerDnsServer> {
    fleet_tests::require(PowerDnsServer::start("fleet-test.example"), "pdns_server")
}

#[tokio::test]
async fn rrsets_are_replaced_read_and_deleted_through_the_api() {
    let Some(pdns) = start() else { return };
    let dns = provider(&pdns, &pdns.zone, &pdns.api_key);
    assert_eq!(dns.zone(), "fleet-test.example.");

    let host = "www.fleet-test.example";
    let a = RecordSet { name: host.into(), record_type: RecordType::A, ttl: 30, values: vec!["192.0.2.10".into()] };
    dns.replace(&a).await.unwrap_or_else(|e| panic!("{e}\n{}", pdns.log()));
    assert_eq!(pdns.dig(host, "A").unwrap(), vec!["192.0.2.10"]);
    let moved = RecordSet { values: vec!["192.0.2.20".into(), "192.0.2.21".into()], ..a.clone() };
    dns.replace(&moved).await.unwrap();
    dns.replace(&moved).await.unwrap();
    let mut dug = pdns.dig(host, "A").unwrap();
    dug.sort();
    assert_eq!(dug, vec!["192.0.2.20", "192.0.2.21"], "a replace leaves exactly the new values, retried or not");
    let read = dns.read(host, RecordType::A).await.unwrap().unwrap();
    assert_eq!(read.value_set(), moved.value_set());
    assert_eq!(read.ttl, 30);

    // TXT: quoted for PowerDNS, one value longer than a character-string, read back as text.
    let name = "_acme-challenge.www.fleet-test.example.";
    let long = "y".repeat(300);
    dns.replace(&RecordSet::txt(name, 60, ["token \"one\"".to_string(), long.clone()])).await.unwrap();
    let read = dns.read(name, RecordType::Txt).await.unwrap().unwrap();
    assert_eq!(read.value_set(), ["token \"one\"".to_string(), long].into_iter().collect());
    assert_eq!(pdns.dig(name, "TXT").unwrap().len(), 2);

    // Delete: gone for dig and for read; deleting again is not an error.
    dns.delete(name, RecordType::Txt).await.unwrap();
    assert_eq!(pdns.dig(name, "TXT").unwrap(), Vec::<String>::new());
    assert_eq!(dns.read(name, RecordType::Txt).await.unwrap(), None);
    dns.delete(name, RecordType::Txt).await.unwrap();
    assert_eq!(dns.read(host, RecordType::Aaaa).await.unwrap(), None);

    // Outside the zone or a bad address: refused before anything is sent.
    let outside = RecordSet { name: "www.other.example".into(), ..a.clone() };
    assert!(matches!(dns.replace(&outside).await, Err(DnsError::Invalid(m)) if m.contains("not in zone fleet-test.example.")));
    let bad = RecordSet { values: vec!["2001:db8::1".into()], ..a.clone() };
    assert!(matches!(dns.replace(&bad).await, Err(DnsError::Invalid(_))));

    // Test connection; the propagation check asks pdns's DNS port (the zone's NS is itself).
    let test = test_connection(&dns).await;
    assert!(test.ok && test.detail.contains("zone fleet-test.example.") && test.detail.contains("Native"), "{test:?}");
    assert_eq!(dns.authorities().await.unwrap(), vec![pdns.dns]);
    let check = Propagation { timeout: Duration::from_secs(5), interval: Duration::from_millis(100), query_timeout: Duration::from_secs(2) };
    assert_eq!(check.confirm(&dns, &moved).await.unwrap(), "every authoritative server (1)");
}

#[tokio::test]
async fn a_wrong_key_an_unknown_zone_and_no_server_are_said_in_words() {
    let Some(pdns) = start() else { return };
    let good = provider(&pdns, &pdns.zone, &pdns.api_key);
    let host = "keep.fleet-test.example";
    let a = RecordSet { name: host.into(), record_type: RecordType::A, ttl: 60, values: vec!["192.0.2.1".into()] };
    good.replace(&a).await.unwrap();

    let wrong = provider(&pdns, &pdns.zone, "not-the-key");
    let error = wrong.replace(&RecordSet { values: vec!["192.0.2.99".into()], ..a.clone() }).await.unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, DnsError::ApiRefused { status: 401, .. }), "{message}");
    assert!(message.contains("the API key is refused"), "{message}");
    assert_eq!(pdns.dig(host, "A").unwrap(), vec!["192.0.2.1"], "the record is unchanged");
    let test = test_connection(&wrong).await;
    assert!(!test.ok && test.detail.contains("the API key is refused"), "{test:?}");

    let unknown = provider(&pdns, "nowhere.example", &pdns.api_key);
    let message = unknown.replace(&RecordSet { name: "www.nowhere.example".into(), ..a.clone() }).await.unwrap_err().to_string();
    assert!(message.contains("zone nowhere.example. does not exist") && message.contains("HTTP 404"), "{message}");
    let test = test_connection(&unknown).await;
    assert!(!test.ok && test.detail.contains("does not exist"), "{test:?}");

    let closed: SocketAddr = ([127, 0, 0, 1], 1).into();
    let gone = PowerDns::new("http://127.0.0.1:1", "localhost", &pdns.zone, &pdns.api_key, closed).unwrap();
    let test = test_connection(&gone).await;
    assert!(!test.ok && test.detail.starts_with("http://127.0.0.1:1 unreachable"), "{test:?}");
    assert_eq!(pdns.dig(host, "A").unwrap(), vec!["192.0.2.1"]);
}
