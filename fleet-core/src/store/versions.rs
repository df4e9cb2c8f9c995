//! The chain of immutable config versions: import, whole-text replace, restore, apply.
//!
//! Every way to make a version ends in [`Store::insert_version`], inside a write transaction:
//! it reads the latest number N, refuses a stale base, and inserts N+1. Two concurrent writers
//! that both read N both try to insert N+1; the primary key lets one win and the other gets a
//! unique violation, reported as [`Error::Outdated`].

use std::sync::Arc;

use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::audit::Audit;
use super::{is_unique_violation, Store, Tx};
use crate::auth::privileged;
use crate::diff::{diff_labeled, ConfigDiff};
use crate::documents::Parsed;
use crate::error::{Error, Result};
use crate::model::{Actor, Committed, ConfigVersion, Role, VersionInfo};
use crate::secret::sha256_hex;

const INFO_COLUMNS: &str = "cluster_id, number, sha256, parent, author, message, created_at";

fn info_from_row(row: &AnyRow) -> Result<VersionInfo> {
    Ok(VersionInfo {
        cluster_id: row.try_get("cluster_id")?,
        number: row.try_get("number")?,
        sha256: row.try_get("sha256")?,
        parent: row.try_get("parent")?,
        author: row.try_get("author")?,
        message: row.try_get("message")?,
        created_at: row.try_get("created_at")?,
    })
}

fn version_from_row(row: &AnyRow) -> Result<ConfigVersion> {
    Ok(ConfigVersion { info: info_from_row(row)?, text: row.try_get("text")? })
}

/// What a new version is made of.
pub(crate) struct NewVersion<'a> {
    pub(crate) cluster_id: i64,
    /// The version the change was based on; `None` appends to whatever is latest.
    pub(crate) base: Option<i64>,
    pub(crate) text: &'a str,
    /// `text` parsed (before the write transaction: a large text takes a while).
    pub(crate) document: Arc<Parsed>,
    pub(crate) author: &'a str,
    /// The author's role, which the policy of privileged directives checks.
    pub(crate) role: Role,
    pub(crate) message: &'a str,
    /// The audit action (`version.import`, `version.replace` ...).
    pub(crate) action: &'a str,
    pub(crate) details: serde_json::Value,
    /// The transaction being committed, which must not be marked outdated by its own version.
    pub(crate) transaction_id: Option<i64>,
}

impl Store {
    /// The latest version number of a cluster (0 when it has none), inside `tx`.
    pub(crate) async fn latest_number(&self, tx: &mut Tx, cluster_id: i64) -> Result<i64> {
        let row = sqlx::query("SELECT COALESCE(MAX(number), 0) AS latest FROM config_versions WHERE cluster_id = $1")
            .bind(cluster_id)
            .fetch_one(&mut **tx)
            .await?;
        Ok(row.try_get("latest")?)
    }

