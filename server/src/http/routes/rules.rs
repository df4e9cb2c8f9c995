//! Traffic rules (`/api/v1/clusters/{id}/rules`): a cluster's WAF rules (fleet-core `rules`).
//! Each change commits one version with every rule rendered and, unless `?apply=false`, applies
//! it when nothing unapplied lies before it; an entries change touches only the rule's list file,
//! which agents take through the runtime API without a reload.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use fleet_core::rbac::Permission;
use fleet_core::rules::Rule;
use fleet_core::RuleChange;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{apply_change, ApplyQuery, ClusterPath};
use crate::errors::ApiResult;
use crate::http::auth::ScopedCaller;
use crate::http::extract::{Json, Path, Query, Raw};
use crate::http::AppState;

/// `/clusters/{id}/rules/{name}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct RulePath {
    /// Cluster id.
    id: i64,
    /// Rule name.
    name: String,
}

/// `POST .../rules/{name}/entries`: entries to add and to remove.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EntriesBody {
    /// Entries to add (CIDRs, or country codes for geo rules).
    #[serde(default)]
    entries: Vec<String>,
    /// Entries to remove.
    #[serde(default)]
    remove: Vec<String>,
}

/// A rule after a change, with the version that carries it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RuleChanged {
    /// The rule (absent after a delete).
    #[serde(flatten)]
    rule: Option<Rule>,
    /// The version with every rule rendered.
    version: i64,
    /// Whether that version is now the one agents run.
    applied: bool,
    /// Why it was not applied, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    not_applied: Option<String>,
}

async fn finish(state: &AppState, actor: &str, cluster_id: i64, change: RuleChange, apply: bool) -> ApiResult<RuleChanged> {
    state.metrics.version_committed();
    let version = change.committed.version.number;
    let not_applied = apply_change(state, actor, cluster_id, version, apply).await?;
    Ok(RuleChanged { rule: change.rule, version, applied: not_applied.is_none(), not_applied })
}

/// Each node's latest reading of a rate-limit rule's stick table (`show table fleet_rl_<name>`,
/// sent with the agent's heartbeat): keys tracked, keys over the limit now, the highest rate, and
/// when it was received. Empty for the other kinds: HAProxy 2.6 has no per-rule counter for them
/// that costs no sticky counter (fleet-core `rules::hits`).
#[utoipa::path(get, path = "/api/v1/clusters/{id}/rules/{name}/hits", tag = "rules", params(RulePath),
    responses((status = 200, description = "each node's latest reading", body = Vec<fleet_core::rules::NodeHits>), (status = 404, description = "no such cluster or rule")))]
pub(crate) async fn traffic_rule_hits(State(state): State<AppState>, ScopedCaller(caller): ScopedCaller, Path(path): Path<RulePath>) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.rule_hits(path.id, &path.name).await?))
}

/// Every rule of the cluster, in the order they run (priority, then name).
#[utoipa::path(get, path = "/api/v1/clusters/{id}/rules", tag = "rules", params(ClusterPath),
    responses((status = 200, description = "the rules", body = Vec<Rule>), (status = 404, description = "no such cluster")))]
pub(crate) async fn list_traffic_rules(State(state): State<AppState>, ScopedCaller(caller): ScopedCaller, Path(path): Path<ClusterPath>) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.rules(path.id).await?))
}

/// Adds a rule: one version with it rendered into its frontends, applied (see the module docs).
#[utoipa::path(post, path = "/api/v1/clusters/{id}/rules", tag = "rules", params(ClusterPath, ApplyQuery), request_body = Rule,
    responses((status = 201, description = "the rule and its version", body = RuleChanged),
        (status = 404, description = "no such cluster"),
        (status = 409, description = "the name is taken, or the cluster has no version yet"),
        (status = 422, description = "bad rule, or the configuration it makes is refused; nothing stored")))]
pub(crate) async fn create_traffic_rule(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<ClusterPath>,
    Query(query): Query<ApplyQuery>,
    Json(body): Json<Rule>,
) -> ApiResult<impl IntoResponse> {
    let user = caller.user(Permission::Write)?;
    let change = state.store.create_rule(user.into(), path.id, &body).await?;
    Ok((StatusCode::CREATED, axum::Json(finish(&state, &user.username, path.id, change, query.apply).await?)))
}

/// One rule.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/rules/{name}", tag = "rules", params(RulePath),
    responses((status = 200, description = "the rule", body = Rule), (status = 404, description = "no such cluster or rule")))]
pub(crate) async fn get_traffic_rule(State(state): State<AppState>, ScopedCaller(caller): ScopedCaller, Path(path): Path<RulePath>) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.rule(path.id, &path.name).await?))
}

