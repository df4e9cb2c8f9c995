//! Bundles in the store: whole sets of files per version, the single-file API on the first
//! config file, file ops in transactions, content-defined chunks shared between versions.

use fleet_core::bundle::{Bundle, BundleFile, BundlePath, FileKind};
use fleet_core::secrets::{Keyring, MasterKey};
use fleet_core::{Actor, ClusterSettings, EditOp, Error, OsRandom, Role};

use crate::support::{Harness, SAMPLE};

const ADMIN: Actor<'static> = Actor { name: "admin", role: Role::Admin };
const OPERATOR: Actor<'static> = Actor { name: "op", role: Role::Operator };

fn p(s: &str) -> BundlePath {
    BundlePath::new(s).unwrap()
}

fn file(path: &str, kind: FileKind, content: &[u8]) -> BundleFile {
    BundleFile::new(p(path), kind, content.to_vec())
}

async fn cluster(h: &Harness) -> i64 {
    let pool = h.store.create_pool("admin", "p", "").await.unwrap();
    h.store.create_cluster("admin", "c", pool.id, ClusterSettings::default()).await.unwrap().id
}

fn sample_bundle() -> Bundle {
    Bundle::new(vec![
        file("haproxy.cfg", FileKind::Config, SAMPLE.as_bytes()),
        file("maps/hosts.map", FileKind::Map, b"a.example.com app\n"),
        file("certs/site.pem", FileKind::Certificate, b"\x00binary\xffpem"),
    ])
    .unwrap()
}

async fn bundles_round_trip_byte_for_byte(h: Harness) {
    let id = cluster(&h).await;
    let bundle = sample_bundle();
    let committed = h.store.import_bundle(ADMIN, id, &bundle, "first").await.unwrap();
    assert_eq!(committed.version.digest, bundle.digest());
    assert_eq!(h.store.bundle(id, 1).await.unwrap(), bundle);
    let listed = h.store.files(id, 1).await.unwrap();
    assert_eq!(listed, bundle.infos());
    assert_eq!((listed[1].path.as_str(), listed[1].mode), ("certs/site.pem", 0o600));
    // The single-file API reads and edits the first config file and keeps the others.
    assert_eq!(h.store.version(id, 1).await.unwrap().text, SAMPLE);
    let replaced = SAMPLE.replace("maxconn 4096", "maxconn 5000");
    h.store.replace(ADMIN, id, 1, &replaced, "").await.unwrap();
    let v2 = h.store.bundle(id, 2).await.unwrap();
    assert_eq!(v2.text(), replaced);
    assert_eq!(&v2.files()[1..], &bundle.files()[1..]);
    h.store.import(ADMIN, id, SAMPLE, "").await.unwrap();
    assert_eq!(h.store.bundle(id, 3).await.unwrap(), bundle);
}

async fn file_writes_make_versions_and_respect_bases(h: Harness) {
    let id = cluster(&h).await;
    h.store.import_bundle(ADMIN, id, &sample_bundle(), "").await.unwrap();
    let map = file("maps/hosts.map", FileKind::Map, b"a.example.com app\nb.example.com app\n");
    h.store.put_file(OPERATOR, id, Some(1), map.clone(), "add b").await.unwrap();
    assert_eq!(h.store.file(id, 2, &p("maps/hosts.map")).await.unwrap(), map);
    let stale = h.store.put_file(OPERATOR, id, Some(1), map.clone(), "").await.unwrap_err();
    assert!(matches!(stale, Error::Outdated { base: 1, latest: 2 }), "{stale}");
    h.store.delete_file(OPERATOR, id, None, &p("certs/site.pem"), "").await.unwrap();
    assert_eq!(h.store.files(id, 3).await.unwrap().len(), 2);
    let missing = h.store.delete_file(OPERATOR, id, None, &p("certs/site.pem"), "").await.unwrap_err();
    assert!(matches!(missing, Error::NotFound(_)), "{missing}");
    let last = h.store.delete_file(OPERATOR, id, None, &p("haproxy.cfg"), "").await.unwrap_err();
    assert!(last.to_string().contains("at least one config file"), "{last}");
    // Restore brings the whole set back.
    h.store.restore(OPERATOR, id, 1, "").await.unwrap();
    assert_eq!(h.store.bundle(id, 4).await.unwrap(), sample_bundle());
}

