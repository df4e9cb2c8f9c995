//! Jobs, their runs and snapshots in the database (see [`crate::jobs`]): fetch, decide with the
//! pure functions of the room, write. Every change made for a user is audited in the same
//! transaction.
//!
//! Delivery: [`Store::wait_jobs`] takes the agent's queued runs (marking them `running`) and the
//! cancels not yet sent; when there are none it waits for the store's wake channel (bumped by
//! [`Store::create_job`] and [`Store::cancel_job`] in this process) or 250 ms (a job another
//! replica queued), whichever comes first, until the long-poll's wait ends.

use std::time::Duration;

use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{
    bound_output, given_up, overall_status, MAX_JOB_LIST, AgentJob, Job, JobPoll, JobResult, JobRun, JobSpec, JobStatus, Snapshot,
};
use crate::bundle::{diff_bundles, BundleDiff};
use crate::bundle::{Bundle, BundleFile};
use crate::error::{Error, Result};
use crate::model::{Actor, Agent, AgentPrincipal, Committed};
use crate::store::audit::Audit;
use crate::store::{json_column, to_json, Store};

/// How often a waiting jobs long-poll looks at the database for jobs other replicas queued.
const REPLICA_LOOK: Duration = Duration::from_millis(250);

const JOB_COLUMNS: &str = "id, cluster_id, kind, spec, timeout_ms, author, created_at, cancel_requested_at";
const RUN_COLUMNS: &str = "job_id, agent_id, agent_name, status, output, exit_code, started_at, finished_at";

fn job_from_row(row: &AnyRow) -> Result<Job> {
    Ok(Job {
        id: row.try_get("id")?,
        cluster_id: row.try_get("cluster_id")?,
        spec: json_column(row, "spec")?,
        timeout_ms: row.try_get("timeout_ms")?,
        author: row.try_get("author")?,
        created_at: row.try_get("created_at")?,
        cancel_requested_at: row.try_get("cancel_requested_at")?,
        status: JobStatus::Queued,
        runs: Vec::new(),
    })
}

fn run_from_row(row: &AnyRow) -> Result<JobRun> {
    let status: String = row.try_get("status")?;
    let started_at: Option<i64> = row.try_get("started_at")?;
    let finished_at: Option<i64> = row.try_get("finished_at")?;
    Ok(JobRun {
        agent: row.try_get("agent_name")?,
        agent_id: row.try_get("agent_id")?,
        status: status.parse()?,
        output: row.try_get("output")?,
        exit_code: row.try_get("exit_code")?,
        duration_ms: match (started_at, finished_at) {
            (Some(start), Some(end)) => Some((end - start).max(0)),
            (None, Some(_)) => Some(0),
            _ => None,
        },
        started_at,
        finished_at,
    })
}

impl Store {
    /// Queues `spec` for the agents of `cluster_id` named in `agents` (every agent when `None`)
    /// with a timeout of `timeout` seconds (the kind's default when `None`), authored `actor`
    /// (a username, or `schedule:<name>` for a schedule). The one function every job is made
    /// with: API routes and schedules call it. Audited `job.create`; waiting agents of this
    /// process are woken at once.
    ///
    /// Errors: [`Error::Invalid`] for a bad field, a timeout out of range, an unknown agent name,
    /// a cluster without agents, or a `restore` of a snapshot of another cluster;
    /// [`Error::NotFound`] for an unknown cluster or snapshot.
    pub async fn create_job(&self, actor: &str, cluster_id: i64, spec: JobSpec, agents: Option<&[String]>, timeout: Option<u64>) -> Result<Job> {
        // The cluster first: an unknown one is a 404 whatever the body says.
        let all = self.agents(cluster_id).await?;
        spec.validate()?;
        let timeout_ms = i64::try_from(spec.timeout(timeout)?.as_millis()).unwrap_or(i64::MAX);
        let targets: Vec<&Agent> = match agents {
            None => all.iter().collect(),
            Some(names) => {
                let mut chosen = Vec::new();
                for name in names {
                    let agent = all
                        .iter()
                        .find(|a| &a.name == name)
                        .ok_or_else(|| Error::invalid(format!("agents: cluster {cluster_id} has no agent named {name:?}")))?;
                    if !chosen.iter().any(|a: &&Agent| a.id == agent.id) {
                        chosen.push(agent);
                    }
                }
                chosen
            }
        };
        if targets.is_empty() {
            return Err(Error::invalid(format!("cluster {cluster_id} has no agents to run the job")));
        }
        if let JobSpec::Restore { snapshot } = &spec {
            self.snapshot_row(cluster_id, *snapshot).await?;
        }
        let id = self.new_id()?;
        let now = self.now();
        let mut tx = self.write_tx().await?;
        self.require_cluster(&mut tx, cluster_id).await?;
        sqlx::query(&format!("INSERT INTO jobs ({JOB_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)"))
            .bind(id)
            .bind(cluster_id)
            .bind(spec.kind().as_str())
            .bind(to_json(&spec)?)
            .bind(timeout_ms)
            .bind(actor)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        for agent in &targets {
            sqlx::query(
                "INSERT INTO job_runs (job_id, agent_id, agent_name, status, output) VALUES ($1, $2, $3, 'queued', '')",
            )
            .bind(id)
            .bind(agent.id)
            .bind(&agent.name)
            .execute(&mut *tx)
            .await?;
        }
        let names: Vec<&str> = targets.iter().map(|a| a.name.as_str()).collect();
        let details = json!({"job_id": id, "spec": spec, "agents": names, "timeout_ms": timeout_ms});
        self.audit(&mut tx, Audit { actor, action: "job.create", cluster_id: Some(cluster_id), version: None, details }).await?;
        tx.commit().await?;
        self.jobs_wake().send_modify(|n| *n = n.wrapping_add(1));
        self.job(cluster_id, id).await
    }

