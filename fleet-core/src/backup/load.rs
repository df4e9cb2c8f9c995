//! Restoring a backup: checked first (format, schema), written in one transaction into a fresh
//! database, so a damaged or refused backup leaves the old state untouched.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use sqlx::migrate::Migrate;
use sqlx::{Connection, Executor, Row};

use super::dump::{columns, quote, table_names, MIGRATIONS_TABLE};
use super::format::{table_entry, Cell, Manifest, TableEntry, KEY_ENTRY, MANIFEST_ENTRY};
use super::{BackupError, Result, MIGRATOR};
use crate::secrets::KeyFile;
use crate::store::{Backend, Store};

/// The largest manifest read (a manifest lists tables and migrations: a few kB).
const MAX_MANIFEST: u64 = 16 << 20;

/// Where a backup is restored to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreTarget {
    /// The SQLite file of `fleet serve --data DIR` (`DIR/fleet.db`): a new file is written
    /// beside it and renamed over it; the old one is kept as `fleet.db.pre-restore-<ms>`.
    Sqlite(PathBuf),
    /// A PostgreSQL database (`postgres://...`): its tables are dropped and the backup's
    /// written in the same transaction.
    Postgres(String),
}

/// What [`restore`] did.
#[derive(Debug, Clone)]
pub struct Restored {
    /// The backup's manifest.
    pub manifest: Manifest,
    /// Rows written, over every table.
    pub rows: u64,
    /// Where the replaced SQLite file was kept, when there was one.
    pub previous: Option<PathBuf>,
    /// The key file the backup carried, when it did (`secret.key`, the raw file).
    pub key: Option<Vec<u8>>,
}

/// Reads only the manifest (the first entry) of a backup, checking its format and schema
/// against this binary. Errors: [`BackupError::Damaged`], [`BackupError::NewerFormat`],
/// [`BackupError::NewerSchema`], [`BackupError::OtherSchema`].
pub fn read_manifest(reader: impl Read) -> Result<Manifest> {
    let mut archive = tar::Archive::new(reader);
    let mut entries = archive.entries().map_err(damaged)?;
    let manifest = first_manifest(&mut entries)?;
    Ok(manifest)
}

fn damaged(error: std::io::Error) -> BackupError {
    BackupError::Damaged(error.to_string())
}

fn first_manifest<R: Read>(entries: &mut tar::Entries<'_, R>) -> Result<Manifest> {
    let mut entry = entries.next().ok_or_else(|| BackupError::Damaged("empty archive".into()))?.map_err(damaged)?;
    if entry.path_bytes().as_ref() != MANIFEST_ENTRY.as_bytes() {
        return Err(BackupError::Damaged("not a fleet backup: the first entry is not manifest.json".into()));
    }
    let mut text = Vec::new();
    (&mut entry).take(MAX_MANIFEST).read_to_end(&mut text).map_err(damaged)?;
    let manifest: Manifest = serde_json::from_slice(&text).map_err(|e| BackupError::Damaged(format!("manifest: {e}")))?;
    manifest.check_format()?;
    check_schema(&manifest)?;
    Ok(manifest)
}

