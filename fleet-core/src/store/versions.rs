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
use crate::documents::Parsed;
use crate::error::{Error, Result};
use crate::bundle::{diff_bundles, Bundle, BundleDiff, BundleFile, BundlePath, FileKind};
use crate::model::{Actor, AgentPrincipal, Committed, ConfigVersion, Role, VersionInfo};
use crate::secret::sha256_hex;

const INFO_COLUMNS: &str = "cluster_id, number, sha256, digest, parent, author, message, created_at";

fn info_from_row(row: &AnyRow) -> Result<VersionInfo> {
    Ok(VersionInfo {
        cluster_id: row.try_get("cluster_id")?,
        number: row.try_get("number")?,
        sha256: row.try_get("sha256")?,
        digest: row.try_get::<Option<String>, _>("digest")?.unwrap_or_default(),
        parent: row.try_get("parent")?,
        author: row.try_get("author")?,
        message: row.try_get("message")?,
        created_at: row.try_get("created_at")?,
    })
}

fn version_from_row(row: &AnyRow) -> Result<ConfigVersion> {
    Ok(ConfigVersion { info: info_from_row(row)?, text: row.try_get("text")? })
}

/// How a version is being made: its base, message and audit entry.
#[derive(Debug, Clone)]
pub(crate) struct Made<'a> {
    /// The version the change was based on; `None` appends to whatever is latest.
    pub(crate) base: Option<i64>,
    pub(crate) message: &'a str,
    /// The audit action (`version.import`, `file.put` ...).
    pub(crate) action: &'a str,
    pub(crate) details: serde_json::Value,
    /// The transaction being committed.
    pub(crate) transaction_id: Option<i64>,
    /// See [`NewVersion::same_files_as`].
    pub(crate) same_files_as: Option<i64>,
}

impl<'a> Made<'a> {
    pub(crate) fn new(action: &'a str, message: &'a str, details: serde_json::Value) -> Made<'a> {
        Made { base: None, message, action, details, transaction_id: None, same_files_as: None }
    }
}

/// What a new version is made of.
pub(crate) struct NewVersion<'a> {
    pub(crate) cluster_id: i64,
    /// The version the change was based on; `None` appends to whatever is latest.
    pub(crate) base: Option<i64>,
    /// With no `base`: the version whose other files (all but the first config file) the
    /// bundle carries; a later latest version with different other files is
    /// [`Error::Outdated`], so a text import never reverts someone's file change.
    pub(crate) same_files_as: Option<i64>,
    /// Every file; its first config file is the version's text.
    pub(crate) bundle: &'a Bundle,
    /// Each config file of `bundle` parsed, in bundle order (before the write transaction: a
    /// large text takes a while).
    pub(crate) documents: Vec<Arc<Parsed>>,
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