    /// Gives up the runs of `cluster_id` (or of agent `agent_id`) nobody finished in time
    /// ([`given_up`]); conditional updates, so a result arriving meanwhile wins.
    async fn give_up_runs(&self, filter: &str, id: i64) -> Result<()> {
        let rows = sqlx::query(&format!(
            "SELECT r.job_id, r.agent_id, r.status, r.started_at, j.created_at, j.timeout_ms FROM job_runs r \
             JOIN jobs j ON j.id = r.job_id WHERE {filter} = $1 AND r.status IN ('queued', 'running')"
        ))
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        let now = self.now();
        for row in rows {
            let status: String = row.try_get("status")?;
            let status: JobStatus = status.parse()?;
            let decision = given_up(status, row.try_get("created_at")?, row.try_get("started_at")?, row.try_get("timeout_ms")?, now);
            if let Some((to, why)) = decision {
                sqlx::query(
                    "UPDATE job_runs SET status = $1, output = $2, finished_at = $3 WHERE job_id = $4 AND agent_id = $5 AND status = $6",
                )
                .bind(to.as_str())
                .bind(why)
                .bind(now)
                .bind(row.try_get::<i64, _>("job_id")?)
                .bind(row.try_get::<i64, _>("agent_id")?)
                .bind(status.as_str())
                .execute(self.pool())
                .await?;
            }
        }
        Ok(())
    }

    async fn with_runs(&self, mut job: Job) -> Result<Job> {
        let rows = sqlx::query(&format!("SELECT {RUN_COLUMNS} FROM job_runs WHERE job_id = $1 ORDER BY agent_name"))
            .bind(job.id)
            .fetch_all(self.pool())
            .await?;
        job.runs = rows.iter().map(run_from_row).collect::<Result<_>>()?;
        job.status = overall_status(job.runs.iter().map(|r| r.status));
        Ok(job)
    }

