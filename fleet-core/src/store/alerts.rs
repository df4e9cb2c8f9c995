//! Alerts at rest (migration 0022; see [`crate::alerts`]): rules, and one row per alert with
//! its state, and the evaluation that moves alerts between states.
//!
//! ```text
//! alert_tick(now): enabled rules x Snapshot (agents, certificates, recent events)
//!   -> findings -> reconcile with the rule's open alerts (pending, firing):
//!      new              INSERT pending (a unique index: one replica wins), firing at once
//!                       when for_seconds = 0
//!      pending, held    UPDATE pending -> firing once for_seconds passed   -> notice
//!      gone             firing -> resolved -> notice; pending -> deleted
//!      event            INSERT event (unique per rule and event)         -> notice
//!   a transition's notice goes to the replica whose statement changed the row; a silenced
//!   rule's transitions happen but send nothing (`notified` says so)
//! ```

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::agents::{agent_from_row, AGENT_COLUMNS};
use super::audit::Audit;
use super::{json_column, to_json, unique_to_conflict, Store};
use crate::alerts::evaluate::FleetEvent;
use crate::alerts::{findings, AlertRule, NewAlertRule, Snapshot};
use crate::error::{Error, Result};

/// How far back events are looked for (a tick every few seconds; a replica taking over sees
/// what happened while none evaluated, within this).
const EVENT_LOOKBACK_MS: i64 = 10 * 60_000;

/// One alert: a rule's subject while its condition holds, or one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alert {
    /// Random id below 2^53.
    pub id: i64,
    /// The rule.
    pub rule_id: i64,
    /// The rule's name.
    pub rule: String,
    /// What it is about (`agent:12`, `server:12:app/s1`, `certificate:www`, `failover:…`).
    pub subject: String,
    /// For people.
    pub summary: String,
    /// `pending` (the condition holds, `for_seconds` not yet), `firing`, `resolved`, `event`.
    pub state: String,
    /// When the condition was first seen, Unix ms.
    pub started_at: i64,
    /// When it fired, Unix ms.
    pub fired_at: Option<i64>,
    /// When it resolved, Unix ms.
    pub resolved_at: Option<i64>,
    /// What became of its last notification (`webhook https://… answered 200`, `silenced`).
    pub notified: Option<String>,
    /// The rule is silenced now.
    pub silenced: bool,
}

/// A notification due after a transition: what to send, to the rule's channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertNotice {
    /// The rule (its channels, its name).
    pub rule: AlertRule,
    /// The alert after the transition.
    pub alert: Alert,
    /// `firing`, `resolved` or `event`.
    pub transition: &'static str,
}

const RULE_COLUMNS: &str = "id, name, spec, silenced_until, created_by, created_at";
const ALERT_COLUMNS: &str = "a.id, a.rule_id, r.name, a.subject, a.summary, a.state, a.started_at, a.fired_at, a.resolved_at, a.notified, r.silenced_until";

fn rule_from_row(row: &AnyRow) -> Result<AlertRule> {
    Ok(AlertRule {
        id: row.try_get("id")?,
        rule: json_column(row, "spec")?,
        silenced_until: row.try_get("silenced_until")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
    })
}

fn alert_from_row(row: &AnyRow, now: i64) -> Result<Alert> {
    let silenced_until: Option<i64> = row.try_get("silenced_until")?;
    Ok(Alert {
        id: row.try_get("id")?,
        rule_id: row.try_get("rule_id")?,
        rule: row.try_get("name")?,
        subject: row.try_get("subject")?,
        summary: row.try_get("summary")?,
        state: row.try_get("state")?,
        started_at: row.try_get("started_at")?,
        fired_at: row.try_get("fired_at")?,
        resolved_at: row.try_get("resolved_at")?,
        notified: row.try_get("notified")?,
        silenced: silenced_until.is_some_and(|until| until > now),
    })
}

impl Store {
    /// Stores a new rule (checked first: 422 naming the field; 409 for a taken name).
    pub async fn create_alert_rule(&self, actor: &str, new: &NewAlertRule) -> Result<AlertRule> {
        new.check().map_err(Error::invalid)?;
        let rule = AlertRule { id: self.new_id()?, rule: new.clone(), silenced_until: None, created_by: actor.to_string(), created_at: self.now() };
        let mut tx = self.write_tx().await?;
        sqlx::query(&format!("INSERT INTO alert_rules ({RULE_COLUMNS}) VALUES ($1, $2, $3, NULL, $4, $5)"))
            .bind(rule.id)
            .bind(new.name.trim())
            .bind(to_json(new)?)
            .bind(actor)
            .bind(rule.created_at)
            .execute(&mut *tx)
            .await
            .map_err(|e| unique_to_conflict(e, || format!("alert rule {:?} already exists", new.name)))?;
        self.audit(&mut tx, Audit { actor, action: "alert_rule.create", cluster_id: new.cluster_id, version: None, details: json!({"rule_id": rule.id, "rule": new}) }).await?;
        tx.commit().await?;
        Ok(rule)
    }

