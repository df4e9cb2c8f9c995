//! Certificate renewal (certs::renewal + store/renewals.rs) with a manual clock: when a
//! certificate is due, the ARI window, backoff, the runaway guard, and the cross-replica lease
//! (two stores on one database racing to renew: exactly one order).
//!
//! The `OrderStarter` here stands in for the ACME order machinery: it counts the orders and
//! "issues" a certificate signed by a test CA (rcgen), which is what the real starter returns.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fleet_core::certs::renewal::scheduler::BoxFuture;
use fleet_core::certs::renewal::{
    cert_id_from_parts, renewal_facts, OrderStarter, RenewalAttempt, RenewalPolicy, RenewalScheduler, RenewalStart,
    TrackRenewal, WindowSource,
};
use fleet_core::Store;
use fleet_core::certs::{pem_certificate_der, Upload};
use fleet_core::secrets::{Keyring, MasterKey};
use fleet_core::{Actor, NewCertificate, OsRandom, Role};
use fleet_tests::pki::TestPki;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::store_tests;
use crate::support::{Harness, T0};

const DAY: i64 = 86_400_000;

/// A test CA that signs leaves with an Authority Key Identifier, like every ACME CA.
struct TestCa(TestPki);

impl TestCa {
    fn new() -> TestCa {
        TestCa(TestPki::new("renewal test", T0 - 365 * DAY, T0 + 3650 * DAY))
    }

    fn root_der(&self) -> Vec<u8> {
        pem_certificate_der(self.0.root_pem()).unwrap()
    }

    /// A leaf for `names` valid `days` from `not_before_ms`, DER.
    fn leaf(&self, names: &[&str], not_before_ms: i64, days: i64, serial: &[u8]) -> Vec<u8> {
        pem_certificate_der(&self.0.acme_leaf(names, not_before_ms, not_before_ms + days * DAY, serial).cert_pem).unwrap()
    }
}

/// What the starter does with an order.
#[derive(Clone, Copy)]
enum Outcome {
    /// Issues a 6-day certificate from the clock's now, after holding the order `hold_ms`.
    Issue { hold_ms: u64 },
    /// Issues a certificate that is due again at once (a renewal loop).
    IssueDueAgain,
    /// The CA refuses.
    Fail,
}

struct Starter {
    ca: TestCa,
    clock: Arc<fleet_core::ManualClock>,
    outcome: Outcome,
    orders: AtomicU32,
    seen: Mutex<Vec<RenewalAttempt>>,
}

impl Starter {
    fn new(h: &Harness, outcome: Outcome) -> Arc<Starter> {
        Arc::new(Starter { ca: TestCa::new(), clock: h.clock.clone(), outcome, orders: AtomicU32::new(0), seen: Mutex::default() })
    }
}

impl OrderStarter for Starter {
    fn renew<'a>(&'a self, attempt: &'a RenewalAttempt) -> BoxFuture<'a, Result<Vec<u8>, String>> {
        Box::pin(async move {
            let n = self.orders.fetch_add(1, Ordering::SeqCst) + 1;
            self.seen.lock().unwrap().push(attempt.clone());
            let names: Vec<&str> = attempt.names.iter().map(String::as_str).collect();
            let now = fleet_core::Clock::now_ms(self.clock.as_ref());
            match self.outcome {
                Outcome::Issue { hold_ms } => {
                    tokio::time::sleep(Duration::from_millis(hold_ms)).await;
                    Ok(self.ca.leaf(&names, now, 6, &n.to_be_bytes()))
                }
                Outcome::IssueDueAgain => Ok(self.ca.leaf(&names, now - 5 * DAY, 6, &n.to_be_bytes())),
                Outcome::Fail => Err("urn:ietf:params:acme:error:rejectedIdentifier: the CA said no".into()),
            }
        })
    }
}

async fn track(store: &Store, ca: &TestCa, id: i64, names: &[&str], days: i64, directory: Option<&str>) {
    let der = ca.leaf(names, T0, days, &[0x87, 0x65, 0x43, 0x21]);
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    store
        .track_renewal(&TrackRenewal { certificate_id: id, names: &names, account_id: Some(7), directory_url: directory, der: &der })
        .await
        .unwrap();
}

store_tests!(
    six_day_certificate_renews_with_two_days_left,
    two_replicas_racing_start_exactly_one_order,
    concurrent_lease_takers_get_one_lease,
    failed_orders_back_off_and_raise_an_audit_entry,
    runaway_guard_refuses_after_the_limit,
    a_crashed_holders_lease_expires,
    ari_window_from_a_stand_in_ca,
    a_deleted_certificate_is_no_longer_renewed,
);

