//! Renewal state, leases and the order log (migration 0013; see [`crate::certs::renewal`]).
//!
//! ```text
//! begin_renewal:  one write transaction
//!   for each name (sorted): INSERT lease ON CONFLICT (name) DO UPDATE ... WHERE expired
//!       0 rows -> someone else holds it: roll back, Busy
//!   re-read the renewal row: Renewal::is_due? no -> roll back, NotDue
//!   guard::admit(orders per name in 24 h)? no -> roll back; record the refusal; Refused
//!   insert renewal_orders rows -> commit -> Started
//! finish_renewal: order rows get their outcome; the row gets the new certificate's plan, or a
//!   failure with its backoff and an audit entry; the leases are deleted; one transaction
//! ```
//! The lease statement is one conditional upsert, so it is atomic on both databases: on
//! PostgreSQL a second replica's upsert of the same name waits for the first one's transaction
//! and then sees its unexpired row; on SQLite `BEGIN IMMEDIATE` serialises the writers.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::audit::Audit;
use super::{json_column, to_json, Store, Tx};
use crate::certs::renewal::guard::{self, RenewalPolicy, GUARD_WINDOW_MS};
use crate::certs::renewal::record::{lease_names, Renewal, RenewalAttempt, RenewalStart, RenewalStatus, TrackRenewal};
use crate::certs::renewal::schedule::{self, Lifetime, RenewalPlan, Window, WindowSource};
use crate::certs::renewal::{renewal_facts, RenewalInfo};
use crate::error::{Error, Result};

/// Who writes renewal audit entries.
const ACTOR: &str = "renewal-scheduler";

const COLUMNS: &str = "certificate_id, names, account_id, directory_url, not_before, not_after, cert_id, renew_at, \
     window_start, window_end, source, explanation_url, ari_next_check_at, failures, retry_at, last_error, updated_at";

fn renewal_from_row(row: &AnyRow) -> Result<Renewal> {
    let source: String = row.try_get("source")?;
    let failures: i64 = row.try_get("failures")?;
    Ok(Renewal {
        certificate_id: row.try_get("certificate_id")?,
        names: json_column(row, "names")?,
        account_id: row.try_get("account_id")?,
        directory_url: row.try_get("directory_url")?,
        lifetime: Lifetime { not_before_ms: row.try_get("not_before")?, not_after_ms: row.try_get("not_after")? },
        cert_id: row.try_get("cert_id")?,
        plan: RenewalPlan {
            renew_at_ms: row.try_get("renew_at")?,
            window: Window { start_ms: row.try_get("window_start")?, end_ms: row.try_get("window_end")? },
            source: WindowSource::parse(&source).ok_or_else(|| Error::Corrupt(format!("renewal source {source:?}")))?,
        },
        explanation_url: row.try_get("explanation_url")?,
        ari_next_check_ms: row.try_get("ari_next_check_at")?,
        failures: u32::try_from(failures).unwrap_or(u32::MAX),
        retry_at_ms: row.try_get("retry_at")?,
        last_error: row.try_get("last_error")?,
        updated_at_ms: row.try_get("updated_at")?,
    })
}

impl Store {
    /// Starts (or restarts, after an issue or a renewal) keeping a certificate renewed: reads its
    /// lifetime and ARI CertID from `request.der`, plans the renewal without ARI (the scheduler
    /// asks the CA at once when the certificate has a CertID and a directory) and clears any
    /// failure. Errors: [`Error::Invalid`] when the DER is not a certificate or names are empty.
    pub async fn track_renewal(&self, request: &TrackRenewal<'_>) -> Result<Renewal> {
        let names = lease_names(request.names);
        if names.is_empty() {
            return Err(Error::invalid("a renewal needs at least one name"));
        }
        let facts = renewal_facts(request.der).map_err(|e| Error::invalid(e.to_string()))?;
        let now = self.now();
        let plan = schedule::plan(facts.lifetime, None, None, now, self.random());
        let ari_next_check = facts.cert_id.as_ref().and(request.directory_url).map(|_| now);
        let renewal = Renewal {
            certificate_id: request.certificate_id,
            names,
            account_id: request.account_id,
            directory_url: request.directory_url.map(str::to_string),
            lifetime: facts.lifetime,
            cert_id: facts.cert_id,
            plan,
            explanation_url: None,
            ari_next_check_ms: ari_next_check,
            failures: 0,
            retry_at_ms: None,
            last_error: None,
            updated_at_ms: now,
        };
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM renewals WHERE certificate_id = $1").bind(request.certificate_id).execute(&mut *tx).await?;
        self.insert_renewal(&mut tx, &renewal).await?;
        tx.commit().await?;
        Ok(renewal)
    }

