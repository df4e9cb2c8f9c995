//! Bundle files holding a private key are sealed at rest (issue 13, "private keys are encrypted
//! at rest"): imported, put or deployed, their bytes reach no row of `chunks` or `blobs`; they
//! read back byte for byte, survive a master key rotation, are refused by a store without a key
//! ring, cannot be swapped for another file's; plain ones from before are sealed at start.

use fleet_core::bundle::{chunks, Bundle, BundleFile, BundlePath, FileKind};
use fleet_core::certs::Upload;
use fleet_core::secrets::{KeyFile, Keyring, MasterKey};
use fleet_core::{Actor, ClusterSettings, Error, NewCertificate, OsRandom, Role};
use fleet_tests::pki::TestPki;
use sqlx::{Connection, Executor, Row};

use crate::support::{Harness, SAMPLE, T0};

crate::store_tests!(
    key_files_are_sealed_never_chunked,
    a_store_without_a_ring_refuses_and_writes_nothing,
    rotation_reseals_sealed_files,
    plain_key_files_from_before_are_sealed_when_the_ring_loads,
    staged_key_files_are_sealed_in_the_transaction,
);

const ADMIN: Actor<'static> = Actor { name: "admin", role: Role::Admin };
const DAY: i64 = 86_400_000;

fn p(s: &str) -> BundlePath {
    BundlePath::new(s).unwrap()
}

fn file(path: &str, kind: FileKind, content: &[u8]) -> BundleFile {
    BundleFile::new(p(path), kind, content.to_vec())
}

fn pki() -> TestPki {
    TestPki::new("Test", T0 - 10 * DAY, T0 + 400 * DAY)
}

fn key_file(name: &str) -> (std::path::PathBuf, KeyFile) {
    let dir = std::env::temp_dir().join(format!("fleet-sealed-bundles-{name}-{}", fleet_tests::unique_name("")));
    (dir.clone(), KeyFile::new(dir.join("secret.key")))
}

async fn cluster(h: &Harness, name: &str) -> i64 {
    let pool = match h.store.pools().await.unwrap().into_iter().next() {
        Some(pool) => pool,
        None => h.store.create_pool("admin", "p", "").await.unwrap(),
    };
    h.store.create_cluster("admin", name, pool.id, ClusterSettings::default()).await.unwrap().id
}

/// A bundle with a map, a certificate without key, a combined certificate + key and a bare key.
fn bundle_with_keys(pki: &TestPki) -> (Bundle, Vec<String>) {
    let leaf = pki.leaf(&["site.test"], T0 - DAY, T0 + 90 * DAY);
    let bare = pki.leaf(&["bare.test"], T0 - DAY, T0 + 90 * DAY);
    let combined = format!("{}{}", leaf.cert_pem, leaf.key_pem);
    let bundle = Bundle::new(vec![
        file("haproxy.cfg", FileKind::Config, SAMPLE.as_bytes()),
        file("maps/hosts.map", FileKind::Map, b"a.example.com app\n"),
        file("certs/ca.pem", FileKind::Certificate, pki.root_pem().as_bytes()),
        file("certs/site.pem", FileKind::Certificate, combined.as_bytes()),
        file("keys/bare.key", FileKind::Other, bare.key_pem.as_bytes()),
    ])
    .unwrap();
    (bundle, vec![leaf.key_pem, bare.key_pem])
}

async fn connect(h: &Harness) -> sqlx::AnyConnection {
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect(&h.url).await.unwrap()
}

/// Every byte string the bundle storage keeps outside `sealed_secrets`: chunk contents and
/// chunk lists.
async fn stored_bytes(h: &Harness) -> Vec<Vec<u8>> {
    let mut conn = connect(h).await;
    let mut all = Vec::new();
    for row in sqlx::query("SELECT content FROM chunks").fetch_all(&mut conn).await.unwrap() {
        all.push(row.get::<Vec<u8>, _>("content"));
    }
    for row in sqlx::query("SELECT chunks FROM blobs").fetch_all(&mut conn).await.unwrap() {
        all.push(row.get::<Vec<u8>, _>("chunks"));
    }
    conn.close().await.unwrap();
    all
}

