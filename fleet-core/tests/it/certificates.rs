//! The certificate store (`fleet_core::certs`, `Store::put_certificate` ...): uploads read and
//! refused with a clear error and nothing stored, keys sealed, deploys and replacements making
//! bundle versions with HAProxy's combined file, expiry warnings once per threshold, and what
//! nodes serve.

use fleet_core::bundle::{BundlePath, FileKind, SECRET_MODE};
use fleet_core::certs::{CrtListEntry, Upload};
use fleet_core::secrets::{Keyring, MasterKey};
use fleet_core::wire::ServedCertificate;
use fleet_core::{Actor, ClusterSettings, Error, NewCertificate, OsRandom, Role};
use fleet_tests::pki::TestPki;

use crate::support::{Harness, SAMPLE, T0};

crate::store_tests!(
    uploads_are_read_and_keys_sealed,
    bad_uploads_are_refused_and_nothing_is_stored,
    deploy_replace_and_delete,
    expiry_warnings_once_per_threshold_and_served_fingerprints,
);

const ADMIN: Actor<'static> = Actor { name: "admin", role: Role::Admin };
const DAY: i64 = 86_400_000;

/// A new key ring, also given to the store (which seals deployed files holding a key with it).
fn ring(h: &Harness) -> Keyring {
    let ring = Keyring::new(MasterKey::generate(&OsRandom).unwrap());
    h.store.use_keyring(ring.clone());
    ring
}

fn pki() -> TestPki {
    TestPki::new("Test", T0 - 10 * DAY, T0 + 400 * DAY)
}

async fn cluster(h: &Harness, name: &str) -> i64 {
    let pool = match h.store.pools().await.unwrap().into_iter().next() {
        Some(pool) => pool,
        None => h.store.create_pool("admin", "p", "").await.unwrap(),
    };
    let id = h.store.create_cluster("admin", name, pool.id, ClusterSettings::default()).await.unwrap().id;
    h.store.import(ADMIN, id, SAMPLE, "first").await.unwrap();
    id
}

fn upload<'a>(certificate: &'a str, private_key: &'a str) -> Upload<'a> {
    Upload { certificate, private_key: Some(private_key), ..Upload::default() }
}

async fn uploads_are_read_and_keys_sealed(h: Harness) {
    let pki = pki();
    let leaf = pki.leaf(&["www.example.test", "example.test"], T0 - DAY, T0 + 90 * DAY);
    let ring = ring(&h);
    let combined = format!("{}{}", leaf.cert_pem, pki.chain_pem());
    let new = NewCertificate { name: "www", cluster_id: None, upload: upload(&combined, &leaf.key_pem) };
    let cert = h.store.put_certificate(ADMIN, &ring, new).await.unwrap();
    assert_eq!(cert.name, "www");
    assert_eq!(cert.revision, 1);
    assert_eq!(cert.facts.sans, ["www.example.test", "example.test"]);
    assert_eq!(cert.facts.subject, "CN=www.example.test");
    assert_eq!(cert.facts.issuer, "CN=Test Intermediate");
    assert_eq!(cert.facts.not_after, T0 + 90 * DAY);
    assert_eq!((cert.facts.key_type.as_str(), cert.facts.key_bits), ("ecdsa", 256));
    assert_eq!(cert.facts.chain.len(), 1);
    let der = fleet_core::certs::pem_certificate_der(&leaf.cert_pem).unwrap();
    assert_eq!(cert.facts.fingerprint_sha256, fleet_core::secret::sha256_hex(&der));
    let json = serde_json::to_string(&cert).unwrap();
    assert!(!json.contains("PRIVATE KEY"), "{json}");
    // The key is sealed at rest, and opens with the ring.
    let secret = h.store.sealed_secret(&format!("certificate/{}", cert.id)).await.unwrap().unwrap();
    assert!(!secret.sealed.as_str().contains("PRIVATE"));
    assert_eq!(String::from_utf8(ring.open(&secret.purpose, &secret.sealed).unwrap()).unwrap().trim(), leaf.key_pem.trim());
    // One combined text (HAProxy's file: cert, chain, key) works as well, and a name is unique.
    let all_in_one = format!("{combined}{}", leaf.key_pem);
    let single = Upload { certificate: &all_in_one, ..Upload::default() };
    let again = h.store.put_certificate(ADMIN, &ring, NewCertificate { name: "www", cluster_id: None, upload: single }).await;
    assert!(matches!(again, Err(Error::Conflict(_))), "{again:?}");
    let other = h.store.put_certificate(ADMIN, &ring, NewCertificate { name: "www2", cluster_id: None, upload: single }).await.unwrap();
    assert_eq!(other.facts.fingerprint_sha256, cert.facts.fingerprint_sha256);
    assert_eq!(h.store.certificates().await.unwrap().len(), 2);
}