/// Replaces a rule (same name): its region is rendered again.
#[utoipa::path(put, path = "/api/v1/clusters/{id}/rules/{name}", tag = "rules", params(RulePath, ApplyQuery), request_body = Rule,
    responses((status = 200, description = "the rule and its version", body = RuleChanged),
        (status = 404, description = "no such cluster or rule"),
        (status = 409, description = "the cluster has no version yet"),
        (status = 422, description = "bad rule, a different name, or the configuration it makes is refused")))]
pub(crate) async fn update_traffic_rule(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<RulePath>,
    Query(query): Query<ApplyQuery>,
    Json(body): Json<Rule>,
) -> ApiResult<impl IntoResponse> {
    let user = caller.user(Permission::Write)?;
    let change = state.store.update_rule(user.into(), path.id, &path.name, &body).await?;
    Ok(axum::Json(finish(&state, &user.username, path.id, change, query.apply).await?))
}

/// Deletes a rule: a version without it (with no rule left, the operator's text byte for byte).
#[utoipa::path(delete, path = "/api/v1/clusters/{id}/rules/{name}", tag = "rules", params(RulePath, ApplyQuery),
    responses((status = 200, description = "the version without the rule", body = RuleChanged),
        (status = 404, description = "no such cluster or rule"),
        (status = 409, description = "the cluster has no version yet"),
        (status = 422, description = "the configuration without it is refused")))]
pub(crate) async fn delete_traffic_rule(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<RulePath>,
    Query(query): Query<ApplyQuery>,
) -> ApiResult<impl IntoResponse> {
    let user = caller.user(Permission::Write)?;
    let change = state.store.delete_rule(user.into(), path.id, &path.name).await?;
    Ok(axum::Json(finish(&state, &user.username, path.id, change, query.apply).await?))
}

/// Adds `entries` to a list rule and removes `remove` (ip_allow, ip_deny: CIDRs; geo_block,
/// geo_allow: countries). Only the rule's list file changes, so agents apply the version
/// through HAProxy's runtime API (`add acl` / `del acl` via prepare/commit), without a reload.
#[utoipa::path(post, path = "/api/v1/clusters/{id}/rules/{name}/entries", tag = "rules", params(RulePath, ApplyQuery), request_body = EntriesBody,
    responses((status = 200, description = "the rule and its version", body = RuleChanged),
        (status = 404, description = "no such cluster or rule"),
        (status = 409, description = "the cluster has no version yet"),
        (status = 422, description = "not a list rule, or a bad entry")))]
pub(crate) async fn traffic_rule_entries(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<RulePath>,
    Query(query): Query<ApplyQuery>,
    Json(body): Json<EntriesBody>,
) -> ApiResult<impl IntoResponse> {
    let user = caller.user(Permission::Write)?;
    let change = state.store.rule_entries(user.into(), path.id, &path.name, &body.entries, &body.remove).await?;
    Ok(axum::Json(finish(&state, &user.username, path.id, change, query.apply).await?))
}

/// `PUT .../geo-map?path=`: where the map goes in the bundle.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct GeoMapQuery {
    /// The map's path in the bundle (`geo/countries.map` when not given, what geo rules read by default).
    #[serde(default = "default_geo_map")]
    path: String,
}

fn default_geo_map() -> String {
    "geo/countries.map".to_string()
}

/// Converts a DB-IP country CSV (`start_ip,end_ip,country_code` a line, IPv4 and IPv6) into the
/// `CIDR COUNTRY` map geo rules read with `src,map_ip(...)`, and stores it as a new version.
#[utoipa::path(put, path = "/api/v1/clusters/{id}/geo-map", tag = "rules", params(ClusterPath, GeoMapQuery),
    request_body(content = String, content_type = "text/csv", description = "the CSV"),
    responses((status = 200, description = "the new version", body = super::CommittedBody),
        (status = 404, description = "no such cluster"),
        (status = 409, description = "the cluster has no version yet"),
        (status = 422, description = "a line that is not a range and a country (its number named), or a bad path")))]
pub(crate) async fn put_geo_map(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<ClusterPath>,
    Query(query): Query<GeoMapQuery>,
    Raw(body): Raw,
) -> ApiResult<axum::response::Response> {
    let user = caller.user(Permission::Write)?;
    let csv = std::str::from_utf8(&body).map_err(|e| fleet_core::Error::invalid(format!("the CSV is not UTF-8: {e}")))?;
    let done = state.store.put_geo_map(user.into(), path.id, &query.path, csv).await?;
    Ok(super::committed(&state, StatusCode::OK, done))
}
