//! Backends (with servers) and frontends (with binds, ACLs and rules).
//!
//! Reads take `?version=N` (that version), `?transaction_id=T` (what T would commit) or nothing
//! (the latest version). Writes need `?transaction_id=T` and stage one typed edit op in T; the
//! body is that op's fields (see fleet-core's `EditOp`), the path supplies the names.
//!
//! Every handler takes a [`Reading`] or a [`Staging`] (one extractor for the caller, the path
//! and the query) and only says what to read or which op to stage: the order in which errors
//! are reported (401, a bad path, a bad query, unparsable JSON, then 403, a missing
//! transaction, a body that is not the op's shape) and the permission each kind of request
//! needs are written once, not in each of the twenty-two handlers. Bodies are fleet-core's typed
//! op bodies (`NewServerBody` ...), each turned into its `EditOp` with the names from the path.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use fleet_core::rbac::{Permission, Principal};
use fleet_core::read::{self, Part};
use fleet_core::ops::{
    NewAclBody, NewBindBody, NewProxyBody, NewRuleBody, NewServerBody, ProxyChangeBody, ServerChangeBody,
};
use fleet_core::{EditOp, TextAt};
use haproxy_model::{Document, Side};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use super::ClusterPath;
use crate::errors::{ApiError, ApiResult};
use crate::http::auth::ScopedCaller;
use crate::http::extract::{required, Body, Path, Query};
use crate::http::AppState;

/// Which text a read addresses (of the config, or of a bundle's files).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct AtQuery {
    /// Read this version.
    version: Option<i64>,
    /// Read what this open transaction would commit.
    transaction_id: Option<i64>,
}

impl AtQuery {
    pub(super) fn at(&self) -> Result<TextAt, ApiError> {
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
#[serde(deny_unknown_fields)]
pub(crate) struct StageQuery {
    /// An open transaction of this cluster. Read as optional so a missing one is reported
    /// after the permission check, as a 400.
    #[param(required = true)]
    transaction_id: Option<i64>,
}

/// A path under `/clusters/{id}`: which cluster a read or a staged op is about.
pub(crate) trait InCluster {
    fn cluster_id(&self) -> i64;
}

/// What every handler here extracts, in this order: the caller (a missing or bad token is a 401
/// before anything else), the path `P` (the names), then the query `Q` (which text to read,
/// or which transaction to stage in). A write's JSON body, if any, is extracted after this.
/// One extractor keeps that order and the permission checks below the same for every route.
pub(crate) struct Scoped<P, Q> {
    state: AppState,
    caller: Principal,
    path: P,
    query: Q,
}

/// A read: `?version=N`, `?transaction_id=T` or neither.
pub(crate) type Reading<P> = Scoped<P, AtQuery>;

/// A write: `?transaction_id=T`, the transaction the op is staged in.
pub(crate) type Staging<P> = Scoped<P, StageQuery>;

impl<P: DeserializeOwned + Send, Q: DeserializeOwned> FromRequestParts<AppState> for Scoped<P, Q> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ScopedCaller(caller) = ScopedCaller::from_request_parts(parts, state).await?;
        let Path(path) = Path::from_request_parts(parts, state).await?;
        let Query(query) = Query::from_request_parts(parts, state).await?;
        Ok(Scoped { state: state.clone(), caller, path, query })
    }
}

impl<P: InCluster> Reading<P> {
    /// Checks the read permission, loads the addressed document (parsed once per version, from
    /// fleet-core's cache) and answers what `read` makes of it (`read` also gets the path, for
    /// the names it holds).
    async fn read<T: Serialize>(
        self,
        read: impl FnOnce(&Document, &P) -> fleet_core::Result<T>,
    ) -> ApiResult<axum::Json<T>> {
        self.caller.user(Permission::Read)?;
        let parsed = self.state.store.document_at(self.path.cluster_id(), self.query.at()?).await?;
        Ok(axum::Json(read(parsed.document(), &self.path)?))
    }
}

impl<P: InCluster> Staging<P> {
    /// Checks the write permission and that a transaction is named, then stages the op that
    /// `op` builds (from the body and the names in the path) and answers `status` with the
    /// transaction. A bad body is reported only after those two checks.
    async fn stage(
        self,
        status: StatusCode,
        op: impl FnOnce(&P) -> Result<EditOp, ApiError>,
    ) -> ApiResult<impl IntoResponse> {
        let user = self.caller.user(Permission::Write)?;
        let transaction_id = required(self.query.transaction_id, "transaction_id")?;
        let op = op(&self.path)?;
        let transaction =
            self.state.store.stage_in(&user.username, self.path.cluster_id(), transaction_id, vec![op]).await?;
        Ok((status, axum::Json(transaction)))
    }
}

