//! Work batched across requests: many agents' heartbeats and apply reports ([`AgentWrite`]), or
//! their token lookups ([`super::agent_tokens::TokenLookup`]), go to one task per kind, which handles
//! all the items that arrived while its previous batch ran in the next one.
//!
//! ```text
//! route --(item)--> queue --> task: one batch at a time ([`Batched::run`]: a transaction, a query)
//!   ^------ its own item's answer (or the batch's error) ------'
//! ```
//!
//! At 10,000 agents every 5 s (2,000 heartbeats a second), or 10,000 reports and long-polls right
//! after an apply, that is one commit or one query per few milliseconds instead of one per item
//! (on SQLite every statement is also a hop to its connection's thread); when items are rare a
//! batch is one item and nothing waits. Each caller still gets its own answer. A batch that
//! fails is run again item by item, so one item the database refuses fails only its caller.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Mutex, PoisonError};

use tokio::sync::{mpsc, oneshot};

use super::heartbeats::Part;
use super::{Backend, Store, Tx};
use crate::error::{Error, Result};

/// Items one transaction holds at most.
const MAX_BATCH: usize = 1000;

/// An item handled in batches.
pub(crate) trait Batched: Sized + Send + Sync + 'static {
    /// What its caller learns once the batch is done (a write: committed).
    type Done: Send + 'static;

    /// Handles `batch`: each item's answer, in `batch`'s order.
    fn run<'a>(store: &'a Store, batch: &'a [Self]) -> impl Future<Output = Result<Vec<Self::Done>>> + Send + 'a;
}

struct Queued<T: Batched> {
    item: T,
    /// The store the item was sent through (the writer holds none while idle, so a dropped
    /// store ends its writer).
    store: Store,
    done: oneshot::Sender<Result<T::Done>>,
}

/// The queue to one writer task, started on first use (on the runtime of that caller) and again
/// when it is gone (that runtime ended).
pub(crate) struct Batcher<T: Batched>(Mutex<Option<mpsc::UnboundedSender<Queued<T>>>>);

impl<T: Batched> Default for Batcher<T> {
    fn default() -> Self {
        Batcher(Mutex::new(None))
    }
}

impl<T: Batched> std::fmt::Debug for Batcher<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Batcher")
    }
}

impl<T: Batched> Batcher<T> {
    /// Queues `item` and waits for its answer: the one [`Batched::run`] gave it, or the batch's
    /// error ([`for_caller`]).
    pub(crate) async fn submit(&self, store: &Store, item: T) -> Result<T::Done> {
        let (done, answer) = oneshot::channel();
        let queued = Queued { item, store: store.clone(), done };
        {
            let mut queue = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            let queued = match queue.as_ref() {
                Some(tx) => match tx.send(queued) {
                    Ok(()) => None,
                    // The writer is gone (its runtime ended): start another.
                    Err(mpsc::error::SendError(queued)) => Some(queued),
                },
                None => Some(queued),
            };
            if let Some(queued) = queued {
                let (tx, rx) = mpsc::unbounded_channel();
                tokio::spawn(writer(rx));
                // A fresh receiver is alive: this send succeeds.
                let _ = tx.send(queued);
                *queue = Some(tx);
            }
        }
        match answer.await {
            Ok(done) => done,
            Err(_) => Err(Error::Corrupt("the batch writer stopped".into())),
        }
    }
}

async fn writer<T: Batched>(mut rx: mpsc::UnboundedReceiver<Queued<T>>) {
    while let Some(first) = rx.recv().await {
        let mut queued = vec![first];
        while queued.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(next) => queued.push(next),
                Err(_) => break,
            }
        }
        let store = queued[0].store.clone();
        let (items, mut answers): (Vec<T>, Vec<_>) = queued.into_iter().map(|q| (q.item, q.done)).unzip();
        let started = std::time::Instant::now();
        let ran = T::run(&store, &items).await;
        tracing::debug!(kind = std::any::type_name::<T>(), items = items.len(), ms = started.elapsed().as_millis() as u64, "batch ran");
        match ran {
            Ok(done) => {
                for (answer, done) in answers.into_iter().zip(done) {
                    let _ = answer.send(Ok(done));
                }
            }
            Err(error) if answers.len() == 1 => {
                if let Some(answer) = answers.pop() {
                    let _ = answer.send(Err(error));
                }
            }
            // A full disk fails every item alike: no point in trying them one by one.
            Err(error) if matches!(error, Error::StorageFull(_)) => {
                for answer in answers {
                    let _ = answer.send(Err(for_caller(&error)));
                }
            }
            Err(error) => {
                tracing::debug!(%error, items = items.len(), "a batch failed: writing its items one by one");
                for (item, answer) in items.chunks(1).zip(answers) {
                    let done = T::run(&store, item).await.and_then(|mut done| done.pop().ok_or_else(|| Error::Corrupt("a batch answered no item".into())));
                    let _ = answer.send(done);
                }
            }
        }
    }
}

