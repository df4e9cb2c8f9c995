//! Virtual IPs (`/api/v1/clusters/{id}/vips`): a cluster's VRRP groups. Each change commits one
//! version carrying every node's keepalived.conf (fleet-core `vip`) and, unless `?apply=false`,
//! applies it when nothing unapplied lies before it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use fleet_core::rbac::Permission;
use fleet_core::vip::{NewVip, Vip};
use fleet_core::VipChange;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{apply_change, ApplyQuery, ClusterPath};
use crate::errors::ApiResult;
use crate::http::auth::ScopedCaller;
use crate::http::extract::{Json, Path, Query};
use crate::http::AppState;

/// `/clusters/{id}/vips/{vip_id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct VipPath {
    /// Cluster id.
    id: i64,
    /// VIP id.
    vip_id: i64,
}

/// `POST .../failover`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FailoverBody {
    /// The agent that should hold the addresses.
    to: String,
}

/// A group after a change, with the version that carries it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VipChanged {
    /// The group (absent after a delete).
    #[serde(flatten)]
    vip: Option<Vip>,
    /// The version with every node's keepalived.conf.
    version: i64,
    /// Whether that version is now the one agents run.
    applied: bool,
    /// Why it was not applied, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    not_applied: Option<String>,
}

async fn finish(state: &AppState, actor: &str, cluster_id: i64, change: VipChange, apply: bool) -> ApiResult<VipChanged> {
    state.metrics.version_committed();
    let version = change.committed.version.number;
    let not_applied = apply_change(state, actor, cluster_id, version, apply).await?;
    Ok(VipChanged { vip: change.vip, version, applied: not_applied.is_none(), not_applied })
}

/// Every VRRP group of the cluster (no secrets).
#[utoipa::path(get, path = "/api/v1/clusters/{id}/vips", tag = "vips", params(ClusterPath),
    responses((status = 200, description = "the groups, by name", body = Vec<Vip>)))]
pub(crate) async fn list_vips(State(state): State<AppState>, ScopedCaller(caller): ScopedCaller, Path(path): Path<ClusterPath>) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.vips(path.id).await?))
}

/// Creates a VRRP group: one version with every node's keepalived.conf, applied (see the
/// module docs). The auth secret is sealed and never returned.
#[utoipa::path(post, path = "/api/v1/clusters/{id}/vips", tag = "vips", params(ClusterPath, ApplyQuery), request_body = NewVip,
    responses((status = 201, description = "the group and its version", body = VipChanged),
        (status = 409, description = "the name is taken, or a node's keepalived.conf is managed as text"),
        (status = 422, description = "bad group, or an agent has not reported what its file needs; nothing stored")))]
pub(crate) async fn create_vip(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<ClusterPath>,
    Query(query): Query<ApplyQuery>,
    Json(body): Json<NewVip>,
) -> ApiResult<impl IntoResponse> {
    let user = caller.user(Permission::Write)?;
    let change = state.store.create_vip(user.into(), &state.keyring, path.id, &body).await?;
    Ok((StatusCode::CREATED, axum::Json(finish(&state, &user.username, path.id, change, query.apply).await?)))
}

/// One VRRP group.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/vips/{vip_id}", tag = "vips", params(VipPath),
    responses((status = 200, description = "the group", body = Vip)))]
pub(crate) async fn get_vip(State(state): State<AppState>, ScopedCaller(caller): ScopedCaller, Path(path): Path<VipPath>) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.vip(path.id, path.vip_id).await?))
}

/// Replaces a VRRP group (an absent `auth_secret` keeps the stored one; `""` removes it).
#[utoipa::path(put, path = "/api/v1/clusters/{id}/vips/{vip_id}", tag = "vips", params(VipPath, ApplyQuery), request_body = NewVip,
    responses((status = 200, description = "the group and its version", body = VipChanged),
        (status = 409, description = "the name is taken, or a node's keepalived.conf is managed as text"),
        (status = 422, description = "bad group; nothing changed")))]
pub(crate) async fn update_vip(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<VipPath>,
    Query(query): Query<ApplyQuery>,
    Json(body): Json<NewVip>,
) -> ApiResult<impl IntoResponse> {
    let user = caller.user(Permission::Write)?;
    let change = state.store.update_vip(user.into(), &state.keyring, path.id, path.vip_id, &body).await?;
    Ok(axum::Json(finish(&state, &user.username, path.id, change, query.apply).await?))
}

/// Deletes a VRRP group: a version without it in any node's keepalived.conf.
#[utoipa::path(delete, path = "/api/v1/clusters/{id}/vips/{vip_id}", tag = "vips", params(VipPath, ApplyQuery),
    responses((status = 200, description = "the version without the group", body = VipChanged),
        (status = 409, description = "a node's keepalived.conf is managed as text")))]
pub(crate) async fn delete_vip(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<VipPath>,
    Query(query): Query<ApplyQuery>,
) -> ApiResult<impl IntoResponse> {
    let user = caller.user(Permission::Write)?;
    let change = state.store.delete_vip(user.into(), &state.keyring, path.id, path.vip_id).await?;
    Ok(axum::Json(finish(&state, &user.username, path.id, change, query.apply).await?))
}

/// Moves the group's addresses to agent `to` by giving it the highest priority (preemption
/// does the move once the version runs).
#[utoipa::path(post, path = "/api/v1/clusters/{id}/vips/{vip_id}/failover", tag = "vips", params(VipPath, ApplyQuery), request_body = FailoverBody,
    responses((status = 200, description = "the group and its version", body = VipChanged),
        (status = 409, description = "preempt is off, or the agent already has the highest priority"),
        (status = 422, description = "the agent is not a node of the group")))]
pub(crate) async fn failover_vip(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<VipPath>,
    Query(query): Query<ApplyQuery>,
    Json(body): Json<FailoverBody>,
) -> ApiResult<impl IntoResponse> {
    let user = caller.user(Permission::Write)?;
    let change = state.store.fail_over_vip(user.into(), &state.keyring, path.id, path.vip_id, &body.to).await?;
    Ok(axum::Json(finish(&state, &user.username, path.id, change, query.apply).await?))
}