    /// Inserts the next version inside `tx` (see the module docs), marks open transactions on
    /// older bases outdated, and writes the audit entry. The privileged directives the text adds
    /// to the latest version ([`privileged::introduced`]; all of them for a first version) need
    /// the admin role and the cluster's `allowed_privileges` ([`privileged::authorize`]), else
    /// [`Error::Forbidden`]; the audit entry names those it let in.
    pub(crate) async fn insert_version(&self, tx: &mut Tx, new: NewVersion<'_>) -> Result<VersionInfo> {
        let settings = self.settings_in(tx, new.cluster_id).await?;
        let latest = self.latest_number(tx, new.cluster_id).await?;
        if let Some(base) = new.base {
            if base != latest {
                return Err(Error::Outdated { base, latest });
            }
        }
        let previous = self.document_in(tx, new.cluster_id, latest).await?;
        let introduced = privileged::introduced(previous.document(), new.document.document());
        privileged::authorize(new.role, &settings.allowed_privileges, &introduced)?;
        let info = VersionInfo {
            cluster_id: new.cluster_id,
            number: latest + 1,
            sha256: sha256_hex(new.text.as_bytes()),
            parent: (latest > 0).then_some(latest),
            author: new.author.into(),
            message: new.message.into(),
            created_at: self.now(),
        };
        let inserted = sqlx::query(
            "INSERT INTO config_versions (cluster_id, number, text, sha256, parent, author, message, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(info.cluster_id)
        .bind(info.number)
        .bind(new.text)
        .bind(&info.sha256)
        .bind(info.parent)
        .bind(&info.author)
        .bind(&info.message)
        .bind(info.created_at)
        .execute(&mut **tx)
        .await;
        match inserted {
            Ok(_) => {}
            // Another writer inserted the same number after we read `latest`: it won.
            Err(e) if is_unique_violation(&e) => {
                return Err(Error::Outdated { base: new.base.unwrap_or(latest), latest: latest + 1 })
            }
            Err(e) => return Err(e.into()),
        }
        sqlx::query(
            "UPDATE transactions SET state = 'outdated', updated_at = $1 \
             WHERE cluster_id = $2 AND state = 'open' AND base_version < $3 AND id <> $4",
        )
        .bind(info.created_at)
        .bind(info.cluster_id)
        .bind(info.number)
        .bind(new.transaction_id.unwrap_or(0))
        .execute(&mut **tx)
        .await?;
        let mut details = new.details;
        if let Some(map) = details.as_object_mut() {
            map.insert("sha256".into(), json!(info.sha256));
            map.insert("message".into(), json!(info.message));
            if !introduced.is_empty() {
                map.insert("privileged".into(), json!(introduced));
            }
        }
        let audit = Audit {
            actor: new.author,
            action: new.action,
            cluster_id: Some(info.cluster_id),
            version: Some(info.number),
            details,
        };
        self.audit(tx, audit).await?;
        Ok(info)
    }

    /// Imports a configuration as the cluster's next version, byte for byte. The text must pass
    /// the gate ([`crate::candidate`]: the offline check, overruled by `haproxy -c` when one is
    /// configured); a refusal is [`Error::Invalid`] with every diagnostic.
    pub async fn import(&self, actor: Actor<'_>, cluster_id: i64, text: &str, message: &str) -> Result<Committed> {
        let warnings = self.gate(text).await?;
        let document = self.parsed_text(text).await?;
        let mut tx = self.write_tx().await?;
        let new = NewVersion {
            cluster_id,
            base: None,
            text,
            document,
            author: actor.name,
            role: actor.role,
            message,
            action: "version.import",
            details: json!({"bytes": text.len()}),
            transaction_id: None,
        };
        let version = self.insert_version(&mut tx, new).await?;
        tx.commit().await?;
        Ok(Committed { version, warnings })
    }

    /// Replaces the whole text; `base` must be the latest version (0 for a cluster without one),
    /// else [`Error::Outdated`].
    pub async fn replace(&self, actor: Actor<'_>, cluster_id: i64, base: i64, text: &str, message: &str) -> Result<Committed> {
        let warnings = self.gate(text).await?;
        let document = self.parsed_text(text).await?;
        let mut tx = self.write_tx().await?;
        let new = NewVersion {
            cluster_id,
            base: Some(base),
            text,
            document,
            author: actor.name,
            role: actor.role,
            message,
            action: "version.replace",
            details: json!({"base": base, "bytes": text.len()}),
            transaction_id: None,
        };
        let version = self.insert_version(&mut tx, new).await?;
        tx.commit().await?;
        Ok(Committed { version, warnings })
    }

    /// Makes a new version carrying the text of version `number`.
    pub async fn restore(&self, actor: Actor<'_>, cluster_id: i64, number: i64, message: &str) -> Result<Committed> {
        let old = self.version(cluster_id, number).await?;
        let warnings = self.gate(&old.text).await?;
        let document = self.parsed_text(&old.text).await?;
        let message = if message.is_empty() { format!("restore version {number}") } else { message.to_string() };
        let mut tx = self.write_tx().await?;
        let new = NewVersion {
            cluster_id,
            base: None,
            text: &old.text,
            document,
            author: actor.name,
            role: actor.role,
            message: &message,
            action: "version.restore",
            details: json!({"restored": number}),
            transaction_id: None,
        };
        let version = self.insert_version(&mut tx, new).await?;
        tx.commit().await?;
        Ok(Committed { version, warnings })
    }

    /// Version `number` of a cluster, with its text.
    pub async fn version(&self, cluster_id: i64, number: i64) -> Result<ConfigVersion> {
        let row = sqlx::query(&format!(
            "SELECT {INFO_COLUMNS}, text FROM config_versions WHERE cluster_id = $1 AND number = $2"
        ))
        .bind(cluster_id)
        .bind(number)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| Error::not_found(format!("version {number} of cluster {cluster_id}")))?;
        version_from_row(&row)
    }

