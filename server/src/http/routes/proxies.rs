//! Backends (with servers) and frontends (with binds, ACLs and rules).
//!
//! Reads take `?version=N` (that version), `?transaction_id=T` (what T would commit) or nothing
//! (the latest version). Writes need `?transaction_id=T` and stage one typed edit op in T; the
//! body is that op's fields (see fleet-core's `EditOp`), the path supplies the names.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use fleet_core::rbac::{Permission, Principal};
use fleet_core::read::{self, Part, ProxyKind};
use fleet_core::TextAt;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::IntoParams;

use super::{edit_op, ClusterPath};
use crate::errors::{ApiError, ApiResult};
use crate::http::auth::Caller;
use crate::http::extract::{required, Json, Path, Query};
use crate::http::AppState;

/// Which text a read addresses.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AtQuery {
    /// Read this version.
    version: Option<i64>,
    /// Read what this open transaction would commit.
    transaction_id: Option<i64>,
}

impl AtQuery {
    fn at(&self) -> Result<TextAt, ApiError> {
        match (self.version, self.transaction_id) {
            (Some(_), Some(_)) => Err(ApiError::bad_request("give version or transaction_id, not both")),
            (Some(n), None) => Ok(TextAt::Version(n)),
            (None, Some(t)) => Ok(TextAt::Transaction(t)),
            (None, None) => Ok(TextAt::Latest),
        }
    }
}

/// The transaction a write stages its op in.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct StageQuery {
    /// An open transaction of this cluster (required).
    transaction_id: Option<i64>,
}

async fn read_text<T: Serialize>(
    state: &AppState,
    caller: &Principal,
    cluster_id: i64,
    at: &AtQuery,
    read: impl FnOnce(&str) -> fleet_core::Result<T>,
) -> ApiResult<axum::Json<T>> {
    caller.user(Permission::Read)?;
    let text = state.store.text_at(cluster_id, at.at()?).await?;
    Ok(axum::Json(read(&text)?))
}

async fn stage(
    state: &AppState,
    caller: &Principal,
    cluster_id: i64,
    query: &StageQuery,
    op: Result<fleet_core::EditOp, ApiError>,
    status: StatusCode,
) -> ApiResult<impl IntoResponse> {
    let user = caller.user(Permission::Write)?;
    let transaction_id = required(query.transaction_id, "transaction_id")?;
    let transaction = state.store.stage_in(&user.username, cluster_id, transaction_id, vec![op?]).await?;
    Ok((status, axum::Json(transaction)))
}

/// `/clusters/{id}/backends/{name}` and `/clusters/{id}/frontends/{name}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct ProxyPath {
    /// Cluster id.
    id: i64,
    /// Proxy name.
    name: String,
}

/// `/clusters/{id}/backends/{name}/servers/{server}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct ServerPath {
    /// Cluster id.
    id: i64,
    /// Backend name.
    name: String,
    /// Server name.
    server: String,
}

/// Every backend and listen section.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/backends", tag = "backends", params(ClusterPath, AtQuery),
    responses((status = 200, description = "sections with typed directives")))]
pub(crate) async fn list_backends(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<ClusterPath>,
    Query(at): Query<AtQuery>,
) -> ApiResult<impl IntoResponse> {
    read_text(&state, &caller, path.id, &at, |t| Ok(read::proxies(t, ProxyKind::Backend))).await
}

/// Stages `add_backend` (`{name, from?, lines?}`).
#[utoipa::path(post, path = "/api/v1/clusters/{id}/backends", tag = "backends", params(ClusterPath, StageQuery),
    request_body(content = Object, description = "{name, from?, lines?}"), responses((status = 201, description = "the transaction")))]
pub(crate) async fn add_backend(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<ClusterPath>,
    Query(query): Query<StageQuery>,
    Json(body): Json<Value>,
) -> ApiResult<impl IntoResponse> {
    stage(&state, &caller, path.id, &query, edit_op("add_backend", body, &[]), StatusCode::CREATED).await
}

/// One backend.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/backends/{name}", tag = "backends", params(ProxyPath, AtQuery),
    responses((status = 200, description = "the section")))]
pub(crate) async fn get_backend(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<ProxyPath>,
    Query(at): Query<AtQuery>,
) -> ApiResult<impl IntoResponse> {
    read_text(&state, &caller, path.id, &at, |t| read::proxy(t, ProxyKind::Backend, &path.name)).await
}

