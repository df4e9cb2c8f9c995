//! Bounds on what one caller may hold (issue 12 §5): open transactions per user, ops per
//! transaction, and long-polls waiting per agent. Each refusal is a clear 4xx naming the limit
//! and the `fleet serve` flag that sets it; request body sizes are the server's (an HTTP
//! concern).
//!
//! ```text
//! Store::begin  -> count the user's open transactions -> Limits::admit_transaction -> 429 TooMany
//! Store::stage  -> ops staged + ops added             -> Limits::admit_ops         -> 413 TooLarge
//! GET desired   -> PollSlots::acquire(agent)          -> slot held while it waits  -> 429 TooMany
//! ```
//!
//! Why: every open transaction is a row re-read and re-applied on each stage and commit, every
//! staged op is re-applied to the base on each stage, and every waiting long-poll holds a
//! connection and a task. Without bounds one user (or one leaked agent token) could make the
//! server do unbounded work. The transaction count is read before the write, so concurrent
//! `begin`s of one user may pass it together: the bound can be exceeded by the number of
//! requests in flight at that instant, which is what a bound against runaway use needs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

/// Default for [`Limits::open_transactions_per_user`].
pub const DEFAULT_OPEN_TRANSACTIONS_PER_USER: usize = 32;
/// Default for [`Limits::ops_per_transaction`].
pub const DEFAULT_OPS_PER_TRANSACTION: usize = 10_000;
/// Default for the number of long-polls one agent may have waiting ([`PollSlots::new`]).
pub const DEFAULT_LONG_POLLS_PER_AGENT: usize = 4;

/// The domain's bounds, set by `fleet serve` (`--max-open-transactions`,
/// `--max-ops-per-transaction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Open transactions one user may hold (committed, discarded and outdated ones do not
    /// count).
    pub open_transactions_per_user: usize,
    /// Ops one transaction may stage, in total over all its stage requests.
    pub ops_per_transaction: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            open_transactions_per_user: DEFAULT_OPEN_TRANSACTIONS_PER_USER,
            ops_per_transaction: DEFAULT_OPS_PER_TRANSACTION,
        }
    }
}

impl Limits {
    /// Whether `user`, who holds `open` open transactions, may begin another:
    /// [`Error::TooMany`] when that would pass the limit.
    pub fn admit_transaction(&self, user: &str, open: usize) -> Result<()> {
        if open < self.open_transactions_per_user {
            return Ok(());
        }
        Err(Error::TooMany(format!(
            "user {user} has {open} open transactions, the limit (--max-open-transactions) is {}: \
             commit or discard one first",
            self.open_transactions_per_user
        )))
    }

    /// Whether a transaction holding `staged` ops may stage `adding` more:
    /// [`Error::TooLarge`] when the total would pass the limit.
    pub fn admit_ops(&self, staged: usize, adding: usize) -> Result<()> {
        let total = staged.saturating_add(adding);
        if total <= self.ops_per_transaction {
            return Ok(());
        }
        Err(Error::TooLarge(format!(
            "a transaction holds at most {} ops (--max-ops-per-transaction): it has {staged}, \
             and {adding} more were sent; commit it and stage the rest in another",
            self.ops_per_transaction
        )))
    }
}

/// The long-polls each agent has waiting, bounded per agent. Shared by every request of one
/// server process (long-polls are per process; replicas bound their own).
#[derive(Debug)]
pub struct PollSlots {
    limit: usize,
    held: Mutex<HashMap<i64, usize>>,
}

/// One waiting long-poll of one agent: the slot is given back when this is dropped (the
/// answer was sent, or the agent went away and its request was dropped).
#[derive(Debug)]
pub struct PollSlot {
    slots: Arc<PollSlots>,
    agent: i64,
}

impl PollSlots {
    /// Slots for at most `limit` waiting long-polls per agent (`--max-long-polls-per-agent`).
    pub fn new(limit: usize) -> Arc<PollSlots> {
        Arc::new(PollSlots { limit, held: Mutex::new(HashMap::new()) })
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<i64, usize>> {
        // A panic while holding the lock leaves only counts behind, still coherent.
        self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A slot for agent `agent` (named `name` in the refusal), or [`Error::TooMany`] when it
    /// already has `limit` long-polls waiting.
    pub fn acquire(self: &Arc<Self>, agent: i64, name: &str) -> Result<PollSlot> {
        let mut held = self.held();
        let count = held.entry(agent).or_insert(0);
        if *count >= self.limit {
            return Err(Error::TooMany(format!(
                "agent {name} already has {count} long-polls waiting, the limit (--max-long-polls-per-agent): \
                 wait for one to end"
            )));
        }
        *count += 1;
        Ok(PollSlot { slots: self.clone(), agent })
    }

    /// How many long-polls agent `agent` has waiting.
    pub fn waiting(&self, agent: i64) -> usize {
        self.held().get(&agent).copied().unwrap_or(0)
    }
}

impl Drop for PollSlot {
    fn drop(&mut self) {
        let mut held = self.slots.held();
        if let Some(count) = held.get_mut(&self.agent) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                held.remove(&self.agent);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transactions_per_user() {
        let limits = Limits { open_transactions_per_user: 2, ..Limits::default() };
        assert!(limits.admit_transaction("alice", 1).is_ok());
        let refused = limits.admit_transaction("alice", 2).unwrap_err();
        assert!(matches!(refused, Error::TooMany(_)));
        assert!(refused.to_string().contains("--max-open-transactions"), "{refused}");
    }

    #[test]
    fn ops_per_transaction() {
        let limits = Limits { ops_per_transaction: 10, ..Limits::default() };
        assert!(limits.admit_ops(4, 6).is_ok());
        let refused = limits.admit_ops(4, 7).unwrap_err();
        assert!(matches!(refused, Error::TooLarge(_)));
        assert!(refused.to_string().contains("at most 10 ops"), "{refused}");
    }

    #[test]
    fn poll_slots_are_given_back() {
        let slots = PollSlots::new(2);
        let a = slots.acquire(7, "edge-1").unwrap();
        let _b = slots.acquire(7, "edge-1").unwrap();
        let refused = slots.acquire(7, "edge-1").unwrap_err();
        assert!(refused.to_string().contains("--max-long-polls-per-agent"), "{refused}");
        assert!(slots.acquire(8, "edge-2").is_ok(), "another agent has its own slots");
        drop(a);
        assert_eq!(slots.waiting(7), 1);
        assert!(slots.acquire(7, "edge-1").is_ok());
    }
}
