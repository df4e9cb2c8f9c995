//! Durable storage (issue 12 §4) on real file systems: a SQLite store on a small tmpfs fills
//! up, refuses writes with [`Error::StorageFull`], and writes again once space is freed, on the
//! same store (no reopen); no acknowledged version is lost. A missing or read-only data folder
//! fails at open with the operating system's reason; files are 0600.

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use fleet_core::{Actor, ClusterSettings, Error, ManualClock, Role, Store};
use fleet_tests::Tmpfs;

use crate::support::{beat, options, TempDir, T0};

/// A ~30 KB configuration, different for every `n` (so every version stores new chunks).
fn text(n: usize) -> String {
    let mut s = String::from("defaults\n    mode http\n\nbackend app\n");
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ (n as u64).wrapping_mul(0x2545_f491_4f6c_dd1d);
    for i in 0..400 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push_str(&format!("    server s{i} 10.0.{}.{}:80 check # {x:016x}\n", (x >> 8) as u8, (x >> 16) as u8));
    }
    s
}

async fn store_on(dir: &std::path::Path) -> Result<Store, Error> {
    let clock = Arc::new(ManualClock::new(T0));
    Store::open(&format!("sqlite://{}", dir.join("fleet.db").display()), options(clock, 1)).await
}

#[tokio::test]
async fn writes_resume_after_the_disk_was_full() {
    let Some(fs) = Tmpfs::mount("3m") else { return };
    let store = store_on(fs.path()).await.unwrap();
    let pool = store.create_pool("admin", "p", "").await.unwrap();
    let cluster = store.create_cluster("admin", "edge", pool.id, ClusterSettings::default()).await.unwrap().id;
    let actor = Actor::new("admin", Role::Admin);
    let (_, secret) = store.create_enrolment("admin", cluster, "n1", vec![], 60_000).await.unwrap();
    let agent = store.enrol(&secret, None, "host", serde_json::json!({})).await.unwrap().0.id;
    let filler = fs.fill("filler");

    let mut acknowledged = Vec::new();
    let mut full = 0;
    for n in 0..40 {
        match store.import(actor, cluster, &text(n), "while full").await {
            Ok(c) => acknowledged.push((c.version.number, n)),
            Err(Error::StorageFull(words)) => {
                assert!(words.contains("full"), "{words}");
                full += 1;
            }
            Err(other) => panic!("a full disk must read as StorageFull, got: {other}"),
        }
        if full >= 8 {
            break;
        }
    }
    assert!(full >= 8, "the disk never filled up ({} versions acknowledged)", acknowledged.len());
    // A heartbeat is written in a batch with others; its caller still learns that the disk is
    // full (507 on the API), not a generic failure.
    let facts = serde_json::json!({"blob": text(7).repeat(4)});
    let mut heartbeat_full = false;
    for _ in 0..8 {
        match store.heartbeat(agent, beat(Some(facts.clone()), Some(5))).await {
            Ok(_) => {}
            Err(Error::StorageFull(_)) => {
                heartbeat_full = true;
                break;
            }
            Err(other) => panic!("a full disk must read as StorageFull for a heartbeat too, got: {other}"),
        }
    }
    assert!(heartbeat_full, "no heartbeat met the full disk");
    // Reads keep working meanwhile.
    assert_eq!(store.versions(cluster).await.unwrap().len(), acknowledged.len());

    std::fs::remove_file(&filler).unwrap();
    for n in 100..110 {
        let c = store.import(actor, cluster, &text(n), "space is back").await.unwrap_or_else(|e| panic!("after freeing space: {e}"));
        acknowledged.push((c.version.number, n));
    }
    // Every pooled connection works again, not just one: transactions too.
    let tx = store.begin("admin", cluster, acknowledged.last().unwrap().0).await.unwrap();
    store.discard("admin", tx.id).await.unwrap();

    let check = |store: Store, acknowledged: Vec<(i64, usize)>| async move {
        for (number, n) in acknowledged {
            let version = store.version(cluster, number).await.unwrap();
            assert_eq!(version.text, text(n), "version {number}");
        }
    };
    check(store.clone(), acknowledged.clone()).await;
    store.close().await;
    // And after a reopen (what a restart sees).
    check(store_on(fs.path()).await.unwrap(), acknowledged).await;
}

#[tokio::test]
async fn read_only_data_dir_fails_with_its_cause() {
    let Some(fs) = Tmpfs::mount("4m") else { return };
    // The database is made elsewhere and copied in: a file SQLite's worker threads still hold
    // open for writing would make the remount fail with EBUSY (seen under load).
    let made = TempDir::new();
    store_on(made.path()).await.unwrap().close().await;
    for entry in std::fs::read_dir(made.path()).unwrap() {
        let entry = entry.unwrap();
        match std::fs::copy(entry.path(), fs.path().join(entry.file_name())) {
            Ok(_) => {}
            // The -wal/-shm file the last connection removes as it finishes closing (sqlx's
            // close can return just before): gone between the listing and the copy.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => panic!("copying {}: {e}", entry.path().display()),
        }
    }
    fs.read_only();
    let error = store_on(fs.path()).await.unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, Error::DatabaseFile { .. }), "{message}");
    assert!(message.contains("Read-only file system"), "{message}");
    assert!(message.contains(&fs.path().display().to_string()), "{message}");
}

#[tokio::test]
async fn missing_data_dir_fails_with_its_cause() {
    let dir = TempDir::new();
    let missing = dir.path().join("not-there");
    let error = store_on(&missing).await.unwrap_err();
    let message = error.to_string();
    assert!(message.contains("does not exist") && message.contains("not-there"), "{message}");
    assert!(!missing.exists(), "opening must not create the folder");
}

#[tokio::test]
async fn database_files_are_private() {
    let dir = TempDir::new();
    let db = dir.path().join("fleet.db");
    // A database left readable by others (an older release, a restore with cp) is tightened.
    std::fs::write(&db, b"").unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = store_on(dir.path()).await.unwrap();
    store.create_pool("admin", "p", "").await.unwrap();
    for name in ["fleet.db", "fleet.db-wal", "fleet.db-shm"] {
        let mode = std::fs::metadata(dir.path().join(name)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name} has mode {mode:o}");
    }
    store.close().await;
}
