//! Rollouts (see `fleet_core::rollouts`): list a cluster's, read one, pause, resume or abort
//! it. The apply that starts one is `clusters::apply`.

use std::time::Duration;

use axum::extract::State;
use axum::response::IntoResponse;
use fleet_core::rbac::Permission;
use fleet_core::rollouts::Rollout;
use fleet_core::Control;
use serde::Deserialize;
use utoipa::IntoParams;

use super::ClusterPath;
use crate::errors::ApiResult;
use crate::http::auth::ScopedCaller;
use crate::http::extract::{Path, Query};
use crate::http::AppState;

/// The longest `?wait=` (seconds).
pub(crate) const MAX_WAIT_SECONDS: u64 = 3600;

/// `rollout` once it ended, or as it stands after `wait` seconds (read every 250 ms; the
/// server stopping ends the wait too).
pub(crate) async fn settled(state: &AppState, rollout: Rollout, wait: u64) -> ApiResult<Rollout> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait.min(MAX_WAIT_SECONDS));
    let mut shutdown = state.shutdown.clone();
    let mut rollout = rollout;
    while !rollout.state.is_final() && tokio::time::Instant::now() < deadline && !*shutdown.borrow() {
        tokio::select! {
            () = tokio::time::sleep_until(deadline.min(tokio::time::Instant::now() + Duration::from_millis(250))) => {}
            _ = shutdown.changed() => {}
        }
        rollout = state.store.rollout(rollout.cluster_id, rollout.rollout_id).await?;
    }
    Ok(rollout)
}

/// `?limit=N`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct RolloutListQuery {
    /// At most this many, newest first (default 20; clamped to 1 to 100, as the audit list does).
    limit: Option<i64>,
}

/// The cluster's rollouts (one per apply), newest first.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/rollouts", tag = "rollouts", params(ClusterPath, RolloutListQuery),
    operation_id = "list_rollouts", responses((status = 200, description = "rollouts, newest first", body = Vec<Rollout>)))]
pub(crate) async fn list_rollouts(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<ClusterPath>,
    Query(query): Query<RolloutListQuery>,
) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.rollouts(path.id, query.limit.unwrap_or(20)).await?))
}

/// `/clusters/{id}/rollouts/{rid}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct RolloutPath {
    /// Cluster id.
    id: i64,
    /// Rollout id.
    rid: i64,
}

/// One rollout: its state, stages and every agent's outcome.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/rollouts/{rid}", tag = "rollouts", params(RolloutPath),
    operation_id = "get_rollout", responses((status = 200, description = "the rollout", body = Rollout)))]
pub(crate) async fn get_rollout(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<RolloutPath>,
) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.rollout(path.id, path.rid).await?))
}

async fn control(state: &AppState, caller: &fleet_core::rbac::Principal, path: &RolloutPath, control: Control) -> ApiResult<Rollout> {
    let user = caller.user(Permission::Write)?;
    Ok(state.desired.control_rollout(&user.username, path.id, path.rid, control).await?)
}

/// Pauses a running rollout: no stage starts or passes until it is resumed.
#[utoipa::path(post, path = "/api/v1/clusters/{id}/rollouts/{rid}/pause", tag = "rollouts", params(RolloutPath),
    operation_id = "pause_rollout", responses((status = 200, description = "the rollout, paused", body = Rollout), (status = 409, description = "not running")))]
pub(crate) async fn pause_rollout(State(state): State<AppState>, ScopedCaller(caller): ScopedCaller, Path(path): Path<RolloutPath>) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(control(&state, &caller, &path, Control::Pause).await?))
}

/// Resumes a paused rollout (a stage that was soaking soaks again from the start).
#[utoipa::path(post, path = "/api/v1/clusters/{id}/rollouts/{rid}/resume", tag = "rollouts", params(RolloutPath),
    operation_id = "resume_rollout", responses((status = 200, description = "the rollout, running", body = Rollout), (status = 409, description = "not paused")))]
pub(crate) async fn resume_rollout(State(state): State<AppState>, ScopedCaller(caller): ScopedCaller, Path(path): Path<RolloutPath>) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(control(&state, &caller, &path, Control::Resume).await?))
}

/// Aborts a running or paused rollout where it stands: agents already told keep the version,
/// the others keep theirs (apply the previous version to bring everyone back).
#[utoipa::path(post, path = "/api/v1/clusters/{id}/rollouts/{rid}/abort", tag = "rollouts", params(RolloutPath),
    operation_id = "abort_rollout", responses((status = 200, description = "the rollout, aborted", body = Rollout), (status = 409, description = "already ended")))]
pub(crate) async fn abort_rollout(State(state): State<AppState>, ScopedCaller(caller): ScopedCaller, Path(path): Path<RolloutPath>) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(control(&state, &caller, &path, Control::Abort).await?))
}