async fn transactions_stage_file_ops(h: Harness) {
    use base64::Engine as _;
    let id = cluster(&h).await;
    // The staged file holds a private key: the store seals it with its ring.
    h.store.use_keyring(Keyring::new(MasterKey::generate(&OsRandom).unwrap()));
    h.store.import_bundle(ADMIN, id, &sample_bundle(), "").await.unwrap();
    let tx = h.store.begin("op", id, 1).await.unwrap();
    let content = base64::engine::general_purpose::STANDARD.encode("-----BEGIN PRIVATE KEY-----\nsecret\n");
    let put = EditOp::PutFile { path: p("certs/new.pem"), kind: None, mode: None, content_base64: content };
    let ops = vec![put, EditOp::DeleteFile { path: p("maps/hosts.map") }];
    h.store.stage("op", tx.id, ops).await.unwrap();
    let preview = h.store.preview(tx.id).await.unwrap();
    let paths: Vec<_> = preview.files.iter().map(|f| f.path.to_string()).collect();
    assert_eq!(paths, ["haproxy.cfg", "certs/new.pem", "certs/site.pem"]);
    let committed = h.store.commit(OPERATOR, tx.id, "certs").await.unwrap();
    assert_eq!(committed.version.number, 2);
    assert_eq!(h.store.files(id, 2).await.unwrap()[1].kind, FileKind::Certificate);
    // The audit log keeps sizes and checksums of staged files, never their bytes.
    let audit = serde_json::to_string(&h.store.audit_log(None, 100).await.unwrap()).unwrap();
    assert!(!audit.contains("PRIVATE") && !audit.contains("LS0tLS1CRUdJTi"), "{audit}");
}

async fn lua_files_are_code(h: Harness) {
    let id = cluster(&h).await;
    let mut files = sample_bundle().into_files();
    files.push(file("scripts/auth.lua", FileKind::Lua, b"core.register_action()"));
    let bundle = Bundle::new(files).unwrap();
    let refused = h.store.import_bundle(OPERATOR, id, &bundle, "").await.unwrap_err();
    assert!(matches!(&refused, Error::Forbidden(m) if m.contains("lua file scripts/auth.lua")), "{refused}");
}

async fn a_changed_line_stores_a_chunk_not_a_file(h: Harness) {
    let id = cluster(&h).await;
    let map: String = (0..100_000).map(|i| format!("host{i}.example.com app{}\n", i % 50)).collect();
    let mut bundle = sample_bundle().with_file(file("maps/big.map", FileKind::Map, map.as_bytes())).unwrap();
    h.store.import_bundle(ADMIN, id, &bundle, "").await.unwrap();
    let first = h.store.bundle_storage_bytes().await.unwrap();
    for i in 0..5 {
        let changed = map.replacen(&format!("host{}.example.com", 1000 * i + 7), "changed.example.com", 1);
        bundle = bundle.with_file(file("maps/big.map", FileKind::Map, changed.as_bytes())).unwrap();
        h.store.import_bundle(ADMIN, id, &bundle, "").await.unwrap();
    }
    let grown = h.store.bundle_storage_bytes().await.unwrap() - first;
    assert!(grown < 5 * 300 * 1024, "5 one-line changes to a {} byte map grew storage by {grown} bytes", map.len());
    assert_eq!(h.store.bundle(id, 6).await.unwrap(), bundle);
}

