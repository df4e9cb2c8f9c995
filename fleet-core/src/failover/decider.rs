//! The server task that runs failover for every pool whose lease it holds (see
//! [`crate::failover`]): one decider per pool across server replicas, each pool looked at every
//! `tick`, a failed DNS update retried with backoff.
//!
//! ```text
//! every tick: claim pools (lease until now + lease; a stopped replica's lapses) ->
//!   each pool not backing off: Store::failover_tick (health -> decide -> move + timeline)
//!   a move that failed -> next try after Backoff (1 s doubling to 60 s, jittered)
//!   a move made, or every member down (once per episode) -> the pool's webhook (its own
//!                  task: retries never delay the next tick) -> a `notification` event with
//!                  the outcome
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::{Decision, Memory};
use crate::backoff::Backoff;
use crate::clock::OsRandom;
use crate::notify::Webhook;
use crate::secrets::Keyring;
use crate::store::FailoverTick;
use crate::Store;

/// Runs failover decisions; one per server.
#[derive(Clone)]
pub struct Decider {
    store: Store,
    ring: Arc<Keyring>,
    holder: String,
    tick: Duration,
    lease: Duration,
}

impl std::fmt::Debug for Decider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decider").field("holder", &self.holder).field("tick", &self.tick).finish_non_exhaustive()
    }
}

/// A pool's memory between ticks: the decision's, the retry schedule.
#[derive(Default)]
struct PoolMemory {
    tick: Memory,
    backoff: Option<Backoff>,
    retry_at: Option<tokio::time::Instant>,
}

impl Decider {
    /// A decider named `holder` (unique per replica: its lease carries it) looking every
    /// `tick`, holding pools for `lease` (several ticks, so a live replica keeps them).
    pub fn new(store: Store, ring: Arc<Keyring>, holder: String, tick: Duration, lease: Duration) -> Decider {
        Decider { store, ring, holder, tick, lease }
    }

    /// Runs until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut pools: BTreeMap<i64, PoolMemory> = BTreeMap::new();
        let lease_ms = i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX / 2);
        loop {
            if *shutdown.borrow() {
                return;
            }
            match self.store.claim_failover_pools(&self.holder, lease_ms).await {
                Ok(claimed) => {
                    pools.retain(|id, _| claimed.contains(id));
                    for pool_id in claimed {
                        let memory = pools.entry(pool_id).or_default();
                        if memory.retry_at.is_some_and(|at| tokio::time::Instant::now() < at) {
                            continue;
                        }
                        match self.store.failover_tick(&self.holder, &self.ring, pool_id, &mut memory.tick).await {
                            Ok(FailoverTick { moved: Some(notice), .. }) => {
                                memory.backoff = None;
                                memory.retry_at = None;
                                tokio::spawn(notify(self.store.clone(), pool_id, notice));
                            }
                            Ok(FailoverTick { all_down: Some(notice), .. }) => {
                                tokio::spawn(notify(self.store.clone(), pool_id, notice));
                            }
                            Ok(FailoverTick { decision: Decision::Move { .. }, moved: None, .. }) => {
                                let backoff = memory.backoff.get_or_insert_with(|| Backoff::new(Duration::from_secs(1), Duration::from_secs(60)));
                                memory.retry_at = Some(tokio::time::Instant::now() + backoff.next_delay(&OsRandom));
                            }
                            Ok(_) => {}
                            Err(error) => tracing::warn!(%error, pool_id, "failover: cannot decide"),
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, "failover: cannot claim pools"),
            }
            tokio::select! {
                () = tokio::time::sleep(self.tick) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

/// Sends a move's (or an all-down episode's) notification to the pool's webhook, if it has one, and records the outcome
/// on the pool's timeline (`notification`).
async fn notify(store: Store, pool_id: i64, notice: serde_json::Value) {
    let Ok(failover) = store.failover_settings(pool_id).await else { return };
    let Some(url) = failover.webhook_url else { return };
    let message = match Webhook::new(&url) {
        Ok(webhook) => {
            let delivery = webhook.deliver(&notice, &OsRandom).await;
            match delivery.outcome {
                Ok(status) => format!("webhook {url} answered {status} (attempt {}, {} ms)", delivery.attempts, delivery.elapsed_ms),
                Err(why) => format!("webhook {url} not delivered after {} attempts ({} ms): {why}", delivery.attempts, delivery.elapsed_ms),
            }
        }
        Err(e) => e.to_string(),
    };
    if let Err(error) = store.failover_event(pool_id, "notification", &message).await {
        tracing::warn!(%error, pool_id, "failover: cannot record the notification");
    }
}