    async fn insert_renewal(&self, tx: &mut Tx, r: &Renewal) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO renewals ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        ))
        .bind(r.certificate_id)
        .bind(to_json(&r.names)?)
        .bind(r.account_id)
        .bind(r.directory_url.clone())
        .bind(r.lifetime.not_before_ms)
        .bind(r.lifetime.not_after_ms)
        .bind(r.cert_id.clone())
        .bind(r.plan.renew_at_ms)
        .bind(r.plan.window.start_ms)
        .bind(r.plan.window.end_ms)
        .bind(r.plan.source.as_str())
        .bind(r.explanation_url.clone())
        .bind(r.ari_next_check_ms)
        .bind(i64::from(r.failures))
        .bind(r.retry_at_ms)
        .bind(r.last_error.clone())
        .bind(r.updated_at_ms)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Rewrites a renewal row (same certificate id) inside `tx`.
    async fn replace_renewal(&self, tx: &mut Tx, r: &Renewal) -> Result<()> {
        sqlx::query("DELETE FROM renewals WHERE certificate_id = $1").bind(r.certificate_id).execute(&mut **tx).await?;
        self.insert_renewal(tx, r).await
    }

    async fn renewal_in(&self, tx: &mut Tx, certificate_id: i64) -> Result<Option<Renewal>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM renewals WHERE certificate_id = $1"))
            .bind(certificate_id)
            .fetch_optional(&mut **tx)
            .await?;
        row.as_ref().map(renewal_from_row).transpose()
    }

    /// The renewal state of a certificate, `None` when it is not kept renewed.
    pub async fn renewal(&self, certificate_id: i64) -> Result<Option<Renewal>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM renewals WHERE certificate_id = $1"))
            .bind(certificate_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(renewal_from_row).transpose()
    }

    /// The renewal of a certificate as the API shows it. Errors: [`Error::NotFound`] when the
    /// certificate is not kept renewed.
    pub async fn renewal_status(&self, certificate_id: i64) -> Result<RenewalStatus> {
        let renewal = self.renewal(certificate_id).await?;
        let renewal = renewal.ok_or_else(|| Error::not_found(format!("renewal of certificate {certificate_id}")))?;
        Ok(renewal.status(self.now()))
    }

    /// Every renewal as the API shows it, soonest first.
    pub async fn renewal_statuses(&self) -> Result<Vec<RenewalStatus>> {
        let now = self.now();
        Ok(self.renewals().await?.into_iter().map(|r| r.status(now)).collect())
    }

    /// Every renewal, soonest first.
    pub async fn renewals(&self) -> Result<Vec<Renewal>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM renewals ORDER BY renew_at, certificate_id"))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(renewal_from_row).collect()
    }

    /// Up to `limit` renewals due now (plan reached, no backoff), soonest first.
    pub async fn renewals_due(&self, limit: i64) -> Result<Vec<Renewal>> {
        let now = self.now();
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM renewals WHERE renew_at <= $1 AND (retry_at IS NULL OR retry_at <= $1) \
             ORDER BY renew_at, certificate_id LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(renewal_from_row).filter(|r| r.as_ref().map_or(true, |r| r.is_due(now))).collect()
    }

    /// Up to `limit` renewals whose ARI window should be asked for again now.
    pub async fn renewals_needing_ari(&self, limit: i64) -> Result<Vec<Renewal>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM renewals WHERE ari_next_check_at IS NOT NULL AND ari_next_check_at <= $1 \
             ORDER BY ari_next_check_at, certificate_id LIMIT $2"
        ))
        .bind(self.now())
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(renewal_from_row).collect()
    }

    /// Records the CA's answer for a certificate's ARI CertID: `Some(info)` re-plans inside its
    /// window (the previous pick is kept when the window did not move); `None` (the directory
    /// has no renewalInfo) returns to the lifetime plan and stops asking. `cert_id` must still be
    /// the row's (an answer about a certificate already replaced is dropped). Returns the row.
    pub async fn record_renewal_info(&self, certificate_id: i64, cert_id: &str, info: Option<&RenewalInfo>) -> Result<Option<Renewal>> {
        let mut tx = self.write_tx().await?;
        let Some(mut renewal) = self.renewal_in(&mut tx, certificate_id).await? else { return Ok(None) };
        if renewal.cert_id.as_deref() != Some(cert_id) {
            return Ok(Some(renewal));
        }
        let now = self.now();
        renewal.plan = schedule::plan(renewal.lifetime, info.map(|i| i.window), Some(&renewal.plan), now, self.random());
        renewal.explanation_url = info.and_then(|i| i.explanation_url.clone());
        renewal.ari_next_check_ms = info.map(|i| i.next_check_ms);
        renewal.updated_at_ms = now;
        self.replace_renewal(&mut tx, &renewal).await?;
        tx.commit().await?;
        Ok(Some(renewal))
    }

    /// A failed ARI request: ask again at `next_check_ms`, keep the plan.
    pub async fn defer_renewal_info(&self, certificate_id: i64, next_check_ms: i64) -> Result<()> {
        sqlx::query("UPDATE renewals SET ari_next_check_at = $1, updated_at = $2 WHERE certificate_id = $3")
            .bind(next_check_ms)
            .bind(self.now())
            .bind(certificate_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Takes the leases of a due certificate's names for `replica` and admits an order (see the
    /// module doc). Only [`RenewalStart::Started`] leaves leases and order rows behind.
    pub async fn begin_renewal(&self, certificate_id: i64, replica: &str, policy: &RenewalPolicy) -> Result<RenewalStart> {
        let now = self.now();
        let id = self.new_id()?;
        let holder = format!("{replica}#{id}");
        let expires = now.saturating_add(i64::try_from(policy.lease_ttl.as_millis()).unwrap_or(i64::MAX));
        let mut tx = self.write_tx().await?;
        let Some(renewal) = self.renewal_in(&mut tx, certificate_id).await? else { return Ok(RenewalStart::NotDue) };
        for name in &renewal.names {
            let taken = sqlx::query(
                "INSERT INTO renewal_leases (name, holder, acquired_at, expires_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, acquired_at = excluded.acquired_at, \
                 expires_at = excluded.expires_at WHERE renewal_leases.expires_at <= $3",
            )
            .bind(name)
            .bind(&holder)
            .bind(now)
            .bind(expires)
            .execute(&mut *tx)
            .await?;
            if taken.rows_affected() == 0 {
                tx.rollback().await?;
                return Ok(RenewalStart::Busy { name: name.clone() });
            }
        }
        // Re-read under the leases: another replica may have renewed it since we listed it.
        let Some(renewal) = self.renewal_in(&mut tx, certificate_id).await? else {
            tx.rollback().await?;
            return Ok(RenewalStart::NotDue);
        };
        if !renewal.is_due(now) {
            tx.rollback().await?;
            return Ok(RenewalStart::NotDue);
        }
        let mut counts = Vec::with_capacity(renewal.names.len());
        for name in &renewal.names {
            let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM renewal_orders WHERE name = $1 AND started_at > $2")
                .bind(name)
                .bind(now.saturating_sub(GUARD_WINDOW_MS))
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
            counts.push((name.clone(), u32::try_from(count).unwrap_or(u32::MAX)));
        }
        if let Err(refused) = guard::admit(&counts, policy) {
            tx.rollback().await?;
            self.record_refusal(renewal, &refused.to_string()).await?;
            return Ok(RenewalStart::Refused(refused));
        }
        for name in &renewal.names {
            sqlx::query(
                "INSERT INTO renewal_orders (attempt_id, name, certificate_id, holder, replaces, started_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(name)
            .bind(certificate_id)
            .bind(&holder)
            .bind(renewal.cert_id.clone())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(RenewalStart::Started(RenewalAttempt {
            id,
            certificate_id,
            names: renewal.names,
            account_id: renewal.account_id,
            replaces: renewal.cert_id,
            holder,
        }))
    }

    /// A refused order: the reason on the row (retried no sooner than the backoff allows) and
    /// an audit entry, so operators see the loop that the guard stopped.
    async fn record_refusal(&self, mut renewal: Renewal, reason: &str) -> Result<()> {
        let now = self.now();
        renewal.last_error = Some(reason.to_string());
        renewal.retry_at_ms = Some(now.saturating_add(GUARD_WINDOW_MS / 24));
        renewal.updated_at_ms = now;
        let mut tx = self.write_tx().await?;
        self.replace_renewal(&mut tx, &renewal).await?;
        let details = serde_json::json!({ "certificate_id": renewal.certificate_id, "names": renewal.names, "error": reason });
        self.audit(&mut tx, Audit { actor: ACTOR, action: "certificate.renewal_refused", cluster_id: None, version: None, details })
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Extends the leases of a running attempt by the policy's TTL; `false` when they were lost
    /// (expired and taken by another replica): the attempt should stop.
    pub async fn extend_renewal_lease(&self, attempt: &RenewalAttempt, policy: &RenewalPolicy) -> Result<bool> {
        let expires = self.now().saturating_add(i64::try_from(policy.lease_ttl.as_millis()).unwrap_or(i64::MAX));
        let done = sqlx::query("UPDATE renewal_leases SET expires_at = $1 WHERE holder = $2")
            .bind(expires)
            .bind(&attempt.holder)
            .execute(self.pool())
            .await?;
        Ok(usize::try_from(done.rows_affected()).unwrap_or(0) == attempt.names.len())
    }

    /// Ends an attempt and releases its leases, in one transaction. `Ok(der)`: the renewed
    /// certificate (its lifetime and CertID give the next plan; failures clear). `Err(reason)`:
    /// one more failure, the next attempt after the backoff, an audit entry
    /// `certificate.renewal_failed`. Returns the row, `None` if it was untracked meanwhile.
    pub async fn finish_renewal(
        &self,
        attempt: &RenewalAttempt,
        outcome: std::result::Result<&[u8], &str>,
        policy: &RenewalPolicy,
    ) -> Result<Option<Renewal>> {
        let now = self.now();
        // Decode before writing anything: a bad certificate is a failed renewal, not a half-write.
        let facts = match outcome {
            Ok(der) => renewal_facts(der).map_err(|e| e.to_string()),
            Err(reason) => Err(reason.to_string()),
        };
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE renewal_orders SET outcome = $1, error = $2, finished_at = $3 WHERE attempt_id = $4")
            .bind(if facts.is_ok() { "issued" } else { "failed" })
            .bind(facts.as_ref().err().cloned())
            .bind(now)
            .bind(attempt.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM renewal_leases WHERE holder = $1").bind(&attempt.holder).execute(&mut *tx).await?;
        let Some(mut renewal) = self.renewal_in(&mut tx, attempt.certificate_id).await? else {
            tx.commit().await?;
            return Ok(None);
        };
        let (action, details) = match facts {
            Ok(facts) => {
                renewal.plan = schedule::plan(facts.lifetime, None, None, now, self.random());
                renewal.ari_next_check_ms = facts.cert_id.as_ref().and(renewal.directory_url.as_ref()).map(|_| now);
                renewal.lifetime = facts.lifetime;
                renewal.cert_id = facts.cert_id;
                renewal.explanation_url = None;
                renewal.failures = 0;
                renewal.retry_at_ms = None;
                renewal.last_error = None;
                ("certificate.renewed", serde_json::json!({ "not_after": renewal.lifetime.not_after_ms }))
            }
            Err(reason) => {
                renewal.failures = renewal.failures.saturating_add(1);
                let delay = guard::retry_delay(renewal.failures, policy, self.random());
                renewal.retry_at_ms = Some(now.saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX)));
                renewal.last_error = Some(reason.clone());
                ("certificate.renewal_failed", serde_json::json!({ "error": reason, "failures": renewal.failures }))
            }
        };
        renewal.updated_at_ms = now;
        self.replace_renewal(&mut tx, &renewal).await?;
        let mut details = details;
        details["certificate_id"] = serde_json::json!(renewal.certificate_id);
        details["names"] = serde_json::json!(renewal.names);
        details["attempt"] = serde_json::json!(attempt.id);
        self.audit(&mut tx, Audit { actor: ACTOR, action, cluster_id: None, version: None, details }).await?;
        tx.commit().await?;
        Ok(Some(renewal))
    }

    /// Links an attempt to the ACME order placed for it, so the order's driver finds the
    /// `replaces` to send ([`Store::renewal_replaces`]).
    pub async fn link_renewal_order(&self, attempt: &RenewalAttempt, order_id: i64) -> Result<()> {
        sqlx::query("UPDATE renewal_orders SET order_id = $1 WHERE attempt_id = $2")
            .bind(order_id)
            .bind(attempt.id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The ARI CertID an ACME order replaces (its `replaces`, RFC 9773 §5), `None` when the
    /// order is not a renewal or the old certificate had no CertID.
    pub async fn renewal_replaces(&self, order_id: i64) -> Result<Option<String>> {
        let row = sqlx::query("SELECT replaces FROM renewal_orders WHERE order_id = $1 AND replaces IS NOT NULL LIMIT 1")
            .bind(order_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|row| row.try_get("replaces")).transpose()?)
    }

    /// Whether ACME order `order_id` was placed by the renewal scheduler.
    pub async fn is_renewal_order(&self, order_id: i64) -> Result<bool> {
        let row = sqlx::query("SELECT attempt_id FROM renewal_orders WHERE order_id = $1 LIMIT 1")
            .bind(order_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.is_some())
    }

    /// Orders started for `name` since `since_ms` (the runaway guard's count).
    pub async fn renewal_orders_since(&self, name: &str, since_ms: i64) -> Result<u32> {
        let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM renewal_orders WHERE name = $1 AND started_at >= $2")
            .bind(name.to_ascii_lowercase())
            .bind(since_ms)
            .fetch_one(self.pool())
            .await?
            .try_get("n")?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }
}