async fn bad_uploads_are_refused_and_nothing_is_stored(h: Harness) {
    let pki = pki();
    let other_pki = TestPki::new("Other", T0 - 10 * DAY, T0 + 400 * DAY);
    let leaf = pki.leaf(&["a.test"], T0 - DAY, T0 + 90 * DAY);
    let stranger = pki.leaf(&["b.test"], T0 - DAY, T0 + 90 * DAY);
    let expired = pki.leaf(&["old.test"], T0 - 100 * DAY, T0 - DAY);
    let ring = ring(&h);
    let good_chain = format!("{}{}", leaf.cert_pem, pki.chain_pem());
    let broken_chain = format!("{}{}", leaf.cert_pem, other_pki.chain_pem());
    let wrong_order = format!("{}{}", pki.chain_pem(), leaf.cert_pem);
    let wrong_order_3 = format!("{}{}{}", leaf.cert_pem, pki.root_pem(), pki.chain_pem());
    let cases: Vec<(&str, Upload<'_>, &str)> = vec![
        ("mismatched key", upload(&good_chain, &stranger.key_pem), "the private key does not match the certificate CN=a.test"),
        ("broken chain", upload(&broken_chain, &leaf.key_pem), "chain does not link: certificate 1 (CN=a.test): certificate 2 (CN=Other Intermediate) is not its issuer CN=Test Intermediate"),
        ("wrong order", upload(&wrong_order, &leaf.key_pem), "chain in wrong order: the private key belongs to certificate 2 (CN=a.test)"),
        ("wrong order of CAs", upload(&wrong_order_3, &leaf.key_pem), "chain in wrong order: certificate 1 (CN=a.test) is issued by certificate 3 (CN=Test Intermediate)"),
        ("expired", upload(&expired.cert_pem, &expired.key_pem), "certificate CN=old.test expired at"),
        ("garbage", upload("hello world", &leaf.key_pem), "certificate: no PEM block found"),
        ("garbage key", upload(&leaf.cert_pem, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), "the private key (PRIVATE KEY) cannot be read"),
        ("no key", Upload { certificate: &leaf.cert_pem, ..Upload::default() }, "no private key"),
        ("no certificate", upload("", &leaf.key_pem), "no certificate"),
    ];
    for (what, upload, expected) in cases {
        let result = h.store.put_certificate(ADMIN, &ring, NewCertificate { name: "x", cluster_id: None, upload }).await;
        match result {
            Err(Error::Invalid { message, .. }) => assert!(message.contains(expected), "{what}: {message}"),
            other => panic!("{what}: {other:?}"),
        }
    }
    let bad_name = h.store.put_certificate(ADMIN, &ring, NewCertificate { name: "../x", cluster_id: None, upload: upload(&good_chain, &leaf.key_pem) }).await;
    assert!(matches!(bad_name, Err(Error::Invalid { .. })), "{bad_name:?}");
    assert!(h.store.certificates().await.unwrap().is_empty());
    assert!(h.store.sealed_secrets().await.unwrap().is_empty());
    assert!(h.store.audit_log(None, 10).await.unwrap().iter().all(|e| !e.action.starts_with("certificate.")));
    // allow_expired lets an expired certificate in.
    let allowed = Upload { allow_expired: true, ..upload(&expired.cert_pem, &expired.key_pem) };
    h.store.put_certificate(ADMIN, &ring, NewCertificate { name: "old", cluster_id: None, upload: allowed }).await.unwrap();
}

