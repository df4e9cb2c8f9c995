//! Work batched across requests: many agents' heartbeats and apply reports ([`AgentWrite`]), or
//! their token lookups ([`super::agents::TokenLookup`]), go to one task per kind, which handles
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

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::{Mutex, PoisonError};

use sqlx::any::AnyRow;
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

/// `items` cut into the row lists of successive statements of many rows.
///
/// On SQLite each is a power of two long, largest first, at most 128: 300 rows are
/// 128 + 128 + 32 + 8 + 4. A statement's text depends on its number of rows, and sqlx keeps
/// each text's prepared statement in its connection's cache (100 per connection): with any
/// count possible, the cache filled with SQLite bytecode for hundreds of rows (~180 MiB of a
/// 3,000-agent server's peak heap), and preparing each statement anew instead cost more CPU
/// than the writes (p99 0.7 -> 6.6 s at 10,000 agents). Powers of two make at most eight texts
/// per statement, each prepared once, the largest a few hundred KB of bytecode.
///
/// On PostgreSQL, where the plans live in the database's process and each statement costs a
/// round trip, as few statements as can be: 1,000 rows each (16,000 parameters at most, under
/// its 65,535).
pub(crate) fn statements<T>(backend: Backend, items: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        let n = match backend {
            Backend::Sqlite => 128.min(1 << rest.len().checked_ilog2()?),
            Backend::Postgres => rest.len().min(1_000),
        };
        (n > 0).then(|| {
            let (head, tail) = rest.split_at(n);
            rest = tail;
            head
        })
    })
}

/// Appends the `k`th parameter (from 1) of a statement whose parameters all appear once, in
/// order: `$k` on PostgreSQL, `?` on SQLite. SQLite finds a named parameter (`$k` too) by
/// walking the statement's list of names, when it parses the statement and again when each is
/// bound: a statement of 14,000 `$k` took 0.7 s where 14,000 `?` take 16 ms.
fn push_mark(sql: &mut String, backend: Backend, k: usize) {
    match backend {
        Backend::Postgres => {
            use std::fmt::Write;
            let _ = write!(sql, "${k}");
        }
        Backend::Sqlite => sql.push('?'),
    }
}

/// `n` rows of a `VALUES` list of typed parameters, the statement's only parameters
/// ([`push_mark`]): `(CAST($1 AS BIGINT), CAST($2 AS TEXT)), (...)`. The casts give PostgreSQL
/// the parameters' types (SQLite reads them as affinities); the columns are `column1`,
/// `column2`... on both. Written into one string: a heartbeat batch's statements have
/// thousands of cells, and a string per cell made this ~7% of the server's CPU (perf, 10,000
/// agents).
pub(crate) fn values(backend: Backend, n: usize, types: &[&str]) -> String {
    let cell_len: usize = types.iter().map(|ty| ty.len() + 16).sum();
    let mut sql = String::with_capacity(n * (cell_len + 4));
    for r in 0..n {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for (c, ty) in types.iter().enumerate() {
            sql.push_str(if c == 0 { "CAST(" } else { ", CAST(" });
            push_mark(&mut sql, backend, r * types.len() + c + 1);
            sql.push_str(" AS ");
            sql.push_str(ty);
            sql.push(')');
        }
        sql.push(')');
    }
    sql
}

/// `n` parameters for an `IN (...)` list, the statement's only parameters ([`push_mark`]):
/// `$1, $2, $3`.
pub(crate) fn placeholders(backend: Backend, n: usize) -> String {
    let mut sql = String::with_capacity(n * 7);
    for k in 1..=n {
        if k > 1 {
            sql.push_str(", ");
        }
        push_mark(&mut sql, backend, k);
    }
    sql
}

/// Each agent's last part of `parts` (in agent order): for tables a heartbeat replaces whole.
pub(crate) fn latest_per_agent<'p, 'a, T>(parts: &'p [Part<'a, T>]) -> BTreeMap<i64, &'p Part<'a, T>> {
    parts.iter().map(|p| (p.agent_id, p)).collect()
}