async fn six_day_certificate_renews_with_two_days_left(h: Harness) {
    let ca = TestCa::new();
    track(&h.store, &ca, 1, &["six.example", "www.six.example"], 6, None).await;
    track(&h.store, &ca, 2, &["ninety.example"], 90, None).await;
    let six = h.store.renewal(1).await.unwrap().unwrap();
    assert_eq!(six.plan.renew_at_ms, T0 + 4 * DAY);
    assert_eq!(six.plan.source, WindowSource::Lifetime);
    assert_eq!(h.store.renewal(2).await.unwrap().unwrap().plan.renew_at_ms, T0 + 60 * DAY);
    h.clock.set(T0 + 4 * DAY - 1);
    assert!(h.store.renewals_due(10).await.unwrap().is_empty(), "not due a millisecond early");
    h.clock.set(T0 + 4 * DAY);
    let due = h.store.renewals_due(10).await.unwrap();
    assert_eq!(due.iter().map(|r| r.certificate_id).collect::<Vec<_>>(), vec![1]);

    let starter = Starter::new(&h, Outcome::Issue { hold_ms: 0 });
    let scheduler = RenewalScheduler::new(h.store.clone(), starter.clone(), RenewalPolicy::default(), "a");
    let report = scheduler.tick().await.unwrap();
    assert_eq!((report.started, report.issued), (1, 1));
    let attempt = starter.seen.lock().unwrap()[0].clone();
    assert_eq!(attempt.names, vec!["six.example", "www.six.example"]);
    assert_eq!(attempt.replaces.as_deref().map(|id| id.ends_with(".AIdlQyE")), Some(true), "replaces names the old certificate");
    let renewed = h.store.renewal(1).await.unwrap().unwrap();
    assert_eq!(renewed.plan.renew_at_ms, T0 + 8 * DAY, "the new 6-day certificate renews at 2 days left");
    assert!(h.store.renewals_due(10).await.unwrap().is_empty());
    let audit = h.store.audit_log(None, 10).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "certificate.renewed"));
}

/// Issue 13: "two server replicas on PostgreSQL racing to renew: exactly one order" (and the
/// same on SQLite, two stores on one file).
async fn two_replicas_racing_start_exactly_one_order(h: Harness) {
    let replica = h.replica(2).await;
    let starter = Starter::new(&h, Outcome::Issue { hold_ms: 300 });
    track(&h.store, &starter.ca, 1, &["race.example"], 6, None).await;
    h.clock.set(T0 + 5 * DAY);
    let a = RenewalScheduler::new(h.store.clone(), starter.clone(), RenewalPolicy::default(), "replica-a");
    let b = RenewalScheduler::new(replica.clone(), starter.clone(), RenewalPolicy::default(), "replica-b");
    let (ra, rb) = tokio::join!(a.tick(), b.tick());
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(starter.orders.load(Ordering::SeqCst), 1, "exactly one order: {ra:?} {rb:?}");
    assert_eq!(ra.started + rb.started, 1);
    // Either the loser saw the lease (busy) or it looked after the winner finished (not due).
    let (ra, rb) = tokio::join!(a.tick(), b.tick());
    assert_eq!(ra.unwrap().started + rb.unwrap().started, 0, "renewed: nothing is due any more");
    assert_eq!(starter.orders.load(Ordering::SeqCst), 1);
    assert_eq!(h.store.renewal_orders_since("race.example", 0).await.unwrap(), 1);
    replica.close().await;
}

/// Eight takers on two stores ask for the same certificate's lease at the same moment.
async fn concurrent_lease_takers_get_one_lease(h: Harness) {
    let replica = h.replica(3).await;
    let ca = TestCa::new();
    track(&h.store, &ca, 1, &["a.example", "b.example"], 6, None).await;
    h.clock.set(T0 + 5 * DAY);
    let policy = RenewalPolicy::default();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = if i % 2 == 0 { h.store.clone() } else { replica.clone() };
        let policy = policy.clone();
        tasks.push(tokio::spawn(async move { store.begin_renewal(1, &format!("r{i}"), &policy).await.unwrap() }));
    }
    let mut started = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            RenewalStart::Started(attempt) => started.push(attempt),
            RenewalStart::Busy { name } => assert_eq!(name, "a.example", "names are leased in order"),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(started.len(), 1, "exactly one lease holder");
    assert_eq!(h.store.renewal_orders_since("b.example", 0).await.unwrap(), 1);
    // The ACME order placed for the attempt finds the CertID it replaces.
    replica.link_renewal_order(&started[0], 4242).await.unwrap();
    assert_eq!(h.store.renewal_replaces(4242).await.unwrap(), started[0].replaces);
    assert!(started[0].replaces.is_some());
    assert_eq!(h.store.renewal_replaces(4243).await.unwrap(), None);
    assert!(h.store.is_renewal_order(4242).await.unwrap());
    assert!(!h.store.is_renewal_order(4243).await.unwrap());
    // Released at the end: the next taker gets it.
    let der = ca.leaf(&["a.example", "b.example"], T0 + 5 * DAY, 1, &[1]);
    h.store.finish_renewal(&started[0], Ok(&der), &policy).await.unwrap();
    h.clock.set(T0 + 6 * DAY);
    assert!(matches!(replica.begin_renewal(1, "late", &policy).await.unwrap(), RenewalStart::Started(_)));
    replica.close().await;
}