/// Every migration of the backup must be one of this binary's, with the same checksum.
fn check_schema(manifest: &Manifest) -> Result<()> {
    let ours: HashMap<i64, &sqlx::migrate::Migration> = MIGRATOR.iter().map(|m| (m.version, m)).collect();
    let latest = super::schema_version();
    for applied in &manifest.migrations {
        match ours.get(&applied.version) {
            None => return Err(BackupError::NewerSchema { backup: manifest.schema_version, binary: latest }),
            Some(m) if hex::encode(&m.checksum) != applied.checksum => {
                return Err(BackupError::OtherSchema { version: applied.version, description: applied.description.clone() })
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Restores the backup read from `reader` into `target` and returns what it did.
///
/// In order: the manifest is checked ([`read_manifest`]); a running server is refused (SQLite:
/// the file is open elsewhere; PostgreSQL: other sessions on the database) with
/// [`BackupError::InUse`]; then, in one transaction on a fresh database: this binary's
/// migrations up to the backup's schema, every table's rows (its row count, size and sha256
/// checked against the manifest: [`BackupError::Damaged`] otherwise), the newer migrations;
/// commit. Nothing of the target changes unless all of it succeeded.
pub async fn restore(reader: impl Read, target: &RestoreTarget) -> Result<Restored> {
    sqlx::any::install_default_drivers();
    let mut archive = tar::Archive::new(reader);
    let mut entries = archive.entries().map_err(damaged)?;
    let manifest = first_manifest(&mut entries)?;
    match target {
        RestoreTarget::Sqlite(path) => {
            if path.exists() {
                sqlite_idle(path).await?;
            }
            let fresh = path.with_file_name(format!(
                "{}.restore-{}",
                path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                std::process::id()
            ));
            remove_if_present(&fresh)?;
            create_private(&fresh)?;
            let url = format!("sqlite://{}?mode=rw", fresh.display());
            let loaded = async {
                let mut conn = sqlx::AnyConnection::connect(&url).await?;
                let result = load(&mut conn, Backend::Sqlite, &manifest, &mut entries).await;
                conn.close().await?;
                result
            }
            .await;
            let (rows, key) = match loaded {
                Ok(done) => done,
                Err(e) => {
                    let _ = std::fs::remove_file(&fresh);
                    return Err(e);
                }
            };
            std::fs::File::open(&fresh).and_then(|f| f.sync_all()).map_err(|e| BackupError::io(fresh.display(), e))?;
            let previous = if path.exists() {
                let kept = path.with_file_name(format!(
                    "{}.pre-restore-{}",
                    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0)
                ));
                std::fs::rename(path, &kept).map_err(|e| BackupError::io(path.display(), e))?;
                Some(kept)
            } else {
                None
            };
            for suffix in ["-wal", "-shm"] {
                remove_if_present(&PathBuf::from(format!("{}{suffix}", path.display())))?;
            }
            std::fs::rename(&fresh, path).map_err(|e| BackupError::io(path.display(), e))?;
            if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
            }
            Ok(Restored { manifest, rows, previous, key })
        }
        RestoreTarget::Postgres(url) => {
            let mut conn = sqlx::AnyConnection::connect(url).await?;
            // Sessions just closed (a server stopped a moment ago) leave pg_stat_activity within
            // a few hundred ms: asked for up to 3 s before refusing.
            let mut others = 0;
            for _ in 0..30 {
                others = sqlx::query(
                    "SELECT count(*)::bigint AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
                )
                .fetch_one(&mut conn)
                .await?
                .try_get::<i64, _>("n")?;
                if others == 0 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            if others > 0 {
                let who: String = sqlx::query(
                    "SELECT coalesce(string_agg(coalesce(client_addr::text, 'local') || ' (' || coalesce(state, '') || ': ' || left(coalesce(query, ''), 60) || ')', ', '), '') AS who \
                     FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
                )
                .fetch_one(&mut conn)
                .await?
                .try_get("who")?;
                return Err(BackupError::InUse(format!(
                    "{others} other session(s) use this database ({who}): stop the servers before restoring"
                )));
            }
            let (rows, key) = load(&mut conn, Backend::Postgres, &manifest, &mut entries).await?;
            conn.close().await?;
            Ok(Restored { manifest, rows, previous: None, key })
        }
    }
}

/// How long a restore waits for the target's last connections to finish closing.
const IDLE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(BackupError::io(path.display(), e)),
    }
}

fn create_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(crate::store::DATABASE_MODE)
        .open(path)
        .map(drop)
        .map_err(|e| BackupError::io(path.display(), e))
}