/// Every path type here carries the cluster id as `id`; their `InCluster` impls differ only in
/// the type's name, so one macro writes them (a generic impl cannot reach a struct's field).
macro_rules! in_cluster {
    ($($path:ty),*) => {
        $(impl InCluster for $path {
            fn cluster_id(&self) -> i64 {
                self.id
            }
        })*
    };
}

in_cluster!(ClusterPath, ProxyPath, ServerPath, BindPath, AclPath, RulePath);

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
    responses((status = 200, description = "sections with typed directives", body = Vec<haproxy_model::export::SectionModel>)))]
pub(crate) async fn list_backends(reading: Reading<ClusterPath>) -> ApiResult<impl IntoResponse> {
    reading.read(|doc, _| Ok(read::proxies(doc, Side::Backend))).await
}

/// Stages `add_backend` (`{name, from?, lines?}`).
#[utoipa::path(post, path = "/api/v1/clusters/{id}/backends", tag = "backends", params(ClusterPath, StageQuery),
    request_body(content = NewProxyBody, description = "{name, from?, lines?}"), responses((status = 201, description = "the transaction", body = fleet_core::Transaction)))]
pub(crate) async fn add_backend(
    staging: Staging<ClusterPath>,
    body: Body<NewProxyBody>,
) -> ApiResult<impl IntoResponse> {
    staging.stage(StatusCode::CREATED, |_| Ok(body.parse()?.into_backend())).await
}

/// One backend.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/backends/{name}", tag = "backends", params(ProxyPath, AtQuery),
    responses((status = 200, description = "the section", body = haproxy_model::export::SectionModel)))]
pub(crate) async fn get_backend(reading: Reading<ProxyPath>) -> ApiResult<impl IntoResponse> {
    reading.read(|doc, path| read::proxy(doc, Side::Backend, &path.name)).await
}

/// Stages `update_backend` (`{rename?, from?}`).
#[utoipa::path(put, path = "/api/v1/clusters/{id}/backends/{name}", tag = "backends", params(ProxyPath, StageQuery),
    request_body(content = ProxyChangeBody, description = "{rename?, from?}"), responses((status = 200, description = "the transaction", body = fleet_core::Transaction)))]
pub(crate) async fn update_backend(
    staging: Staging<ProxyPath>,
    body: Body<ProxyChangeBody>,
) -> ApiResult<impl IntoResponse> {
    staging.stage(StatusCode::OK, |path| Ok(body.parse()?.into_backend(&path.name))).await
}

/// Stages `delete_backend`.
#[utoipa::path(delete, path = "/api/v1/clusters/{id}/backends/{name}", tag = "backends", params(ProxyPath, StageQuery),
    responses((status = 200, description = "the transaction", body = fleet_core::Transaction)))]
pub(crate) async fn delete_backend(staging: Staging<ProxyPath>) -> ApiResult<impl IntoResponse> {
    staging.stage(StatusCode::OK, |path| Ok(EditOp::DeleteBackend { name: path.name.clone() })).await
}

/// The servers of a backend.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/backends/{name}/servers", tag = "backends", params(ProxyPath, AtQuery),
    responses((status = 200, description = "server directives", body = Vec<haproxy_model::export::Directive>)))]
pub(crate) async fn list_servers(reading: Reading<ProxyPath>) -> ApiResult<impl IntoResponse> {
    reading.read(|doc, path| read::parts(doc, Side::Backend, &path.name, Part::Servers)).await
}

/// Stages `add_server` (`{name, address, weight?, backup?, disabled?, params?}`).
#[utoipa::path(post, path = "/api/v1/clusters/{id}/backends/{name}/servers", tag = "backends", params(ProxyPath, StageQuery),
    request_body(content = NewServerBody, description = "{name, address, weight?, backup?, disabled?, params?}"),
    responses((status = 201, description = "the transaction", body = fleet_core::Transaction)))]
pub(crate) async fn add_server(staging: Staging<ProxyPath>, body: Body<NewServerBody>) -> ApiResult<impl IntoResponse> {
    staging.stage(StatusCode::CREATED, |path| Ok(body.parse()?.into_op(&path.name))).await
}

/// One server.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/backends/{name}/servers/{server}", tag = "backends", params(ServerPath, AtQuery),
    responses((status = 200, description = "the server directive", body = haproxy_model::export::Directive)))]