    /// Job `job_id` of `cluster_id` with every run ([`Error::NotFound`] otherwise).
    pub async fn job(&self, cluster_id: i64, job_id: i64) -> Result<Job> {
        self.give_up_runs("r.job_id", job_id).await?;
        let row = sqlx::query(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 AND cluster_id = $2"))
            .bind(job_id)
            .bind(cluster_id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| Error::not_found(format!("job {job_id} of cluster {cluster_id}")))?;
        self.with_runs(job_from_row(&row)?).await
    }

    /// The newest `limit` jobs of `cluster_id` (1 to [`MAX_JOB_LIST`]), newest first, with their
    /// runs.
    pub async fn jobs(&self, cluster_id: i64, limit: i64) -> Result<Vec<Job>> {
        self.cluster(cluster_id).await?;
        self.give_up_runs("j.cluster_id", cluster_id).await?;
        let rows = sqlx::query(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE cluster_id = $1 ORDER BY created_at DESC, id LIMIT $2"))
            .bind(cluster_id)
            .bind(limit.clamp(1, MAX_JOB_LIST))
            .fetch_all(self.pool())
            .await?;
        let mut jobs = Vec::with_capacity(rows.len());
        for row in &rows {
            jobs.push(self.with_runs(job_from_row(row)?).await?);
        }
        Ok(jobs)
    }

    /// Cancels job `job_id`: runs not yet taken end `cancelled` at once; running ones are told
    /// through their agent's jobs long-poll (the agent kills them and reports `cancelled`).
    /// Audited `job.cancel`. A job whose runs all ended is left as it is.
    pub async fn cancel_job(&self, actor: &str, cluster_id: i64, job_id: i64) -> Result<Job> {
        let now = self.now();
        let mut tx = self.write_tx().await?;
        let found = sqlx::query("SELECT id FROM jobs WHERE id = $1 AND cluster_id = $2")
            .bind(job_id)
            .bind(cluster_id)
            .fetch_optional(&mut *tx)
            .await?;
        if found.is_none() {
            return Err(Error::not_found(format!("job {job_id} of cluster {cluster_id}")));
        }
        sqlx::query("UPDATE jobs SET cancel_requested_at = $1 WHERE id = $2 AND cancel_requested_at IS NULL")
            .bind(now)
            .bind(job_id)
            .execute(&mut *tx)
            .await?;
        let queued = sqlx::query(
            "UPDATE job_runs SET status = 'cancelled', output = 'cancelled before the agent took it', finished_at = $1 \
             WHERE job_id = $2 AND status = 'queued'",
        )
        .bind(now)
        .bind(job_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let details = json!({"job_id": job_id, "cancelled_queued": queued});
        self.audit(&mut tx, Audit { actor, action: "job.cancel", cluster_id: Some(cluster_id), version: None, details }).await?;
        tx.commit().await?;
        self.jobs_wake().send_modify(|n| *n = n.wrapping_add(1));
        self.job(cluster_id, job_id).await
    }

    /// What agent `agent_id` must do now: its queued runs (marked `running`, started now) and
    /// the running runs whose cancel it was not told yet (marked told).
    pub async fn take_jobs(&self, agent_id: i64) -> Result<JobPoll> {
        self.give_up_runs("r.agent_id", agent_id).await?;
        let now = self.now();
        let mut tx = self.write_tx().await?;
        let rows = sqlx::query(
            "SELECT j.id, j.spec, j.timeout_ms FROM job_runs r JOIN jobs j ON j.id = r.job_id \
             WHERE r.agent_id = $1 AND r.status = 'queued' ORDER BY j.created_at, j.id",
        )
        .bind(agent_id)
        .fetch_all(&mut *tx)
        .await?;
        let mut poll = JobPoll::default();
        for row in &rows {
            let id: i64 = row.try_get("id")?;
            let taken = sqlx::query("UPDATE job_runs SET status = 'running', started_at = $1 WHERE job_id = $2 AND agent_id = $3 AND status = 'queued'")
                .bind(now)
                .bind(id)
                .bind(agent_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if taken == 1 {
                poll.start.push(AgentJob { id, spec: json_column(row, "spec")?, timeout_ms: row.try_get("timeout_ms")? });
            }
        }
        let cancels = sqlx::query(
            "SELECT r.job_id FROM job_runs r JOIN jobs j ON j.id = r.job_id \
             WHERE r.agent_id = $1 AND r.status = 'running' AND j.cancel_requested_at IS NOT NULL AND r.cancel_sent_at IS NULL",
        )
        .bind(agent_id)
        .fetch_all(&mut *tx)
        .await?;
        for row in &cancels {
            let id: i64 = row.try_get("job_id")?;
            sqlx::query("UPDATE job_runs SET cancel_sent_at = $1 WHERE job_id = $2 AND agent_id = $3")
                .bind(now)
                .bind(id)
                .bind(agent_id)
                .execute(&mut *tx)
                .await?;
            poll.cancel.push(id);
        }
        tx.commit().await?;
        Ok(poll)
    }

    /// The agent's jobs long-poll: [`Store::take_jobs`] as soon as it has something, `None`
    /// when `wait` passes without.
    pub async fn wait_jobs(&self, agent_id: i64, wait: Duration) -> Result<Option<JobPoll>> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut wake = self.jobs_wake().subscribe();
        loop {
            wake.borrow_and_update();
            let poll = self.take_jobs(agent_id).await?;
            if !poll.is_empty() {
                return Ok(Some(poll));
            }
            let look = (tokio::time::Instant::now() + REPLICA_LOOK).min(deadline);
            tokio::select! {
                _ = wake.changed() => {}
                () = tokio::time::sleep_until(look) => {}
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(None);
            }
        }
    }

    /// Records how agent `agent`'s run of job `job_id` ended (output cut to 64 KiB). Audited
    /// `job.finish`. A run that already ended (given up, cancelled before it was taken) keeps
    /// its status: [`Error::Conflict`]. [`Error::Invalid`] for a status that is not final.
    pub async fn finish_job_run(&self, agent: &AgentPrincipal, job_id: i64, result: &JobResult) -> Result<JobRun> {
        if !result.status.is_final() {
            return Err(Error::invalid(format!("status {}: a result is succeeded, failed, cancelled or timed_out", result.status.as_str())));
        }
        let now = self.now();
        let duration = i64::try_from(result.duration_ms).unwrap_or(i64::MAX).min(now);
        let mut tx = self.write_tx().await?;
        let row = sqlx::query("SELECT status, started_at FROM job_runs WHERE job_id = $1 AND agent_id = $2")
            .bind(job_id)
            .bind(agent.id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| Error::not_found(format!("job {job_id} for agent {}", agent.name)))?;
        let status: String = row.try_get("status")?;
        if status.parse::<JobStatus>()?.is_final() {
            return Err(Error::Conflict(format!("job {job_id} already ended on agent {} ({status})", agent.name)));
        }
        // The agent measured the duration; the start is what the store saw, or now - duration.
        let started: i64 = row.try_get::<Option<i64>, _>("started_at")?.unwrap_or(now - duration);
        sqlx::query(
            "UPDATE job_runs SET status = $1, output = $2, exit_code = $3, started_at = $4, finished_at = $5 \
             WHERE job_id = $6 AND agent_id = $7",
        )
        .bind(result.status.as_str())
        .bind(bound_output(&result.output))
        .bind(result.exit_code)
        .bind(started)
        .bind(started + duration)
        .bind(job_id)
        .bind(agent.id)
        .execute(&mut *tx)
        .await?;
        let actor = format!("agent:{}", agent.name);
        let details = json!({"job_id": job_id, "status": result.status, "exit_code": result.exit_code, "duration_ms": duration});
        self.audit(&mut tx, Audit { actor: &actor, action: "job.finish", cluster_id: Some(agent.cluster_id), version: None, details })
            .await?;
        tx.commit().await?;
        let row = sqlx::query(&format!("SELECT {RUN_COLUMNS} FROM job_runs WHERE job_id = $1 AND agent_id = $2"))
            .bind(job_id)
            .bind(agent.id)
            .fetch_one(self.pool())
            .await?;
        run_from_row(&row)
    }

    /// Stores `bundle` as a snapshot taken by `agent`'s running `snapshot` run of job `job_id`
    /// (files as blobs: chunked and shared, private keys sealed). Audited `snapshot.create`.
    /// [`Error::NotFound`] when the agent has no such running snapshot run.
    pub async fn record_snapshot(&self, agent: &AgentPrincipal, job_id: i64, bundle: &Bundle) -> Result<Snapshot> {
        let run = sqlx::query(
            "SELECT j.kind FROM job_runs r JOIN jobs j ON j.id = r.job_id WHERE r.job_id = $1 AND r.agent_id = $2 AND r.status = 'running'",
        )
        .bind(job_id)
        .bind(agent.id)
        .fetch_optional(self.pool())
        .await?;
        match run {
            Some(row) if row.try_get::<String, _>("kind")? == "snapshot" => {}
            _ => return Err(Error::not_found(format!("running snapshot job {job_id} for agent {}", agent.name))),
        }
        let id = self.new_id()?;
        let now = self.now();
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO snapshots (id, cluster_id, agent_id, agent_name, job_id, digest, size, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(agent.cluster_id)
        .bind(agent.id)
        .bind(&agent.name)
        .bind(job_id)
        .bind(bundle.digest())
        .bind(i64::try_from(bundle.size()).unwrap_or(i64::MAX))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for (position, file) in bundle.files().iter().enumerate() {
            let info = file.info();
            self.insert_blob(&mut tx, file, &info.sha256).await?;
            sqlx::query(
                "INSERT INTO snapshot_files (snapshot_id, position, path, kind, mode, sha256, size) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(position as i64)
            .bind(info.path.as_str())
            .bind(info.kind.as_str())
            .bind(i64::from(info.mode))
            .bind(&info.sha256)
            .bind(info.size as i64)
            .execute(&mut *tx)
            .await?;
        }
        let actor = format!("agent:{}", agent.name);
        let details = json!({"snapshot_id": id, "job_id": job_id, "files": bundle.files().len(), "bytes": bundle.size()});
        self.audit(&mut tx, Audit { actor: &actor, action: "snapshot.create", cluster_id: Some(agent.cluster_id), version: None, details })
            .await?;
        tx.commit().await?;
        self.snapshot(agent.cluster_id, id).await
    }

    async fn snapshot_row(&self, cluster_id: i64, id: i64) -> Result<AnyRow> {
        sqlx::query("SELECT id, cluster_id, agent_id, agent_name, job_id, digest, size, created_at FROM snapshots WHERE id = $1 AND cluster_id = $2")
            .bind(id)
            .bind(cluster_id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| Error::not_found(format!("snapshot {id} of cluster {cluster_id}")))
    }

    async fn snapshot_from_row(&self, row: &AnyRow) -> Result<Snapshot> {
        let id: i64 = row.try_get("id")?;
        let files = sqlx::query("SELECT path, kind, mode, sha256, size FROM snapshot_files WHERE snapshot_id = $1 ORDER BY position")
            .bind(id)
            .fetch_all(self.pool())
            .await?;
        Ok(Snapshot {
            id,
            cluster_id: row.try_get("cluster_id")?,
            agent_id: row.try_get("agent_id")?,
            agent: row.try_get("agent_name")?,
            job_id: row.try_get("job_id")?,
            digest: row.try_get("digest")?,
            size: row.try_get("size")?,
            created_at: row.try_get("created_at")?,
            files: files.iter().map(crate::store::bundles::info_from_row).collect::<Result<_>>()?,
        })
    }

    /// Snapshot `id` of `cluster_id` with its file listing.
    pub async fn snapshot(&self, cluster_id: i64, id: i64) -> Result<Snapshot> {
        let row = self.snapshot_row(cluster_id, id).await?;
        self.snapshot_from_row(&row).await
    }

    /// The snapshots of `cluster_id`, newest first; only agent `agent`'s (by name) when given.
    pub async fn snapshots(&self, cluster_id: i64, agent: Option<&str>) -> Result<Vec<Snapshot>> {
        self.cluster(cluster_id).await?;
        let rows = sqlx::query(
            "SELECT id, cluster_id, agent_id, agent_name, job_id, digest, size, created_at FROM snapshots \
             WHERE cluster_id = $1 AND ($2 = '' OR agent_name = $2) ORDER BY created_at DESC, id LIMIT 500",
        )
        .bind(cluster_id)
        .bind(agent.unwrap_or(""))
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(self.snapshot_from_row(row).await?);
        }
        Ok(out)
    }

    /// The files of snapshot `id` of `cluster_id` with their bytes (sealed ones opened: for the
    /// agents of the cluster, never a user route).
    pub async fn snapshot_bundle(&self, cluster_id: i64, id: i64) -> Result<Bundle> {
        let snapshot = self.snapshot(cluster_id, id).await?;
        let mut conn = self.pool().acquire().await?;
        let mut files = Vec::with_capacity(snapshot.files.len());
        for info in &snapshot.files {
            let content = self.blob_on(&mut conn, info).await?;
            files.push(BundleFile { path: info.path.clone(), kind: info.kind, mode: info.mode, content });
        }
        Bundle::new(files).map_err(|e| Error::Corrupt(format!("snapshot {id}: {e}")))
    }

    /// How snapshot `id` differs from the cluster's desired version (the version diff: the
    /// first config file as a unified diff, and every file added, removed or changed; an
    /// empty version 0 when none was applied).
    pub async fn snapshot_diff(&self, cluster_id: i64, id: i64) -> Result<BundleDiff> {
        let snapshot = self.snapshot_bundle(cluster_id, id).await?;
        let desired = self.cluster(cluster_id).await?.desired_version.unwrap_or(0);
        let bundle = self.bundle(cluster_id, desired).await?;
        Ok(diff_bundles(&bundle, &snapshot, &format!("version {desired}"), &format!("snapshot {id}")))
    }

    /// Makes snapshot `id` the cluster's next version through the gate of an import (offline
    /// checks, `haproxy -c` when configured, privileged directives for admins only). Audited
    /// as the import (`version.import`, with the snapshot named in the message) and
    /// `snapshot.promote`.
    pub async fn promote_snapshot(&self, actor: Actor<'_>, cluster_id: i64, id: i64, message: &str) -> Result<Committed> {
        let bundle = self.snapshot_bundle(cluster_id, id).await?;
        let message = if message.is_empty() { format!("snapshot {id}") } else { message.to_string() };
        let done = self.import_bundle(actor, cluster_id, &bundle, &message).await?;
        let mut tx = self.write_tx().await?;
        let details = json!({"snapshot_id": id, "version": done.version.number});
        self.audit(&mut tx, Audit { actor: actor.name, action: "snapshot.promote", cluster_id: Some(cluster_id), version: Some(done.version.number), details })
            .await?;
        tx.commit().await?;
        Ok(done)
    }
}
