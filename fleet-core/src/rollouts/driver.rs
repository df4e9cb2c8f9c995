//! The rollout driver every server replica runs (`fleet serve`): at each tick, step every
//! running rollout from what the store observed of its agents, save the step with the
//! compare-and-set of [`crate::Store::save_rollout`], and wake the long-polls when agents are
//! told another version. Time is the store's clock, so a test drives it with a
//! [`crate::ManualClock`]; state is the database's, so a restarted server goes on.

use std::sync::Arc;
use std::time::Duration;

use super::machine::{Event, RolloutState};
use crate::error::Result;
use crate::{DesiredWatch, Store};

/// A tick taking T is followed by a pause of at least this many T, up to [`MAX_PAUSE`]
/// ([`Driver::run_until`]): the driver's share of the store stays around a third.
const BUSY_FACTOR: u32 = 2;

/// The longest pause a slow tick earns: a rollout still notices a failure within seconds.
const MAX_PAUSE: Duration = Duration::from_secs(3);

/// What one [`Driver::tick`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TickReport {
    /// Running rollouts looked at.
    pub looked: u32,
    /// Steps saved.
    pub saved: u32,
    /// Steps dropped because another replica saved first.
    pub lost: u32,
}

/// One replica's rollout driver.
#[derive(Debug, Clone)]
pub struct Driver {
    store: Store,
    desired: Arc<DesiredWatch>,
}

impl Driver {
    /// A driver publishing through `desired` (the server's one [`DesiredWatch`]).
    pub fn new(store: Store, desired: Arc<DesiredWatch>) -> Driver {
        Driver { store, desired }
    }

    /// One pass over the running rollouts.
    pub async fn tick(&self) -> Result<TickReport> {
        let mut report = TickReport::default();
        for mut rollout in self.store.running_rollouts().await? {
            report.looked += 1;
            let seen = self.store.rollout_observations(rollout.cluster_id).await?;
            let before = rollout.clone();
            let events = rollout.step(|id| seen.get(&id).cloned(), self.store.now());
            if events.is_empty() && rollout == before {
                continue;
            }
            let actor = format!("rollout:{}", rollout.rollout_id);
            if !self.store.save_rollout(&actor, &mut rollout, &events).await? {
                report.lost += 1;
                continue;
            }
            report.saved += 1;
            if events.iter().any(|e| matches!(e, Event::StageStarted(_) | Event::State(_, _))) {
                self.desired.changed(rollout.cluster_id).await?;
            }
            for event in &events {
                if let Event::State(state @ (RolloutState::Halted | RolloutState::RolledBack), reason) = event {
                    tracing::warn!(rollout = rollout.rollout_id, cluster = rollout.cluster_id, state = state.as_str(), reason = reason.as_deref().unwrap_or(""), "rollout stopped");
                }
            }
        }
        Ok(report)
    }

    /// Ticks every `interval` until `shutdown` turns true; a failed tick is logged and retried
    /// at the next one. The pause after a tick is at least [`BUSY_FACTOR`] times what the tick
    /// took (at most [`MAX_PAUSE`]): reading 10,000 agents' rows takes long exactly when the store is busiest (right
    /// after an apply), and a driver ticking back to back would then hold a connection all
    /// along and slow the reports it waits for.
    pub async fn run_until(self, interval: Duration, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            let started = tokio::time::Instant::now();
            if let Err(error) = self.tick().await {
                tracing::warn!(%error, "rollout tick failed");
            }
            let pause = interval.max((started.elapsed() * BUSY_FACTOR).min(MAX_PAUSE));
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = async { let _ = shutdown.wait_for(|stop| *stop).await; } => return,
            }
        }
    }
}
