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

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use sqlx::Row;
use tokio::sync::{broadcast, watch};

use super::{json_column, Store};
use crate::error::Result;

/// How many events a subscriber may fall behind before it misses some.
pub(crate) const CAPACITY: usize = 1024;

/// How far back each read of the feed looks again, ms. An entry's time stamp is taken before its
/// transaction commits, and a batch of agents' apply reports on a busy database can commit later
/// than the feed's 50 ms margin: without looking back, its `agent.report` entries were never
/// announced. What the look back finds again was announced already and is not sent twice.
const LATE_COMMIT_MS: i64 = 5_000;

/// What identifies an announced event: an audit entry's id, or an alert's firing or resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum EventKey {
    Audit(i64),
    Alert { id: i64, resolved: bool },
}

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
        self.shared.events.subscribe()
    }

    /// Reads committed audit entries and alert transitions every `interval` and announces them,
    /// until `shutdown` turns true.
    pub async fn feed_events(self, interval: Duration, mut shutdown: watch::Receiver<bool>) {
        // `since`: everything before it was announced; `floor`: when the current subscribers
        // started listening (nothing older is theirs); `sent`: what was announced of the last
        // LATE_COMMIT_MS, so a read that looks back again announces nothing twice.
        let mut since = self.now();
        let mut floor = since;
        let mut sent: HashMap<EventKey, i64> = HashMap::new();
        loop {
            if *shutdown.borrow() {
                return;
            }
            if self.shared.events.receiver_count() == 0 {
                // Nobody listens: nothing to read, start from now when someone does.
                since = self.now() - 50;
                floor = since;
                sent.clear();
            } else {
                match self.events_since((since - LATE_COMMIT_MS).max(floor)).await {
                    Ok(events) => {
                        for (event, at, key) in events {
                            since = since.max(at + 1);
                            if sent.insert(key, at).is_none() {
                                // No subscriber is not an error.
                                let _ = self.shared.events.send(Arc::new(event));
                            }
                        }
                        sent.retain(|_, at| *at >= since - LATE_COMMIT_MS);
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
    /// time each counts for and what identifies it. Entries of the last 50 ms are left for the
    /// next read: a transaction that took its time stamp earlier may still be committing (one
    /// that takes longer is caught by the feed's look back, [`LATE_COMMIT_MS`]).
    async fn events_since(&self, since: i64) -> Result<Vec<(FleetEvent, i64, EventKey)>> {
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
            let key = EventKey::Audit(row.try_get("id")?);
            events.push((FleetEvent { kind: "audit", at, cluster_id: row.try_get("cluster_id")?, data }, at, key));
        }
        for alert in self.alerts_changed(since, until).await? {
            let resolved = alert.resolved_at.filter(|t| *t >= since);
            let at = resolved.or(alert.fired_at).unwrap_or(alert.started_at);
            let key = EventKey::Alert { id: alert.id, resolved: resolved.is_some() };
            let data = serde_json::to_value(&alert).unwrap_or_default();
            events.push((FleetEvent { kind: "alert", at, cluster_id: None, data }, at, key));
        }
        events.sort_by_key(|(_, at, _)| *at);
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use crate::clock::{ManualClock, SeededRandom};
    use crate::store::{Store, StoreOptions};

    const T0: i64 = 1_767_225_600_000;

    async fn entry(store: &Store, id: i64, at: i64, action: &str) {
        sqlx::query("INSERT INTO audit_log (id, at, actor, action, cluster_id, version, details) VALUES ($1, $2, 'test', $3, NULL, NULL, '{}')")
            .bind(id)
            .bind(at)
            .bind(action)
            .execute(store.pool())
            .await
            .unwrap();
    }

    /// An entry committed after a later one was announced (its time stamp taken before a slow
    /// commit) is still announced, and nothing is announced twice.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_entry_committed_late_is_announced_once() {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let dir = std::env::temp_dir().join(format!("fleet-events-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let clock = Arc::new(ManualClock::new(T0));
        let options = StoreOptions { clock: clock.clone(), random: Arc::new(SeededRandom::new(7)), ..StoreOptions::default() };
        let store = Store::open(&format!("sqlite://{}", dir.join("fleet.db").display()), options).await.unwrap();
        let mut events = store.subscribe_events();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let feed = tokio::spawn(store.clone().feed_events(Duration::from_millis(10), stopped));

        // The later entry commits first and is announced...
        entry(&store, 2, T0 + 20, "second").await;
        clock.set(T0 + 200);
        let second = tokio::time::timeout(Duration::from_secs(2), events.recv()).await.unwrap().unwrap();
        assert_eq!(second.data["action"], "second");
        // ...then the earlier one commits: announced too, and the later one not again.
        entry(&store, 1, T0 + 10, "first, committed late").await;
        clock.set(T0 + 400);
        let first = tokio::time::timeout(Duration::from_secs(2), events.recv()).await.unwrap().unwrap();
        assert_eq!(first.data["action"], "first, committed late");
        entry(&store, 3, T0 + 450, "third").await;
        clock.set(T0 + 600);
        let third = tokio::time::timeout(Duration::from_secs(2), events.recv()).await.unwrap().unwrap();
        assert_eq!(third.data["action"], "third", "nothing announced twice in between");

        stop.send(true).unwrap();
        feed.await.unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }
}