/// A failed batch's error as each of its callers gets it (`Error` is not `Clone`: a database
/// error is not): a full disk stays [`Error::StorageFull`] (the API's 507, what the operator
/// must act on); anything else is [`Error::Corrupt`] naming it. A batch of one item gives it
/// its own error.
fn for_caller(error: &Error) -> Error {
    match error {
        Error::StorageFull(words) => Error::StorageFull(words.clone()),
        other => Error::Corrupt(format!("not written: {other}")),
    }
}

/// `0..len` in rounds that each hold a `key` once, in `key` order within a round; a key's
/// items go to successive rounds in their order (for statements that write many rows at once,
/// where a row can be written once per statement).
pub(crate) fn rounds<K: Ord + Copy + std::hash::Hash>(len: usize, key: impl Fn(usize) -> K) -> Vec<Vec<usize>> {
    let mut seen: std::collections::HashMap<K, usize> = std::collections::HashMap::new();
    let mut rounds: Vec<Vec<usize>> = Vec::new();
    for i in 0..len {
        let round = seen.entry(key(i)).and_modify(|r| *r += 1).or_insert(0);
        if rounds.len() <= *round {
            rounds.push(Vec::new());
        }
        rounds[*round].push(i);
    }
    for round in &mut rounds {
        round.sort_by_key(|&i| key(i));
    }
    rounds
}

/// What agents write most: heartbeats and apply reports, through one writer so that they never
/// wait on each other's SQLite write lock (two writers would take turns through SQLite's busy
/// handler, which sleeps).
pub(crate) enum AgentWrite {
    Heartbeat(Box<super::heartbeats::Heartbeat>),
    Report(super::reports::Report),
}

/// Its answer, of the same kind.
pub(crate) enum AgentWritten {
    /// What the heartbeat answers; none: no such agent.
    Heartbeat(Option<crate::wire::HeartbeatAnswer>),
    Report(super::reports::Recorded),
}

impl Batched for AgentWrite {
    type Done = AgentWritten;

    /// One transaction; rows are locked in agent order, so two replicas' batches cannot
    /// deadlock.
    async fn run<'a>(store: &'a Store, batch: &'a [Self]) -> Result<Vec<AgentWritten>> {
        let (mut beats, mut reports) = (Vec::new(), Vec::new());
        for item in batch {
            match item {
                AgentWrite::Heartbeat(beat) => beats.push(&**beat),
                AgentWrite::Report(report) => reports.push(report),
            }
        }
        let mut tx: Tx = store.write_tx().await?;
        let ids = beats.iter().map(|b| b.agent_id).chain(reports.iter().map(|r| r.agent_id));
        lock_agents(store, &mut tx, ids).await?;
        let mut beats = super::heartbeats::write(store, &mut tx, &beats).await?.into_iter();
        let mut reports = super::reports::write(store, &mut tx, &reports).await?.into_iter();
        tx.commit().await?;
        batch
            .iter()
            .map(|item| match item {
                AgentWrite::Heartbeat(_) => beats.next().map(AgentWritten::Heartbeat),
                AgentWrite::Report(_) => reports.next().map(AgentWritten::Report),
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| Error::Corrupt("a batch answered fewer items than it had".into()))
    }
}

/// Each agent's last part of `parts` (in agent order): for tables a heartbeat replaces whole.
pub(crate) fn latest_per_agent<'p, 'a, T>(parts: &'p [Part<'a, T>]) -> BTreeMap<i64, &'p Part<'a, T>> {
    parts.iter().map(|p| (p.agent_id, p)).collect()
}

/// On PostgreSQL, locks every agent row a batch writes, in id order ([`super::rows::fetch_in`]:
/// successive statements keep it), before its statements write many rows each (in the plan's
/// order, heartbeats then reports): two replicas' batches cannot deadlock. SQLite has one writer at
/// a time: nothing to do.
pub(crate) async fn lock_agents(store: &Store, tx: &mut Tx, ids: impl Iterator<Item = i64>) -> Result<()> {
    if store.backend() != Backend::Postgres {
        return Ok(());
    }
    super::rows::fetch_in(Backend::Postgres, tx, ids, |one_of| format!("SELECT id FROM agents WHERE id {one_of} ORDER BY id FOR UPDATE")).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::rounds;

    #[test]
    fn rounds_hold_each_key_once_and_keep_a_keys_order() {
        let keys = [7, 3, 7, 5, 3, 7];
        assert_eq!(rounds(keys.len(), |i| keys[i]), vec![vec![1, 3, 0], vec![4, 2], vec![5]]);
        assert!(rounds(0, |i| i).is_empty());
    }
}
