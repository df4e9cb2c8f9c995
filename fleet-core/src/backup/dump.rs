//! Writing a backup: every table read in one read transaction, so the copy is one consistent
//! moment of the database while the server keeps writing.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::any::{AnyPoolOptions, AnyRow, AnyTypeInfoKind};
use sqlx::{AnyPool, Row, ValueRef as _};

use super::format::{table_entry, Cell, Manifest, MigrationEntry, TableEntry, FORMAT, FORMAT_VERSION, KEY_ENTRY, MANIFEST_ENTRY};
use super::{BackupError, Result};
use crate::clock::{Clock, SystemClock};
use crate::secrets::Sealed;
use crate::store::{Backend, Store};

/// The migrations table: read for the manifest, never copied as rows (a restore's migrations
/// write it).
pub(crate) const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

/// A database to back up: a [`Store`]'s, or one a running server uses, opened without
/// migrating it (a newer `fleet` must not change the schema under an older running server).
#[derive(Debug, Clone)]
pub struct Database {
    pool: AnyPool,
    backend: Backend,
    clock: Arc<dyn Clock>,
}

impl Database {
    /// The database of `store` (its pool and clock).
    pub fn of(store: &Store) -> Database {
        Database { pool: store.pool().clone(), backend: store.backend(), clock: store.clock() }
    }

    /// Connects to `url` (`sqlite:PATH` of an existing file, or `postgres://...`) without
    /// running migrations. Errors: the SQLite file is missing ([`BackupError::Invalid`]), the
    /// database refuses the connection ([`BackupError::Database`]).
    pub async fn connect(url: &str) -> Result<Database> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            let path = rest.split_once('?').map_or(rest, |(p, _)| p);
            if !Path::new(path).is_file() {
                return Err(BackupError::Invalid(format!("no database at {path}")));
            }
            (Backend::Sqlite, format!("sqlite://{path}?mode=rw"))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            (Backend::Postgres, url.to_string())
        } else {
            return Err(BackupError::Invalid("unsupported database url: expected sqlite:PATH or postgres://...".into()));
        };
        let pool = AnyPoolOptions::new()
            .max_connections(2)
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    if conn.backend_name().eq_ignore_ascii_case("sqlite") {
                        sqlx::Executor::execute(&mut *conn, "PRAGMA busy_timeout = 10000").await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        Ok(Database { pool, backend, clock: Arc::new(SystemClock) })
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes the connections [`Database::connect`] opened (a no-op for a store's, which the
    /// store still uses, until every clone is gone).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) fn now(&self) -> i64 {
        self.clock.now_ms()
    }
}

/// Options of [`create`].
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// Put this key file (the master key) into the backup as `secret.key`. Off by default: a
    /// backup that holds the key opens every sealed secret for whoever holds the backup.
    pub key_file: Option<PathBuf>,
    /// Where the table files are written before they go into the archive (default: the
    /// system's temporary folder); removed afterwards.
    pub scratch: Option<PathBuf>,
}

pub(crate) fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// Writes a backup of `db` to `out` (the format of [`super::format`]); returns its manifest.
/// The tables are read in one read transaction (SQLite: a WAL snapshot, PostgreSQL:
/// `REPEATABLE READ, READ ONLY`), so the server keeps serving and writing meanwhile.
///
/// Errors: [`BackupError::Database`] (a read failed), [`BackupError::Io`] (the scratch folder,
/// `out`, the key file).
pub async fn create(db: &Database, out: impl Write, options: &CreateOptions) -> Result<Manifest> {
    let scratch = Scratch::new(options.scratch.clone().unwrap_or_else(std::env::temp_dir))?;
    let key = match &options.key_file {
        Some(path) => Some(std::fs::read(path).map_err(|e| BackupError::io(path.display(), e))?),
        None => None,
    };
    let manifest = snapshot(db, &scratch.dir, key.is_some()).await?;
    let mut archive = tar::Builder::new(out);
    let text = serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::Damaged(e.to_string()))?;
    append(&mut archive, MANIFEST_ENTRY, &mut text.as_slice(), text.len() as u64, manifest.created_at)?;
    for table in &manifest.tables {
        let path = scratch.dir.join(format!("{}.jsonl", table.name));
        let mut file = std::fs::File::open(&path).map_err(|e| BackupError::io(path.display(), e))?;
        append(&mut archive, &table_entry(&table.name), &mut file, table.bytes, manifest.created_at)?;
    }
    if let Some(key) = key {
        append(&mut archive, KEY_ENTRY, &mut key.as_slice(), key.len() as u64, manifest.created_at)?;
    }
    let mut out = archive.into_inner().map_err(|e| BackupError::io("backup", e))?;
    out.flush().map_err(|e| BackupError::io("backup", e))?;
    Ok(manifest)
}

