//! Alerts (`/api/v1/alerts`): rules (a global admin to change, readers of their cluster or
//! global readers for fleet-wide ones to read), silences, and
//! the alerts themselves, firing and past. Evaluation and notification run in fleet-core's
//! evaluator task.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use fleet_core::alerts::{AlertRule, NewAlertRule};
use fleet_core::rbac::{Permission, Principal, Readable, Scope};
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
#[serde(deny_unknown_fields)]
pub(crate) struct AlertsQuery {
    /// `open` (pending and firing), `pending`, `firing`, `resolved` or `event`; absent: all.
    state: Option<String>,
    /// At most this many, newest first (default 100, at most 1000).
    limit: Option<i64>,
}

/// Every rule the caller may read: all with a global role, else those of its pools' clusters.
#[utoipa::path(get, path = "/api/v1/alerts/rules", tag = "alerts", responses((status = 200, description = "by name", body = Vec<AlertRule>)))]
pub(crate) async fn list_alert_rules(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult<impl IntoResponse> {
    let readable = state.store.readable(&caller).await?;
    let rules = state.store.alert_rules().await?.into_iter().filter(|r| readable.sees(r.rule.cluster_id));
    Ok(axum::Json(rules.collect::<Vec<_>>()))
}

/// Rule `id` when the caller may read it (403 for another pool's rule or a fleet-wide one
/// without a global role), with the caller as it acts on it: narrowed to the rule's cluster's
/// pool, or global for a fleet-wide rule.
async fn readable_rule(state: &AppState, caller: Principal, id: i64) -> ApiResult<(Principal, AlertRule)> {
    caller.reader()?;
    let rule = state.store.alert_rule(id).await?;
    let acting = match rule.rule.cluster_id {
        Some(cluster) => state.store.scoped(caller, Scope::Cluster(cluster)).await?,
        None => caller,
    };
    acting.user(Permission::Read)?;
    Ok((acting, rule))
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
    Ok(axum::Json(readable_rule(&state, caller, path.id).await?.1))
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

/// Silences a rule's notifications for a while (operators may: it changes no configuration; a
/// rule of one cluster with the role in its pool, a fleet-wide rule with a global role).
#[utoipa::path(post, path = "/api/v1/alerts/rules/{id}/silence", tag = "alerts", params(RulePath), request_body = SilenceBody,
    responses((status = 200, description = "the rule", body = AlertRule), (status = 404, description = "no such rule"), (status = 422, description = "more than 30 days")))]
pub(crate) async fn silence_alert_rule(State(state): State<AppState>, Caller(caller): Caller, Path(path): Path<RulePath>, Json(body): Json<SilenceBody>) -> ApiResult<impl IntoResponse> {
    let (acting, _) = readable_rule(&state, caller, path.id).await?;
    let user = acting.user(Permission::Write)?;
    Ok(axum::Json(state.store.silence_alert_rule(&user.username, path.id, body.seconds).await?))
}

/// Alerts, newest first: firing ones and the history; without a global role, only the alerts
/// of rules bound to the clusters of the caller's pools.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", params(AlertsQuery),
    responses((status = 200, description = "newest first", body = Vec<Alert>), (status = 422, description = "an unknown state")))]
pub(crate) async fn list_alerts(State(state): State<AppState>, Caller(caller): Caller, Query(query): Query<AlertsQuery>) -> ApiResult<impl IntoResponse> {
    let readable = state.store.readable(&caller).await?;
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    if readable == Readable::All {
        return Ok(axum::Json(state.store.alerts(query.state.as_deref(), limit).await?));
    }
    let rules: HashMap<i64, Option<i64>> = state.store.alert_rules().await?.into_iter().map(|r| (r.id, r.rule.cluster_id)).collect();
    let seen = |a: &Alert| rules.get(&a.rule_id).is_some_and(|cluster| readable.sees(*cluster));
    let alerts = state.store.alerts(query.state.as_deref(), 1000).await?.into_iter().filter(seen).take(usize::try_from(limit).unwrap_or(100));
    Ok(axum::Json(alerts.collect::<Vec<_>>()))
}