    /// Every rule, by name.
    pub async fn alert_rules(&self) -> Result<Vec<AlertRule>> {
        let rows = sqlx::query(&format!("SELECT {RULE_COLUMNS} FROM alert_rules ORDER BY name")).fetch_all(self.pool()).await?;
        rows.iter().map(rule_from_row).collect()
    }

    /// One rule; 404 when unknown.
    pub async fn alert_rule(&self, id: i64) -> Result<AlertRule> {
        let row = sqlx::query(&format!("SELECT {RULE_COLUMNS} FROM alert_rules WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| Error::not_found(format!("alert rule {id}")))?;
        rule_from_row(&row)
    }

    /// Replaces a rule's definition (its alerts stay; a changed condition resolves or opens
    /// them at the next evaluation).
    pub async fn update_alert_rule(&self, actor: &str, id: i64, new: &NewAlertRule) -> Result<AlertRule> {
        new.check().map_err(Error::invalid)?;
        let mut tx = self.write_tx().await?;
        let updated = sqlx::query("UPDATE alert_rules SET name = $1, spec = $2 WHERE id = $3")
            .bind(new.name.trim())
            .bind(to_json(new)?)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| unique_to_conflict(e, || format!("alert rule {:?} already exists", new.name)))?;
        if updated.rows_affected() == 0 {
            return Err(Error::not_found(format!("alert rule {id}")));
        }
        self.audit(&mut tx, Audit { actor, action: "alert_rule.update", cluster_id: new.cluster_id, version: None, details: json!({"rule_id": id, "rule": new}) }).await?;
        tx.commit().await?;
        self.alert_rule(id).await
    }

    /// Deletes a rule and its alerts.
    pub async fn delete_alert_rule(&self, actor: &str, id: i64) -> Result<()> {
        let rule = self.alert_rule(id).await?;
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM alerts WHERE rule_id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM alert_rules WHERE id = $1").bind(id).execute(&mut *tx).await?;
        self.audit(&mut tx, Audit { actor, action: "alert_rule.delete", cluster_id: rule.rule.cluster_id, version: None, details: json!({"rule_id": id, "name": rule.rule.name}) }).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Silences a rule's notifications for `seconds` (0 lifts the silence), 0..=30 days.
    pub async fn silence_alert_rule(&self, actor: &str, id: i64, seconds: u64) -> Result<AlertRule> {
        if seconds > 30 * 86_400 {
            return Err(Error::invalid("seconds: 0 to 2592000 (30 days)"));
        }
        let until = (seconds > 0).then(|| self.now() + i64::try_from(seconds * 1000).unwrap_or(i64::MAX / 2));
        let mut tx = self.write_tx().await?;
        let updated = sqlx::query("UPDATE alert_rules SET silenced_until = $1 WHERE id = $2").bind(until).bind(id).execute(&mut *tx).await?;
        if updated.rows_affected() == 0 {
            return Err(Error::not_found(format!("alert rule {id}")));
        }
        self.audit(&mut tx, Audit { actor, action: "alert_rule.silence", cluster_id: None, version: None, details: json!({"rule_id": id, "until": until}) }).await?;
        tx.commit().await?;
        self.alert_rule(id).await
    }

    /// Alerts, newest first: `state` `open` (pending and firing), one state, or all (`None`).
    pub async fn alerts(&self, state: Option<&str>, limit: i64) -> Result<Vec<Alert>> {
        let filter = match state {
            None => "",
            Some("open") => "WHERE a.state IN ('pending', 'firing')",
            Some("pending") => "WHERE a.state = 'pending'",
            Some("firing") => "WHERE a.state = 'firing'",
            Some("resolved") => "WHERE a.state = 'resolved'",
            Some("event") => "WHERE a.state = 'event'",
            Some(other) => return Err(Error::invalid(format!("state: {other:?} is not open, pending, firing, resolved or event"))),
        };
        let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts a JOIN alert_rules r ON r.id = a.rule_id {filter} ORDER BY a.started_at DESC, a.id DESC LIMIT $1");
        let rows = sqlx::query(&sql).bind(limit).fetch_all(self.pool()).await?;
        let now = self.now();
        rows.iter().map(|r| alert_from_row(r, now)).collect()
    }

    async fn alert_by_id(&self, id: i64) -> Result<Alert> {
        let row = sqlx::query(&format!("SELECT {ALERT_COLUMNS} FROM alerts a JOIN alert_rules r ON r.id = a.rule_id WHERE a.id = $1"))
            .bind(id)
            .fetch_one(self.pool())
            .await?;
        alert_from_row(&row, self.now())
    }

    /// Alerts that fired or resolved in `since..until` (Unix ms), for the event stream.
    pub(super) async fn alerts_changed(&self, since: i64, until: i64) -> Result<Vec<Alert>> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts a JOIN alert_rules r ON r.id = a.rule_id \
             WHERE (a.fired_at >= $1 AND a.fired_at < $2) OR (a.resolved_at >= $1 AND a.resolved_at < $2)"
        );
        let rows = sqlx::query(&sql).bind(since).bind(until).fetch_all(self.pool()).await?;
        let now = self.now();
        rows.iter().map(|r| alert_from_row(r, now)).collect()
    }

