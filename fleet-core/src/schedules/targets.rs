//! The [`Runner`] `fleet serve` uses: each target started through its owner in fleet-core.
//!
//! ```text
//! job            start: Store::create_job(author "schedule:<name>")   created {"job_id"}
//!                poll:  Store::job -> queued/running: still running; succeeded; failed,
//!                       cancelled, timed_out: failed (per-agent summary)
//! server_backup  start: backup::scheduled(database, destination, retention), audited
//!                       backup.create; ends where it starts   created {"location","bytes","pruned"}
//! ```

use serde_json::json;

use super::engine::{BoxFuture, Progress, Runner};
use super::{Schedule, ScheduleRun, Target};
use crate::backup::{self, Database, Destination};
use crate::jobs::{Job, JobStatus};
use crate::{Error, Store};

/// Starts schedules' targets on `store`.
#[derive(Debug, Clone)]
pub struct Targets {
    store: Store,
}

impl Targets {
    /// Targets acting on `store`.
    pub fn new(store: Store) -> Targets {
        Targets { store }
    }
}

/// The author of what a schedule makes: `schedule:<name>`.
pub fn author(schedule: &Schedule) -> String {
    format!("schedule:{}", schedule.schedule.name)
}

/// How a finished job went, for a run's detail: `job 12 succeeded on n1, n2`.
fn summary(job: &Job) -> String {
    let runs: Vec<String> = job
        .runs
        .iter()
        .map(|r| match r.exit_code {
            Some(code) if r.status != JobStatus::Succeeded => format!("{} {} (exit {code})", r.agent, r.status.as_str()),
            _ => format!("{} {}", r.agent, r.status.as_str()),
        })
        .collect();
    format!("job {} {}: {}", job.id, job.status.as_str(), runs.join(", "))
}

impl Runner for Targets {
    fn start<'a>(&'a self, schedule: &'a Schedule, _run: &'a ScheduleRun) -> BoxFuture<'a, Result<Progress, String>> {
        Box::pin(async move {
            match &schedule.schedule.target {
                Target::Job { cluster_id, job } => {
                    let created = self
                        .store
                        .create_job(&author(schedule), *cluster_id, job.spec.clone(), job.agents.as_deref(), job.timeout)
                        .await
                        .map_err(|e| e.to_string())?;
                    Ok(Progress { created: Some(json!({"job_id": created.id})), finished: None })
                }
                Target::ServerBackup { destination, retention } => {
                    let destination = Destination::parse(destination).map_err(|e| e.to_string())?;
                    let keep = usize::try_from(*retention).unwrap_or(1);
                    let stored = backup::scheduled(&Database::of(&self.store), &destination, keep).await.map_err(|e| e.to_string())?;
                    if let Err(error) = self.store.audit_backup(&author(schedule), &stored.manifest).await {
                        tracing::warn!(%error, "scheduled backup: cannot audit it");
                    }
                    let detail = format!(
                        "{} rows in {} tables, {} bytes to {}{}",
                        stored.manifest.total_rows(),
                        stored.manifest.tables.len(),
                        stored.bytes,
                        stored.location,
                        if stored.pruned.is_empty() { String::new() } else { format!("; pruned {}", stored.pruned.join(", ")) }
                    );
                    let created = json!({"location": stored.location, "bytes": stored.bytes, "pruned": stored.pruned});
                    Ok(Progress { created: Some(created), finished: Some(Ok(detail)) })
                }
            }
        })
    }

    fn poll<'a>(&'a self, schedule: &'a Schedule, run: &'a ScheduleRun) -> BoxFuture<'a, Result<Progress, String>> {
        Box::pin(async move {
            let Target::Job { cluster_id, .. } = &schedule.schedule.target else {
                return Err("a server backup ends where it starts: nothing to follow".into());
            };
            let Some(job_id) = run.created.as_ref().and_then(|c| c["job_id"].as_i64()) else {
                return Err("the run holds no job id".into());
            };
            match self.store.job(*cluster_id, job_id).await {
                Ok(job) => Ok(Progress {
                    created: None,
                    finished: match job.status {
                        JobStatus::Queued | JobStatus::Running => None,
                        JobStatus::Succeeded => Some(Ok(summary(&job))),
                        JobStatus::Failed | JobStatus::Cancelled | JobStatus::TimedOut => Some(Err(summary(&job))),
                    },
                }),
                Err(Error::NotFound(what)) => Err(format!("{what} not found (deleted with its cluster?)")),
                // The database failed for now: ask again at the next tick.
                Err(error) => {
                    tracing::warn!(%error, job = job_id, "scheduled job: cannot read it");
                    Ok(Progress::default())
                }
            }
        })
    }
}