/// [`create`] into the file `path`, written beside it first and renamed into place once
/// complete and synced (mode 0600: it holds password hashes and sealed secrets), so a failed
/// or interrupted backup never leaves a partial file under that name.
pub async fn create_file(db: &Database, path: &Path, options: &CreateOptions) -> Result<Manifest> {
    use std::os::unix::fs::OpenOptionsExt;
    let partial = partial_name(path);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&partial)
        .map_err(|e| BackupError::io(partial.display(), e))?;
    let mut options = options.clone();
    if options.scratch.is_none() {
        options.scratch = path.parent().filter(|p| !p.as_os_str().is_empty()).map(Path::to_path_buf);
    }
    let written = async {
        let mut writer = BufWriter::new(file);
        let manifest = create(db, &mut writer, &options).await?;
        let file = writer.into_inner().map_err(|e| BackupError::io(partial.display(), e.into_error()))?;
        file.sync_all().map_err(|e| BackupError::io(partial.display(), e))?;
        std::fs::rename(&partial, path).map_err(|e| BackupError::io(path.display(), e))?;
        Ok(manifest)
    }
    .await;
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

fn partial_name(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".partial-{}", std::process::id()));
    path.with_file_name(name)
}

fn append(archive: &mut tar::Builder<impl Write>, name: &str, data: &mut impl Read, size: u64, created_at: i64) -> Result<()> {
    let mut header = tar::Header::new_ustar();
    header.set_size(size);
    header.set_mode(0o600);
    header.set_mtime(u64::try_from(created_at / 1000).unwrap_or(0));
    header.set_entry_type(tar::EntryType::Regular);
    archive.append_data(&mut header, name, data).map_err(|e| BackupError::io(name, e))
}

/// A private scratch folder, removed on drop.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(parent: PathBuf) -> Result<Scratch> {
        use std::os::unix::fs::DirBuilderExt;
        let mut bytes = [0u8; 8];
        getrandom::getrandom(&mut bytes).map_err(|e| BackupError::Invalid(format!("random source: {e}")))?;
        let dir = parent.join(format!(".fleet-backup-{}", hex::encode(bytes)));
        std::fs::DirBuilder::new().mode(0o700).create(&dir).map_err(|e| BackupError::io(dir.display(), e))?;
        Ok(Scratch { dir })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Reads every table inside one read transaction into `dir/<table>.jsonl`.
