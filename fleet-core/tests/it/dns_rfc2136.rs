//! The RFC 2136 provider against a real BIND 9 (`named` started on loopback with a zone that
//! accepts updates signed by a TSIG key made for the run): TXT and A RRsets are replaced, read
//! back by `dig` as well as by the provider, deleted; a wrong secret or an unknown key name is
//! refused with the server's TSIG error and changes nothing; the propagation check passes on
//! every authoritative server and times out when a value never appears.

use std::time::Duration;

use fleet_core::dns::{authorities, test_connection, DnsError, DnsProvider, Propagation, RecordSet, RecordType, Rfc2136, TsigAlgorithm, TsigKey};
use fleet_tests::{Named, NAMED_KEY_NAME};

fn provider(named: &Named, key_name: &str, secret: &str) -> Rfc2136 {
    let key = TsigKey::new(key_name, TsigAlgorithm::HmacSha256, secret).unwrap();
    Rfc2136::new(named.addr, &named.zone, key).unwrap().with_timeout(Duration::from_secs(5))
}

/// A real BIND 9; `None` skips, or fails with `FLEET_REQUIRE_TOOLS=1`.
fn start() -> Option<Named> {
    fleet_tests::require(Named::start("fleet-test.example"), "named")
}

#[tokio::test]
async fn txt_and_a_rrsets_are_replaced_read_and_deleted() {
    let Some(named) = start() else { return };
    let dns = provider(&named, NAMED_KEY_NAME, &named.secret);
    assert_eq!(dns.zone(), "fleet-test.example.");
    let name = "_acme-challenge.www.fleet-test.example";

    // Two TXT values, one longer than a character-string (ACME names with a wildcard twin).
    let long = "x".repeat(300);
    dns.replace(&RecordSet::txt(name, 30, ["token-one".to_string(), long.clone()])).await.unwrap();
    let mut dug = named.dig(name, "TXT").unwrap();
    dug.sort();
    assert_eq!(dug.len(), 2, "{dug:?}");
    assert_eq!(dug[0], "token-one");
    assert!(dug[1].starts_with("xxxx"), "{dug:?}");
    let read = dns.read(name, RecordType::Txt).await.unwrap().unwrap();
    assert_eq!(read.value_set(), ["token-one".to_string(), long].into_iter().collect());
    assert_eq!(read.ttl, 30);

    // A replace leaves exactly the new values (retrying it is harmless).
    let single = RecordSet::txt(name, 30, ["token-two".to_string()]);
    dns.replace(&single).await.unwrap();
    dns.replace(&single).await.unwrap();
    assert_eq!(named.dig(name, "TXT").unwrap(), vec!["token-two"]);

    // A and AAAA for a failover hostname.
    let host = "edge.fleet-test.example.";
    let a = RecordSet { name: host.into(), record_type: RecordType::A, ttl: 60, values: vec!["192.0.2.10".into()] };
    dns.replace(&a).await.unwrap();
    assert_eq!(named.dig(host, "A").unwrap(), vec!["192.0.2.10"]);
    let moved = RecordSet { values: vec!["192.0.2.20".into(), "192.0.2.21".into()], ..a.clone() };
    dns.replace(&moved).await.unwrap();
    let mut dug = named.dig(host, "A").unwrap();
    dug.sort();
    assert_eq!(dug, vec!["192.0.2.20", "192.0.2.21"]);
    let aaaa = RecordSet { record_type: RecordType::Aaaa, values: vec!["2001:db8::20".into()], ..a.clone() };
    dns.replace(&aaaa).await.unwrap();
    assert_eq!(named.dig(host, "AAAA").unwrap(), vec!["2001:db8::20"]);
    assert_eq!(named.dig(host, "A").unwrap().len(), 2, "another type's RRset is untouched");

    // Delete: gone for dig and for read; deleting again is not an error.
    dns.delete(name, RecordType::Txt).await.unwrap();
    assert_eq!(named.dig(name, "TXT").unwrap(), Vec::<String>::new());
    assert_eq!(dns.read(name, RecordType::Txt).await.unwrap(), None);
    dns.delete(name, RecordType::Txt).await.unwrap();

    // Outside the zone: refused before anything is sent.
    let outside = RecordSet::txt("_acme-challenge.other.example", 30, ["x".to_string()]);
    assert!(matches!(dns.replace(&outside).await, Err(DnsError::Invalid(m)) if m.contains("not in zone fleet-test.example.")));
}

