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

/// Which audit entries to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this cluster's.
    pub cluster_id: Option<i64>,
    /// Only this actor's (a username, `agent:<name>`, `system`).
    pub actor: Option<String>,
    /// Only actions starting with this (`version.`, `failover.move`).
    pub action: Option<String>,
    /// At most this many (1 to 1,000).
    pub limit: i64,
}

impl Store {
    /// Writes one audit entry inside `tx`.
    pub(crate) async fn audit(&self, tx: &mut Tx, entry: Audit<'_>) -> Result<()> {
        self.audit_many(tx, std::slice::from_ref(&entry)).await
    }

    /// Writes `entries` inside `tx`, many rows per statement ([`super::rows`]: a batch of 1,000
    /// agents' reports is 10 statements on SQLite and one on PostgreSQL, not 1,000).
    pub(crate) async fn audit_many(&self, tx: &mut Tx, entries: &[Audit<'_>]) -> Result<()> {
        let backend = self.backend();
        for chunk in super::rows::statements(backend, entries) {
            let rows = super::rows::rows(backend, chunk.len(), &["BIGINT", "BIGINT", "TEXT", "TEXT", "BIGINT", "BIGINT", "TEXT"]);
            let sql = format!("INSERT INTO audit_log (id, at, actor, action, cluster_id, version, details) {rows}");
            let cells = chunk
                .iter()
                .map(|entry| Ok((self.new_id()?, self.now(), entry.actor, entry.action, entry.cluster_id, entry.version, to_json(&entry.details)?)))
                .collect::<Result<Vec<_>>>()?;
            super::rows::bind_rows(backend, sqlx::query(&sql), cells)?.execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// The newest `limit` audit entries, newest first; only those of `cluster_id` when given.
    pub async fn audit_log(&self, cluster_id: Option<i64>, limit: i64) -> Result<Vec<AuditEntry>> {
        self.audit_entries(&AuditFilter { cluster_id, limit, ..AuditFilter::default() }).await
    }

    /// The newest entries matching `filter`, newest first (the web UI's audit page).
    pub async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let mut conditions = Vec::new();
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if filter.cluster_id.is_some() {
            conditions.push(format!("cluster_id = {}", next()));
        }
        if filter.actor.is_some() {
            conditions.push(format!("actor = {}", next()));
        }
        if filter.action.is_some() {
            conditions.push(format!("action LIKE {} ESCAPE '\\'", next()));
        }
        let filter_sql = if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
        let sql = format!(
            "SELECT id, at, actor, action, cluster_id, version, details FROM audit_log {filter_sql} ORDER BY at DESC, id DESC LIMIT {}",
            next()
        );
        let mut query = sqlx::query(&sql);
        if let Some(cluster) = filter.cluster_id {
            query = query.bind(cluster);
        }
        if let Some(actor) = &filter.actor {
            query = query.bind(actor.clone());
        }
        if let Some(action) = &filter.action {
            // A prefix: `version.` matches every version action; LIKE's own wildcards in what
            // the user typed match only themselves.
            let escaped = action.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            query = query.bind(format!("{escaped}%"));
        }
        let rows = query.bind(filter.limit.clamp(1, 1000)).fetch_all(self.pool()).await?;
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
