//! Backups of the server's whole state: one logical format for SQLite and PostgreSQL, written
//! while the server runs, checked before anything is restored.
//!
//! ```text
//! create:  Database (a running server's SQLite file or PostgreSQL database, or a Store)
//!          -> one read transaction (SQLite: a WAL read snapshot; PostgreSQL: REPEATABLE READ,
//!             READ ONLY) -> every table, parents before children (foreign keys)
//!          -> tar [manifest.json, tables/<table>.jsonl ..., secret.key only when asked]
//! restore: tar -> manifest first: format version, schema (every applied migration known to
//!          this binary with the same checksum, else BackupError::NewerSchema / OtherSchema)
//!          -> a fresh database in one transaction: migrations up to the backup's schema, the
//!             rows (each table's sha256 and row count checked), the newer migrations of this
//!             binary -> commit; SQLite: a new file renamed over fleet.db (the old one kept as
//!             fleet.db.pre-restore-<ms>), PostgreSQL: the old tables dropped in that same
//!             transaction -> nothing is half written
//! off-site: scheduled(database, &Destination, retention): a backup named
//!          fleet-backup-<UTC time>.tar in a folder or under an S3 prefix, older ones pruned
//! ```
//!
//! Why a logical format and not SQLite's file copy: one format for both databases (a SQLite
//! backup restores into PostgreSQL and back), readable with `tar` and `jq`, and checked table by
//! table. Why the rows of a table as JSON lines: every column here is BIGINT, TEXT or BYTEA
//! (see `store`), so a value is a JSON integer, string, `null`, or `{"blob": base64}` (and
//! `{"real": f64}`, `true`/`false` for types the schema does not use today).
//!
//! Secrets: sealed values (`sealed_secrets`, users' TOTP secrets) are copied as they are stored,
//! sealed with the master key; the key file (`<data>/secret.key`) is not in the backup unless
//! asked ([`CreateOptions::key_file`]): keep it alongside, apart from the backup. A restore
//! checks the key opens every sealed value ([`check_key`]) and says clearly when it does not.

mod dump;
mod format;
mod load;
mod offsite;

pub use dump::{create, create_file, CreateOptions, Database};
pub use format::{Manifest, MigrationEntry, TableEntry, FORMAT, FORMAT_VERSION};
pub use load::{check_key, read_manifest, restore, KeyCheck, Restored, RestoreTarget};
pub use offsite::{download, prune, scheduled, upload, Destination, S3Location, Stored};

/// Why a backup could not be written, read or restored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The database could not be read or written.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration of the restored database failed.
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: String,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The file is not a backup, or it is damaged (truncated, altered, a table's sha256 or row
    /// count differs from the manifest's).
    #[error("damaged backup: {0}")]
    Damaged(String),
    /// The backup was written by a newer fleet: its schema has migrations this binary does not
    /// know, so restoring it would lose what they added.
    #[error("the backup's schema ({backup}) is newer than this fleet's ({binary}): restore it with a newer fleet")]
    NewerSchema {
        /// The backup's latest migration.
        backup: i64,
        /// This binary's latest migration.
        binary: i64,
    },
    /// A migration of the backup has the same number as one of this binary but other content.
    #[error("the backup's migration {version} ({description}) differs from this fleet's: not a backup of this product's schema")]
    OtherSchema {
        /// The migration number.
        version: i64,
        /// Its description in the backup.
        description: String,
    },
    /// The backup format is newer than this binary reads.
    #[error("backup format version {0} is newer than this fleet reads ({FORMAT_VERSION})")]
    NewerFormat(u32),
    /// The target is in use (a server runs on it) or not where expected.
    #[error("{0}")]
    InUse(String),
    /// Object storage (S3) refused or failed.
    #[error("object storage: {0}")]
    ObjectStore(String),
    /// An argument is wrong (a destination URL, a retention of 0).
    #[error("invalid: {0}")]
    Invalid(String),
    /// Another store error (sealed secrets, the key file).
    #[error("{0}")]
    Store(#[from] crate::Error),
}

impl BackupError {
    pub(crate) fn io(path: impl std::fmt::Display, source: std::io::Error) -> BackupError {
        BackupError::Io { path: path.to_string(), source }
    }
}

impl From<BackupError> for crate::Error {
    /// For callers that speak [`crate::Error`] (the scheduler): a damaged or newer backup is
    /// invalid input, the rest keeps its words.
    fn from(error: BackupError) -> Self {
        match error {
            BackupError::Database(e) => crate::Error::Storage(e),
            BackupError::Store(e) => e,
            BackupError::Invalid(m) => crate::Error::invalid(m),
            e @ (BackupError::Damaged(_)
            | BackupError::NewerSchema { .. }
            | BackupError::OtherSchema { .. }
            | BackupError::NewerFormat(_)) => crate::Error::invalid(e.to_string()),
            e @ BackupError::InUse(_) => crate::Error::Conflict(e.to_string()),
            e => crate::Error::Corrupt(e.to_string()),
        }
    }
}

/// Results of this module.
pub type Result<T, E = BackupError> = std::result::Result<T, E>;

/// This binary's migrations (the same `migrations/` the store runs).
pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The latest migration this binary knows: the schema version a backup it writes carries.
pub fn schema_version() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

impl crate::Store {
    /// Records in the audit log that `actor` took the backup described by `manifest`
    /// (`backup.create`, details: schema, rows, tables, created_at).
    pub async fn audit_backup(&self, actor: &str, manifest: &Manifest) -> crate::Result<()> {
        let details = serde_json::json!({
            "schema_version": manifest.schema_version,
            "rows": manifest.total_rows(),
            "tables": manifest.tables.len(),
            "created_at": manifest.created_at,
        });
        let mut tx = self.write_tx().await?;
        let entry = crate::store::Audit { actor, action: "backup.create", cluster_id: None, version: None, details };
        self.audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(())
    }
}
