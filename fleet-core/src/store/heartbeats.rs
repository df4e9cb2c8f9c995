//! Heartbeats written in batches: every agent's liveness update goes to one writer task, which
//! writes all the heartbeats that arrived while its previous transaction ran in the next one.
//!
//! ```text
//! heartbeat route --(agent, facts, interval, now)--> queue --> writer: one transaction per batch
//!        ^------------------ its own row's outcome (found / not found / error) ----------'
//! ```
//!
//! At 10,000 agents every 5 s (2,000 a second) that is one transaction per few milliseconds
//! instead of 2,000 single-row commits; when heartbeats are rare a batch is one heartbeat and
//! nothing waits. Each caller still gets its own answer: an unknown agent is `not found`, and a
//! failed transaction fails every heartbeat in it.

use std::sync::{Mutex, PoisonError};

use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, Result};

/// Heartbeats one transaction holds at most.
const MAX_BATCH: usize = 1000;

pub(crate) struct Pending {
    pub(crate) agent_id: i64,
    pub(crate) facts: Option<String>,
    pub(crate) interval_ms: Option<i64>,
    pub(crate) at: i64,
    pub(crate) done: oneshot::Sender<std::result::Result<bool, String>>,
}

/// The queue to the writer task, started on first use (on the runtime of that caller) and again
/// when it is gone (that runtime ended).
#[derive(Debug, Default)]
pub(crate) struct Batcher(Mutex<Option<mpsc::UnboundedSender<Pending>>>);

impl Batcher {
    /// Queues `pending`; its answer comes on its `done` channel.
    pub(crate) fn send(&self, pool: &AnyPool, begin: &'static str, pending: Pending) {
        let mut queue = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let pending = match queue.as_ref() {
            Some(tx) => match tx.send(pending) {
                Ok(()) => return,
                // The writer is gone (its runtime ended): start another.
                Err(mpsc::error::SendError(pending)) => pending,
            },
            None => pending,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(writer(pool.clone(), begin, rx));
        // A fresh receiver is alive: this send succeeds.
        let _ = tx.send(pending);
        *queue = Some(tx);
    }
}

async fn writer(pool: AnyPool, begin: &'static str, mut rx: mpsc::UnboundedReceiver<Pending>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(pending) => batch.push(pending),
                Err(_) => break,
            }
        }
        match write(&pool, begin, &batch).await {
            Ok(found) => {
                for (pending, found) in batch.into_iter().zip(found) {
                    let _ = pending.done.send(Ok(found));
                }
            }
            Err(error) => {
                let message = error.to_string();
                for pending in batch {
                    let _ = pending.done.send(Err(message.clone()));
                }
            }
        }
    }
}

async fn write(pool: &AnyPool, begin: &'static str, batch: &[Pending]) -> Result<Vec<bool>> {
    let mut tx = pool.begin_with(begin).await?;
    let mut found = vec![false; batch.len()];
    // In agent order, so two replicas' batches lock rows in the same order (no deadlock).
    let mut order: Vec<usize> = (0..batch.len()).collect();
    order.sort_by_key(|&i| batch[i].agent_id);
    for i in order {
        let pending = &batch[i];
        let updated = sqlx::query(
            "UPDATE agents SET last_seen_at = $1, facts = COALESCE($2, facts), heartbeat_ms = COALESCE($3, heartbeat_ms) WHERE id = $4",
        )
        .bind(pending.at)
        .bind(pending.facts.as_deref())
        .bind(pending.interval_ms)
        .bind(pending.agent_id)
        .execute(&mut *tx)
        .await?;
        found[i] = updated.rows_affected() > 0;
    }
    tx.commit().await?;
    Ok(found)
}

/// The answer of one heartbeat from its `done` channel.
pub(crate) fn outcome(agent_id: i64, answer: std::result::Result<std::result::Result<bool, String>, oneshot::error::RecvError>) -> Result<()> {
    match answer {
        Ok(Ok(true)) => Ok(()),
        Ok(Ok(false)) => Err(Error::not_found(format!("agent {agent_id}"))),
        Ok(Err(message)) => Err(Error::Corrupt(format!("heartbeat not written: {message}"))),
        Err(_) => Err(Error::Corrupt("heartbeat writer stopped".into())),
    }
}