async fn snapshot(db: &Database, dir: &Path, includes_key: bool) -> Result<Manifest> {
    let begin = match db.backend {
        Backend::Sqlite => "BEGIN",
        Backend::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
    };
    let mut tx = db.pool.begin_with(begin).await?;
    let created_at = db.now();
    let names = table_names(&mut tx, db.backend).await?;
    let mut parents = BTreeMap::new();
    for name in &names {
        parents.insert(name.clone(), parent_tables(&mut tx, db.backend, name).await?);
    }
    let migrations = sqlx::query(&format!("SELECT version, description, checksum FROM {MIGRATIONS_TABLE} ORDER BY version"))
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| {
            Ok(MigrationEntry {
                version: row.try_get("version")?,
                description: row.try_get("description")?,
                checksum: hex::encode(row.try_get::<Vec<u8>, _>("checksum")?),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let mut tables = Vec::new();
    for name in restore_order(&parents) {
        tables.push(dump_table(&mut tx, db.backend, &name, dir).await?);
    }
    let sealed_key_ids = sealed_key_ids(&mut tx).await?;
    tx.rollback().await?;
    Ok(Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        fleet_version: env!("CARGO_PKG_VERSION").into(),
        created_at,
        backend: backend_name(db.backend).into(),
        schema_version: migrations.last().map_or(0, |m| m.version),
        migrations,
        tables,
        sealed_key_ids,
        includes_key,
    })
}

pub(crate) type AnyTx = sqlx::Transaction<'static, sqlx::Any>;

/// The application's tables (not SQLite's own, not the migrations table).
pub(crate) async fn table_names(tx: &mut sqlx::AnyConnection, backend: Backend) -> Result<Vec<String>> {
    let sql = match backend {
        Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' ORDER BY name",
        Backend::Postgres => {
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
        }
    };
    let rows = sqlx::query(sql).fetch_all(&mut *tx).await?;
    let mut names = Vec::new();
    for row in rows {
        let name: String = row.try_get("name")?;
        if name != MIGRATIONS_TABLE {
            names.push(name);
        }
    }
    Ok(names)
}

/// The tables `table`'s foreign keys point at.
async fn parent_tables(tx: &mut sqlx::AnyConnection, backend: Backend, table: &str) -> Result<BTreeSet<String>> {
    let sql = match backend {
        Backend::Sqlite => "SELECT DISTINCT \"table\" AS parent FROM pragma_foreign_key_list($1)",
        Backend::Postgres => {
            "SELECT DISTINCT ccu.table_name::text AS parent FROM information_schema.table_constraints tc \
             JOIN information_schema.constraint_column_usage ccu \
               ON tc.constraint_name = ccu.constraint_name AND tc.table_schema = ccu.table_schema \
             WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema() AND tc.table_name = $1"
        }
    };
    let rows = sqlx::query(sql).bind(table).fetch_all(&mut *tx).await?;
    rows.iter().map(|r| Ok(r.try_get::<String, _>("parent")?)).filter(|p| !matches!(p, Ok(p) if p == table)).collect()
}

/// The columns of `table`, in their order, with their declared types.
pub(crate) async fn columns(tx: &mut sqlx::AnyConnection, backend: Backend, table: &str) -> Result<Vec<(String, String)>> {
    let sql = match backend {
        Backend::Sqlite => "SELECT name, type AS kind FROM pragma_table_info($1) ORDER BY cid",
        Backend::Postgres => {
            "SELECT column_name::text AS name, data_type::text AS kind FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
        }
    };
    let rows = sqlx::query(sql).bind(table).fetch_all(&mut *tx).await?;
    rows.iter().map(|r| Ok((r.try_get("name")?, r.try_get("kind")?))).collect()
}

/// Tables ordered parents first (Kahn's algorithm, by name among the ready ones); a cycle, which
/// the schema does not have, would put its tables last in name order.
fn restore_order(parents: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut order = Vec::new();
    loop {
        let ready: Vec<String> = parents
            .iter()
            .filter(|(name, ps)| !done.contains(*name) && ps.iter().all(|p| done.contains(p) || !parents.contains_key(p)))
            .map(|(name, _)| name.clone())
            .collect();
        if ready.is_empty() {
            break;
        }
        for name in ready {
            done.insert(name.clone());
            order.push(name);
        }
    }
    order.extend(parents.keys().filter(|n| !done.contains(*n)).cloned());
    order
}

pub(crate) fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A writer that counts and hashes what it passes on.
pub(crate) struct Hashing<W> {
    pub(crate) inner: W,
    pub(crate) sha: Sha256,
    pub(crate) bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

async fn dump_table(tx: &mut AnyTx, backend: Backend, name: &str, dir: &Path) -> Result<TableEntry> {
    let columns: Vec<String> = columns(tx, backend, name).await?.into_iter().map(|(c, _)| c).collect();
    let path = dir.join(format!("{name}.jsonl"));
    let file = std::fs::File::create(&path).map_err(|e| BackupError::io(path.display(), e))?;
    let mut out = Hashing { inner: BufWriter::new(file), sha: Sha256::new(), bytes: 0 };
    let list = columns.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ");
    let sql = format!("SELECT {list} FROM {}", quote(name));
    let mut rows = 0u64;
    {
        let mut stream = sqlx::query(&sql).fetch(&mut **tx);
        while let Some(row) = stream.try_next().await? {
            let values = (0..columns.len()).map(|i| cell(&row, i).map(|c| c.to_json())).collect::<Result<Vec<_>>>()?;
            serde_json::to_writer(&mut out, &values).map_err(|e| BackupError::io(path.display(), e.into()))?;
            out.write_all(b"\n").map_err(|e| BackupError::io(path.display(), e))?;
            rows += 1;
        }
    }
    out.inner.flush().map_err(|e| BackupError::io(path.display(), e))?;
    Ok(TableEntry { name: name.into(), columns, rows, bytes: out.bytes, sha256: hex::encode(out.sha.finalize()) })
}

fn cell(row: &AnyRow, i: usize) -> Result<Cell> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Cell::Null);
    }
    let kind = raw.type_info().kind();
    Ok(match kind {
        AnyTypeInfoKind::Null => Cell::Null,
        AnyTypeInfoKind::Bool => Cell::Bool(row.try_get(i)?),
        AnyTypeInfoKind::SmallInt => Cell::Int(row.try_get::<i16, _>(i)?.into()),
        AnyTypeInfoKind::Integer => Cell::Int(row.try_get::<i32, _>(i)?.into()),
        AnyTypeInfoKind::BigInt => Cell::Int(row.try_get(i)?),
        AnyTypeInfoKind::Real => Cell::Real(row.try_get::<f32, _>(i)?.into()),
        AnyTypeInfoKind::Double => Cell::Real(row.try_get(i)?),
        AnyTypeInfoKind::Text => Cell::Text(row.try_get(i)?),
        AnyTypeInfoKind::Blob => Cell::Blob(row.try_get(i)?),
    })
}