/// Runs the statement `sql` makes of an `IN (...)` list ([`placeholders`]) for `ids` (each
/// once, in order, [`statements`] of them), in `tx`: the rows of every statement.
pub(crate) async fn fetch_in(backend: Backend, tx: &mut Tx, ids: impl IntoIterator<Item = i64>, sql: impl Fn(&str) -> String) -> Result<Vec<AnyRow>> {
    let ids: Vec<i64> = ids.into_iter().collect::<BTreeSet<i64>>().into_iter().collect();
    let mut rows = Vec::new();
    for chunk in statements(backend, &ids) {
        let sql = sql(&placeholders(backend, chunk.len()));
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        rows.extend(query.fetch_all(&mut **tx).await?);
    }
    Ok(rows)
}

/// Deletes the rows of `table` (a table with an `agent_id` column) of `agents` ([`fetch_in`]).
pub(crate) async fn delete_for_agents(backend: Backend, tx: &mut Tx, table: &str, agents: impl IntoIterator<Item = i64>) -> Result<()> {
    fetch_in(backend, tx, agents, |marks| format!("DELETE FROM {table} WHERE agent_id IN ({marks})")).await?;
    Ok(())
}

/// On PostgreSQL, locks every agent row a batch writes, in id order ([`fetch_in`]: successive
/// statements keep it), before its statements write many rows each (in the plan's order,
/// heartbeats then reports): two replicas' batches cannot deadlock. SQLite has one writer at
/// a time: nothing to do.
pub(crate) async fn lock_agents(store: &Store, tx: &mut Tx, ids: impl Iterator<Item = i64>) -> Result<()> {
    if store.backend() != Backend::Postgres {
        return Ok(());
    }
    fetch_in(Backend::Postgres, tx, ids, |marks| format!("SELECT id FROM agents WHERE id IN ({marks}) ORDER BY id FOR UPDATE")).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{placeholders, rounds, statements, values};
    use crate::store::Backend;

    #[test]
    fn rounds_hold_each_key_once_and_keep_a_keys_order() {
        let keys = [7, 3, 7, 5, 3, 7];
        assert_eq!(rounds(keys.len(), |i| keys[i]), vec![vec![1, 3, 0], vec![4, 2], vec![5]]);
        assert!(rounds(0, |i| i).is_empty());
    }

    #[test]
    fn statements_hold_powers_of_two_rows_on_sqlite_and_a_thousand_on_postgresql() {
        let lengths = |backend, n: usize| statements(backend, &vec![0u8; n]).map(<[u8]>::len).collect::<Vec<_>>();
        assert_eq!(lengths(Backend::Sqlite, 300), vec![128, 128, 32, 8, 4]);
        assert_eq!(lengths(Backend::Sqlite, 1), vec![1]);
        assert_eq!(lengths(Backend::Sqlite, 259), vec![128, 128, 2, 1]);
        assert_eq!(lengths(Backend::Postgres, 2_300), vec![1_000, 1_000, 300]);
        assert!(lengths(Backend::Sqlite, 0).is_empty() && lengths(Backend::Postgres, 0).is_empty());
        let items: Vec<usize> = (0..1000).collect();
        assert_eq!(statements(Backend::Sqlite, &items).flatten().copied().collect::<Vec<_>>(), items, "every item once, in order");
    }

    #[test]
    fn parameters_are_numbered_on_postgresql_and_plain_on_sqlite() {
        assert_eq!(values(Backend::Postgres, 2, &["BIGINT", "TEXT"]), "(CAST($1 AS BIGINT), CAST($2 AS TEXT)), (CAST($3 AS BIGINT), CAST($4 AS TEXT))");
        assert_eq!(values(Backend::Sqlite, 1, &["BIGINT", "TEXT"]), "(CAST(? AS BIGINT), CAST(? AS TEXT))");
        assert_eq!(placeholders(Backend::Postgres, 3), "$1, $2, $3");
        assert_eq!(placeholders(Backend::Sqlite, 2), "?, ?");
        assert_eq!(placeholders(Backend::Sqlite, 0), "");
    }
}
