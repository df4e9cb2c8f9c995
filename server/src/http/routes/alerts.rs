//! Alerts (`/api/v1/alerts`): rules (admin to change, anyone signed in to read), silences, and
//! the alerts themselves, firing and past. Evaluation and notification run in fleet-core's
//! evaluator task.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use fleet_core::alerts::{AlertRule, NewAlertRule};
use fleet_core::rbac::Permission;
use fleet_core::Alert;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::errors::ApiResult;
use crate::http::auth::Caller;
use crate::http::extract::{Json, Path, Query};
use crate::http::AppState;

/// `/alerts/rules/{id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct RulePath {
    /// Rule id.
    id: i64,
}

/// `POST /alerts/rules/{id}/silence`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SilenceBody {
    /// Hold notifications back this many seconds from now (0 lifts the silence), at most 30 days.
    seconds: u64,
}

/// `GET /alerts?state=&limit=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AlertsQuery {
    /// `open` (pending and firing), `pending`, `firing`, `resolved` or `event`; absent: all.
    state: Option<String>,
    /// At most this many, newest first (default 100, at most 1000).
    limit: Option<i64>,
}

/// Every rule.
#[utoipa::path(get, path = "/api/v1/alerts/rules", tag = "alerts", responses((status = 200, description = "by name", body = Vec<AlertRule>)))]
pub(crate) async fn list_alert_rules(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.alert_rules().await?))
}

/// Creates a rule (admin).
#[utoipa::path(post, path = "/api/v1/alerts/rules", tag = "alerts", request_body = NewAlertRule,
    responses((status = 201, description = "the rule", body = AlertRule), (status = 409, description = "the name is taken"), (status = 422, description = "a bad field, named")))]
pub(crate) async fn create_alert_rule(State(state): State<AppState>, Caller(caller): Caller, Json(body): Json<NewAlertRule>) -> ApiResult<impl IntoResponse> {
    let admin = caller.user(Permission::Admin)?;
    Ok((StatusCode::CREATED, axum::Json(state.store.create_alert_rule(&admin.username, &body).await?)))
}

/// One rule.
#[utoipa::path(get, path = "/api/v1/alerts/rules/{id}", tag = "alerts", params(RulePath),
    responses((status = 200, description = "the rule", body = AlertRule), (status = 404, description = "no such rule")))]
pub(crate) async fn get_alert_rule(State(state): State<AppState>, Caller(caller): Caller, Path(path): Path<RulePath>) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.alert_rule(path.id).await?))
}

/// Replaces a rule (admin).
#[utoipa::path(put, path = "/api/v1/alerts/rules/{id}", tag = "alerts", params(RulePath), request_body = NewAlertRule,
    responses((status = 200, description = "the rule", body = AlertRule), (status = 404, description = "no such rule"),
        (status = 409, description = "the name is taken"), (status = 422, description = "a bad field, named")))]
pub(crate) async fn put_alert_rule(State(state): State<AppState>, Caller(caller): Caller, Path(path): Path<RulePath>, Json(body): Json<NewAlertRule>) -> ApiResult<impl IntoResponse> {
    let admin = caller.user(Permission::Admin)?;
    Ok(axum::Json(state.store.update_alert_rule(&admin.username, path.id, &body).await?))
}

/// Deletes a rule and its alerts (admin).
#[utoipa::path(delete, path = "/api/v1/alerts/rules/{id}", tag = "alerts", params(RulePath),
    responses((status = 204, description = "deleted"), (status = 404, description = "no such rule")))]
pub(crate) async fn delete_alert_rule(State(state): State<AppState>, Caller(caller): Caller, Path(path): Path<RulePath>) -> ApiResult<impl IntoResponse> {
    let admin = caller.user(Permission::Admin)?;
    state.store.delete_alert_rule(&admin.username, path.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Silences a rule's notifications for a while (operators may: it changes no configuration).
#[utoipa::path(post, path = "/api/v1/alerts/rules/{id}/silence", tag = "alerts", params(RulePath), request_body = SilenceBody,
    responses((status = 200, description = "the rule", body = AlertRule), (status = 404, description = "no such rule"), (status = 422, description = "more than 30 days")))]
pub(crate) async fn silence_alert_rule(State(state): State<AppState>, Caller(caller): Caller, Path(path): Path<RulePath>, Json(body): Json<SilenceBody>) -> ApiResult<impl IntoResponse> {
    let user = caller.user(Permission::Write)?;
    Ok(axum::Json(state.store.silence_alert_rule(&user.username, path.id, body.seconds).await?))
}

/// Alerts, newest first: firing ones and the history.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", params(AlertsQuery),
    responses((status = 200, description = "newest first", body = Vec<Alert>), (status = 422, description = "an unknown state")))]
pub(crate) async fn list_alerts(State(state): State<AppState>, Caller(caller): Caller, Query(query): Query<AlertsQuery>) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.alerts(query.state.as_deref(), query.limit.unwrap_or(100).clamp(1, 1000)).await?))
}