/// Stages `update_backend` (`{rename?, from?}`).
#[utoipa::path(put, path = "/api/v1/clusters/{id}/backends/{name}", tag = "backends", params(ProxyPath, StageQuery),
    request_body(content = Object, description = "{rename?, from?}"), responses((status = 200, description = "the transaction")))]
pub(crate) async fn update_backend(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<ProxyPath>,
    Query(query): Query<StageQuery>,
    Json(body): Json<Value>,
) -> ApiResult<impl IntoResponse> {
    let op = edit_op("update_backend", body, &[("name", json!(path.name))]);
    stage(&state, &caller, path.id, &query, op, StatusCode::OK).await
}

/// Stages `delete_backend`.
#[utoipa::path(delete, path = "/api/v1/clusters/{id}/backends/{name}", tag = "backends", params(ProxyPath, StageQuery),
    responses((status = 200, description = "the transaction")))]
pub(crate) async fn delete_backend(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<ProxyPath>,
    Query(query): Query<StageQuery>,
) -> ApiResult<impl IntoResponse> {
    let op = edit_op("delete_backend", Value::Null, &[("name", json!(path.name))]);
    stage(&state, &caller, path.id, &query, op, StatusCode::OK).await
}

/// The servers of a backend.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/backends/{name}/servers", tag = "backends", params(ProxyPath, AtQuery),
    responses((status = 200, description = "server directives")))]
pub(crate) async fn list_servers(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<ProxyPath>,
    Query(at): Query<AtQuery>,
) -> ApiResult<impl IntoResponse> {
    read_text(&state, &caller, path.id, &at, |t| read::parts(t, ProxyKind::Backend, &path.name, Part::Servers)).await
}

/// Stages `add_server` (`{name, address, weight?, backup?, disabled?, params?}`).
#[utoipa::path(post, path = "/api/v1/clusters/{id}/backends/{name}/servers", tag = "backends", params(ProxyPath, StageQuery),
    request_body(content = Object, description = "{name, address, weight?, backup?, disabled?, params?}"),
    responses((status = 201, description = "the transaction")))]
pub(crate) async fn add_server(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<ProxyPath>,
    Query(query): Query<StageQuery>,
    Json(body): Json<Value>,
) -> ApiResult<impl IntoResponse> {
    let op = edit_op("add_server", body, &[("backend", json!(path.name))]);
    stage(&state, &caller, path.id, &query, op, StatusCode::CREATED).await
}

/// One server.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/backends/{name}/servers/{server}", tag = "backends", params(ServerPath, AtQuery),
    responses((status = 200, description = "the server directive")))]
pub(crate) async fn get_server(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<ServerPath>,
    Query(at): Query<AtQuery>,
) -> ApiResult<impl IntoResponse> {
    read_text(&state, &caller, path.id, &at, |t| read::server(t, &path.name, &path.server)).await
}

/// Stages `update_server` (`{address?, weight?, backup?, disabled?, params?}`).
#[utoipa::path(put, path = "/api/v1/clusters/{id}/backends/{name}/servers/{server}", tag = "backends", params(ServerPath, StageQuery),
    request_body(content = Object, description = "{address?, weight?, backup?, disabled?, params?}"),
    responses((status = 200, description = "the transaction")))]
pub(crate) async fn update_server(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<ServerPath>,
    Query(query): Query<StageQuery>,
    Json(body): Json<Value>,
) -> ApiResult<impl IntoResponse> {
    let op = edit_op("update_server", body, &[("backend", json!(path.name)), ("name", json!(path.server))]);
    stage(&state, &caller, path.id, &query, op, StatusCode::OK).await
}

/// Stages `delete_server`.
#[utoipa::path(delete, path = "/api/v1/clusters/{id}/backends/{name}/servers/{server}", tag = "backends", params(ServerPath, StageQuery),
    responses((status = 200, description = "the transaction")))]
pub(crate) async fn delete_server(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<ServerPath>,
    Query(query): Query<StageQuery>,
) -> ApiResult<impl IntoResponse> {
    let op = edit_op("delete_server", Value::Null, &[("backend", json!(path.name)), ("name", json!(path.server))]);
    stage(&state, &caller, path.id, &query, op, StatusCode::OK).await
}

/// Every frontend and listen section.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/frontends", tag = "frontends", params(ClusterPath, AtQuery),
    responses((status = 200, description = "sections with typed directives")))]