/// Issue 11's storage bound on a short history (the full one is `benches/bundle_storage.rs`):
/// after versions each changing one line of a 1 MB map, the store holds at most twice the
/// bundle plus what the changed blobs must add (their new chunks and chunk lists). A store
/// keeping each version's map whole holds the map once per version and fails this.
async fn a_history_of_one_line_changes_stays_within_the_storage_bound(h: Harness) {
    use std::collections::HashSet;
    use fleet_core::bundle::chunks;
    let id = cluster(&h).await;
    let mut lines: Vec<String> = (0..30_000).map(|i| format!("host{i:06}.example.com backend_{}\n", i % 97)).collect();
    let first = lines.concat().into_bytes();
    let bundle = sample_bundle().with_file(file("maps/big.map", FileKind::Map, &first)).unwrap();
    let before = h.store.bundle_storage_bytes().await.unwrap();
    let mut latest = h.store.import_bundle(ADMIN, id, &bundle, "").await.unwrap().version.number;
    let mut known: HashSet<[u8; 32]> = chunks::split(&first).iter().map(|c| c.sha256).collect();
    let mut changed = 0;
    for step in 1..20 {
        lines[step * 1_500] = format!("changed{step}.example.com backend_new\n");
        let content = lines.concat().into_bytes();
        changed += chunks::added_bytes(&content, &mut known);
        let map = file("maps/big.map", FileKind::Map, &content);
        latest = h.store.put_file(OPERATOR, id, Some(latest), map, "one line").await.unwrap().version.number;
    }
    let stored = (h.store.bundle_storage_bytes().await.unwrap() - before) as u64;
    let bound = 2 * bundle.size() + changed;
    assert!(stored <= bound, "{stored} bytes stored for 20 versions of a {} byte bundle; bound {bound}", bundle.size());
    assert_eq!(h.store.file(id, latest, &p("maps/big.map")).await.unwrap().content, lines.concat().into_bytes());
}

/// A transaction's preview runs the check a commit runs: every config file as one
/// configuration and the files they reference, not the first config file alone.
async fn the_preview_checks_the_whole_bundle(h: Harness) {
    let id = cluster(&h).await;
    let main = "defaults\n    mode http\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n\nfrontend fe\n    bind 127.0.0.1:18080\n    http-request set-var(txn.app) req.hdr(host),map_str(maps/hosts.map,app)\n    default_backend api\n";
    let bundle = Bundle::new(vec![
        file("haproxy.cfg", FileKind::Config, main.as_bytes()),
        file("conf.d/api.cfg", FileKind::Config, b"backend api\n    server a1 127.0.0.1:8081\n"),
        file("maps/hosts.map", FileKind::Map, b"a.example.com api\n"),
    ])
    .unwrap();
    h.store.import_bundle(ADMIN, id, &bundle, "").await.unwrap();
    let tx = h.store.begin("op", id, 1).await.unwrap();
    // The backend lives in the second file: no error, as the commit would find none.
    let preview = h.store.preview(tx.id).await.unwrap();
    assert!(preview.diagnostics.iter().all(|d| !d.is_error()), "{:?}", preview.diagnostics);
    // Without the map it references, the preview shows the error the commit would refuse with.
    h.store.stage("op", tx.id, vec![EditOp::DeleteFile { path: p("maps/hosts.map") }]).await.unwrap();
    let preview = h.store.preview(tx.id).await.unwrap();
    let errors: Vec<String> = preview.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.display_with_path("?").to_string()).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with("haproxy.cfg:9:"), "{errors:?}");
    assert!(errors[0].contains("map_str: maps/hosts.map is not in the bundle"), "{errors:?}");
    let refused = h.store.commit(OPERATOR, tx.id, "").await.unwrap_err();
    assert!(matches!(&refused, Error::Invalid { diagnostics, .. } if diagnostics.iter().filter(|d| d.is_error()).count() == 1), "{refused}");
}

async fn versions_from_before_bundles_get_their_one_file_listing(h: Harness) {
    use sqlx::{Connection, Executor};
    let id = cluster(&h).await;
    let v1 = h.store.import(ADMIN, id, SAMPLE, "").await.unwrap().version;
    // What a database written before bundles holds: no listing, no digest.
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&h.url).await.unwrap();
    conn.execute("DELETE FROM version_files").await.unwrap();
    conn.execute("UPDATE config_versions SET digest = NULL").await.unwrap();
    conn.close().await.unwrap();
    let reopened = h.replica(7).await;
    let bundle = reopened.bundle(id, 1).await.unwrap();
    assert_eq!(bundle, Bundle::single(p("haproxy.cfg"), SAMPLE));
    let info = reopened.version(id, 1).await.unwrap().info;
    assert_eq!((info.sha256, info.digest), (v1.sha256, bundle.digest()));
}

crate::store_tests!(
    versions_from_before_bundles_get_their_one_file_listing,
    bundles_round_trip_byte_for_byte,
    file_writes_make_versions_and_respect_bases,
    transactions_stage_file_ops,
    lua_files_are_code,
    a_changed_line_stores_a_chunk_not_a_file,
    a_history_of_one_line_changes_stays_within_the_storage_bound,
    the_preview_checks_the_whole_bundle,
);
