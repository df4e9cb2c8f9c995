//! Durable storage (issue 12 §4): what the store does so an acknowledged version survives power
//! loss, a full disk and careless file modes.
//!
//! ```text
//! open:    url -> prepare(): folder exists and is writable (else the OS's reason), fleet.db created 0600,
//!          existing fleet.db / -wal / -shm tightened to 0600 (SQLite gives -wal and -shm the
//!          database file's mode) -> connect with PRAGMA synchronous = FULL
//! write:   SQLITE_FULL / 53100 / ENOSPC -> Error::StorageFull (the server answers 507)
//! release: a pooled connection still "in a transaction" after its queued ROLLBACK ran is closed
//! ```
//!
//! Why the last step: on `SQLITE_FULL` SQLite rolls the transaction back by itself ("If certain
//! kinds of errors occur ... SQLITE_FULL ... it might be necessary to ... the transaction is
//! rolled back automatically", sqlite.org/lang_transaction.html). sqlx then issues its own
//! `ROLLBACK`, which fails ("no transaction is active"), so sqlx's count of open transactions on
//! that connection stays at 1; back in the pool, every later `BEGIN IMMEDIATE` on it fails with
//! "attempted to call begin_with at non-zero transaction depth" until the process restarts.
//! Closing such a connection on release lets the pool open a fresh one, so writes resume as
//! soon as the disk has room again.

use std::fs::OpenOptions;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sqlx::{AnyConnection, Connection};

use crate::error::{Error, Result};

/// The mode of the database file and, through SQLite, of its `-wal` and `-shm` files.
pub(crate) const DATABASE_MODE: u32 = 0o600;

/// The SQLite file a `sqlite:` URL names, or `None` for an in-memory database.
fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    // In memory, or read-only (`mode=ro`: nothing to create or tighten).
    if path.is_empty() || path == ":memory:" || query.split('&').any(|p| p == "mode=memory" || p == "mode=ro") {
        return None;
    }
    Some(PathBuf::from(path))
}

fn file_error(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::DatabaseFile { path: path.display().to_string(), reason: reason.to_string() }
}

/// Before sqlx opens the SQLite database of `url`: its folder must exist and be writable (WAL
/// mode creates `-wal` and `-shm` beside it), the file is created with mode 0600 when missing,
/// and the file and its `-wal`/`-shm` are tightened to 0600 when they are looser. Errors name
/// the file or folder and the operating system's reason (`Read-only file system (os error 30)`)
/// instead of SQLite's "unable to open database file".
pub(crate) fn prepare_sqlite(url: &str) -> Result<()> {
    let Some(path) = sqlite_path(url) else { return Ok(()) };
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !folder.is_dir() {
        return Err(file_error(&folder, "the data directory does not exist"));
    }
    // A read-only file system or a folder we may not write: found now, with its real cause.
    let probe = folder.join(format!(".fleet-write-probe-{}", std::process::id()));
    match OpenOptions::new().write(true).create_new(true).mode(DATABASE_MODE).open(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
        }
        Err(e) => return Err(file_error(&folder, format!("the data directory is not writable: {e}"))),
    }
    match OpenOptions::new().write(true).create(true).truncate(false).mode(DATABASE_MODE).open(&path) {
        Ok(_) => {}
        Err(e) => return Err(file_error(&path, e)),
    }
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        let Ok(meta) = std::fs::metadata(&file) else { continue };
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(DATABASE_MODE))
                .map_err(|e| file_error(&file, e))?;
        }
    }
    Ok(())
}

/// The database's words when `error` means its disk is full: SQLite's `SQLITE_FULL` (13),
/// PostgreSQL's `53100 disk_full`, or an `ENOSPC` from the driver's own I/O.
pub(crate) fn disk_full(error: &sqlx::Error) -> Option<String> {
    match error {
        sqlx::Error::Database(db) => {
            let code = db.code();
            let code = code.as_deref().unwrap_or_default();
            // SQLite's extended result codes keep the primary code in the low byte.
            let sqlite_full = code.parse::<i64>().is_ok_and(|c| c & 0xff == 13);
            (sqlite_full || code == "53100").then(|| db.message().to_string())
        }
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::StorageFull => Some(io.to_string()),
        _ => None,
    }
}

/// The pool's `after_release` check: keep the connection only when no transaction is left open
/// on it once the queued `ROLLBACK` of a dropped transaction has run (the ping waits for it).
/// See the module docs for how a full disk leaves one open.
pub(crate) async fn fit_for_reuse(conn: &mut AnyConnection) -> Result<bool, sqlx::Error> {
    if !conn.is_in_transaction() {
        return Ok(true);
    }
    conn.ping().await?;
    Ok(!conn.is_in_transaction())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths() {
        assert_eq!(sqlite_path("sqlite:///var/lib/fleet/fleet.db"), Some(PathBuf::from("/var/lib/fleet/fleet.db")));
        assert_eq!(sqlite_path("sqlite://fleet.db?mode=rwc"), Some(PathBuf::from("fleet.db")));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("sqlite://x.db?mode=memory&cache=shared"), None);
        assert_eq!(sqlite_path("postgres://u@h/db"), None);
    }

    #[tokio::test]
    async fn every_connection_syncs_fully() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("fleet-durability-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| file_error(&dir, e))?;
        let store = crate::Store::open_sqlite(&dir.join("fleet.db"), crate::StoreOptions::default()).await?;
        // Several at once, so that more than one pooled connection answers.
        let (a, b) = tokio::join!(
            sqlx::query_scalar::<_, i64>("PRAGMA synchronous").fetch_one(store.pool()),
            sqlx::query_scalar::<_, i64>("PRAGMA synchronous").fetch_one(store.pool()),
        );
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!((a?, b?), (2, 2), "2 is FULL");
        Ok(())
    }
}
