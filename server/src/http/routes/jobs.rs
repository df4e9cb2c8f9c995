//! Remote jobs and snapshots (see `fleet_core::jobs`): an operator queues a typed job for the
//! agents of a cluster and reads each agent's run; agents hold a jobs long-poll, post results,
//! upload snapshots and fetch the snapshot a `restore` applies. Disaster recovery: list a
//! cluster's snapshots, diff one against the desired version, promote one to a version.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fleet_core::jobs::{Job, JobPoll, JobRequest, JobResult, Snapshot};
use fleet_core::rbac::Permission;
use fleet_core::wire::{long_poll_wait, DesiredState};
use serde::Deserialize;
use utoipa::IntoParams;

use super::files::TarImportQuery;
use super::{committed, ClusterPath, MessageQuery};
use crate::errors::ApiResult;
use crate::http::auth::{Caller, ScopedCaller};
use crate::http::extract::{Json, Path, Query, Raw};
use crate::http::AppState;

/// Queues a job for the cluster's agents (all, or those named in `agents`): `{"kind":
/// "diagnostics"}`, `{"kind":"restore","snapshot":ID}`, `{"kind":"install-haproxy",
/// "version":"..."}` ..., with an optional `timeout` in seconds. Waiting agents take it at once.
#[utoipa::path(post, path = "/api/v1/clusters/{id}/jobs", tag = "jobs", params(ClusterPath),
    operation_id = "create_job", request_body = JobRequest,
    responses((status = 201, description = "the job, one queued run per agent", body = Job),
        (status = 422, description = "a bad field, timeout or agent name, no agents, or a snapshot of another cluster")))]
pub(crate) async fn create_job(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<ClusterPath>,
    Json(body): Json<JobRequest>,
) -> ApiResult<impl IntoResponse> {
    let user = caller.user(Permission::Write)?;
    let job = state.store.create_job(&user.username, path.id, body.spec, body.agents.as_deref(), body.timeout).await?;
    Ok((StatusCode::CREATED, axum::Json(job)))
}

/// `?limit=N`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct JobListQuery {
    /// At most this many, newest first (default 50; clamped to 1 to 500, as the audit list does).
    limit: Option<i64>,
}

/// The cluster's jobs, newest first, with every run.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/jobs", tag = "jobs", params(ClusterPath, JobListQuery),
    operation_id = "list_jobs", responses((status = 200, description = "jobs, newest first", body = Vec<Job>)))]
pub(crate) async fn list_jobs(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<ClusterPath>,
    Query(query): Query<JobListQuery>,
) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.jobs(path.id, query.limit.unwrap_or(50)).await?))
}

/// `/clusters/{id}/jobs/{job_id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct JobPath {
    /// Cluster id.
    id: i64,
    /// Job id.
    job_id: i64,
}

/// One job with each agent's run: `{agent, status, output, exit_code, duration_ms}`.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/jobs/{job_id}", tag = "jobs", params(JobPath),
    operation_id = "get_job", responses((status = 200, description = "the job and its runs", body = Job)))]
pub(crate) async fn get_job(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<JobPath>,
) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.job(path.id, path.job_id).await?))
}

/// Cancels a job: runs not yet taken end at once, running ones are stopped by their agents
/// (the whole process group) and reported `cancelled`.
#[utoipa::path(post, path = "/api/v1/clusters/{id}/jobs/{job_id}/cancel", tag = "jobs", params(JobPath),
    operation_id = "cancel_job", responses((status = 200, description = "the job as it stands", body = Job)))]
pub(crate) async fn cancel_job(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<JobPath>,
) -> ApiResult<impl IntoResponse> {
    let user = caller.user(Permission::Write)?;
    Ok(axum::Json(state.store.cancel_job(&user.username, path.id, path.job_id).await?))
}

/// `?agent=NAME`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct SnapshotListQuery {
    /// Only the snapshots of this agent (by name).
    agent: Option<String>,
}

/// The cluster's snapshots (of every agent, or of one), newest first, with their file listings.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/snapshots", tag = "jobs", params(ClusterPath, SnapshotListQuery),
    operation_id = "list_snapshots", responses((status = 200, description = "snapshots, newest first", body = Vec<Snapshot>)))]
pub(crate) async fn list_snapshots(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<ClusterPath>,
    Query(query): Query<SnapshotListQuery>,
) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.snapshots(path.id, query.agent.as_deref()).await?))
}

/// `/clusters/{id}/snapshots/{snapshot_id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct SnapshotPath {
    /// Cluster id.
    id: i64,
    /// Snapshot id.
    snapshot_id: i64,
}

/// One snapshot and its file listing.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/snapshots/{snapshot_id}", tag = "jobs", params(SnapshotPath),
    operation_id = "get_snapshot", responses((status = 200, description = "the snapshot", body = Snapshot)))]
pub(crate) async fn get_snapshot(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<SnapshotPath>,
) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.snapshot(path.id, path.snapshot_id).await?))
}

/// How the snapshot differs from the cluster's desired version (the version diff's shape:
/// the first config file's unified diff and summary, and every file that differs).
#[utoipa::path(get, path = "/api/v1/clusters/{id}/snapshots/{snapshot_id}/diff", tag = "jobs", params(SnapshotPath),
    operation_id = "diff_snapshot", responses((status = 200, description = "desired version -> snapshot", body = fleet_core::bundle::BundleDiff)))]
