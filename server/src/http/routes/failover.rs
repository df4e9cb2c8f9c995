//! DNS failover of a pool (`/api/v1/pools/{id}/failover`): settings (admin), the record's
//! target and members' health, manual moves (activate, cutover), the timeline. The decisions
//! themselves run in fleet-core's decider task.

use axum::extract::State;
use axum::response::IntoResponse;
use fleet_core::failover::settings::{FailoverEvent, FailoverSettings, PoolFailover};
use fleet_core::rbac::Permission;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::clusters::PoolPath;
use crate::errors::ApiResult;
use crate::http::auth::{Caller, ScopedCaller};
use crate::http::extract::{Json, Path, Query};
use crate::http::AppState;

/// `POST .../failover/activate`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActivateBody {
    /// The member (agent name) the record should point at.
    agent: String,
}

/// `?limit=` of the timeline.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventsQuery {
    /// At most this many, newest first (default 100, at most 1000).
    limit: Option<i64>,
}

/// The pool's failover: settings, active member, members' health, and what the provider's
/// server answers for the hostname now.
#[utoipa::path(get, path = "/api/v1/pools/{id}/failover", tag = "failover", params(PoolPath),
    responses((status = 200, description = "the pool's failover", body = PoolFailover), (status = 404, description = "no failover for this pool")))]
pub(crate) async fn get_failover(State(state): State<AppState>, ScopedCaller(caller): ScopedCaller, Path(path): Path<PoolPath>) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.failover(path.id).await?))
}

/// Sets the pool's failover (a global admin: the settings put a DNS provider's credentials,
/// which are fleet-wide, to work for this pool's hostname); with `active`, that member is made
/// active now.
#[utoipa::path(put, path = "/api/v1/pools/{id}/failover", tag = "failover", params(PoolPath), request_body = FailoverSettings,
    responses((status = 200, description = "the pool's failover", body = PoolFailover),
        (status = 409, description = "`active` given and the DNS server refused the update or could not be reached (nothing is stored, the record is left as it was)"),
        (status = 422, description = "bad settings, an unknown provider, a hostname outside its zone, or a member without an address")))]
pub(crate) async fn put_failover(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<PoolPath>,
    Json(body): Json<FailoverSettings>,
) -> ApiResult<impl IntoResponse> {
    let admin = caller.user(Permission::Admin)?;
    Ok(axum::Json(state.store.put_failover(&admin.username, &state.keyring, path.id, &body).await?))
}

/// Points the record at `agent` now (audited); it becomes the member fail-back returns to.
#[utoipa::path(post, path = "/api/v1/pools/{id}/failover/activate", tag = "failover", params(PoolPath), request_body = ActivateBody,
    responses((status = 200, description = "the pool's failover", body = PoolFailover),
        (status = 409, description = "the pool has no failover yet, or the DNS server refused the update or could not be reached (the record is left as it was)"),
        (status = 422, description = "not a member, or no address for a record type")))]
pub(crate) async fn activate(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<PoolPath>,
    Json(body): Json<ActivateBody>,
) -> ApiResult<impl IntoResponse> {
    let user = caller.user(Permission::Write)?;
    let why = format!("made active by {}", user.username);
    state.store.activate(&user.username, &state.keyring, path.id, &body.agent, &why).await?;
    Ok(axum::Json(state.store.failover(path.id).await?))
}

/// Points the record at the next ready standby (healthy, with an address), audited.
#[utoipa::path(post, path = "/api/v1/pools/{id}/failover/cutover", tag = "failover", params(PoolPath),
    responses((status = 200, description = "the pool's failover", body = PoolFailover), (status = 409, description = "the pool has no failover yet, no ready standby, or the DNS update failed")))]
pub(crate) async fn cutover(State(state): State<AppState>, ScopedCaller(caller): ScopedCaller, Path(path): Path<PoolPath>) -> ApiResult<impl IntoResponse> {
    let user = caller.user(Permission::Write)?;
    Ok(axum::Json(state.store.cut_over(&user.username, &state.keyring, path.id).await?))
}

/// The timeline: detections, decisions, DNS updates and their errors, manual moves.
#[utoipa::path(get, path = "/api/v1/pools/{id}/failover/events", tag = "failover", params(PoolPath, EventsQuery),
    responses((status = 200, description = "newest first; empty for a pool without failover", body = Vec<FailoverEvent>), (status = 404, description = "no such pool")))]
pub(crate) async fn events(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<PoolPath>,
    Query(query): Query<EventsQuery>,
) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.failover_events(path.id, query.limit.unwrap_or(100).clamp(1, 1000)).await?))
}