async fn deploy_replace_and_delete(h: Harness) {
    let pki = pki();
    let ring = ring(&h);
    let (a, b) = (cluster(&h, "a").await, cluster(&h, "b").await);
    let first = pki.leaf(&["site.test"], T0 - DAY, T0 + 90 * DAY);
    let chain = format!("{}{}", first.cert_pem, pki.chain_pem());
    let cert = h.store.put_certificate(ADMIN, &ring, NewCertificate { name: "site", cluster_id: None, upload: upload(&chain, &first.key_pem) }).await.unwrap();

    let deployed = h.store.deploy_certificate(ADMIN, &ring, cert.id, a, None, None).await.unwrap();
    assert_eq!(deployed.committed.version.number, 2);
    assert_eq!(deployed.deployment.path.as_str(), "certs/site.pem");
    let file = h.store.file(a, 2, &BundlePath::new("certs/site.pem").unwrap()).await.unwrap();
    assert_eq!((file.kind, file.mode), (FileKind::Certificate, SECRET_MODE));
    let text = file.text().unwrap();
    let key_at = text.find("PRIVATE KEY").unwrap();
    assert!(text.starts_with(first.cert_pem.trim_end()) && text.find(pki.intermediate_pem().lines().nth(1).unwrap()).unwrap() < key_at, "{text}");
    let entry = CrtListEntry { path: "crt-list.txt".into(), options: "[alpn h2] site.test".into() };
    let path = BundlePath::new("tls/site.pem").unwrap();
    let to_b = h.store.deploy_certificate(ADMIN, &ring, cert.id, b, Some(path.clone()), Some(&entry)).await.unwrap();
    let list = h.store.file(b, to_b.committed.version.number, &BundlePath::new("crt-list.txt").unwrap()).await.unwrap();
    assert_eq!(list.text(), Some("/etc/haproxy/tls/site.pem [alpn h2] site.test\n"));

    // A cluster-bound certificate stays in its cluster.
    let bound_leaf = pki.leaf(&["bound.test"], T0 - DAY, T0 + 90 * DAY);
    let bound = NewCertificate { name: "bound", cluster_id: Some(a), upload: upload(&bound_leaf.cert_pem, &bound_leaf.key_pem) };
    let bound = h.store.put_certificate(ADMIN, &ring, bound).await.unwrap();
    let refused = h.store.deploy_certificate(ADMIN, &ring, bound.id, b, None, None).await;
    assert!(matches!(&refused, Err(Error::Invalid { message, .. }) if message.contains("is bound to cluster")), "{refused:?}");
    // A path holding another stored certificate is not taken over.
    let taken = h.store.deploy_certificate(ADMIN, &ring, bound.id, a, Some(BundlePath::new("certs/site.pem").unwrap()), None).await;
    assert!(matches!(taken, Err(Error::Conflict(_))), "{taken:?}");

    // Replace: a new version in every cluster that uses it, with the new certificate.
    let second = pki.leaf(&["site.test", "www.site.test"], T0 - DAY, T0 + 200 * DAY);
    let chain2 = format!("{}{}", second.cert_pem, pki.chain_pem());
    let latest_a = h.store.latest_version(a).await.unwrap().unwrap().info.number;
    let replaced = h.store.replace_certificate(ADMIN, &ring, cert.id, upload(&chain2, &second.key_pem)).await.unwrap();
    assert_eq!(replaced.certificate.revision, 2);
    assert_eq!(replaced.rollouts.len(), 2);
    assert!(replaced.rollouts.iter().all(|r| r.error.is_none() && r.version.is_some()), "{:?}", replaced.rollouts);
    assert_eq!(replaced.rollouts[0].version, Some(latest_a + 1));
    for rollout in &replaced.rollouts {
        let file = h.store.file(rollout.cluster_id, rollout.version.unwrap(), &rollout.path).await.unwrap();
        assert!(file.text().unwrap().starts_with(second.cert_pem.trim_end()));
        assert!(file.text().unwrap().contains(second.key_pem.lines().nth(1).unwrap()));
    }
    let list = h.store.file(b, replaced.rollouts[1].version.unwrap(), &BundlePath::new("crt-list.txt").unwrap()).await.unwrap();
    assert_eq!(list.text(), Some("/etc/haproxy/tls/site.pem [alpn h2] site.test\n"), "the crt-list line stays");
    // A renewal on the same key: no key in the upload keeps the stored one.
    let same_key = pki.leaf(&["site.test"], T0 - DAY, T0 + 300 * DAY);
    let refused = h.store.replace_certificate(ADMIN, &ring, cert.id, Upload { certificate: &same_key.cert_pem, ..Upload::default() }).await;
    assert!(matches!(&refused, Err(Error::Invalid { message, .. }) if message.contains("does not match")), "{refused:?}");
    let actions: Vec<String> = h.store.audit_log(None, 50).await.unwrap().into_iter().map(|e| e.action).collect();
    for action in ["certificate.create", "certificate.deploy", "certificate.replace"] {
        assert!(actions.iter().any(|a| a == action), "{action} in {actions:?}");
    }

    // Delete: refused while deployed; undeploy removes the file and the crt-list line.
    let refused = h.store.delete_certificate(ADMIN, cert.id).await;
    assert!(matches!(&refused, Err(Error::Conflict(m)) if m.contains("undeploy it first")), "{refused:?}");
    h.store.undeploy_certificate(ADMIN, cert.id, a, &BundlePath::new("certs/site.pem").unwrap()).await.unwrap();
    let done = h.store.undeploy_certificate(ADMIN, cert.id, b, &path).await.unwrap();
    let bundle = h.store.bundle(b, done.version.number).await.unwrap();
    assert!(bundle.file(&path).is_none());
    assert_eq!(bundle.file(&BundlePath::new("crt-list.txt").unwrap()).and_then(|f| f.text()), Some(""));
    h.store.delete_certificate(ADMIN, cert.id).await.unwrap();
    assert!(matches!(h.store.certificate(cert.id).await, Err(Error::NotFound(_))));
    assert!(h.store.sealed_secret(&format!("certificate/{}", cert.id)).await.unwrap().is_none());
}