    /// Records what became of an alert's notification.
    pub async fn record_alert_delivery(&self, alert_id: i64, outcome: &str) -> Result<()> {
        sqlx::query("UPDATE alerts SET notified = $1 WHERE id = $2").bind(outcome).bind(alert_id).execute(self.pool()).await?;
        Ok(())
    }

    /// What the rules look at now.
    async fn alert_snapshot_data(&self, now: i64) -> Result<(Vec<crate::Agent>, Vec<(String, i64)>, Vec<FleetEvent>)> {
        let rows = sqlx::query(&format!("SELECT {AGENT_COLUMNS} FROM agents ORDER BY cluster_id, name")).fetch_all(self.pool()).await?;
        let agents = rows.iter().map(|row| agent_from_row(row, now)).collect::<Result<Vec<_>>>()?;
        let rows = sqlx::query("SELECT name, not_after FROM certificates ORDER BY name").fetch_all(self.pool()).await?;
        let certificates = rows.iter().map(|r| Ok((r.try_get("name")?, r.try_get("not_after")?))).collect::<Result<Vec<_>>>()?;
        let since = now - EVENT_LOOKBACK_MS;
        let mut events = Vec::new();
        // A failover concerns every cluster of its pool.
        let mut pool_clusters: std::collections::BTreeMap<i64, Vec<i64>> = std::collections::BTreeMap::new();
        for row in sqlx::query("SELECT id, pool_id FROM clusters ORDER BY id").fetch_all(self.pool()).await? {
            pool_clusters.entry(row.try_get("pool_id")?).or_default().push(row.try_get("id")?);
        }
        let rows = sqlx::query(
            "SELECT e.id, e.pool_id, e.at, e.message, p.name FROM failover_events e JOIN pools p ON p.id = e.pool_id \
             WHERE e.at >= $1 AND e.kind IN ('dns_update', 'manual', 'all_down') ORDER BY e.at",
        )
        .bind(since)
        .fetch_all(self.pool())
        .await?;
        for row in &rows {
            let pool: String = row.try_get("name")?;
            let message: String = row.try_get("message")?;
            let pool_id: i64 = row.try_get("pool_id")?;
            events.push(FleetEvent {
                key: format!("failover:{}", row.try_get::<i64, _>("id")?),
                at: row.try_get("at")?,
                cluster_ids: pool_clusters.get(&pool_id).cloned().unwrap_or_default(),
                kind: "dns_failover",
                summary: format!("pool {pool}: {message}"),
            });
        }
        let rows = sqlx::query(
            "SELECT t.id, t.at, t.agent, t.event, v.cluster_id, v.name FROM vip_transitions t JOIN vips v ON v.id = t.vip_id \
             WHERE t.at >= $1 AND t.event = 'acquired' ORDER BY t.at",
        )
        .bind(since)
        .fetch_all(self.pool())
        .await?;
        for row in &rows {
            let vip: String = row.try_get("name")?;
            let agent: String = row.try_get("agent")?;
            events.push(FleetEvent {
                key: format!("vip:{}", row.try_get::<i64, _>("id")?),
                at: row.try_get("at")?,
                cluster_ids: vec![row.try_get("cluster_id")?],
                kind: "vip_moved",
                summary: format!("vip {vip} is now held by {agent}"),
            });
        }
        Ok((agents, certificates, events))
    }