/// Pieces of `key_pem` a stored copy must hold: the marker, and the first and last 20 characters
/// of every base64 line (a line cut by a chunk boundary keeps one of them whole).
fn key_pieces(key_pem: &str) -> Vec<Vec<u8>> {
    let mut pieces = vec![b"PRIVATE KEY".to_vec()];
    for line in key_pem.lines().filter(|l| !l.starts_with("-----") && l.len() >= 20) {
        pieces.push(line.as_bytes()[..20].to_vec());
        pieces.push(line.as_bytes()[line.len() - 20..].to_vec());
    }
    pieces
}

/// How many stored byte strings hold a piece of one of `keys`.
async fn key_copies(h: &Harness, keys: &[String]) -> usize {
    let pieces: Vec<Vec<u8>> = keys.iter().flat_map(|k| key_pieces(k)).collect();
    let stored = stored_bytes(h).await;
    stored.iter().filter(|bytes| pieces.iter().any(|piece| bytes.windows(piece.len()).any(|w| w == piece.as_slice()))).count()
}

async fn key_files_are_sealed_never_chunked(h: Harness) {
    let ring = Keyring::new(MasterKey::generate(&OsRandom).unwrap());
    h.store.use_keyring(ring.clone());
    let pki = pki();
    let id = cluster(&h, "a").await;
    let (bundle, mut keys) = bundle_with_keys(&pki);
    h.store.import_bundle(ADMIN, id, &bundle, "").await.unwrap();
    // A file put alone, and a certificate deployed from the certificate store.
    let put = pki.leaf(&["put.test"], T0 - DAY, T0 + 90 * DAY);
    h.store.put_file(ADMIN, id, None, file("keys/put.key", FileKind::Other, put.key_pem.as_bytes()), "").await.unwrap();
    let leaf = pki.leaf(&["deployed.test"], T0 - DAY, T0 + 90 * DAY);
    let chain = format!("{}{}", leaf.cert_pem, pki.chain_pem());
    let upload = Upload { certificate: &chain, private_key: Some(&leaf.key_pem), ..Upload::default() };
    let cert = h.store.put_certificate(ADMIN, &ring, NewCertificate { name: "deployed", cluster_id: None, upload }).await.unwrap();
    let deployed = h.store.deploy_certificate(ADMIN, &ring, cert.id, id, None, None).await.unwrap();
    keys.extend([put.key_pem.clone(), leaf.key_pem.clone()]);

    assert_eq!(key_copies(&h, &keys).await, 0, "no chunk or chunk list holds key bytes");
    let storage = h.store.bundle_storage().await.unwrap();
    assert_eq!((storage.blobs, storage.sealed_blobs), (6, 4), "{storage:?}");
    // Read back byte for byte: the first version whole, the later files one by one.
    assert_eq!(h.store.bundle(id, 1).await.unwrap(), bundle);
    let latest = deployed.committed.version.number;
    assert_eq!(h.store.file(id, latest, &p("keys/put.key")).await.unwrap().content, put.key_pem.as_bytes());
    let served = h.store.file(id, latest, &deployed.deployment.path).await.unwrap();
    assert!(served.text().unwrap().contains(leaf.key_pem.trim()), "the deployed file holds its key");
    assert!(served.holds_private_key());

    // Each sealed value is bound to its blob: swapping two of them is refused on read.
    let site = bundle.file(&p("certs/site.pem")).unwrap().sha256();
    let bare = bundle.file(&p("keys/bare.key")).unwrap().sha256();
    let secret = h.store.sealed_secret(&format!("blob/{site}")).await.unwrap().unwrap();
    assert_eq!(secret.purpose.as_str(), format!("blob:{site}"));
    assert_eq!(secret.public, None);
    let mut conn = connect(&h).await;
    let swap = format!(
        "UPDATE sealed_secrets SET sealed = (SELECT sealed FROM sealed_secrets WHERE name = 'blob/{bare}') WHERE name = 'blob/{site}'"
    );
    conn.execute(swap.as_str()).await.unwrap();
    conn.close().await.unwrap();
    let swapped = h.store.bundle(id, 1).await.unwrap_err();
    assert!(matches!(&swapped, Error::Crypto(m) if m.contains(&format!("blob:{site} does not authenticate"))), "{swapped}");
}

