//! Server backups (fleet_core::backup): a restored database holds exactly the rows backed up, on
//! SQLite and PostgreSQL; a newer schema, a damaged file and a server still running are refused
//! and leave the target as it was; retention keeps the newest; the key check names what fails.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use fleet_core::backup::{self, BackupError, CreateOptions, Database, Destination, KeyCheck, Manifest, RestoreTarget};
use fleet_core::bundle::{BundleFile, BundlePath, FileKind};
use fleet_core::secrets::KeyFile;
use fleet_core::{Actor, ClusterSettings, Role, Store};

use crate::support::{harness, options, Db, Harness, TempDir};

const CONFIG: &str = "global\n    daemon\n\ndefaults\n    mode http\n    timeout client 5s\n\nbackend app\n    server a 10.0.0.1:80\n";

/// A store with a bit of everything the store alone can make: pools, clusters, versions (bundle
/// chunks as BYTEA), users, a sealed secret (the self-signed CA) and audit entries.
async fn populate(store: &Store, dir: &Path) -> KeyFile {
    let pool = store.create_pool("admin", "edge", "the edge").await.unwrap();
    for name in ["web", "api"] {
        let cluster = store.create_cluster("admin", name, pool.id, ClusterSettings::default()).await.unwrap();
        store.import(Actor::new("admin", Role::Admin), cluster.id, CONFIG, "first").await.unwrap();
        let second = CONFIG.replace("10.0.0.1", "10.0.0.2");
        store.import(Actor::new("admin", Role::Admin), cluster.id, &second, "second").await.unwrap();
        // A binary map: its chunks are BYTEA rows.
        let map = BundleFile::new(BundlePath::new("maps/hosts.map").unwrap(), FileKind::Map, vec![b'a', 0, 0xff, b'\n']);
        store.put_file(Actor::new("admin", Role::Admin), cluster.id, None, map, "map").await.unwrap();
    }
    store.create_user("admin", "ada", "a long enough password", Role::Operator).await.unwrap();
    let file = KeyFile::new(dir.join("secret.key"));
    let ring = store.keyring(&file).await.unwrap();
    store.self_signed_ca(&ring).await.unwrap();
    file
}

/// Closes `store` like a stopped server: its pool, then (PostgreSQL) whatever session of it the
/// pool left behind (sqlx's close can leave a connection it was releasing; a process that exits
/// leaves none).
async fn stop(store: Store, url: &str) {
    store.close().await;
    if url.starts_with("postgres") {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    }
}

/// Every table of a backup: its rows as sorted JSON lines (row order is the database's).
fn tables(bytes: &[u8]) -> (Manifest, BTreeMap<String, Vec<String>>) {
    let manifest = backup::read_manifest(bytes).unwrap();
    let mut archive = tar::Archive::new(bytes);
    let mut out = BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().display().to_string();
        if let Some(table) = name.strip_prefix("tables/").and_then(|n| n.strip_suffix(".jsonl")) {
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            lines.sort();
            out.insert(table.to_string(), lines);
        }
    }
    (manifest, out)
}

async fn backup_bytes(store: &Store) -> Vec<u8> {
    let mut bytes = Vec::new();
    backup::create(&Database::of(store), &mut bytes, &CreateOptions::default()).await.unwrap();
    bytes
}

/// A fresh target of the same kind as `h`: a SQLite path (no file yet) or an emptied PostgreSQL
/// database nobody is connected to.
async fn fresh_target(h: &Harness, dir: &TempDir) -> (RestoreTarget, Option<Harness>) {
    if h.url.starts_with("sqlite:") {
        (RestoreTarget::Sqlite(dir.path().join("restored").join("fleet.db")), None)
    } else {
        let other = harness(Db::Postgres).await.unwrap();
        stop(other.store.clone(), &other.url).await;
        (RestoreTarget::Postgres(other.url.clone()), Some(other))
    }
}

fn target_url(target: &RestoreTarget) -> String {
    match target {
        RestoreTarget::Sqlite(path) => format!("sqlite://{}", path.display()),
        RestoreTarget::Postgres(url) => url.clone(),
    }
}

