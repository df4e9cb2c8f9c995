//! The event stream (`GET /api/v1/events`, issue 17): what happens in the fleet as it happens,
//! so the UI and scripts follow without polling.
//!
//! ```text
//! committed audit entries (commits, applies, agents' apply reports `agent.report`, moves,
//!   settings ... of every replica)                     --\
//! alert transitions (fired_at / resolved_at, every replica) -- feed task: polls every 500 ms
//!                                                              from where it left off
//!                                                          --> broadcast --> subscribers
//! ```
//!
//! Everything is read back once committed, so the stream shows only what happened (a change
//! rolled back is never announced) and what other replicas did. A subscriber too slow to keep
//! up (more than 1,024 events behind) is told how many it missed and goes on.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use sqlx::Row;
use tokio::sync::{broadcast, watch};

use super::{json_column, Store};
use crate::error::Result;

/// How many events a subscriber may fall behind before it misses some.
pub(crate) const CAPACITY: usize = 1024;

/// One event of the stream.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FleetEvent {
    /// `audit` (a change, an agent's apply report included: its `action` names it) or `alert`
    /// (a transition: its `state` says which).
    pub kind: &'static str,
    /// When it happened, Unix ms.
    pub at: i64,
    /// The cluster it concerns, when one.
    pub cluster_id: Option<i64>,
    /// The audit entry, the report, or the alert.
    pub data: serde_json::Value,
}

impl Store {
    /// A receiver of every event from now on.
    pub fn subscribe_events(&self) -> broadcast::Receiver<Arc<FleetEvent>> {
        self.events.subscribe()
    }

    /// Reads committed audit entries and alert transitions every `interval` and announces them,
    /// until `shutdown` turns true.
    pub async fn feed_events(self, interval: Duration, mut shutdown: watch::Receiver<bool>) {
        let mut since = self.now();
        loop {
            if *shutdown.borrow() {
                return;
            }
            if self.events.receiver_count() == 0 {
                // Nobody listens: nothing to read, start from now when someone does.
                since = self.now() - 50;
            } else {
                match self.events_since(since).await {
                Ok(events) => {
                    for (event, at) in events {
                        since = since.max(at + 1);
                        // No subscriber is not an error.
                        let _ = self.events.send(Arc::new(event));
                    }
                }
                Err(error) => tracing::warn!(%error, "events: cannot read new events"),
                }
            }
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Audit entries and alert transitions at or after `since` (Unix ms), oldest first, with the
    /// time each counts for. Entries of the last 50 ms are left for the next read: a
    /// transaction that took its time stamp earlier may still be committing.
    async fn events_since(&self, since: i64) -> Result<Vec<(FleetEvent, i64)>> {
        let until = self.now() - 50;
        if until < since {
            return Ok(Vec::new());
        }
        let rows = sqlx::query("SELECT id, at, actor, action, cluster_id, version, details FROM audit_log WHERE at >= $1 AND at < $2 ORDER BY at, id")
            .bind(since)
            .bind(until)
            .fetch_all(self.pool())
            .await?;
        let mut events = Vec::new();
        for row in &rows {
            let at: i64 = row.try_get("at")?;
            let data = serde_json::json!({
                "id": row.try_get::<i64, _>("id")?, "actor": row.try_get::<String, _>("actor")?, "action": row.try_get::<String, _>("action")?,
                "version": row.try_get::<Option<i64>, _>("version")?, "details": json_column::<serde_json::Value>(row, "details")?,
            });
            events.push((FleetEvent { kind: "audit", at, cluster_id: row.try_get("cluster_id")?, data }, at));
        }
        for alert in self.alerts_changed(since, until).await? {
            let at = alert.resolved_at.filter(|t| *t >= since).or(alert.fired_at).unwrap_or(alert.started_at);
            let data = serde_json::to_value(&alert).unwrap_or_default();
            events.push((FleetEvent { kind: "alert", at, cluster_id: None, data }, at));
        }
        events.sort_by_key(|(_, at)| *at);
        Ok(events)
    }
}
