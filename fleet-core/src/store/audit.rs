//! The audit log: written inside the same database transaction as the change it records, so a
//! change without its entry (or the reverse) cannot be committed.

use sqlx::Row;

use super::{json_column, to_json, Store, Tx};
use crate::error::Result;
use crate::model::AuditEntry;

/// What an audit entry is about.
pub(crate) struct Audit<'a> {
    pub(crate) actor: &'a str,
    pub(crate) action: &'a str,
    pub(crate) cluster_id: Option<i64>,
    pub(crate) version: Option<i64>,
    pub(crate) details: serde_json::Value,
}

impl Store {
    /// Writes one audit entry inside `tx`.
    pub(crate) async fn audit(&self, tx: &mut Tx, entry: Audit<'_>) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_log (id, at, actor, action, cluster_id, version, details) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(self.new_id()?)
        .bind(self.now())
        .bind(entry.actor)
        .bind(entry.action)
        .bind(entry.cluster_id)
        .bind(entry.version)
        .bind(to_json(&entry.details)?)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// The newest `limit` audit entries, newest first; only those of `cluster_id` when given.
    pub async fn audit_log(&self, cluster_id: Option<i64>, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = match cluster_id {
            Some(cluster) => {
                sqlx::query(
                    "SELECT id, at, actor, action, cluster_id, version, details FROM audit_log \
                     WHERE cluster_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
                )
                .bind(cluster)
                .bind(limit)
                .fetch_all(self.pool())
                .await?
            }
            None => {
                sqlx::query(
                    "SELECT id, at, actor, action, cluster_id, version, details FROM audit_log \
                     ORDER BY at DESC, id DESC LIMIT $1",
                )
                .bind(limit)
                .fetch_all(self.pool())
                .await?
            }
        };
        rows.iter()
            .map(|row| {
                Ok(AuditEntry {
                    id: row.try_get("id")?,
                    at: row.try_get("at")?,
                    actor: row.try_get("actor")?,
                    action: row.try_get("action")?,
                    cluster_id: row.try_get("cluster_id")?,
                    version: row.try_get("version")?,
                    details: json_column(row, "details")?,
                })
            })
            .collect()
    }
}