pub(crate) async fn list_frontends(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<ClusterPath>,
    Query(at): Query<AtQuery>,
) -> ApiResult<impl IntoResponse> {
    read_text(&state, &caller, path.id, &at, |t| Ok(read::proxies(t, ProxyKind::Frontend))).await
}

/// Stages `add_frontend` (`{name, from?, lines?}`).
#[utoipa::path(post, path = "/api/v1/clusters/{id}/frontends", tag = "frontends", params(ClusterPath, StageQuery),
    request_body(content = Object, description = "{name, from?, lines?}"), responses((status = 201, description = "the transaction")))]
pub(crate) async fn add_frontend(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<ClusterPath>,
    Query(query): Query<StageQuery>,
    Json(body): Json<Value>,
) -> ApiResult<impl IntoResponse> {
    stage(&state, &caller, path.id, &query, edit_op("add_frontend", body, &[]), StatusCode::CREATED).await
}

/// One frontend.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/frontends/{name}", tag = "frontends", params(ProxyPath, AtQuery),
    responses((status = 200, description = "the section")))]
pub(crate) async fn get_frontend(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<ProxyPath>,
    Query(at): Query<AtQuery>,
) -> ApiResult<impl IntoResponse> {
    read_text(&state, &caller, path.id, &at, |t| read::proxy(t, ProxyKind::Frontend, &path.name)).await
}

/// Stages `update_frontend` (`{rename?, from?}`).
#[utoipa::path(put, path = "/api/v1/clusters/{id}/frontends/{name}", tag = "frontends", params(ProxyPath, StageQuery),
    request_body(content = Object, description = "{rename?, from?}"), responses((status = 200, description = "the transaction")))]
pub(crate) async fn update_frontend(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<ProxyPath>,
    Query(query): Query<StageQuery>,
    Json(body): Json<Value>,
) -> ApiResult<impl IntoResponse> {
    let op = edit_op("update_frontend", body, &[("name", json!(path.name))]);
    stage(&state, &caller, path.id, &query, op, StatusCode::OK).await
}

/// Stages `delete_frontend`.
#[utoipa::path(delete, path = "/api/v1/clusters/{id}/frontends/{name}", tag = "frontends", params(ProxyPath, StageQuery),
    responses((status = 200, description = "the transaction")))]
pub(crate) async fn delete_frontend(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<ProxyPath>,
    Query(query): Query<StageQuery>,
) -> ApiResult<impl IntoResponse> {
    let op = edit_op("delete_frontend", Value::Null, &[("name", json!(path.name))]);
    stage(&state, &caller, path.id, &query, op, StatusCode::OK).await
}

/// The binds of a frontend.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/frontends/{name}/binds", tag = "frontends", params(ProxyPath, AtQuery),
    responses((status = 200, description = "bind directives")))]
pub(crate) async fn list_binds(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<ProxyPath>,
    Query(at): Query<AtQuery>,
) -> ApiResult<impl IntoResponse> {
    read_text(&state, &caller, path.id, &at, |t| read::parts(t, ProxyKind::Frontend, &path.name, Part::Binds)).await
}

/// Stages `add_bind` (`{address, params?}`).
#[utoipa::path(post, path = "/api/v1/clusters/{id}/frontends/{name}/binds", tag = "frontends", params(ProxyPath, StageQuery),
    request_body(content = Object, description = "{address, params?}"), responses((status = 201, description = "the transaction")))]
pub(crate) async fn add_bind(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<ProxyPath>,
    Query(query): Query<StageQuery>,
    Json(body): Json<Value>,
) -> ApiResult<impl IntoResponse> {
    let op = edit_op("add_bind", body, &[("frontend", json!(path.name))]);
    stage(&state, &caller, path.id, &query, op, StatusCode::CREATED).await
}

/// `/clusters/{id}/frontends/{name}/binds/{address}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct BindPath {
    /// Cluster id.
    id: i64,
    /// Frontend name.
    name: String,
    /// The bind's address (URL-encoded).
    address: String,
}

/// Stages `delete_bind`.
#[utoipa::path(delete, path = "/api/v1/clusters/{id}/frontends/{name}/binds/{address}", tag = "frontends", params(BindPath, StageQuery),
    responses((status = 200, description = "the transaction")))]
pub(crate) async fn delete_bind(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<BindPath>,
    Query(query): Query<StageQuery>,
) -> ApiResult<impl IntoResponse> {
    let op = edit_op("delete_bind", Value::Null, &[("frontend", json!(path.name)), ("address", json!(path.address))]);
    stage(&state, &caller, path.id, &query, op, StatusCode::OK).await
}