    /// The latest version of a cluster, if it has one.
    pub async fn latest_version(&self, cluster_id: i64) -> Result<Option<ConfigVersion>> {
        let row = sqlx::query(&format!(
            "SELECT {INFO_COLUMNS}, text FROM config_versions WHERE cluster_id = $1 ORDER BY number DESC LIMIT 1"
        ))
        .bind(cluster_id)
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(row) => Ok(Some(version_from_row(&row)?)),
            None => {
                self.cluster(cluster_id).await?;
                Ok(None)
            }
        }
    }

    /// Every version of a cluster, oldest first, without texts.
    pub async fn versions(&self, cluster_id: i64) -> Result<Vec<VersionInfo>> {
        self.cluster(cluster_id).await?;
        let rows = sqlx::query(&format!(
            "SELECT {INFO_COLUMNS} FROM config_versions WHERE cluster_id = $1 ORDER BY number"
        ))
        .bind(cluster_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(info_from_row).collect()
    }

    /// The difference from version `against` (default: the one before `number`) to version
    /// `number` (unified text and structural summary, from [`crate::diff`]); `against` 0, or
    /// below, compares with the empty configuration.
    pub async fn diff_versions(&self, cluster_id: i64, number: i64, against: Option<i64>) -> Result<ConfigDiff> {
        let against = against.unwrap_or(number.saturating_sub(1)).max(0);
        let new = self.version(cluster_id, number).await?;
        let old = self.version_text(cluster_id, against).await?;
        Ok(diff_labeled(&old, &new.text, &format!("version {against}"), &format!("version {number}")))
    }

    /// Sets the version the cluster's agents should run.
    pub async fn apply(&self, actor: &str, cluster_id: i64, number: i64) -> Result<VersionInfo> {
        let mut tx = self.write_tx().await?;
        self.require_cluster(&mut tx, cluster_id).await?;
        let row = sqlx::query(&format!(
            "SELECT {INFO_COLUMNS} FROM config_versions WHERE cluster_id = $1 AND number = $2"
        ))
        .bind(cluster_id)
        .bind(number)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::not_found(format!("version {number} of cluster {cluster_id}")))?;
        let info = info_from_row(&row)?;
        sqlx::query("UPDATE clusters SET desired_version = $1 WHERE id = $2")
            .bind(number)
            .bind(cluster_id)
            .execute(&mut *tx)
            .await?;
        let details = json!({"sha256": info.sha256});
        self.audit(&mut tx, Audit { actor, action: "cluster.apply", cluster_id: Some(cluster_id), version: Some(number), details })
            .await?;
        tx.commit().await?;
        Ok(info)
    }

    /// The version the cluster's agents should run, once one was applied.
    pub async fn desired_version(&self, cluster_id: i64) -> Result<Option<ConfigVersion>> {
        match self.cluster(cluster_id).await?.desired_version {
            Some(number) => Ok(Some(self.version(cluster_id, number).await?)),
            None => Ok(None),
        }
    }
}