/// Why an adoption is refused: the cluster has versions, which only users change.
fn adoption_refused(cluster_id: i64, latest: i64) -> Error {
    Error::Conflict(format!(
        "cluster {cluster_id} already has version {latest}: an agent adopts its node's files only as a cluster's first version \
         (import them as a user to make a new version)"
    ))
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
        if let Some(built_on) = new.same_files_as {
            if built_on != latest && !self.same_other_files(tx, new.cluster_id, built_on, latest).await? {
                return Err(Error::Outdated { base: built_on, latest });
            }
        }
        let introduced = self.introduced_privileges(tx, new.cluster_id, latest, new.bundle, &new.documents).await?;
        privileged::authorize(new.role, &settings.allowed_privileges, &introduced)?;
        let text = new.bundle.text();
        let info = VersionInfo {
            cluster_id: new.cluster_id,
            number: latest + 1,
            sha256: sha256_hex(text.as_bytes()),
            digest: new.bundle.digest(),
            parent: (latest > 0).then_some(latest),
            author: new.author.into(),
            message: new.message.into(),
            created_at: self.now(),
        };
        let inserted = sqlx::query(
            "INSERT INTO config_versions (cluster_id, number, text, sha256, digest, parent, author, message, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(info.cluster_id)
        .bind(info.number)
        .bind(text)
        .bind(&info.sha256)
        .bind(&info.digest)
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
        self.insert_files(tx, info.cluster_id, info.number, new.bundle).await?;
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
            map.insert("digest".into(), json!(info.digest));
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

    /// Makes `bundle` the cluster's next version: the gate on the whole bundle, then
    /// [`Store::insert_version`]. The common end of every way a version is made.
    pub(crate) async fn commit_bundle(&self, actor: Actor<'_>, cluster_id: i64, made: Made<'_>, bundle: &Bundle) -> Result<Committed> {
        let settings = self.cluster(cluster_id).await?.settings;
        let warnings = self.gate_bundle(bundle, &settings).await?;
        let mut documents = Vec::new();
        for config in bundle.configs() {
            documents.push(self.parsed_text(config.text().unwrap_or_default()).await?);
        }
        let mut tx = self.write_tx().await?;
        let new = NewVersion {
            cluster_id,
            base: made.base,
            same_files_as: made.same_files_as,
            bundle,
            documents,
            author: actor.name,
            role: actor.role,
            message: made.message,
            action: made.action,
            details: made.details,
            transaction_id: made.transaction_id,
        };
        let version = self.insert_version(&mut tx, new).await?;
        if let Some(id) = made.transaction_id {
            // In the same database transaction, so a version and its transaction's state never
            // disagree.
            let updated = sqlx::query(
                "UPDATE transactions SET state = 'committed', committed_version = $1, updated_at = $2 \
                 WHERE id = $3 AND state = 'open'",
            )
            .bind(version.number)
            .bind(self.now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() == 0 {
                // Discarded or committed by someone else meanwhile: roll the new version back.
                return Err(Error::Conflict(format!("transaction {id} is no longer open")));
            }
        }
        tx.commit().await?;
        Ok(Committed { version, warnings })
    }

    /// Makes a version from the latest bundle changed by `change` (the single-file API and file
    /// writes without a base): the change is made on the latest version and committed on it,
    /// retried when another writer got in between, so no one's files are silently reverted.
    pub(crate) async fn change_latest(
        &self,
        actor: Actor<'_>,
        cluster_id: i64,
        made: Made<'_>,
        change: impl Fn(&Bundle) -> Result<Bundle>,
    ) -> Result<Committed> {
        let mut attempts = 0;
        loop {
            let latest = self.latest_version(cluster_id).await?.map_or(0, |v| v.info.number);
            let bundle = change(&self.bundle(cluster_id, latest).await?)?;
            let made = Made { base: Some(latest), details: made.details.clone(), ..made };
            match self.commit_bundle(actor, cluster_id, made, &bundle).await {
                Err(Error::Outdated { .. }) if attempts < 5 => attempts += 1,
                other => return other,
            }
        }
    }

    /// Imports a configuration as the cluster's next version, byte for byte, as its first
    /// config file (the other files of the latest version stay). The bundle must pass the gate
    /// ([`crate::candidate`]: the offline check, overruled by `haproxy -c` when one is
    /// configured); a refusal is [`Error::Invalid`] with every diagnostic.
    pub async fn import(&self, actor: Actor<'_>, cluster_id: i64, text: &str, message: &str) -> Result<Committed> {
        let mut attempts = 0;
        loop {
            let latest = self.latest_version(cluster_id).await?.map_or(0, |v| v.info.number);
            let bundle = self.bundle(cluster_id, latest).await?.with_text(text);
            let made = Made { same_files_as: Some(latest), ..Made::new("version.import", message, json!({"bytes": text.len()})) };
            match self.commit_bundle(actor, cluster_id, made, &bundle).await {
                // Someone changed the other files meanwhile: carry theirs.
                Err(Error::Outdated { .. }) if attempts < 5 => attempts += 1,
                other => return other,
            }
        }
    }

    /// Imports a whole bundle as the cluster's next version.
    pub async fn import_bundle(&self, actor: Actor<'_>, cluster_id: i64, bundle: &Bundle, message: &str) -> Result<Committed> {
        let details = json!({"bytes": bundle.size(), "files": bundle.files().len()});
        self.commit_bundle(actor, cluster_id, Made::new("version.import", message, details), bundle).await
    }

    /// Adopts a node's managed tree as the cluster's **first** version (`fleet-agent --adopt`),
    /// authored `agent:<name>` with the operator role: the same gate, reference check and
    /// policy of privileged directives as a user's import (a tree using one needs an admin's
    /// import). A cluster that has a version already is [`Error::Conflict`], checked again in
    /// the write transaction, so two agents adopting at once make one version.
    pub async fn adopt(&self, agent: &AgentPrincipal, bundle: &Bundle, message: &str) -> Result<Committed> {
        if let Some(latest) = self.latest_version(agent.cluster_id).await? {
            return Err(adoption_refused(agent.cluster_id, latest.info.number));
        }
        let author = format!("agent:{}", agent.name);
        let message = if message.is_empty() { format!("adopted from {}", agent.hostname) } else { message.to_string() };
        let details = json!({"bytes": bundle.size(), "files": bundle.files().len(), "hostname": agent.hostname});
        let made = Made { base: Some(0), ..Made::new("version.adopt", &message, details) };
        match self.commit_bundle(Actor::new(&author, Role::Operator), agent.cluster_id, made, bundle).await {
            Err(Error::Outdated { latest, .. }) => Err(adoption_refused(agent.cluster_id, latest)),
            other => other,
        }
    }

    /// Replaces the text of the first config file; `base` must be the latest version (0 for a
    /// cluster without one), else [`Error::Outdated`].
    pub async fn replace(&self, actor: Actor<'_>, cluster_id: i64, base: i64, text: &str, message: &str) -> Result<Committed> {
        let bundle = self.bundle(cluster_id, base).await?.with_text(text);
        let made = Made { base: Some(base), ..Made::new("version.replace", message, json!({"base": base, "bytes": text.len()})) };
        self.commit_bundle(actor, cluster_id, made, &bundle).await
    }

    /// Adds or replaces one file. With `base`, it must be the latest version (else
    /// [`Error::Outdated`]); without, the file is written on whatever is latest.
    pub async fn put_file(&self, actor: Actor<'_>, cluster_id: i64, base: Option<i64>, file: BundleFile, message: &str) -> Result<Committed> {
        let details = json!({"path": file.path, "kind": file.kind, "bytes": file.content.len(), "base": base});
        let made = Made { base, ..Made::new("file.put", message, details) };
        let change = |latest: &Bundle| latest.with_file(file.clone()).map_err(Error::from);
        match base {
            Some(base) => self.commit_bundle(actor, cluster_id, made, &change(&self.bundle(cluster_id, base).await?)?).await,
            None => self.change_latest(actor, cluster_id, made, change).await,
        }
    }

    /// Removes one file (not the last config file). `base` as for [`Store::put_file`].
    pub async fn delete_file(&self, actor: Actor<'_>, cluster_id: i64, base: Option<i64>, path: &BundlePath, message: &str) -> Result<Committed> {
        let made = Made { base, ..Made::new("file.delete", message, json!({"path": path, "base": base})) };
        let change = |latest: &Bundle| match latest.without_file(path) {
            Some(bundle) => bundle.map_err(Error::from),
            None => Err(Error::not_found(format!("file {path}"))),
        };
        match base {
            Some(base) => self.commit_bundle(actor, cluster_id, made, &change(&self.bundle(cluster_id, base).await?)?).await,
            None => self.change_latest(actor, cluster_id, made, change).await,
        }
    }

    /// Makes a new version carrying the whole bundle of version `number`.
    pub async fn restore(&self, actor: Actor<'_>, cluster_id: i64, number: i64, message: &str) -> Result<Committed> {
        let bundle = self.bundle(cluster_id, number).await?;
        let message = if message.is_empty() { format!("restore version {number}") } else { message.to_string() };
        self.commit_bundle(actor, cluster_id, Made::new("version.restore", &message, json!({"restored": number})), &bundle).await
    }

    /// The privileged directives a new bundle adds to version `latest` (inside `tx`): in every
    /// config file, compared with the file at the same path ([`privileged::introduced`]), and
    /// every added or changed Lua file, which is code (`lua`). Old config files come from the
    /// document cache by sha256 (every version was parsed before it was committed), so the
    /// write lock is not held while a large text is read and parsed again.
    async fn introduced_privileges(
        &self,
        tx: &mut Tx,
        cluster_id: i64,
        latest: i64,
        bundle: &Bundle,
        documents: &[Arc<Parsed>],
    ) -> Result<Vec<privileged::PrivilegedUse>> {
        let previous = if latest == 0 { Vec::new() } else { self.listing_in(tx, cluster_id, latest).await? };
        let mut introduced = Vec::new();
        for (config, parsed) in bundle.configs().zip(documents) {
            let old = match previous.iter().find(|f| f.path == config.path && f.kind == FileKind::Config) {
                Some(old) => self.file_document_in(tx, cluster_id, latest, old).await?,
                None => self.parsed_text("").await?,
            };
            introduced.extend(privileged::introduced(old.document(), parsed.document()));
        }
        for file in bundle.files().iter().filter(|f| f.kind == FileKind::Lua) {
            let sha256 = file.sha256();
            let same = previous.iter().any(|old| old.path == file.path && old.sha256 == sha256);
            if !same {
                introduced.push(privileged::PrivilegedUse {
                    privilege: privileged::Privilege::Lua,
                    directive: format!("lua file {}", file.path),
                    line: 1,
                    column: 1,
                });
            }
        }
        Ok(introduced)
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

    /// Version `number` without its text.
    pub async fn version_info(&self, cluster_id: i64, number: i64) -> Result<VersionInfo> {
        let row = sqlx::query(&format!("SELECT {INFO_COLUMNS} FROM config_versions WHERE cluster_id = $1 AND number = $2"))
            .bind(cluster_id)
            .bind(number)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| Error::not_found(format!("version {number} of cluster {cluster_id}")))?;
        info_from_row(&row)
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
    /// `number`: the first config file as [`crate::diff`] shows it and every file that differs
    /// ([`crate::bundle::diff_bundles`]); `against` 0, or below, compares with the empty
    /// configuration.
    ///
    /// Diffs are kept by the two bundles' digests (versions never change), and computed on a
    /// blocking thread: a 340,000-line configuration takes seconds.
    pub async fn diff_versions(&self, cluster_id: i64, number: i64, against: Option<i64>) -> Result<BundleDiff> {
        let against = against.unwrap_or(number.saturating_sub(1)).max(0);
        let (old_label, new_label) = (format!("version {against}"), format!("version {number}"));
        let digest = |n: i64| async move {
            if n == 0 {
                self.cluster(cluster_id).await?;
                return Ok::<_, Error>("empty".to_string());
            }
            Ok(self.version_info(cluster_id, n).await?.digest)
        };
        let key = format!("{} {} {old_label} {new_label}", digest(against).await?, digest(number).await?);
        if let Some(kept) = self.shared.diffs.get(&key) {
            return Ok((*kept).clone());
        }
        let new = self.bundle(cluster_id, number).await?;
        let old = self.bundle(cluster_id, against).await?;
        let diff = tokio::task::spawn_blocking(move || diff_bundles(&old, &new, &old_label, &new_label))
            .await
            .map_err(|e| Error::Corrupt(format!("the diff was interrupted: {e}")))?;
        self.shared.diffs.insert(key, Arc::new(diff.clone()));
        Ok(diff)
    }

    /// Sets the version the cluster's agents should run, every agent at once (a rollout with
    /// strategy `all`, see [`Store::start_rollout`]).
    pub async fn apply(&self, actor: &str, cluster_id: i64, number: i64) -> Result<VersionInfo> {
        Ok(self.start_rollout(actor, cluster_id, number, &crate::rollouts::Strategy::default()).await?.0)
    }

    /// Version `number` without its text, read in a transaction; 404 when unknown.
    pub(crate) async fn version_info_in(&self, tx: &mut Tx, cluster_id: i64, number: i64) -> Result<VersionInfo> {
        let row = sqlx::query(&format!("SELECT {INFO_COLUMNS} FROM config_versions WHERE cluster_id = $1 AND number = $2"))
            .bind(cluster_id)
            .bind(number)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| Error::not_found(format!("version {number} of cluster {cluster_id}")))?;
        info_from_row(&row)
    }

    /// The version the cluster's agents should run, once one was applied.
    pub async fn desired_version(&self, cluster_id: i64) -> Result<Option<ConfigVersion>> {
        match self.cluster(cluster_id).await?.desired_version {
            Some(number) => Ok(Some(self.version(cluster_id, number).await?)),
            None => Ok(None),
        }
    }
}