async fn failed_orders_back_off_and_raise_an_audit_entry(h: Harness) {
    let starter = Starter::new(&h, Outcome::Fail);
    track(&h.store, &starter.ca, 1, &["fail.example"], 6, None).await;
    h.clock.set(T0 + 4 * DAY);
    let policy = RenewalPolicy::default();
    let scheduler = RenewalScheduler::new(h.store.clone(), starter.clone(), policy.clone(), "a");
    let report = scheduler.tick().await.unwrap();
    assert_eq!((report.started, report.issued), (1, 0));
    let failed = h.store.renewal(1).await.unwrap().unwrap();
    assert_eq!(failed.failures, 1);
    let first = failed.retry_at_ms.unwrap() - (T0 + 4 * DAY);
    assert!((150_000..=300_000).contains(&first), "first delay half to all of 5 min: {first}");
    assert!(failed.last_error.as_deref().unwrap().contains("rejectedIdentifier"));
    assert_eq!(scheduler.tick().await.unwrap().started, 0, "backing off");
    h.clock.set(failed.retry_at_ms.unwrap());
    assert_eq!(scheduler.tick().await.unwrap().started, 1);
    let again = h.store.renewal(1).await.unwrap().unwrap();
    assert_eq!(again.failures, 2);
    let second = again.retry_at_ms.unwrap() - failed.retry_at_ms.unwrap();
    assert!((300_000..=600_000).contains(&second), "second delay doubles: {second}");
    let audit = h.store.audit_log(None, 10).await.unwrap();
    assert_eq!(audit.iter().filter(|e| e.action == "certificate.renewal_failed").count(), 2);
    // The leases were released each time.
    assert!(matches!(h.store.begin_renewal(1, "x", &policy).await.unwrap(), RenewalStart::NotDue));
}

async fn runaway_guard_refuses_after_the_limit(h: Harness) {
    let starter = Starter::new(&h, Outcome::IssueDueAgain);
    track(&h.store, &starter.ca, 1, &["loop.example"], 6, None).await;
    h.clock.set(T0 + 5 * DAY);
    let policy = RenewalPolicy { max_orders_per_day: 3, ..RenewalPolicy::default() };
    let scheduler = RenewalScheduler::new(h.store.clone(), starter.clone(), policy.clone(), "a");
    for _ in 0..3 {
        assert_eq!(scheduler.tick().await.unwrap().issued, 1);
        h.clock.advance(60_000);
    }
    let report = scheduler.tick().await.unwrap();
    assert_eq!((report.started, report.refused), (0, 1));
    assert_eq!(starter.orders.load(Ordering::SeqCst), 3);
    let refused = h.store.renewal(1).await.unwrap().unwrap();
    let error = refused.last_error.unwrap();
    assert!(error.contains("3 orders in the last 24 hours reached the limit of 3"), "{error}");
    assert!(h.store.audit_log(None, 20).await.unwrap().iter().any(|e| e.action == "certificate.renewal_refused"));
    // A day after the first order the guard lets one through again.
    h.clock.set(T0 + 6 * DAY + 1);
    assert_eq!(scheduler.tick().await.unwrap().issued, 1);
}