/// Refuses a SQLite file another process has open (a running `fleet serve`): leaving WAL mode
/// needs the only connection, so it fails with "database is locked" while a server runs. On
/// success the file is in rollback-journal mode with its WAL checkpointed into it and removed.
/// A connection that is still closing (a server that has just stopped: its last connection
/// checkpoints the WAL as it goes) is waited for, up to [`IDLE_WAIT`]; one that stays open
/// is refused after that wait.
async fn sqlite_idle(path: &Path) -> Result<()> {
    let url = format!("sqlite://{}?mode=rw", path.display());
    let deadline = std::time::Instant::now() + IDLE_WAIT;
    loop {
        let mut conn = sqlx::AnyConnection::connect(&url).await?;
        conn.execute("PRAGMA busy_timeout = 100").await?;
        let switched = sqlx::query("PRAGMA journal_mode = DELETE").fetch_one(&mut conn).await;
        let _ = conn.close().await;
        let idle = match switched {
            Ok(row) => matches!(row.try_get::<String, _>(0), Ok(mode) if mode.eq_ignore_ascii_case("delete")),
            Err(sqlx::Error::Database(e)) if e.message().contains("locked") || e.message().contains("busy") => false,
            Err(e) => return Err(e.into()),
        };
        if idle {
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            return Err(BackupError::InUse(format!("{} is in use (is `fleet serve` running on it?): stop the server before restoring", path.display())));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The whole restore on `conn`, in one transaction.
async fn load<R: Read>(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    manifest: &Manifest,
    entries: &mut tar::Entries<'_, R>,
) -> Result<(u64, Option<Vec<u8>>)> {
    let mut tx = conn.begin().await?;
    if backend == Backend::Postgres {
        let mut existing = table_names(&mut tx, backend).await?;
        existing.push(MIGRATIONS_TABLE.into());
        for name in existing {
            tx.execute(format!("DROP TABLE IF EXISTS {} CASCADE", quote(&name)).as_str()).await?;
        }
    }
    tx.ensure_migrations_table().await?;
    for migration in MIGRATOR.iter().filter(|m| m.version <= manifest.schema_version) {
        tx.apply(migration).await?;
    }
    let mut rows = 0;
    let mut seen = BTreeSet::new();
    let mut key = None;
    let mut tables = manifest.tables.iter();
    for entry in entries {
        let entry = entry.map_err(damaged)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if name == KEY_ENTRY && manifest.includes_key {
            let mut bytes = Vec::new();
            entry.take(1 << 16).read_to_end(&mut bytes).map_err(damaged)?;
            key = Some(bytes);
            continue;
        }
        let table = tables.next().ok_or_else(|| BackupError::Damaged(format!("unexpected entry {name}")))?;
        if name != table_entry(&table.name) {
            return Err(BackupError::Damaged(format!("entry {name} where {} was expected", table_entry(&table.name))));
        }
        rows += load_table(&mut tx, backend, table, entry).await?;
        seen.insert(table.name.clone());
    }
    if let Some(missing) = tables.next() {
        return Err(BackupError::Damaged(format!("truncated: table {} is missing", missing.name)));
    }
    if manifest.includes_key && key.is_none() {
        return Err(BackupError::Damaged("truncated: the key file is missing".into()));
    }
    for migration in MIGRATOR.iter().filter(|m| m.version > manifest.schema_version) {
        tx.apply(migration).await?;
    }
    tx.commit().await?;
    Ok((rows, key))
}

/// How a value is bound for a column of this declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Text,
    Blob,
    Bool,
    Real,
}

fn kind_of(declared: &str) -> Kind {
    let upper = declared.to_ascii_uppercase();
    if upper.contains("INT") {
        Kind::Int
    } else if upper.contains("BYTEA") || upper.contains("BLOB") {
        Kind::Blob
    } else if upper.contains("BOOL") {
        Kind::Bool
    } else if upper.contains("REAL") || upper.contains("DOUBLE") || upper.contains("FLOAT") || upper.contains("NUMERIC") {
        Kind::Real
    } else {
        Kind::Text
    }
}

/// A reader that hashes and counts what it reads.
struct HashingReader<R> {
    inner: R,
    sha: Sha256,
    bytes: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

async fn load_table(tx: &mut sqlx::AnyConnection, backend: Backend, table: &TableEntry, entry: impl Read) -> Result<u64> {
    let declared: HashMap<String, String> = columns(tx, backend, &table.name).await?.into_iter().collect();
    if declared.is_empty() {
        return Err(BackupError::OtherSchema { version: 0, description: format!("table {} is not in this fleet's schema", table.name) });
    }
    let mut kinds = Vec::new();
    for column in &table.columns {
        let kind = declared.get(column).ok_or_else(|| BackupError::OtherSchema {
            version: 0,
            description: format!("column {}.{column} is not in this fleet's schema", table.name),
        })?;
        kinds.push(kind_of(kind));
    }
    let placeholders = (1..=table.columns.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({placeholders})",
        quote(&table.name),
        table.columns.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ")
    );
    let mut reader = BufReader::new(HashingReader { inner: entry, sha: Sha256::new(), bytes: 0 });
    let mut line = String::new();
    let mut rows = 0u64;
    loop {
        line.clear();
        let n = reader.read_line(&mut line).map_err(damaged)?;
        if n == 0 {
            break;
        }
        let values: Vec<serde_json::Value> = serde_json::from_str(&line)
            .map_err(|e| BackupError::Damaged(format!("{} row {}: {e}", table.name, rows + 1)))?;
        if values.len() != kinds.len() {
            return Err(BackupError::Damaged(format!("{} row {}: {} values for {} columns", table.name, rows + 1, values.len(), kinds.len())));
        }
        let mut query = sqlx::query(&sql);
        for (value, kind) in values.into_iter().zip(&kinds) {
            query = match (Cell::from_json(value)?, kind) {
                (Cell::Null, Kind::Int) => query.bind(None::<i64>),
                (Cell::Null, Kind::Blob) => query.bind(None::<Vec<u8>>),
                (Cell::Null, Kind::Bool) => query.bind(None::<bool>),
                (Cell::Null, Kind::Real) => query.bind(None::<f64>),
                (Cell::Null, Kind::Text) => query.bind(None::<String>),
                (Cell::Int(i), Kind::Bool) => query.bind(i != 0),
                (Cell::Bool(b), Kind::Int) => query.bind(i64::from(b)),
                (Cell::Int(i), _) => query.bind(i),
                (Cell::Real(f), _) => query.bind(f),
                (Cell::Bool(b), _) => query.bind(b),
                (Cell::Text(s), _) => query.bind(s),
                (Cell::Blob(b), _) => query.bind(b),
            };
        }
        if let Err(e) = query.execute(&mut *tx).await {
            // A damaged row can break a constraint before the table's sha256 is known: read the
            // rest, and name damage as damage.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
            let hashing = reader.into_inner();
            if hashing.bytes != table.bytes || hex::encode(hashing.sha.finalize()) != table.sha256 {
                return Err(BackupError::Damaged(format!("table {}: its content does not match the manifest's sha256", table.name)));
            }
            return Err(e.into());
        }
        rows += 1;
    }
    let hashing = reader.into_inner();
    let sha = hex::encode(hashing.sha.finalize());
    if hashing.bytes != table.bytes || sha != table.sha256 {
        return Err(BackupError::Damaged(format!("table {}: its content does not match the manifest's sha256", table.name)));
    }
    if rows != table.rows {
        return Err(BackupError::Damaged(format!("table {}: {rows} rows, the manifest says {}", table.name, table.rows)));
    }
    Ok(rows)
}

/// Whether a key file opens a store's sealed values.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyCheck {
    /// Nothing is sealed: any key (or none) will do.
    NothingSealed,
    /// The key opens every sealed value (how many).
    Opens(usize),
    /// The key file is missing while sealed values need key `key_ids`.
    Missing {
        /// The key file looked for.
        path: PathBuf,
        /// The key ids the sealed values need.
        key_ids: Vec<String>,
    },
    /// The key file does not open them: the reason (wrong key, the ids).
    Fails(String),
}

/// Checks that `file` opens every sealed value of `store` (secrets, TOTP secrets, sealed bundle
/// files), without creating or changing anything. `key_ids` are the ids the values need (from
/// the manifest), named when the file is missing.
pub async fn check_key(store: &Store, file: &KeyFile, key_ids: &[String]) -> Result<KeyCheck> {
    let ring = match file.load() {
        Ok(Some(ring)) => ring,
        Ok(None) if key_ids.is_empty() => return Ok(KeyCheck::NothingSealed),
        Ok(None) => return Ok(KeyCheck::Missing { path: file.path().to_path_buf(), key_ids: key_ids.to_vec() }),
        Err(e) => return Ok(KeyCheck::Fails(e.to_string())),
    };
    match store.open_every_sealed(&ring).await {
        Ok(0) => Ok(KeyCheck::NothingSealed),
        Ok(n) => Ok(KeyCheck::Opens(n)),
        Err(crate::Error::Crypto(reason)) => Ok(KeyCheck::Fails(reason)),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::{kind_of, Kind};

    #[test]
    fn declared_types_pick_a_binding() {
        assert_eq!(kind_of("BIGINT"), Kind::Int);
        assert_eq!(kind_of("bigint"), Kind::Int);
        assert_eq!(kind_of("BYTEA"), Kind::Blob);
        assert_eq!(kind_of("text"), Kind::Text);
        assert_eq!(kind_of("boolean"), Kind::Bool);
        assert_eq!(kind_of(""), Kind::Text);
    }
}