    /// One evaluation of every enabled rule at the store's time; the notices due (see the
    /// module's pipeline). Each transition happens once across replicas.
    pub async fn alert_tick(&self) -> Result<Vec<AlertNotice>> {
        let now = self.now();
        let rules: Vec<AlertRule> = self.alert_rules().await?.into_iter().filter(|r| r.rule.enabled).collect();
        if rules.is_empty() {
            return Ok(Vec::new());
        }
        let (agents, certificates, events) = self.alert_snapshot_data(now).await?;
        let snapshot = Snapshot { now, agents: &agents, certificates: &certificates, events: &events };
        let mut notices = Vec::new();
        for rule in &rules {
            let found = findings(&rule.rule, &snapshot);
            let mut transitions: Vec<(i64, &'static str)> = Vec::new();
            if rule.rule.condition.is_event() {
                for finding in &found {
                    let at = events.iter().find(|e| e.key == finding.key).map_or(now, |e| e.at);
                    if at < rule.created_at {
                        continue;
                    }
                    let id = self.new_id()?;
                    let inserted = sqlx::query(
                        "INSERT INTO alerts (id, rule_id, subject, summary, state, started_at, fired_at) VALUES ($1, $2, $3, $4, 'event', $5, $5) ON CONFLICT DO NOTHING",
                    )
                    .bind(id)
                    .bind(rule.id)
                    .bind(&finding.key)
                    .bind(&finding.summary)
                    .bind(at)
                    .execute(self.pool())
                    .await?;
                    if inserted.rows_affected() == 1 {
                        transitions.push((id, "event"));
                    }
                }
            } else {
                let open = sqlx::query("SELECT id, subject, state, started_at FROM alerts WHERE rule_id = $1 AND state IN ('pending', 'firing')")
                    .bind(rule.id)
                    .fetch_all(self.pool())
                    .await?;
                let hold_ms = i64::try_from(rule.rule.for_seconds * 1000).unwrap_or(i64::MAX / 2);
                let mut open_subjects = Vec::new();
                for row in &open {
                    let (id, subject, state, started_at): (i64, String, String, i64) = (row.try_get("id")?, row.try_get("subject")?, row.try_get("state")?, row.try_get("started_at")?);
                    let change = match (found.iter().any(|f| f.key == subject), state.as_str()) {
                        (true, "pending") if now - started_at >= hold_ms => Some(("pending", "firing", "fired_at")),
                        (false, "firing") => Some(("firing", "resolved", "resolved_at")),
                        (false, _) => {
                            sqlx::query("DELETE FROM alerts WHERE id = $1 AND state = 'pending'").bind(id).execute(self.pool()).await?;
                            None
                        }
                        _ => None,
                    };
                    if let Some((from, to, column)) = change {
                        if self.alert_transition(id, from, to, column, now).await? {
                            transitions.push((id, if to == "firing" { "firing" } else { "resolved" }));
                        }
                    }
                    open_subjects.push(subject);
                }
                for finding in found.iter().filter(|f| !open_subjects.contains(&f.key)) {
                    let id = self.new_id()?;
                    let inserted = sqlx::query(
                        "INSERT INTO alerts (id, rule_id, subject, summary, state, started_at) VALUES ($1, $2, $3, $4, 'pending', $5) ON CONFLICT DO NOTHING",
                    )
                    .bind(id)
                    .bind(rule.id)
                    .bind(&finding.key)
                    .bind(&finding.summary)
                    .bind(now)
                    .execute(self.pool())
                    .await?;
                    if inserted.rows_affected() == 1 && hold_ms == 0 && self.alert_transition(id, "pending", "firing", "fired_at", now).await? {
                        transitions.push((id, "firing"));
                    }
                }
            }
            let silenced = rule.silenced_until.is_some_and(|until| until > now);
            for (id, transition) in transitions {
                tracing::info!(rule = %rule.rule.name, alert = id, transition, "alert");
                if silenced {
                    self.record_alert_delivery(id, "silenced").await?;
                    continue;
                }
                notices.push(AlertNotice { rule: rule.clone(), alert: self.alert_by_id(id).await?, transition });
            }
        }
        Ok(notices)
    }

    /// Moves alert `id` from state `from` to `to`, setting `column` to `now`; true when this
    /// call made the change (another replica may have).
    async fn alert_transition(&self, id: i64, from: &str, to: &str, column: &str, now: i64) -> Result<bool> {
        let changed = sqlx::query(&format!("UPDATE alerts SET state = $1, {column} = $2 WHERE id = $3 AND state = $4"))
            .bind(to)
            .bind(now)
            .bind(id)
            .bind(from)
            .execute(self.pool())
            .await?;
        Ok(changed.rows_affected() == 1)
    }
}
