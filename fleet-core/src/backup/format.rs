//! The backup file: a tar archive (ustar) whose first entry is `manifest.json`, then one
//! `tables/<table>.jsonl` per table in restore order (parents before children), then
//! `secret.key` when the key was asked for.
//!
//! A table file holds one JSON array per row, the columns in the manifest's order; a value is
//! `null`, an integer (i64), a string, `true`/`false`, `{"blob":"<base64>"}` or `{"real":f64}`.

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{BackupError, Result};

/// The `format` of every manifest.
pub const FORMAT: &str = "haproxy-fleet-backup";
/// The format version this binary writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;
/// The manifest's entry name (first in the archive).
pub(crate) const MANIFEST_ENTRY: &str = "manifest.json";
/// The key file's entry name, when the backup includes it.
pub(crate) const KEY_ENTRY: &str = "secret.key";

/// What a backup holds, checked before anything is restored.
///
/// ```json
/// {"format":"haproxy-fleet-backup","format_version":1,"fleet_version":"0.1.0",
///  "created_at":1764600000000,"backend":"sqlite","schema_version":22,
///  "migrations":[{"version":1,"description":"init","checksum":"<sha384 hex>"}, ...],
///  "tables":[{"name":"pools","columns":["id","name",...],"rows":3,"bytes":210,"sha256":"..."}, ...],
///  "sealed_key_ids":["1a2b3c4d"],"includes_key":false}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`] of the writer.
    pub format_version: u32,
    /// The writer's version (`CARGO_PKG_VERSION`).
    pub fleet_version: String,
    /// When the snapshot was taken, Unix ms (the store's clock).
    pub created_at: i64,
    /// `sqlite` or `postgres`: where it was taken (any restores into either).
    pub backend: String,
    /// The latest applied migration of the database backed up.
    pub schema_version: i64,
    /// Every applied migration (from `_sqlx_migrations`), ascending.
    pub migrations: Vec<MigrationEntry>,
    /// Every table, in restore order.
    pub tables: Vec<TableEntry>,
    /// The master key ids the sealed values need (empty: nothing sealed).
    pub sealed_key_ids: Vec<String>,
    /// True when the archive holds the key file (`secret.key`).
    pub includes_key: bool,
}

/// One applied migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationEntry {
    /// Its number (`0022_alerts.sql` is 22).
    pub version: i64,
    /// Its description (`alerts`).
    pub description: String,
    /// sqlx's checksum of its SQL (SHA-384), hex.
    pub checksum: String,
}

/// One table of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableEntry {
    /// The table's name.
    pub name: String,
    /// Its columns, in the order of the values of each row.
    pub columns: Vec<String>,
    /// How many rows.
    pub rows: u64,
    /// Size of `tables/<name>.jsonl`, bytes.
    pub bytes: u64,
    /// SHA-256 of `tables/<name>.jsonl`, hex.
    pub sha256: String,
}

impl Manifest {
    /// Total rows over every table.
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    /// Refuses what this binary cannot read: another format, a newer format version.
    pub(crate) fn check_format(&self) -> Result<()> {
        if self.format != FORMAT {
            return Err(BackupError::Damaged(format!("manifest format is {:?}, not {FORMAT:?}", self.format)));
        }
        if self.format_version > FORMAT_VERSION {
            return Err(BackupError::NewerFormat(self.format_version));
        }
        if self.migrations.last().map(|m| m.version) != Some(self.schema_version) {
            return Err(BackupError::Damaged("manifest schema_version is not its latest migration".into()));
        }
        Ok(())
    }
}

/// The entry name of a table's rows.
pub(crate) fn table_entry(name: &str) -> String {
    format!("tables/{name}.jsonl")
}

/// One column value as read from the database.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Bool(bool),
    Text(String),
    Blob(Vec<u8>),
}

impl Cell {
    pub(crate) fn to_json(&self) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Int(i) => Value::from(*i),
            Cell::Real(f) => serde_json::json!({ "real": f }),
            Cell::Bool(b) => Value::Bool(*b),
            Cell::Text(s) => Value::String(s.clone()),
            Cell::Blob(b) => serde_json::json!({ "blob": base64::engine::general_purpose::STANDARD.encode(b) }),
        }
    }

    pub(crate) fn from_json(value: Value) -> Result<Cell> {
        Ok(match value {
            Value::Null => Cell::Null,
            Value::Bool(b) => Cell::Bool(b),
            Value::Number(n) => Cell::Int(n.as_i64().ok_or_else(|| BackupError::Damaged(format!("not an integer: {n}")))?),
            Value::String(s) => Cell::Text(s),
            Value::Object(map) => match (map.get("blob"), map.get("real")) {
                (Some(Value::String(b)), None) if map.len() == 1 => Cell::Blob(
                    base64::engine::general_purpose::STANDARD
                        .decode(b)
                        .map_err(|e| BackupError::Damaged(format!("blob is not base64: {e}")))?,
                ),
                (None, Some(Value::Number(f))) if map.len() == 1 => {
                    Cell::Real(f.as_f64().ok_or_else(|| BackupError::Damaged(format!("not a number: {f}")))?)
                }
                _ => return Err(BackupError::Damaged("unknown value object".into())),
            },
            Value::Array(_) => return Err(BackupError::Damaged("a value is an array".into())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Cell;

    #[test]
    fn cells_round_trip_through_json() {
        for cell in [
            Cell::Null,
            Cell::Int(-5),
            Cell::Int(i64::MAX),
            Cell::Real(1.5),
            Cell::Bool(true),
            Cell::Text("a\"b\n".into()),
            Cell::Blob(vec![0, 255, 10]),
        ] {
            assert_eq!(Cell::from_json(cell.to_json()).unwrap(), cell);
        }
        assert!(Cell::from_json(serde_json::json!(1.5)).is_err());
        assert!(Cell::from_json(serde_json::json!({"blob": "%%"})).is_err());
    }
}
