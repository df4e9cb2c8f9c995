//! The scheduler every server replica runs (`fleet serve`): at each tick, ask the targets of
//! running runs how they stand, fail starts whose replica stopped, then claim and start every
//! due schedule's run (see [`crate::schedules`]). Time is the store's clock, so a test drives
//! it with a [`crate::ManualClock`].

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::task::JoinSet;

use super::plan::plan;
use super::{Claim, Schedule, ScheduleRun};
use crate::error::Result;
use crate::Store;

/// A boxed future, as [`Runner`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How a run stands, as its target says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Progress {
    /// What the run created (`{"job_id": 12}`), once known.
    pub created: Option<serde_json::Value>,
    /// Its end: `Ok(summary)` succeeded, `Err(why)` failed; `None` while it runs.
    pub finished: Option<std::result::Result<String, String>>,
}

/// Starts schedules' targets and follows them.
pub trait Runner: Send + Sync {
    /// Starts `schedule`'s target for `run`: what it created and, for a target that runs to its
    /// end here, how it ended; `Err(why)` when it could not start. A target that goes on
    /// elsewhere (a job on agents) must say what it created, to be asked again with [`poll`].
    ///
    /// [`poll`]: Runner::poll
    fn start<'a>(&'a self, schedule: &'a Schedule, run: &'a ScheduleRun) -> BoxFuture<'a, std::result::Result<Progress, String>>;

    /// How a started run (`run.created` set) stands now.
    fn poll<'a>(&'a self, schedule: &'a Schedule, run: &'a ScheduleRun) -> BoxFuture<'a, std::result::Result<Progress, String>>;
}

/// What one [`Engine::tick`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TickReport {
    /// Due schedules this replica claimed (the others were claimed by another replica).
    pub claimed: u32,
    /// Runs it started (the rest of `claimed` were missed or skipped).
    pub started: u32,
    /// Running runs it asked about.
    pub polled: u32,
    /// Starts failed because their replica stopped.
    pub stale: u64,
}

/// How many due schedules one tick looks at (the rest wait for the next tick).
const BATCH: i64 = 100;

/// One replica's scheduler.
#[derive(Clone)]
pub struct Engine {
    store: Store,
    runner: Arc<dyn Runner>,
    replica: String,
    /// Runs whose start is under way here (kept alive at each tick).
    starting: Arc<Mutex<HashSet<i64>>>,
    tasks: Arc<tokio::sync::Mutex<JoinSet<()>>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("replica", &self.replica).finish_non_exhaustive()
    }
}

impl Engine {
    /// A scheduler for `replica` (a name unique among the server replicas, shown in each run
    /// it claims) starting targets through `runner`.
    pub fn new(store: Store, runner: Arc<dyn Runner>, replica: impl Into<String>) -> Engine {
        Engine { store, runner, replica: replica.into(), starting: Arc::default(), tasks: Arc::default() }
    }

    /// One pass. Starts run in their own tasks ([`Engine::settle`] waits for them), so a long
    /// target does not hold the other schedules back.
    pub async fn tick(&self) -> Result<TickReport> {
        let mut report = TickReport::default();
        let starting: Vec<i64> = self.starting.lock().unwrap_or_else(PoisonError::into_inner).iter().copied().collect();
        self.store.keep_schedule_runs_alive(&starting).await?;
        for (schedule, run) in self.store.running_schedule_runs().await? {
            report.polled += 1;
            let progress = self.runner.poll(&schedule, &run).await;
            self.store.record_schedule_run(run.id, progress).await?;
        }
        report.stale = self.store.fail_stale_schedule_runs().await?;
        for schedule in self.store.due_schedules(BATCH).await? {
            let Some(due) = schedule.next_run_at else { continue };
            let table = match schedule.schedule.check() {
                Ok(table) => table,
                Err(why) => {
                    tracing::warn!(schedule = schedule.id, %why, "schedule cannot be read");
                    continue;
                }
            };
            let decided = plan(&table, schedule.schedule.missed, due, self.store.now());
            match self.store.claim_schedule_time(&schedule, due, &decided, &self.replica).await? {
                Claim::Lost => continue,
                Claim::Recorded => report.claimed += 1,
                Claim::Start(run) => {
                    report.claimed += 1;
                    report.started += 1;
                    self.spawn_start(schedule, run).await;
                }
            }
        }
        Ok(report)
    }

    async fn spawn_start(&self, schedule: Schedule, run: ScheduleRun) {
        self.starting.lock().unwrap_or_else(PoisonError::into_inner).insert(run.id);
        let (store, runner, starting) = (self.store.clone(), self.runner.clone(), self.starting.clone());
        self.tasks.lock().await.spawn(async move {
            let progress = match runner.start(&schedule, &run).await {
                Ok(Progress { created: None, finished: None }) => Err("the target said neither what it started nor how it ended".to_string()),
                other => other,
            };
            if let Err(error) = store.record_schedule_run(run.id, progress).await {
                tracing::warn!(%error, schedule = schedule.id, run = run.id, "cannot record a scheduled run");
            }
            starting.lock().unwrap_or_else(PoisonError::into_inner).remove(&run.id);
        });
    }

    /// Waits until every start under way has been recorded.
    pub async fn settle(&self) {
        let mut tasks = self.tasks.lock().await;
        while tasks.join_next().await.is_some() {}
    }

    /// Ticks every `interval` until `shutdown` turns true. A failed tick is logged and retried
    /// at the next one.
    pub async fn run_until(self, interval: Duration, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut timer = tokio::time::interval(interval);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = timer.tick() => {
                    if let Err(error) = self.tick().await {
                        tracing::warn!(%error, "scheduler tick failed");
                    }
                    // Reap finished starts so the set does not grow.
                    let mut tasks = self.tasks.lock().await;
                    while tasks.try_join_next().is_some() {}
                }
                () = async { let _ = shutdown.wait_for(|stop| *stop).await; } => return,
            }
        }
    }
}