#[tokio::test]
async fn a_wrong_key_is_refused_with_the_servers_reason_and_changes_nothing() {
    let Some(named) = start() else { return };
    let good = provider(&named, NAMED_KEY_NAME, &named.secret);
    let host = "keep.fleet-test.example";
    let a = RecordSet { name: host.into(), record_type: RecordType::A, ttl: 60, values: vec!["192.0.2.1".into()] };
    good.replace(&a).await.unwrap_or_else(|e| panic!("{e}\n{}", named.log()));

    // The right name with another secret: BADSIG.
    let wrong_secret = provider(&named, NAMED_KEY_NAME, "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZyE=");
    let moved = RecordSet { values: vec!["192.0.2.99".into()], ..a.clone() };
    let error = wrong_secret.replace(&moved).await.unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, DnsError::Refused { .. }), "{message}");
    assert!(message.contains("NOTAUTH") && message.contains("BADSIG"), "{message}");

    // A key name the server does not know: BADKEY.
    let unknown = provider(&named, "someone-else", &named.secret);
    let message = unknown.delete(host, RecordType::A).await.unwrap_err().to_string();
    assert!(message.contains("BADKEY"), "{message}");

    assert_eq!(named.dig(host, "A").unwrap(), vec!["192.0.2.1"], "nothing changed");

    // Test connection: the apex SOA, then an update that changes nothing, signed.
    let test = test_connection(&good).await;
    assert!(test.ok && test.detail.contains("SOA serial") && test.detail.contains(&named.addr.to_string()), "{test:?}");
    let test = test_connection(&wrong_secret).await;
    assert!(!test.ok && test.detail.contains("BADSIG"), "{test:?}");
    let key = TsigKey::new(NAMED_KEY_NAME, TsigAlgorithm::HmacSha256, &named.secret).unwrap();
    let elsewhere = Rfc2136::new(named.addr, "nowhere.example", key.clone()).unwrap().with_timeout(Duration::from_secs(5));
    let test = test_connection(&elsewhere).await;
    assert!(!test.ok && test.detail.contains("REFUSED"), "{test:?}");
    let closed = Rfc2136::new(([127, 0, 0, 1], 1).into(), "fleet-test.example", key).unwrap().with_timeout(Duration::from_secs(2));
    let test = test_connection(&closed).await;
    assert!(!test.ok && test.detail.starts_with("127.0.0.1:1 unreachable"), "{test:?}");
    assert_eq!(named.dig(host, "A").unwrap(), vec!["192.0.2.1"], "nothing changed");
}

#[tokio::test]
async fn propagation_passes_on_every_authority_and_times_out_when_the_value_never_comes() {
    let Some(named) = start() else { return };
    let dns = provider(&named, NAMED_KEY_NAME, &named.secret);
    // The zone's NS (ns1 -> 127.0.0.1) is the server itself: one authority, on its own port.
    let servers = dns.authorities().await.unwrap();
    assert_eq!(servers, vec![named.addr]);
    assert_eq!(authorities(named.addr, "fleet-test.example", Duration::from_secs(5)).await.unwrap(), servers);

    let set = RecordSet::txt("_acme-challenge.fleet-test.example", 30, ["ready".to_string()]);
    let check = Propagation { timeout: Duration::from_secs(5), interval: Duration::from_millis(100), query_timeout: Duration::from_secs(2) };
    dns.replace(&set).await.unwrap();
    check.wait(&servers, &set).await.unwrap();

    // A value that is never published: NotPropagated after the timeout, naming what is served.
    let other = RecordSet::txt("_acme-challenge.fleet-test.example", 30, ["never".to_string()]);
    let quick = Propagation { timeout: Duration::from_millis(600), ..check };
    let started = std::time::Instant::now();
    let error = quick.wait(&servers, &other).await.unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(600));
    assert!(started.elapsed() < Duration::from_secs(4));
    let message = error.to_string();
    assert!(matches!(error, DnsError::NotPropagated { .. }), "{message}");
    assert!(message.contains(&named.addr.to_string()) && message.contains("ready"), "{message}");

    // A server that is not there is named as unreachable.
    let dead: std::net::SocketAddr = ([127, 0, 0, 1], 1).into();
    let message = quick.wait(&[named.addr, dead], &set).await.unwrap_err().to_string();
    assert!(message.contains("127.0.0.1:1") && !message.contains(&format!("{}:", named.addr)), "{message}");
}