/// The ACLs of a frontend.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/frontends/{name}/acls", tag = "frontends", params(ProxyPath, AtQuery),
    responses((status = 200, description = "acl directives")))]
pub(crate) async fn list_acls(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<ProxyPath>,
    Query(at): Query<AtQuery>,
) -> ApiResult<impl IntoResponse> {
    read_text(&state, &caller, path.id, &at, |t| read::parts(t, ProxyKind::Frontend, &path.name, Part::Acls)).await
}

/// Stages `add_acl` (`{name, words}`).
#[utoipa::path(post, path = "/api/v1/clusters/{id}/frontends/{name}/acls", tag = "frontends", params(ProxyPath, StageQuery),
    request_body(content = Object, description = "{name, words}"), responses((status = 201, description = "the transaction")))]
pub(crate) async fn add_acl(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<ProxyPath>,
    Query(query): Query<StageQuery>,
    Json(body): Json<Value>,
) -> ApiResult<impl IntoResponse> {
    let op = edit_op("add_acl", body, &[("proxy", json!(path.name))]);
    stage(&state, &caller, path.id, &query, op, StatusCode::CREATED).await
}

/// `/clusters/{id}/frontends/{name}/acls/{acl}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct AclPath {
    /// Cluster id.
    id: i64,
    /// Frontend name.
    name: String,
    /// ACL name.
    acl: String,
}

/// Stages `delete_acl` (every line of that ACL).
#[utoipa::path(delete, path = "/api/v1/clusters/{id}/frontends/{name}/acls/{acl}", tag = "frontends", params(AclPath, StageQuery),
    responses((status = 200, description = "the transaction")))]
pub(crate) async fn delete_acl(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<AclPath>,
    Query(query): Query<StageQuery>,
) -> ApiResult<impl IntoResponse> {
    let op = edit_op("delete_acl", Value::Null, &[("proxy", json!(path.name)), ("name", json!(path.acl))]);
    stage(&state, &caller, path.id, &query, op, StatusCode::OK).await
}

/// The rules of a frontend (`http-request`, `use_backend` ...).
#[utoipa::path(get, path = "/api/v1/clusters/{id}/frontends/{name}/rules", tag = "frontends", params(ProxyPath, AtQuery),
    responses((status = 200, description = "rule directives")))]
pub(crate) async fn list_rules(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<ProxyPath>,
    Query(at): Query<AtQuery>,
) -> ApiResult<impl IntoResponse> {
    read_text(&state, &caller, path.id, &at, |t| read::parts(t, ProxyKind::Frontend, &path.name, Part::Rules)).await
}

/// Stages `add_rule` (`{words, position?}`).
#[utoipa::path(post, path = "/api/v1/clusters/{id}/frontends/{name}/rules", tag = "frontends", params(ProxyPath, StageQuery),
    request_body(content = Object, description = "{words, position?}"), responses((status = 201, description = "the transaction")))]
pub(crate) async fn add_rule(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<ProxyPath>,
    Query(query): Query<StageQuery>,
    Json(body): Json<Value>,
) -> ApiResult<impl IntoResponse> {
    let op = edit_op("add_rule", body, &[("proxy", json!(path.name))]);
    stage(&state, &caller, path.id, &query, op, StatusCode::CREATED).await
}

/// `/clusters/{id}/frontends/{name}/rules/{keyword}/{position}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct RulePath {
    /// Cluster id.
    id: i64,
    /// Frontend name.
    name: String,
    /// Rule keyword (`http-request` ...).
    keyword: String,
    /// Position among the rules with that keyword (0 = first).
    position: usize,
}

/// Stages `delete_rule`.
#[utoipa::path(delete, path = "/api/v1/clusters/{id}/frontends/{name}/rules/{keyword}/{position}", tag = "frontends",
    params(RulePath, StageQuery), responses((status = 200, description = "the transaction")))]
pub(crate) async fn delete_rule(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<RulePath>,
    Query(query): Query<StageQuery>,
) -> ApiResult<impl IntoResponse> {
    let fields = [("proxy", json!(path.name)), ("keyword", json!(path.keyword)), ("position", json!(path.position))];
    let op = edit_op("delete_rule", Value::Null, &fields);
    stage(&state, &caller, path.id, &query, op, StatusCode::OK).await
}