pub(crate) async fn get_server(reading: Reading<ServerPath>) -> ApiResult<impl IntoResponse> {
    reading.read(|doc, path| read::server(doc, &path.name, &path.server)).await
}

/// Stages `update_server` (`{address?, weight?, backup?, disabled?, params?}`).
#[utoipa::path(put, path = "/api/v1/clusters/{id}/backends/{name}/servers/{server}", tag = "backends", params(ServerPath, StageQuery),
    request_body(content = ServerChangeBody, description = "{address?, weight?, backup?, disabled?, params?}"),
    responses((status = 200, description = "the transaction", body = fleet_core::Transaction)))]
pub(crate) async fn update_server(
    staging: Staging<ServerPath>,
    body: Body<ServerChangeBody>,
) -> ApiResult<impl IntoResponse> {
    staging.stage(StatusCode::OK, |path| Ok(body.parse()?.into_op(&path.name, &path.server))).await
}

/// Stages `delete_server`.
#[utoipa::path(delete, path = "/api/v1/clusters/{id}/backends/{name}/servers/{server}", tag = "backends", params(ServerPath, StageQuery),
    responses((status = 200, description = "the transaction", body = fleet_core::Transaction)))]
pub(crate) async fn delete_server(staging: Staging<ServerPath>) -> ApiResult<impl IntoResponse> {
    staging
        .stage(StatusCode::OK, |path| Ok(EditOp::DeleteServer { backend: path.name.clone(), name: path.server.clone() }))
        .await
}

/// Every frontend and listen section.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/frontends", tag = "frontends", params(ClusterPath, AtQuery),
    responses((status = 200, description = "sections with typed directives", body = Vec<haproxy_model::export::SectionModel>)))]
pub(crate) async fn list_frontends(reading: Reading<ClusterPath>) -> ApiResult<impl IntoResponse> {
    reading.read(|doc, _| Ok(read::proxies(doc, Side::Frontend))).await
}

/// Stages `add_frontend` (`{name, from?, lines?}`).
#[utoipa::path(post, path = "/api/v1/clusters/{id}/frontends", tag = "frontends", params(ClusterPath, StageQuery),
    request_body(content = NewProxyBody, description = "{name, from?, lines?}"), responses((status = 201, description = "the transaction", body = fleet_core::Transaction)))]
pub(crate) async fn add_frontend(
    staging: Staging<ClusterPath>,
    body: Body<NewProxyBody>,
) -> ApiResult<impl IntoResponse> {
    staging.stage(StatusCode::CREATED, |_| Ok(body.parse()?.into_frontend())).await
}

/// One frontend.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/frontends/{name}", tag = "frontends", params(ProxyPath, AtQuery),
    responses((status = 200, description = "the section", body = haproxy_model::export::SectionModel)))]
pub(crate) async fn get_frontend(reading: Reading<ProxyPath>) -> ApiResult<impl IntoResponse> {
    reading.read(|doc, path| read::proxy(doc, Side::Frontend, &path.name)).await
}

/// Stages `update_frontend` (`{rename?, from?}`).
#[utoipa::path(put, path = "/api/v1/clusters/{id}/frontends/{name}", tag = "frontends", params(ProxyPath, StageQuery),
    request_body(content = ProxyChangeBody, description = "{rename?, from?}"), responses((status = 200, description = "the transaction", body = fleet_core::Transaction)))]
pub(crate) async fn update_frontend(
    staging: Staging<ProxyPath>,
    body: Body<ProxyChangeBody>,
) -> ApiResult<impl IntoResponse> {
    staging.stage(StatusCode::OK, |path| Ok(body.parse()?.into_frontend(&path.name))).await
}

/// Stages `delete_frontend`.
#[utoipa::path(delete, path = "/api/v1/clusters/{id}/frontends/{name}", tag = "frontends", params(ProxyPath, StageQuery),
    responses((status = 200, description = "the transaction", body = fleet_core::Transaction)))]
pub(crate) async fn delete_frontend(staging: Staging<ProxyPath>) -> ApiResult<impl IntoResponse> {
    staging.stage(StatusCode::OK, |path| Ok(EditOp::DeleteFrontend { name: path.name.clone() })).await
}

/// The binds of a frontend.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/frontends/{name}/binds", tag = "frontends", params(ProxyPath, AtQuery),
    responses((status = 200, description = "bind directives", body = Vec<haproxy_model::export::Directive>)))]