async fn expiry_warnings_once_per_threshold_and_served_fingerprints(h: Harness) {
    let pki = pki();
    let ring = ring(&h);
    let a = cluster(&h, "a").await;
    let leaf = pki.leaf(&["soon.test"], T0 - DAY, T0 + 40 * DAY);
    let cert = h.store.put_certificate(ADMIN, &ring, NewCertificate { name: "soon", cluster_id: None, upload: upload(&leaf.cert_pem, &leaf.key_pem) }).await.unwrap();
    h.store.deploy_certificate(ADMIN, &ring, cert.id, a, None, None).await.unwrap();
    assert!(h.store.expiry_warnings().await.unwrap().is_empty());
    h.clock.set(T0 + 11 * DAY);
    let warnings = h.store.expiry_warnings().await.unwrap();
    assert_eq!(warnings.iter().map(|w| (w.threshold_days, w.days_left)).collect::<Vec<_>>(), [(30, 29)]);
    assert!(h.store.expiry_warnings().await.unwrap().is_empty(), "once per threshold");
    h.clock.set(T0 + 35 * DAY);
    assert_eq!(h.store.expiry_warnings().await.unwrap().iter().map(|w| w.threshold_days).collect::<Vec<_>>(), [7], "14 is skipped over");
    h.clock.set(T0 + 41 * DAY);
    assert_eq!(h.store.expiry_warnings().await.unwrap()[0].message, "certificate soon has expired");
    let audited = h.store.audit_log(None, 50).await.unwrap().into_iter().filter(|e| e.action == "certificate.expiry_warning").count();
    assert_eq!(audited, 3);
    let status = h.store.certificate_status(cert.id).await.unwrap();
    assert_eq!((status.days_left, status.warning_days), (-1, Some(0)));
    assert_eq!(h.store.certificate_expiries().await.unwrap(), [("soon".to_string(), "a".to_string(), T0 + 40 * DAY)]);

    // What nodes serve: one node on the current certificate, one on an old one.
    let mut agents = Vec::new();
    for name in ["n1", "n2"] {
        let (_, secret) = h.store.create_enrolment("admin", a, name, vec![], DAY).await.unwrap();
        agents.push(h.store.enrol(&secret, None, name, serde_json::json!({})).await.unwrap().0);
    }
    let served = |sha1: &str| {
        vec![
            ServedCertificate { filename: "/etc/haproxy/certs/soon.pem".into(), sha1: sha1.into(), serial: cert.facts.serial.clone() },
            ServedCertificate { filename: "/etc/haproxy/other.pem".into(), sha1: "00".into(), serial: String::new() },
        ]
    };
    h.store.heartbeat(agents[0].id, fleet_core::wire::Heartbeat { certificates: Some(served(&cert.facts.fingerprint_sha1.to_lowercase())), ..Default::default() }).await.unwrap();
    h.store.heartbeat(agents[1].id, fleet_core::wire::Heartbeat { certificates: Some(served("0123456789ABCDEF0123456789ABCDEF01234567")), ..Default::default() }).await.unwrap();
    let status = h.store.certificate_status(cert.id).await.unwrap();
    assert_eq!(status.deployments.len(), 1);
    assert!(status.deployments[0].current);
    let nodes: Vec<(&str, bool)> = status.deployments[0].nodes.iter().map(|n| (n.agent.as_str(), n.current)).collect();
    assert_eq!(nodes, [("n1", true), ("n2", false)], "a node serving an old certificate is visible");

    // n2 moves to the current certificate and drops other.pem; n1 serves nothing any more.
    h.clock.set(T0 + 42 * DAY);
    let current = served(&cert.facts.fingerprint_sha1)[..1].to_vec();
    h.store.heartbeat(agents[1].id, fleet_core::wire::Heartbeat { certificates: Some(current), ..Default::default() }).await.unwrap();
    h.store.heartbeat(agents[0].id, fleet_core::wire::Heartbeat { certificates: Some(vec![]), ..Default::default() }).await.unwrap();
    let status = h.store.certificate_status(cert.id).await.unwrap();
    let nodes: Vec<(&str, bool, i64)> = status.deployments[0].nodes.iter().map(|n| (n.agent.as_str(), n.current, n.reported_at)).collect();
    assert_eq!(nodes, [("n2", true, T0 + 42 * DAY)], "the row updated in place, with the heartbeat's time");
    sqlx::any::install_default_drivers();
    let db = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&h.url).await.unwrap();
    let rows: Vec<(i64, String)> = sqlx::query_as("SELECT agent_id, filename FROM served_certificates ORDER BY agent_id, filename").fetch_all(&db).await.unwrap();
    assert_eq!(rows, [(agents[1].id, "/etc/haproxy/certs/soon.pem".to_string())], "files no longer listed are gone");
}