async fn a_store_without_a_ring_refuses_and_writes_nothing(h: Harness) {
    let pki = pki();
    let id = cluster(&h, "a").await;
    let (bundle, keys) = bundle_with_keys(&pki);
    let refused = h.store.import_bundle(ADMIN, id, &bundle, "").await.unwrap_err();
    assert!(
        matches!(&refused, Error::Crypto(m) if m == "certs/site.pem holds a private key and this store has no key ring to seal it"),
        "{refused}"
    );
    let storage = h.store.bundle_storage().await.unwrap();
    assert_eq!((storage.chunks, storage.blobs), (0, 0), "nothing half-written: {storage:?}");
    assert_eq!(h.store.versions(id).await.unwrap().len(), 0);
    let put = h.store.put_file(ADMIN, id, None, file("keys/bare.key", FileKind::Other, keys[1].as_bytes()), "").await.unwrap_err();
    assert!(matches!(&put, Error::Crypto(m) if m.contains("keys/bare.key holds a private key")), "{put}");

    // With a ring the same import is stored; a replica without one cannot read it back.
    h.store.use_keyring(Keyring::new(MasterKey::generate(&OsRandom).unwrap()));
    h.store.import_bundle(ADMIN, id, &bundle, "").await.unwrap();
    let ringless = h.replica(2).await;
    let unreadable = ringless.bundle(id, 1).await.unwrap_err();
    assert!(
        matches!(&unreadable, Error::Crypto(m) if m.ends_with("is sealed and this store has no key ring to open it")),
        "{unreadable}"
    );
    // Files without a key still read without a ring.
    assert_eq!(ringless.files(id, 1).await.unwrap().len(), 5);
    ringless.close().await;
}

async fn rotation_reseals_sealed_files(h: Harness) {
    let (dir, keys_at) = key_file("rotate");
    let old = h.store.keyring(&keys_at).await.unwrap();
    let pki = pki();
    let id = cluster(&h, "a").await;
    let (bundle, keys) = bundle_with_keys(&pki);
    h.store.import_bundle(ADMIN, id, &bundle, "").await.unwrap();

    let (new, count) = h.store.rotate_master_key(&keys_at).await.unwrap();
    assert_eq!(count, 2, "both sealed files resealed");
    for secret in h.store.sealed_secrets().await.unwrap() {
        assert_eq!(secret.sealed.key_id().unwrap(), *new.primary().id(), "{}", secret.name);
    }
    // The store that rotated reads with the new ring, and so does a restarted server.
    assert_eq!(h.store.bundle(id, 1).await.unwrap(), bundle);
    let restarted = h.replica(3).await;
    assert_eq!(restarted.keyring(&keys_at).await.unwrap(), new);
    assert_eq!(restarted.bundle(id, 1).await.unwrap(), bundle);
    // What the rotating store seals afterwards is under the new key.
    let later = pki.leaf(&["later.test"], T0 - DAY, T0 + 90 * DAY);
    let put = file("keys/later.key", FileKind::Other, later.key_pem.as_bytes());
    let sha = put.sha256();
    h.store.put_file(ADMIN, id, None, put, "").await.unwrap();
    let sealed = h.store.sealed_secret(&format!("blob/{sha}")).await.unwrap().unwrap();
    assert_eq!(sealed.sealed.key_id().unwrap(), *new.primary().id());
    // The old key opens nothing.
    let stale = h.replica(4).await;
    stale.use_keyring(old);
    let refused = stale.bundle(id, 1).await.unwrap_err();
    assert!(matches!(&refused, Error::Crypto(m) if m.contains("wrong --secret-key-file")), "{refused}");
    assert_eq!(key_copies(&h, &keys).await, 0);
    for store in [restarted, stale] {
        store.close().await;
    }
    let _ = std::fs::remove_dir_all(dir);
}