/// The key ids of every sealed value (`sealed_secrets`, users' TOTP secrets).
async fn sealed_key_ids(tx: &mut AnyTx) -> Result<Vec<String>> {
    let mut ids = BTreeSet::new();
    let mut values: Vec<String> = sqlx::query("SELECT sealed FROM sealed_secrets")
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| r.try_get("sealed"))
        .collect::<Result<_, _>>()?;
    for row in sqlx::query("SELECT totp_secret, totp_pending FROM users").fetch_all(&mut **tx).await? {
        for column in ["totp_secret", "totp_pending"] {
            if let Some(value) = row.try_get::<Option<String>, _>(column)? {
                values.push(value);
            }
        }
    }
    for value in values {
        if let Ok(id) = Sealed::parse(&value).and_then(|s| s.key_id()) {
            ids.insert(id.to_string());
        }
    }
    Ok(ids.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    #[test]
    fn parents_come_before_children() {
        let mut parents = BTreeMap::new();
        let set = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        parents.insert("agents".to_string(), set(&["clusters"]));
        parents.insert("clusters".to_string(), set(&["pools"]));
        parents.insert("pools".to_string(), set(&[]));
        parents.insert("audit".to_string(), set(&["gone"]));
        assert_eq!(super::restore_order(&parents), ["audit", "pools", "clusters", "agents"]);
    }
}
