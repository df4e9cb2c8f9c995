//! A cluster's agents and pending enrolments: list them, revoke an agent (its token stops at
//! once and it leaves the status), rotate an agent's token, revoke an unused enrolment.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use fleet_core::rbac::Permission;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ClusterPath;
use crate::errors::ApiResult;
use crate::http::auth::ScopedCaller;
use crate::http::extract::{Json, Path};
use crate::http::AppState;

/// The agents of a cluster with their last report.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/agents", tag = "agents", params(ClusterPath), responses((status = 200, description = "agents", body = Vec<fleet_core::Agent>)))]
pub(crate) async fn list_agents(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<ClusterPath>,
) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.agents(path.id).await?))
}

/// `/clusters/{id}/agents/{agent_id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct AgentPath {
    /// Cluster id.
    id: i64,
    /// Agent id.
    agent_id: i64,
}

/// Revokes an agent (admin): its token stops working at once; the node must enrol again.
#[utoipa::path(delete, path = "/api/v1/clusters/{id}/agents/{agent_id}", tag = "agents", params(AgentPath),
    responses((status = 204, description = "revoked"), (status = 404, description = "no such agent in this cluster")))]
pub(crate) async fn revoke_agent(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<AgentPath>,
) -> ApiResult<StatusCode> {
    let admin = caller.user(Permission::Admin)?;
    state.store.revoke_agent(&admin.username, path.id, path.agent_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /clusters/{id}/agents/{agent_id}/decommission`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(crate) struct DecommissionRequest {
    /// Also stop HAProxy on the node (the agent does it before it exits); false (the default)
    /// leaves HAProxy serving its current configuration.
    #[serde(default)]
    stop_haproxy: bool,
}

/// Decommissions an agent (admin): its token is revoked at once and kept as a tombstone, so
/// its next call answers 410 Gone with `stop_haproxy`; the agent then stops HAProxy when asked
/// and exits. Audited `agent.decommission`.
#[utoipa::path(post, path = "/api/v1/clusters/{id}/agents/{agent_id}/decommission", tag = "agents", params(AgentPath),
    request_body = DecommissionRequest,
    responses((status = 200, description = "decommissioned: what the agent will hear", body = fleet_core::wire::Decommission),
        (status = 404, description = "no such agent in this cluster")))]
pub(crate) async fn decommission_agent(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<AgentPath>,
    Json(body): Json<DecommissionRequest>,
) -> ApiResult<impl IntoResponse> {
    let admin = caller.user(Permission::Admin)?;
    let decommission = state.store.decommission_agent(&admin.username, path.id, path.agent_id, body.stop_haproxy).await?;
    Ok(axum::Json(decommission))
}

/// Gives an agent a new token (admin): `{agent, token}`, shown once; the old token stops at once.
#[utoipa::path(post, path = "/api/v1/clusters/{id}/agents/{agent_id}/token", tag = "agents", params(AgentPath),
    responses((status = 201, description = "the agent and its new token (shown once)", body = RotatedToken)))]
pub(crate) async fn rotate_agent_token(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<AgentPath>,
) -> ApiResult<impl IntoResponse> {
    let admin = caller.user(Permission::Admin)?;
    let (agent, token) = state.store.rotate_agent_token(&admin.username, path.id, path.agent_id).await?;
    Ok((StatusCode::CREATED, axum::Json(RotatedToken { agent, token })))
}

/// An agent's new token.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RotatedToken {
    /// The agent.
    agent: fleet_core::Agent,
    /// Its new bearer token (the old one stops working).
    token: String,
}

/// The enrolments of a cluster that can still be used (admin; secrets are never shown again).
#[utoipa::path(get, path = "/api/v1/clusters/{id}/enrollments", tag = "agents", params(ClusterPath),
    responses((status = 200, description = "pending enrolments", body = Vec<fleet_core::Enrolment>)))]
pub(crate) async fn list_enrolments(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<ClusterPath>,
) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Admin)?;
    Ok(axum::Json(state.store.pending_enrolments(path.id).await?))
}

/// `/clusters/{id}/enrollments/{enrolment_id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct EnrolmentPath {
    /// Cluster id.
    id: i64,
    /// Enrolment id.
    enrolment_id: i64,
}

/// Revokes an unused enrolment (admin): its secret stops working.
#[utoipa::path(delete, path = "/api/v1/clusters/{id}/enrollments/{enrolment_id}", tag = "agents", params(EnrolmentPath),
    responses((status = 204, description = "revoked"), (status = 404, description = "no such pending enrolment")))]
pub(crate) async fn revoke_enrolment(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<EnrolmentPath>,
) -> ApiResult<StatusCode> {
    let admin = caller.user(Permission::Admin)?;
    state.store.revoke_enrolment(&admin.username, path.id, path.enrolment_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