async fn restore_gives_the_same_rows(h: Harness) {
    let dir = TempDir::new();
    let key = populate(&h.store, dir.path()).await;
    let bytes = backup_bytes(&h.store).await;
    let (manifest, before) = tables(&bytes);
    assert_eq!(manifest.schema_version, backup::schema_version());
    assert!(!manifest.includes_key, "the key stays out unless asked");
    assert_eq!(manifest.sealed_key_ids.len(), 1, "{manifest:?}");
    assert!(manifest.tables.iter().any(|t| t.name == "chunks" && t.rows > 0), "bundle chunks are copied");
    assert!(manifest.tables.iter().position(|t| t.name == "pools") < manifest.tables.iter().position(|t| t.name == "clusters"));
    assert!(before.values().all(|rows| rows.iter().all(|r| !r.contains("BEGIN PRIVATE KEY"))), "sealed values stay sealed");

    let (target, _keep) = fresh_target(&h, &dir).await;
    if let RestoreTarget::Sqlite(path) = &target {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    }
    let restored = backup::restore(bytes.as_slice(), &target).await.unwrap();
    assert_eq!(restored.rows, manifest.total_rows());
    let store = Store::open(&target_url(&target), options(h.clock.clone(), 7)).await.unwrap();
    let (_, after) = tables(&backup_bytes(&store).await);
    assert_eq!(before, after, "the restored database holds exactly the rows backed up");
    assert_eq!(backup::check_key(&store, &key, &manifest.sealed_key_ids).await.unwrap(), KeyCheck::Opens(1));
    let other = KeyFile::new(dir.path().join("other.key"));
    assert!(matches!(backup::check_key(&store, &other, &manifest.sealed_key_ids).await.unwrap(), KeyCheck::Missing { .. }));
    other.create(&fleet_core::OsRandom).unwrap();
    match backup::check_key(&store, &other, &manifest.sealed_key_ids).await.unwrap() {
        KeyCheck::Fails(reason) => assert!(reason.contains("sealed with key"), "{reason}"),
        check => panic!("a wrong key opened the secrets: {check:?}"),
    }
    assert_eq!(store.clusters(None).await.unwrap().len(), 2);
    store.close().await;
}

/// Rewrites the manifest of a backup with `edit`.
fn with_manifest(bytes: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut archive = tar::Archive::new(bytes);
    let mut builder = tar::Builder::new(Vec::new());
    let mut edit = Some(edit);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().display().to_string();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        if name == "manifest.json" {
            let mut value: serde_json::Value = serde_json::from_slice(&data).unwrap();
            (edit.take().unwrap())(&mut value);
            data = serde_json::to_vec(&value).unwrap();
        }
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o600);
        builder.append_data(&mut header, &name, data.as_slice()).unwrap();
    }
    builder.into_inner().unwrap()
}

async fn refused_backups_leave_the_target_as_it_was(h: Harness) {
    let dir = TempDir::new();
    populate(&h.store, dir.path()).await;
    let bytes = backup_bytes(&h.store).await;
    // The target: a database with other content (one pool), nobody connected.
    let (target, _keep) = fresh_target(&h, &dir).await;
    if let RestoreTarget::Sqlite(path) = &target {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    }
    let existing = Store::open(&target_url(&target), options(h.clock.clone(), 9)).await.unwrap();
    existing.create_pool("admin", "kept", "").await.unwrap();
    stop(existing, &target_url(&target)).await;

    let newer = with_manifest(&bytes, |m| {
        m["migrations"].as_array_mut().unwrap().push(serde_json::json!({"version": 9999, "description": "future", "checksum": "00"}));
        m["schema_version"] = 9999.into();
    });
    match backup::restore(newer.as_slice(), &target).await {
        Err(BackupError::NewerSchema { backup: 9999, binary }) => assert_eq!(binary, backup::schema_version()),
        other => panic!("a newer schema was not refused: {other:?}"),
    }
    let newer_format = with_manifest(&bytes, |m| m["format_version"] = 2.into());
    assert!(matches!(backup::restore(newer_format.as_slice(), &target).await, Err(BackupError::NewerFormat(2))));

    // One byte changed inside the last table's rows (tar headers still fine): found by its sha256.
    let mut flipped = bytes.clone();
    let (manifest, _) = tables(&bytes);
    let last = manifest.tables.iter().rev().find(|t| t.rows > 0).unwrap();
    let needle = format!("tables/{}.jsonl", last.name);
    let at = flipped.windows(needle.len()).position(|w| w == needle.as_bytes()).unwrap() + 512 + 2;
    flipped[at] = if flipped[at] == b'1' { b'2' } else { b'1' };
    match backup::restore(flipped.as_slice(), &target).await {
        Err(BackupError::Damaged(reason)) => assert!(reason.contains(&last.name), "{reason}"),
        other => panic!("a damaged backup was not refused: {other:?}"),
    }
    // Cut short.
    match backup::restore(&bytes[..bytes.len() / 2], &target).await {
        Err(BackupError::Damaged(_)) => {}
        other => panic!("a truncated backup was not refused: {other:?}"),
    }
    // Not a backup at all.
    assert!(matches!(backup::restore(&b"hello"[..], &target).await, Err(BackupError::Damaged(_))));

    // A running server (an open store) on the target: refused.
    let running = Store::open(&target_url(&target), options(h.clock.clone(), 10)).await.unwrap();
    let pools = running.pools().await.unwrap();
    assert_eq!(pools.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["kept"], "every refusal left the target as it was");
    match backup::restore(bytes.as_slice(), &target).await {
        Err(BackupError::InUse(reason)) => assert!(reason.contains("stop"), "{reason}"),
        other => panic!("a restore under a running server was not refused: {other:?}"),
    }
    stop(running, &target_url(&target)).await;
    let restored = backup::restore(bytes.as_slice(), &target).await.unwrap();
    if let RestoreTarget::Sqlite(path) = &target {
        let kept = restored.previous.expect("the replaced file is kept");
        assert!(kept.starts_with(path.parent().unwrap()) && kept.is_file());
    }
    let store = Store::open(&target_url(&target), options(h.clock.clone(), 11)).await.unwrap();
    assert_eq!(store.pools().await.unwrap().iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["edge"]);
    store.close().await;
}

