//! Remote jobs on the node (see `fleet_core::jobs`): the agent holds a jobs long-poll beside
//! the desired-state one, starts each run it receives in its own task, and posts how it ended.
//!
//! ```text
//! GET /api/v1/agent/jobs?wait=<s> -> {start: [job ...], cancel: [job id ...]}
//!   start: node policy (--allow-jobs; refused -> failed, with the reason)
//!          -> the kind (kinds.rs) under the job's timeout, racing its cancel
//!          -> timeout: the run's future is dropped, which kills the process group of the
//!             command it ran (command.rs) -> timed_out; cancel: the same -> cancelled
//!   -> POST /api/v1/agent/jobs/{id}/result {status, output, exit_code, duration_ms}
//! ```
//!
//! Kinds that touch HAProxy (validate, reload, restart, restore, diagnostics) take the driver's
//! lock, so a job never runs in the middle of an apply and an apply never in the middle of a
//! job.

mod command;
mod kinds;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex as SyncMutex};
use std::time::{Duration, Instant};

use fleet_core::backoff::Backoff;
use fleet_core::jobs::{bound_output, refused_by_node, AgentJob, JobKind, JobResult, JobStatus};
use fleet_core::OsRandom;
use tokio::sync::{watch, Mutex};

use crate::client::{Client, ClientError};
use crate::driver::Driver;
use crate::pipeline::Pipeline;

/// What a run needs.
pub(crate) struct Jobs {
    pub(crate) client: Client,
    pub(crate) driver: Arc<Mutex<Driver>>,
    pub(crate) pipeline: Pipeline,
    /// `--allow-jobs`.
    pub(crate) allowed: BTreeSet<JobKind>,
    /// The agent's name (its keepalived file in a snapshot: `keepalived/<name>.conf`).
    pub(crate) name: Option<String>,
    /// Cancels of the runs in progress, by job id.
    running: SyncMutex<HashMap<i64, watch::Sender<bool>>>,
    /// `upgrade-agent`: the pinned release key's file and the trial's length.
    pub(crate) upgrade: Option<(std::path::PathBuf, Duration)>,
}

/// How a kind ended, before the runner adds the duration.
#[derive(Debug)]
pub(crate) struct Ended {
    pub(crate) status: JobStatus,
    pub(crate) output: String,
    pub(crate) exit_code: Option<i64>,
}

impl Ended {
    pub(crate) fn ok(output: impl Into<String>) -> Ended {
        Ended { status: JobStatus::Succeeded, output: output.into(), exit_code: None }
    }

    pub(crate) fn failed(output: impl Into<String>) -> Ended {
        Ended { status: JobStatus::Failed, output: output.into(), exit_code: None }
    }
}

impl Jobs {
    pub(crate) fn new(client: Client, driver: Arc<Mutex<Driver>>, pipeline: Pipeline, allowed: BTreeSet<JobKind>, name: Option<String>) -> Jobs {
        Jobs { client, driver, pipeline, allowed, name, running: SyncMutex::default(), upgrade: None }
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<i64, watch::Sender<bool>>> {
        self.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Follows the jobs long-poll forever (server outages retried with backoff).
    pub(crate) async fn follow(self: Arc<Self>, wait: Duration) {
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(30));
        loop {
            match self.client.jobs(wait).await {
                Ok(None) => backoff.reset(),
                Ok(Some(poll)) => {
                    backoff.reset();
                    for id in poll.cancel {
                        if let Some(cancel) = self.running().get(&id) {
                            cancel.send_replace(true);
                        }
                    }
                    for job in poll.start {
                        let (cancel, cancelled) = watch::channel(false);
                        self.running().insert(job.id, cancel);
                        tokio::spawn(self.clone().run(job, cancelled));
                    }
                }
                Err(error) => {
                    let delay = backoff.next_delay(&OsRandom);
                    tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "cannot poll for jobs");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// Runs one job under its timeout and cancel, and posts the result.
    async fn run(self: Arc<Self>, job: AgentJob, mut cancelled: watch::Receiver<bool>) {
        let kind = job.spec.kind();
        let timeout = Duration::from_millis(u64::try_from(job.timeout_ms).unwrap_or(0));
        tracing::info!(job = job.id, %kind, timeout_ms = job.timeout_ms, "job started");
        let started = Instant::now();
        let ended = match refused_by_node(kind, &self.allowed) {
            Some(reason) => Ended::failed(reason),
            None => tokio::select! {
                ended = kinds::execute(&self, &job) => ended,
                () = tokio::time::sleep(timeout) => Ended {
                    status: JobStatus::TimedOut,
                    output: format!("killed after its timeout of {} s (the whole process group)", timeout.as_secs_f64()),
                    exit_code: None,
                },
                _ = cancelled.wait_for(|c| *c) => Ended {
                    status: JobStatus::Cancelled,
                    output: "cancelled: stopped (the whole process group killed)".into(),
                    exit_code: None,
                },
            },
        };
        self.running().remove(&job.id);
        let result = JobResult {
            status: ended.status,
            output: bound_output(&ended.output),
            exit_code: ended.exit_code,
            duration_ms: started.elapsed().as_millis() as u64,
        };
        tracing::info!(job = job.id, %kind, status = result.status.as_str(), duration_ms = result.duration_ms, "job ended");
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
        for _ in 0..20 {
            match self.client.job_result(job.id, &result).await {
                Ok(()) => return,
                Err(error @ ClientError::Status { .. }) => {
                    tracing::error!(%error, job = job.id, "the server refused the job result");
                    return;
                }
                Err(error) => {
                    let delay = backoff.next_delay(&OsRandom);
                    tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "cannot send the job result");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }
}