async fn a_crashed_holders_lease_expires(h: Harness) {
    let replica = h.replica(4).await;
    let ca = TestCa::new();
    track(&h.store, &ca, 1, &["crash.example"], 6, None).await;
    h.clock.set(T0 + 5 * DAY);
    let policy = RenewalPolicy::default();
    let RenewalStart::Started(crashed) = h.store.begin_renewal(1, "crashed", &policy).await.unwrap() else { panic!() };
    assert!(matches!(replica.begin_renewal(1, "b", &policy).await.unwrap(), RenewalStart::Busy { .. }));
    // The holder extends its lease while alive ...
    h.clock.advance(i64::try_from(policy.lease_ttl.as_millis()).unwrap() - 1);
    assert!(h.store.extend_renewal_lease(&crashed, &policy).await.unwrap());
    h.clock.advance(i64::try_from(policy.lease_ttl.as_millis()).unwrap() - 1);
    assert!(matches!(replica.begin_renewal(1, "b", &policy).await.unwrap(), RenewalStart::Busy { .. }));
    // ... then dies: a lease TTL later another replica takes over.
    h.clock.advance(1);
    let RenewalStart::Started(taken) = replica.begin_renewal(1, "b", &policy).await.unwrap() else { panic!() };
    assert!(taken.holder.starts_with("b#"));
    assert!(!h.store.extend_renewal_lease(&crashed, &policy).await.unwrap(), "the crashed holder lost it");
    replica.close().await;
}

/// The ARI path. The Debian pebble (2.4.0) has no `renewalInfo` in its directory, so this runs
/// against a small local HTTP stand-in that serves an RFC 8555 directory with `renewalInfo` and
/// answers `GET <renewalInfo>/<CertID>` only for the CertID RFC 9773 §4.1 defines for the
/// certificate, with a `suggestedWindow` and `Retry-After`.
async fn ari_window_from_a_stand_in_ca(h: Harness) {
    let ca = TestCa::new();
    let der = ca.leaf(&["ari.example"], T0, 90, &[0x87, 0x65, 0x43, 0x21]);
    let cert_id = renewal_facts(&der).unwrap().cert_id.unwrap();
    let window = ("2026-02-20T00:00:00Z", "2026-02-22T00:00:00Z");
    let stand_in = StandIn::start(cert_id.clone(), window, true).await;
    let names = vec!["ari.example".to_string()];
    let directory = stand_in.url("/directory");
    h.store
        .track_renewal(&TrackRenewal { certificate_id: 1, names: &names, account_id: None, directory_url: Some(&directory), der: &der })
        .await
        .unwrap();
    let starter = Starter::new(&h, Outcome::Issue { hold_ms: 0 });
    let scheduler = RenewalScheduler::new(h.store.clone(), starter.clone(), RenewalPolicy::default(), "a");
    let report = scheduler.tick().await.unwrap();
    assert_eq!((report.ari_checked, report.started), (1, 0));
    let requests = stand_in.requests();
    assert_eq!(requests, vec!["GET /directory".to_string(), format!("GET /renewal-info/{cert_id}")]);
    let planned = h.store.renewal(1).await.unwrap().unwrap();
    assert_eq!(planned.plan.source, WindowSource::Ari);
    let (start, end) = (T0 + 50 * DAY, T0 + 52 * DAY);
    assert!(planned.plan.renew_at_ms >= start && planned.plan.renew_at_ms <= end, "{planned:?}");
    assert_eq!(planned.explanation_url.as_deref(), Some("https://ca.example/ari-explained"));
    assert_eq!(planned.ari_next_check_ms, Some(T0 + 3_600_000), "Retry-After: 3600");
    // Asked again an hour later: same window, same pick.
    h.clock.advance(3_600_000);
    assert_eq!(scheduler.tick().await.unwrap().ari_checked, 1);
    assert_eq!(h.store.renewal(1).await.unwrap().unwrap().plan, planned.plan);
    // At the picked instant the order starts and replaces the old certificate.
    h.clock.set(planned.plan.renew_at_ms);
    let report = scheduler.tick().await.unwrap();
    assert_eq!((report.started, report.issued), (1, 1));
    assert_eq!(starter.seen.lock().unwrap()[0].replaces.as_deref(), Some(cert_id.as_str()));
    // The new certificate's CertID differs (new serial); the stand-in answers 404 for it, so the
    // plan stays on the lifetime and ARI is asked again later.
    let report = scheduler.tick().await.unwrap();
    assert_eq!(report.ari_checked, 1);
    let after = h.store.renewal(1).await.unwrap().unwrap();
    assert_eq!(after.plan.source, WindowSource::Lifetime);
    assert!(after.ari_next_check_ms.unwrap() > planned.plan.renew_at_ms);

    // A directory without renewalInfo (like pebble 2.4.0): the lifetime plan, no more asking.
    let plain = StandIn::start(cert_id.clone(), window, false).await;
    let directory = plain.url("/directory");
    h.store
        .track_renewal(&TrackRenewal { certificate_id: 2, names: &names, account_id: None, directory_url: Some(&directory), der: &der })
        .await
        .unwrap();
    scheduler.tick().await.unwrap();
    let lifetime = h.store.renewal(2).await.unwrap().unwrap();
    assert_eq!((lifetime.plan.source, lifetime.ari_next_check_ms), (WindowSource::Lifetime, None));
    assert_eq!(plain.requests(), vec!["GET /directory".to_string()]);
}