pub(crate) async fn diff_snapshot(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<SnapshotPath>,
) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.snapshot_diff(path.id, path.snapshot_id).await?))
}

/// Makes the snapshot the cluster's next version, through the gate of an import (audited as
/// the import and as `snapshot.promote`); apply it to roll it out.
#[utoipa::path(post, path = "/api/v1/clusters/{id}/snapshots/{snapshot_id}/promote", tag = "jobs", params(SnapshotPath, MessageQuery),
    operation_id = "promote_snapshot",
    responses((status = 201, description = "the new version", body = super::CommittedBody), (status = 422, description = "the gate refused the files")))]
pub(crate) async fn promote_snapshot(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<SnapshotPath>,
    Query(query): Query<MessageQuery>,
) -> ApiResult<Response> {
    let user = caller.user(Permission::Write)?;
    let done = state.store.promote_snapshot(user.into(), path.id, path.snapshot_id, &query.message).await?;
    Ok(committed(&state, StatusCode::CREATED, done))
}

/// `?wait=<seconds>`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AgentJobsQuery {
    /// How long to wait for a job or a cancel (default 30, at most 300).
    wait: Option<u64>,
}

/// The agent's jobs long-poll, held beside the desired-state one: the runs to start (marked
/// `running` as they leave) and the running runs to cancel, as soon as there are any; 304 when
/// `wait` seconds pass without.
#[utoipa::path(get, path = "/api/v1/agent/jobs", tag = "agent", params(AgentJobsQuery), operation_id = "agent_jobs",
    responses((status = 200, description = "what to start and what to cancel", body = JobPoll), (status = 304, description = "nothing in `wait` s"),
        (status = 429, description = "the agent already has as many long-polls waiting as --max-long-polls-per-agent allows")))]
pub(crate) async fn agent_jobs(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<AgentJobsQuery>,
) -> ApiResult<Response> {
    let agent = caller.agent()?;
    let _slot = state.poll_slots.acquire(agent.id, &agent.name)?;
    let mut shutdown = state.shutdown.clone();
    let wait = state.store.wait_jobs(agent.id, long_poll_wait(query.wait));
    let poll = tokio::select! {
        poll = wait => poll?,
        _ = shutdown.wait_for(|stopping| *stopping) => None,
    };
    Ok(match poll {
        Some(poll) => axum::Json(poll).into_response(),
        None => StatusCode::NOT_MODIFIED.into_response(),
    })
}

/// `/agent/jobs/{job_id}/...`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct AgentJobPath {
    /// Job id.
    job_id: i64,
}

/// Records how this agent's run of the job ended.
#[utoipa::path(post, path = "/api/v1/agent/jobs/{job_id}/result", tag = "agent", params(AgentJobPath), operation_id = "agent_job_result",
    request_body = JobResult, responses((status = 200, description = "the run as recorded", body = fleet_core::jobs::JobRun),
        (status = 409, description = "the run already ended")))]
pub(crate) async fn agent_job_result(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<AgentJobPath>,
    Json(body): Json<JobResult>,
) -> ApiResult<impl IntoResponse> {
    let agent = caller.agent()?;
    Ok(axum::Json(state.store.finish_job_run(agent, path.job_id, &body).await?))
}

/// Uploads the node's tree (a tar, as `--adopt` sends it, with `configs` naming the config
/// files) as the snapshot of this agent's running `snapshot` run.
#[utoipa::path(post, path = "/api/v1/agent/jobs/{job_id}/snapshot", tag = "agent", params(AgentJobPath, TarImportQuery),
    operation_id = "agent_snapshot_upload", request_body(content = Vec<u8>, content_type = "application/x-tar"),
    responses((status = 201, description = "the snapshot", body = Snapshot), (status = 422, description = "not a valid tree")))]
pub(crate) async fn agent_snapshot_upload(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<AgentJobPath>,
    Query(query): Query<TarImportQuery>,
    Raw(body): Raw,
) -> ApiResult<impl IntoResponse> {
    let agent = caller.agent()?;
    let bundle = query.read(&state, agent.cluster_id, &body).await?;
    let snapshot = state.store.record_snapshot(agent, path.job_id, &bundle).await?;
    Ok((StatusCode::CREATED, axum::Json(snapshot)))
}

/// `/agent/snapshots/{snapshot_id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct AgentSnapshotPath {
    /// Snapshot id.
    snapshot_id: i64,
}

/// A snapshot of the agent's cluster as a desired state (version 0: not a version of the
/// cluster), for a `restore` run to apply through its pipeline.
#[utoipa::path(get, path = "/api/v1/agent/snapshots/{snapshot_id}", tag = "agent", params(AgentSnapshotPath), operation_id = "agent_snapshot",
    responses((status = 200, description = "the snapshot's files and the cluster's settings", body = DesiredState)))]
pub(crate) async fn agent_snapshot(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<AgentSnapshotPath>,
) -> ApiResult<impl IntoResponse> {
    let agent = caller.agent()?;
    let bundle = state.store.snapshot_bundle(agent.cluster_id, path.snapshot_id).await?;
    let settings = state.store.cluster(agent.cluster_id).await?.settings;
    Ok(axum::Json(DesiredState::new(agent.cluster_id, 0, &bundle, settings)))
}