async fn scheduled_backups_keep_the_newest(h: Harness) {
    let dir = TempDir::new();
    populate(&h.store, dir.path()).await;
    let folder = dir.path().join("backups");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("notes.txt"), "not a backup").unwrap();
    let destination = Destination::Directory(folder.clone());
    let db = Database::of(&h.store);
    let mut written = Vec::new();
    for _ in 0..4 {
        let stored = backup::scheduled(&db, &destination, 2).await.unwrap();
        assert!(stored.bytes > 0);
        written.push(Path::new(&stored.location).file_name().unwrap().to_string_lossy().into_owned());
        h.clock.advance(3_600_000);
    }
    let mut left: Vec<String> = std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    left.sort();
    let mut expected = written[2..].to_vec();
    expected.push("notes.txt".into());
    assert_eq!(left, expected, "the two newest backups and the unrelated file");
    assert!(matches!(backup::scheduled(&db, &destination, 0).await, Err(BackupError::Invalid(_))));
    let file = std::fs::File::open(folder.join(&written[3])).unwrap();
    assert_eq!(backup::read_manifest(file).unwrap().tables.iter().find(|t| t.name == "clusters").unwrap().rows, 2);
}

/// The key file goes into a backup only when asked, and comes back out of the restore as is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_file_is_included_only_when_asked() {
    let h = harness(Db::Sqlite).await.unwrap();
    let dir = TempDir::new();
    let key = populate(&h.store, dir.path()).await;
    let options = CreateOptions { key_file: Some(key.path().to_path_buf()), scratch: None };
    let mut bytes = Vec::new();
    let manifest = backup::create(&Database::of(&h.store), &mut bytes, &options).await.unwrap();
    assert!(manifest.includes_key);
    let target = RestoreTarget::Sqlite(dir.path().join("fleet.db"));
    let restored = backup::restore(bytes.as_slice(), &target).await.unwrap();
    assert_eq!(restored.key.as_deref(), Some(std::fs::read(key.path()).unwrap().as_slice()));
    let without = backup::restore(backup_bytes(&h.store).await.as_slice(), &target).await.unwrap();
    assert_eq!(without.key, None);
    // Cut just after the rows, before the key: a promised key that is missing is damage.
    let cut = &bytes[..bytes.len() - 1024 - 1024];
    assert!(matches!(backup::restore(cut, &target).await, Err(BackupError::Damaged(_))));
}

/// A backup of a SQLite store restores into PostgreSQL with the same rows (one logical format).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_backup_restores_into_postgres() {
    let Some(pg) = harness(Db::Postgres).await else { return };
    stop(pg.store.clone(), &pg.url).await;
    let h = harness(Db::Sqlite).await.unwrap();
    let dir = TempDir::new();
    populate(&h.store, dir.path()).await;
    let bytes = backup_bytes(&h.store).await;
    let target = RestoreTarget::Postgres(pg.url.clone());
    backup::restore(bytes.as_slice(), &target).await.unwrap();
    let store = Store::open(&pg.url, options(h.clock.clone(), 3)).await.unwrap();
    assert_eq!(tables(&bytes).1, tables(&backup_bytes(&store).await).1);
    store.close().await;
}

crate::store_tests!(restore_gives_the_same_rows, refused_backups_leave_the_target_as_it_was, scheduled_backups_keep_the_newest);