async fn a_deleted_certificate_is_no_longer_renewed(h: Harness) {
    let ca = TestCa::new();
    let leaf = ca.0.acme_leaf(&["gone.example"], T0, T0 + 6 * DAY, &[5]);
    let ring = Keyring::new(MasterKey::generate(&OsRandom).unwrap());
    let chain = format!("{}{}", leaf.cert_pem, ca.0.chain_pem());
    let upload = Upload { certificate: &chain, private_key: Some(&leaf.key_pem), ..Upload::default() };
    let admin = Actor { name: "admin", role: Role::Admin };
    let cert = h.store.put_certificate(admin, &ring, NewCertificate { name: "gone", cluster_id: None, upload }).await.unwrap();
    let der = pem_certificate_der(&leaf.cert_pem).unwrap();
    let names = vec!["gone.example".to_string()];
    let track = TrackRenewal { certificate_id: cert.id, names: &names, account_id: None, directory_url: None, der: &der };
    h.store.track_renewal(&track).await.unwrap();
    assert!(h.store.renewal(cert.id).await.unwrap().is_some());
    h.store.delete_certificate(admin, cert.id).await.unwrap();
    assert!(h.store.renewal(cert.id).await.unwrap().is_none());
}

/// A minimal HTTP/1.1 server on loopback: one request per connection.
struct StandIn {
    addr: std::net::SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
}

impl StandIn {
    async fn start(cert_id: String, window: (&'static str, &'static str), ari: bool) -> StandIn {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else { return };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).to_string();
                let line: Vec<&str> = head.lines().next().unwrap_or("").split(' ').collect();
                let (method, path) = (line.first().copied().unwrap_or(""), line.get(1).copied().unwrap_or(""));
                seen.lock().unwrap().push(format!("{method} {path}"));
                let (status, headers, body) = if path == "/directory" {
                    let mut directory = serde_json::json!({
                        "newNonce": format!("http://{addr}/nonce"),
                        "newAccount": format!("http://{addr}/account"),
                        "newOrder": format!("http://{addr}/order"),
                    });
                    if ari {
                        directory["renewalInfo"] = serde_json::json!(format!("http://{addr}/renewal-info"));
                    }
                    ("200 OK", "", directory.to_string())
                } else if method == "GET" && path == format!("/renewal-info/{cert_id}") {
                    let body = serde_json::json!({
                        "suggestedWindow": {"start": window.0, "end": window.1},
                        "explanationURL": "https://ca.example/ari-explained",
                    });
                    ("200 OK", "Retry-After: 3600\r\n", body.to_string())
                } else {
                    ("404 Not Found", "", r#"{"type":"urn:ietf:params:acme:error:malformed"}"#.to_string())
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            }
        });
        StandIn { addr, requests }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

/// The CertID read from a certificate equals the one built from what openssl prints for it
/// (the real tool, independent of x509-parser).
#[test]
fn cert_id_matches_openssl() {
    let ca = TestCa::new();
    let der = ca.leaf(&["id.example"], T0, 90, &[0x87, 0x65, 0x43, 0x21]);
    let dir = crate::support::TempDir::new();
    let path = dir.path().join("leaf.der");
    std::fs::write(&path, &der).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["x509", "-inform", "DER", "-noout", "-serial", "-ext", "authorityKeyIdentifier", "-in"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let hex_bytes = |s: &str| -> Vec<u8> {
        let digits: String = s.chars().filter(char::is_ascii_hexdigit).collect();
        hex::decode(digits).unwrap()
    };
    let serial_line = text.lines().find_map(|l| l.strip_prefix("serial=")).unwrap();
    let mut serial = hex_bytes(serial_line);
    if serial[0] & 0x80 != 0 {
        serial.insert(0, 0); // DER INTEGER contents keep the sign byte (RFC 9773 §4.1)
    }
    let aki_line = text.lines().skip_while(|l| !l.contains("Authority Key Identifier")).nth(1).unwrap();
    let aki = hex_bytes(aki_line.trim().trim_start_matches("keyid:"));
    assert_eq!(renewal_facts(&der).unwrap().cert_id.unwrap(), cert_id_from_parts(&aki, &serial));
    assert!(cert_id_from_parts(&aki, &serial).ends_with(".AIdlQyE"), "the RFC example's serial");
    // The root (self-signed, no AKI from rcgen) has no CertID.
    assert_eq!(renewal_facts(&ca.root_der()).unwrap().cert_id, None);
}