async fn plain_key_files_from_before_are_sealed_when_the_ring_loads(h: Harness) {
    let (dir, keys_at) = key_file("legacy");
    h.store.keyring(&keys_at).await.unwrap();
    let pki = pki();
    let id = cluster(&h, "a").await;
    let (bundle, keys) = bundle_with_keys(&pki);
    h.store.import_bundle(ADMIN, id, &bundle, "").await.unwrap();
    let sealed_storage = h.store.bundle_storage().await.unwrap();

    // What a database written before sealing holds: every blob unmarked, key files chunked.
    let mut conn = connect(&h).await;
    conn.execute("UPDATE blobs SET sealed = NULL").await.unwrap();
    for path in ["certs/site.pem", "keys/bare.key"] {
        let content = &bundle.file(&p(path)).unwrap().content;
        let sha = bundle.file(&p(path)).unwrap().sha256();
        let pieces = chunks::split(content);
        for chunk in &pieces {
            sqlx::query("INSERT INTO chunks (sha256, size, content) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING")
                .bind(hex::encode(chunk.sha256))
                .bind(chunk.bytes.len() as i64)
                .bind(chunk.bytes.to_vec())
                .execute(&mut conn)
                .await
                .unwrap();
        }
        sqlx::query("UPDATE blobs SET chunks = $1 WHERE sha256 = $2").bind(chunks::list(&pieces)).bind(&sha).execute(&mut conn).await.unwrap();
        sqlx::query("DELETE FROM sealed_secrets WHERE name = $1").bind(format!("blob/{sha}")).execute(&mut conn).await.unwrap();
    }
    conn.close().await.unwrap();
    assert!(key_copies(&h, &keys).await >= 2, "the legacy state holds both keys in chunks");
    let legacy = h.replica(5).await;
    assert_eq!(legacy.bundle(id, 1).await.unwrap(), bundle, "plain legacy blobs read without a ring");

    // The next start seals them and deletes the chunks only they used.
    legacy.keyring(&keys_at).await.unwrap();
    assert_eq!(key_copies(&h, &keys).await, 0);
    let storage = legacy.bundle_storage().await.unwrap();
    assert_eq!(storage, sealed_storage, "the same storage as if written sealed");
    assert_eq!(legacy.bundle(id, 1).await.unwrap(), bundle);
    let mut conn = connect(&h).await;
    let unmarked: i64 = sqlx::query("SELECT COUNT(*) AS n FROM blobs WHERE sealed IS NULL").fetch_one(&mut conn).await.unwrap().get("n");
    conn.close().await.unwrap();
    assert_eq!(unmarked, 0);
    // A wrong key still stops the start.
    let (wrong_dir, wrong) = key_file("legacy-wrong");
    wrong.write(&Keyring::new(MasterKey::generate(&OsRandom).unwrap())).unwrap();
    let refused = h.replica(6).await.keyring(&wrong).await.unwrap_err();
    assert!(refused.to_string().contains("wrong --secret-key-file"), "{refused}");
    legacy.close().await;
    for dir in [dir, wrong_dir] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

async fn staged_key_files_are_sealed_in_the_transaction(h: Harness) {
    use base64::Engine as _;
    let ring = Keyring::new(MasterKey::generate(&OsRandom).unwrap());
    h.store.use_keyring(ring);
    let pki = pki();
    let id = cluster(&h, "a").await;
    h.store.import(ADMIN, id, SAMPLE, "first").await.unwrap();
    let leaf = pki.leaf(&["staged.test"], T0 - DAY, T0 + 90 * DAY);
    let content = format!("{}{}", leaf.cert_pem, leaf.key_pem);
    let tx = h.store.begin("admin", id, 1).await.unwrap();
    let op = fleet_core::ops::EditOp::PutFile {
        path: p("certs/staged.pem"),
        kind: Some(FileKind::Certificate),
        mode: None,
        content_base64: base64::engine::general_purpose::STANDARD.encode(&content),
    };
    let staged = h.store.stage("admin", tx.id, vec![op]).await.unwrap();
    let shown = serde_json::to_string(&staged.ops).unwrap();
    assert!(shown.contains("sealed:fleet-sealed:v1:"), "{shown}");
    // Neither the key's text nor its base64 is stored with the transaction or in the audit log.
    let mut conn = connect(&h).await;
    let mut stored = String::new();
    for row in sqlx::query("SELECT ops FROM transactions").fetch_all(&mut conn).await.unwrap() {
        stored.push_str(&row.get::<String, _>("ops"));
    }
    for row in sqlx::query("SELECT details FROM audit_log").fetch_all(&mut conn).await.unwrap() {
        stored.push_str(&row.get::<String, _>("details"));
    }
    conn.close().await.unwrap();
    let encoded = base64::engine::general_purpose::STANDARD.encode(leaf.key_pem.as_bytes());
    assert!(!stored.contains("PRIVATE KEY") && !stored.contains(&encoded[..40]), "{stored}");
    let line = leaf.key_pem.lines().nth(1).unwrap();
    assert!(!stored.contains(line));
    // The commit opens it: the version holds the file byte for byte.
    let preview = h.store.preview(tx.id).await.unwrap();
    assert!(preview.files.iter().any(|f| f.path.as_str() == "certs/staged.pem"));
    let committed = h.store.commit(ADMIN, tx.id, "staged").await.unwrap();
    let file = h.store.file(id, committed.version.number, &p("certs/staged.pem")).await.unwrap();
    assert_eq!(file.content, content.as_bytes());
}