pub(crate) async fn list_binds(reading: Reading<ProxyPath>) -> ApiResult<impl IntoResponse> {
    reading.read(|doc, path| read::parts(doc, Side::Frontend, &path.name, Part::Binds)).await
}

/// Stages `add_bind` (`{address, params?}`).
#[utoipa::path(post, path = "/api/v1/clusters/{id}/frontends/{name}/binds", tag = "frontends", params(ProxyPath, StageQuery),
    request_body(content = NewBindBody, description = "{address, params?}"), responses((status = 201, description = "the transaction", body = fleet_core::Transaction)))]
pub(crate) async fn add_bind(staging: Staging<ProxyPath>, body: Body<NewBindBody>) -> ApiResult<impl IntoResponse> {
    staging.stage(StatusCode::CREATED, |path| Ok(body.parse()?.into_op(&path.name))).await
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
    responses((status = 200, description = "the transaction", body = fleet_core::Transaction)))]
pub(crate) async fn delete_bind(staging: Staging<BindPath>) -> ApiResult<impl IntoResponse> {
    staging
        .stage(StatusCode::OK, |path| {
            Ok(EditOp::DeleteBind { frontend: path.name.clone(), address: path.address.clone() })
        })
        .await
}

/// The ACLs of a frontend.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/frontends/{name}/acls", tag = "frontends", params(ProxyPath, AtQuery),
    responses((status = 200, description = "acl directives", body = Vec<haproxy_model::export::Directive>)))]
pub(crate) async fn list_acls(reading: Reading<ProxyPath>) -> ApiResult<impl IntoResponse> {
    reading.read(|doc, path| read::parts(doc, Side::Frontend, &path.name, Part::Acls)).await
}

/// Stages `add_acl` (`{name, words}`).
#[utoipa::path(post, path = "/api/v1/clusters/{id}/frontends/{name}/acls", tag = "frontends", params(ProxyPath, StageQuery),
    request_body(content = NewAclBody, description = "{name, words}"), responses((status = 201, description = "the transaction", body = fleet_core::Transaction)))]
pub(crate) async fn add_acl(staging: Staging<ProxyPath>, body: Body<NewAclBody>) -> ApiResult<impl IntoResponse> {
    staging.stage(StatusCode::CREATED, |path| Ok(body.parse()?.into_op(&path.name))).await
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
    responses((status = 200, description = "the transaction", body = fleet_core::Transaction)))]
pub(crate) async fn delete_acl(staging: Staging<AclPath>) -> ApiResult<impl IntoResponse> {
    staging
        .stage(StatusCode::OK, |path| Ok(EditOp::DeleteAcl { proxy: path.name.clone(), name: path.acl.clone() }))
        .await
}

/// The rules of a frontend (`http-request`, `use_backend` ...).
#[utoipa::path(get, path = "/api/v1/clusters/{id}/frontends/{name}/rules", tag = "frontends", params(ProxyPath, AtQuery),
    responses((status = 200, description = "rule directives", body = Vec<haproxy_model::export::Directive>)))]
pub(crate) async fn list_rules(reading: Reading<ProxyPath>) -> ApiResult<impl IntoResponse> {
    reading.read(|doc, path| read::parts(doc, Side::Frontend, &path.name, Part::Rules)).await
}

/// Stages `add_rule` (`{words, position?}`).
#[utoipa::path(post, path = "/api/v1/clusters/{id}/frontends/{name}/rules", tag = "frontends", params(ProxyPath, StageQuery),
    request_body(content = NewRuleBody, description = "{words, position?}"), responses((status = 201, description = "the transaction", body = fleet_core::Transaction)))]
pub(crate) async fn add_rule(staging: Staging<ProxyPath>, body: Body<NewRuleBody>) -> ApiResult<impl IntoResponse> {
    staging.stage(StatusCode::CREATED, |path| Ok(body.parse()?.into_op(&path.name))).await
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
    #[param(maximum = 4_294_967_295_u64)]
    position: usize,
}

/// Stages `delete_rule`.
#[utoipa::path(delete, path = "/api/v1/clusters/{id}/frontends/{name}/rules/{keyword}/{position}", tag = "frontends",
    params(RulePath, StageQuery), responses((status = 200, description = "the transaction", body = fleet_core::Transaction)))]
pub(crate) async fn delete_rule(staging: Staging<RulePath>) -> ApiResult<impl IntoResponse> {
    staging
        .stage(StatusCode::OK, |path| {
            Ok(EditOp::DeleteRule { proxy: path.name.clone(), keyword: path.keyword.clone(), position: path.position })
        })
        .await
}
