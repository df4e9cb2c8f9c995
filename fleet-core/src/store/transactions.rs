//! Transactions: typed edit ops staged on a base version, committed as the next version.
//!
//! State changes are conditional updates (`WHERE state = 'open'`), so a transaction is committed
//! or discarded once even when two replicas race on it; the version itself is protected by
//! [`Store::insert_version`].

use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::audit::Audit;
use super::versions::Made;
use super::{json_column, to_json, Store};
use crate::bundle::Bundle;
use crate::error::{Error, Result};
use crate::model::{Actor, Committed, Transaction, TransactionState};
use crate::ops::EditOp;
use crate::secrets::{Purpose, Sealed};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

const COLUMNS: &str = "id, cluster_id, base_version, ops, state, author, committed_version, created_at, updated_at";

fn transaction_from_row(row: &AnyRow) -> Result<Transaction> {
    let state: String = row.try_get("state")?;
    Ok(Transaction {
        id: row.try_get("id")?,
        cluster_id: row.try_get("cluster_id")?,
        base_version: row.try_get("base_version")?,
        ops: json_column(row, "ops")?,
        state: state.parse()?,
        author: row.try_get("author")?,
        committed_version: row.try_get("committed_version")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// The candidate a transaction would commit, with its offline check.
#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    /// The text of the first config file the commit would store.
    pub text: String,
    /// Every file the commit would store.
    pub files: Vec<crate::bundle::FileInfo>,
    /// Every diagnostic of the offline check (errors would block the commit).
    pub diagnostics: Vec<haproxy_model::Diagnostic>,
}

fn not_open(tx: &Transaction, latest: i64) -> Error {
    match tx.state {
        // Another commit won since it began: the caller gets the same answer as a losing commit.
        TransactionState::Outdated => Error::Outdated { base: tx.base_version, latest },
        state => Error::Conflict(format!("transaction {} is {state}", tx.id)),
    }
}

impl Store {
    /// The error for acting on a transaction that is no longer open.
    async fn closed(&self, transaction: &Transaction) -> Error {
        let latest = match self.versions(transaction.cluster_id).await {
            Ok(versions) => versions.last().map_or(0, |v| v.number),
            Err(e) => return e,
        };
        not_open(transaction, latest)
    }

    /// Begins a transaction at `base`, which must be the cluster's latest version (0 when it
    /// has none), else [`Error::Outdated`]; [`Error::TooMany`] when `author` holds as many open
    /// transactions as [`crate::limits::Limits`] allows.
    pub async fn begin(&self, author: &str, cluster_id: i64, base: i64) -> Result<Transaction> {
        self.admit_transaction(author).await?;
        let mut tx = self.write_tx().await?;
        self.require_cluster(&mut tx, cluster_id).await?;
        let latest = self.latest_number(&mut tx, cluster_id).await?;
        if base != latest {
            return Err(Error::Outdated { base, latest });
        }
        let now = self.now();
        let transaction = Transaction {
            id: self.new_id()?,
            cluster_id,
            base_version: base,
            ops: Vec::new(),
            state: TransactionState::Open,
            author: author.into(),
            committed_version: None,
            created_at: now,
            updated_at: now,
        };
        sqlx::query(
            "INSERT INTO transactions (id, cluster_id, base_version, ops, state, author, committed_version, created_at, updated_at) \
             VALUES ($1, $2, $3, '[]', 'open', $4, NULL, $5, $5)",
        )
        .bind(transaction.id)
        .bind(cluster_id)
        .bind(base)
        .bind(author)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let details = json!({"transaction_id": transaction.id, "base": base});
        self.audit(&mut tx, Audit { actor: author, action: "transaction.begin", cluster_id: Some(cluster_id), version: Some(base), details })
            .await?;
        tx.commit().await?;
        Ok(transaction)
    }

    /// Commits `ops` on version `base` as one transaction (begin, stage, commit): the one-form
    /// edits of the web UI and the CLI. On any failure the transaction is discarded and the
    /// error returned ([`Error::Invalid`] naming the op, [`Error::Outdated`] when `base` is no
    /// longer the latest, the commit's own refusals), so nothing is left open.
    pub async fn edit(&self, actor: Actor<'_>, cluster_id: i64, base: i64, ops: Vec<EditOp>, message: &str) -> Result<Committed> {
        let transaction = self.begin(actor.name, cluster_id, base).await?;
        let result = match self.stage(actor.name, transaction.id, ops).await {
            Ok(_) => self.commit(actor, transaction.id, message).await,
            Err(e) => Err(e),
        };
        if result.is_err() {
            // Already closed when the commit found the base outdated; open otherwise.
            if let Ok(current) = self.transaction(transaction.id).await {
                if current.state == TransactionState::Open {
                    self.discard(actor.name, transaction.id).await?;
                }
            }
        }
        result
    }

    /// One transaction.
    pub async fn transaction(&self, id: i64) -> Result<Transaction> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM transactions WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| Error::not_found(format!("transaction {id}")))?;
        transaction_from_row(&row)
    }

    /// A cluster's open transactions, oldest first; [`Error::NotFound`] when there is no such
    /// cluster (an empty list would say it exists).
    pub async fn open_transactions(&self, cluster_id: i64) -> Result<Vec<Transaction>> {
        self.cluster(cluster_id).await?;
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM transactions WHERE cluster_id = $1 AND state = 'open' ORDER BY created_at, id"
        ))
        .bind(cluster_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(transaction_from_row).collect()
    }

    /// Appends `ops` to an open transaction. The whole sequence must apply to the base version
    /// (else [`Error::Invalid`] naming the first op that fails, counted from the transaction's
    /// first op); the offline check waits for the commit. [`Error::TooLarge`] when the
    /// transaction would hold more ops than [`crate::limits::Limits`] allows.
    pub async fn stage(&self, author: &str, id: i64, ops: Vec<EditOp>) -> Result<Transaction> {
        let mut transaction = self.transaction(id).await?;
        if transaction.state != TransactionState::Open {
            return Err(self.closed(&transaction).await);
        }
        self.shared.limits.admit_ops(transaction.ops.len(), ops.len())?;
        let base = self.base_document(&transaction).await?;
        let mut all = self.open_staged(&transaction)?;
        all.extend(ops.iter().cloned());
        // Validation only: the edited copy is dropped, the cached base stays as it was.
        let base_bundle = self.bundle(transaction.cluster_id, transaction.base_version).await?;
        crate::ops::apply_to_bundle(&base_bundle, base, &all)?;
        // Stored with key-holding file contents sealed, as bundle files are.
        let audited = crate::ops::audit_view(&ops);
        let mut all = transaction.ops.clone();
        for op in ops {
            all.push(self.seal_staged(id, op)?);
        }
        let now = self.now();
        let mut tx = self.write_tx().await?;
        // Conditional on the ops we validated against: a concurrent stage makes this a conflict.
        let updated = sqlx::query(
            "UPDATE transactions SET ops = $1, updated_at = $2 WHERE id = $3 AND state = 'open' AND ops = $4",
        )
        .bind(to_json(&all)?)
        .bind(now)
        .bind(id)
        .bind(to_json(&transaction.ops)?)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            let current = self.transaction(id).await?;
            return Err(if current.state == TransactionState::Open {
                Error::Conflict(format!("transaction {id} changed meanwhile; stage again"))
            } else {
                self.closed(&current).await
            });
        }
        let details = json!({"transaction_id": id, "ops": audited});
        let audit = Audit {
            actor: author,
            action: "transaction.stage",
            cluster_id: Some(transaction.cluster_id),
            version: Some(transaction.base_version),
            details,
        };
        self.audit(&mut tx, audit).await?;
        tx.commit().await?;
        transaction.ops = all;
        transaction.updated_at = now;
        Ok(transaction)
    }

    /// The first config file's text a commit would store now, and the offline check of the
    /// whole bundle as a commit runs it ([`crate::candidate::check_bundle`]: every config file
    /// as one configuration, and the files they reference, with the cluster's settings).
    pub async fn preview(&self, id: i64) -> Result<Preview> {
        let transaction = self.transaction(id).await?;
        let bundle = self.candidate_bundle(&transaction).await?;
        let settings = self.cluster(transaction.cluster_id).await?.settings;
        let diagnostics = crate::candidate::check_bundle(&bundle, &settings);
        Ok(Preview { text: bundle.text().to_string(), files: bundle.infos(), diagnostics })
    }

    /// Commits an open transaction as the next version. Fails with [`Error::Invalid`] when the
    /// candidate has errors (the transaction stays open), and with [`Error::Outdated`] when
    /// another commit won since it began (the transaction becomes outdated).
    pub async fn commit(&self, actor: Actor<'_>, id: i64, message: &str) -> Result<Committed> {
        let transaction = self.transaction(id).await?;
        if transaction.state != TransactionState::Open {
            return Err(self.closed(&transaction).await);
        }
        let bundle = self.candidate_bundle(&transaction).await?;
        let made = Made {
            base: Some(transaction.base_version),
            message,
            action: "transaction.commit",
            details: json!({"transaction_id": transaction.id, "ops": transaction.ops.len()}),
            transaction_id: Some(transaction.id),
            same_files_as: None,
        };
        let result = self.commit_bundle(actor, transaction.cluster_id, made, &bundle).await;
        if let Err(Error::Outdated { .. }) = &result {
            self.mark_outdated(actor.name, &transaction).await?;
        }
        result
    }

    /// The bundle `transaction` would commit: its ops applied to its base.
    pub(crate) async fn candidate_bundle(&self, transaction: &Transaction) -> Result<Bundle> {
        let base = self.bundle(transaction.cluster_id, transaction.base_version).await?;
        crate::ops::apply_to_bundle(&base, self.base_document(transaction).await?, &self.open_staged(transaction)?)
    }

    /// `op` as a transaction stores it: a `put_file` whose content holds a private key gets
    /// its content sealed with the key ring (bound to the transaction), so staged keys are
    /// encrypted at rest like committed ones and never shown back by transaction routes.
    fn seal_staged(&self, transaction_id: i64, op: EditOp) -> Result<EditOp> {
        let EditOp::PutFile { path, kind, mode, content_base64 } = op else { return Ok(op) };
        let holds_key = BASE64.decode(&content_base64).is_ok_and(|bytes| crate::bundle::holds_private_key(&bytes));
        if !holds_key {
            return Ok(EditOp::PutFile { path, kind, mode, content_base64 });
        }
        let ring = self.ring().ok_or_else(|| Error::Crypto(format!("{path} holds a private key and this store has no key ring to seal it")))?;
        let sealed = ring.seal(&staged_purpose(transaction_id), content_base64.as_bytes(), self.random())?;
        Ok(EditOp::PutFile { path, kind, mode, content_base64: format!("{SEALED_STAGED}{}", sealed.as_str()) })
    }

    /// The transaction's ops with sealed file contents opened ([`Store::seal_staged`]).
    fn open_staged(&self, transaction: &Transaction) -> Result<Vec<EditOp>> {
        transaction
            .ops
            .iter()
            .map(|op| match op {
                EditOp::PutFile { path, kind, mode, content_base64 } if content_base64.starts_with(SEALED_STAGED) => {
                    let ring = self.ring().ok_or_else(|| Error::Crypto(format!("{path} is sealed and this store has no key ring to open it")))?;
                    let sealed = Sealed::parse(&content_base64[SEALED_STAGED.len()..])?;
                    let plain = ring.open(&staged_purpose(transaction.id), &sealed)?;
                    let content_base64 = String::from_utf8(plain).map_err(|_| Error::Corrupt(format!("transaction {}: sealed {path} is not base64", transaction.id)))?;
                    Ok(EditOp::PutFile { path: path.clone(), kind: *kind, mode: *mode, content_base64 })
                }
                other => Ok(other.clone()),
            })
            .collect()
    }

    async fn mark_outdated(&self, author: &str, transaction: &Transaction) -> Result<()> {
        // Closed by someone else meanwhile: then it is not open either, which is all this needs.
        self.close_open(author, transaction, TransactionState::Outdated, "transaction.outdated").await?;
        Ok(())
    }

    /// Discards an open transaction.
    pub async fn discard(&self, author: &str, id: i64) -> Result<()> {
        let transaction = self.transaction(id).await?;
        if !self.close_open(author, &transaction, TransactionState::Discarded, "transaction.discard").await? {
            let current = self.transaction(id).await?;
            return Err(self.closed(&current).await);
        }
        Ok(())
    }

    /// Moves an open transaction to `state` and audits that as `action`, in one write. Answers
    /// false, writing nothing, when it was no longer open: the conditional update is what makes
    /// a race between replicas close it once (outdating and discarding differ only in what
    /// they do about that).
    async fn close_open(
        &self,
        author: &str,
        transaction: &Transaction,
        state: TransactionState,
        action: &str,
    ) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let updated = sqlx::query("UPDATE transactions SET state = $1, updated_at = $2 WHERE id = $3 AND state = 'open'")
            .bind(state.as_str())
            .bind(self.now())
            .bind(transaction.id)
            .execute(&mut *tx)
            .await?;
        if updated.rows_affected() == 0 {
            return Ok(false);
        }
        let details = json!({"transaction_id": transaction.id});
        let audit = Audit {
            actor: author,
            action,
            cluster_id: Some(transaction.cluster_id),
            version: Some(transaction.base_version),
            details,
        };
        self.audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// How a staged `put_file` content sealed by [`Store::seal_staged`] starts (base64 never holds
/// a `:`, so it cannot be mistaken for content).
const SEALED_STAGED: &str = "sealed:";

/// What a staged file's content is sealed as: bound to its transaction.
fn staged_purpose(transaction_id: i64) -> Purpose {
    Purpose::new("transaction-file", &transaction_id.to_string())
}
