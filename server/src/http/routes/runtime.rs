//! Runtime actions (see `fleet_core::runtime`): an operator queues drain / ready / maint /
//! weight for a server of a cluster; every agent of the cluster fetches what it has not run,
//! runs it on its HAProxy's runtime API (no reload) and posts its result.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use fleet_core::rbac::Permission;
use fleet_core::runtime::{ActionOutcome, RuntimeRequest};
use serde::Deserialize;
use utoipa::IntoParams;

use super::ClusterPath;
use crate::errors::ApiResult;
use crate::http::auth::{Caller, ScopedCaller};
use crate::http::extract::{Json, Path};
use crate::http::AppState;

/// Queues a runtime action for every agent of the cluster: `{backend, server, action, value?}`
/// with action `drain`, `ready`, `maint` or `weight` (value 0..256).
#[utoipa::path(post, path = "/api/v1/clusters/{id}/runtime", tag = "runtime", params(ClusterPath),
    operation_id = "queue_runtime_action", request_body = RuntimeRequest,
    responses((status = 201, description = "the queued action", body = fleet_core::runtime::RuntimeAction), (status = 422, description = "invalid action")))]
pub(crate) async fn queue(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<ClusterPath>,
    Json(body): Json<RuntimeRequest>,
) -> ApiResult<impl IntoResponse> {
    let user = caller.user(Permission::Write)?;
    let action = state.store.queue_runtime_action(&user.username, path.id, body).await?;
    Ok((StatusCode::CREATED, axum::Json(action)))
}

/// `/clusters/{id}/runtime/{action_id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct ActionPath {
    /// Cluster id.
    id: i64,
    /// Action id.
    action_id: i64,
}

/// One runtime action with every agent's result so far.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/runtime/{action_id}", tag = "runtime", params(ActionPath),
    operation_id = "get_runtime_action", responses((status = 200, description = "the action and its per-agent results", body = fleet_core::runtime::RuntimeAction)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<ActionPath>,
) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.runtime_action(path.id, path.action_id).await?))
}

/// The runtime actions this agent has not run yet, oldest first.
#[utoipa::path(get, path = "/api/v1/agent/runtime", tag = "agent", operation_id = "pending_runtime_actions", responses((status = 200, description = "pending actions", body = Vec<fleet_core::runtime::RuntimeAction>)))]
pub(crate) async fn pending(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult<impl IntoResponse> {
    let agent = caller.agent()?;
    Ok(axum::Json(state.store.pending_runtime_actions(agent.id).await?))
}

/// Records this agent's results: `[{action_id, ok, output}]`.
#[utoipa::path(post, path = "/api/v1/agent/runtime/results", tag = "agent",
    operation_id = "record_runtime_results", request_body = Vec<ActionOutcome>, responses((status = 204, description = "recorded")))]
pub(crate) async fn results(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Json(body): Json<Vec<ActionOutcome>>,
) -> ApiResult<StatusCode> {
    let agent = caller.agent()?;
    state.store.record_runtime_results(agent.id, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}
