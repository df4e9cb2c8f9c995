//! Whole configuration texts and versions: import, read, replace, list, diff, restore.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fleet_core::rbac::Permission;
use fleet_core::TextAt;
use serde::Deserialize;
use utoipa::IntoParams;

use axum::http::HeaderMap;

use super::files::{import_tar, TarImportQuery};
use super::{committed, ClusterPath, CommittedBody, MessageQuery};
use crate::errors::ApiResult;
use crate::http::auth::ScopedCaller;
use crate::http::extract::{required, Path, Query, Raw, Text};
use crate::http::AppState;

/// Imports the next version: a configuration as the first config file, byte for byte
/// (`text/plain`; the other files of the latest version stay), or a whole managed directory as
/// a tar archive (`application/x-tar`, `?configs=` names the config files in load order).
#[utoipa::path(post, path = "/api/v1/clusters/{id}/import", tag = "config", params(ClusterPath, TarImportQuery),
    request_body(content((Option<String> = "text/plain"), (Option<Vec<u8>> = "application/x-tar")), description = "an empty body is an empty configuration"),
    responses((status = 201, description = "the new version", body = CommittedBody), (status = 422, description = "errors, with line and column")))]
pub(crate) async fn import(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<ClusterPath>,
    Query(query): Query<TarImportQuery>,
    headers: HeaderMap,
    Raw(body): Raw,
) -> ApiResult<Response> {
    let tar = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/x-tar"));
    if tar {
        return import_tar(&state, &caller, path.id, &query, &body).await;
    }
    let user = caller.user(Permission::Write)?;
    let text = std::str::from_utf8(&body)
        .map_err(|e| crate::errors::ApiError::bad_request(format!("the body is not UTF-8 text (invalid byte at offset {})", e.valid_up_to())))?;
    let done = state.store.import(user.into(), path.id, text, &query.message).await?;
    Ok(committed(&state, StatusCode::CREATED, done))
}

/// `?version=N`: which version to read (default: the latest).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct VersionQuery {
    /// A version number.
    version: Option<i64>,
}

/// `?version=N&message=...`: the base of a whole-text replace.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct BaseQuery {
    /// The version the text was edited from: it must be the latest (409 otherwise). Read as
    /// optional so a missing one is reported after the permission check, as a 400.
    #[param(required = true)]
    version: Option<i64>,
    /// Why.
    #[serde(default)]
    message: String,
}

/// The text of the latest version (or `?version=N`), exactly as stored.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/config", tag = "config", params(ClusterPath, VersionQuery),
    responses((status = 200, description = "the configuration", body = String, content_type = "text/plain")))]
pub(crate) async fn get_config(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<ClusterPath>,
    Query(query): Query<VersionQuery>,
) -> ApiResult<Response> {
    caller.user(Permission::Read)?;
    let at = query.version.map_or(TextAt::Latest, TextAt::Version);
    let text = state.store.text_at(path.id, at).await?;
    Ok(([(CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}

/// Replaces the whole text; `version` must be the latest (409 otherwise).
#[utoipa::path(put, path = "/api/v1/clusters/{id}/config", tag = "config", params(ClusterPath, BaseQuery),
    request_body(content = Option<String>, content_type = "text/plain", description = "an empty body is an empty configuration"),
    responses((status = 200, description = "the new version", body = CommittedBody), (status = 409, description = "stale base version")))]
pub(crate) async fn put_config(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<ClusterPath>,
    Query(query): Query<BaseQuery>,
    Text(text): Text,
) -> ApiResult<Response> {
    let user = caller.user(Permission::Write)?;
    let base = required(query.version, "version")?;
    let done = state.store.replace(user.into(), path.id, base, &text, &query.message).await?;
    Ok(committed(&state, StatusCode::OK, done))
}

/// Every version, oldest first, without texts.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/versions", tag = "config", params(ClusterPath), responses((status = 200, description = "versions", body = Vec<fleet_core::VersionInfo>)))]
pub(crate) async fn list_versions(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<ClusterPath>,
) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.versions(path.id).await?))
}

/// `/clusters/{id}/versions/{n}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct VersionPath {
    /// Cluster id.
    id: i64,
    /// Version number.
    n: i64,
}

/// One version with its text.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/versions/{n}", tag = "config", params(VersionPath), responses((status = 200, description = "the version", body = fleet_core::ConfigVersion)))]
pub(crate) async fn get_version(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<VersionPath>,
) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.version(path.id, path.n).await?))
}

/// `?against=m`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct DiffQuery {
    /// The version to compare with (default: n - 1; 0 is the empty text).
    against: Option<i64>,
}

/// What changed from version `against` to version `n`: `{unified, summary}`.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/versions/{n}/diff", tag = "config", params(VersionPath, DiffQuery),
    responses((status = 200, description = "the first config file's unified diff and summary, and every file that differs", body = fleet_core::bundle::BundleDiff)))]
pub(crate) async fn diff(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<VersionPath>,
    Query(query): Query<DiffQuery>,
) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.diff_versions(path.id, path.n, query.against).await?))
}

/// Makes a new version carrying version `n`'s text.
#[utoipa::path(post, path = "/api/v1/clusters/{id}/versions/{n}/restore", tag = "config", params(VersionPath, MessageQuery),
    responses((status = 201, description = "the new version", body = CommittedBody)))]
pub(crate) async fn restore(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<VersionPath>,
    Query(query): Query<MessageQuery>,
) -> ApiResult<Response> {
    let user = caller.user(Permission::Write)?;
    let done = state.store.restore(user.into(), path.id, path.n, &query.message).await?;
    Ok(committed(&state, StatusCode::CREATED, done))
}
