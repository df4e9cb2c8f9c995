//! Transactions: begin at the latest version, stage typed edit ops, commit as the next version
//! (409 when another commit won), or discard.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fleet_core::rbac::Permission;
use fleet_core::EditOp;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{committed, ClusterPath, MessageQuery};
use crate::errors::ApiResult;
use crate::http::auth::ScopedCaller;
use crate::http::extract::{required, Json, Path, Query};
use crate::http::AppState;

/// `?version=N`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct BeginQuery {
    /// The base: the latest version (0 for a cluster without versions). Read as optional so
    /// a missing one is reported after the permission check, as a 400.
    #[param(required = true)]
    version: Option<i64>,
}

/// The open transactions of a cluster.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/transactions", tag = "transactions", params(ClusterPath), operation_id = "list_transactions",
    responses((status = 200, description = "open transactions", body = Vec<fleet_core::Transaction>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<ClusterPath>,
) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.open_transactions(path.id).await?))
}

/// Begins a transaction at `version`, which must be the latest (409 otherwise).
#[utoipa::path(post, path = "/api/v1/clusters/{id}/transactions", tag = "transactions", params(ClusterPath, BeginQuery),
    operation_id = "begin_transaction",
    responses((status = 201, description = "the transaction", body = fleet_core::Transaction), (status = 409, description = "stale version"),
        (status = 429, description = "the user holds as many open transactions as --max-open-transactions allows")))]
pub(crate) async fn begin(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<ClusterPath>,
    Query(query): Query<BeginQuery>,
) -> ApiResult<impl IntoResponse> {
    let user = caller.user(Permission::Write)?;
    let base = required(query.version, "version")?;
    let transaction = state.store.begin(&user.username, path.id, base).await?;
    Ok((StatusCode::CREATED, axum::Json(transaction)))
}

/// `/clusters/{id}/transactions/{tid}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct TransactionPath {
    /// Cluster id.
    id: i64,
    /// Transaction id.
    tid: i64,
}

/// One transaction with its staged ops.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/transactions/{tid}", tag = "transactions", params(TransactionPath),
    operation_id = "get_transaction", responses((status = 200, description = "the transaction", body = fleet_core::Transaction)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<TransactionPath>,
) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.cluster_transaction(path.id, path.tid).await?))
}

/// Commits the transaction as the next version.
#[utoipa::path(put, path = "/api/v1/clusters/{id}/transactions/{tid}", tag = "transactions", params(TransactionPath, MessageQuery),
    operation_id = "commit_transaction", responses((status = 200, description = "the new version", body = super::CommittedBody), (status = 409, description = "another commit won"),
        (status = 422, description = "the result has errors")))]
pub(crate) async fn commit(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<TransactionPath>,
    Query(query): Query<MessageQuery>,
) -> ApiResult<Response> {
    let user = caller.user(Permission::Write)?;
    let done = state.store.commit_in(user.into(), path.id, path.tid, &query.message).await?;
    Ok(committed(&state, StatusCode::OK, done))
}

/// Discards the transaction.
#[utoipa::path(delete, path = "/api/v1/clusters/{id}/transactions/{tid}", tag = "transactions", params(TransactionPath),
    operation_id = "discard_transaction", responses((status = 204, description = "discarded")))]
pub(crate) async fn discard(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<TransactionPath>,
) -> ApiResult<StatusCode> {
    let user = caller.user(Permission::Write)?;
    state.store.discard_in(&user.username, path.id, path.tid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One op or a list of ops.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub(crate) enum Ops {
    One(EditOp),
    Many(Vec<EditOp>),
}

/// Stages typed edit ops (`{"op": "add_server", ...}` or a list of them).
#[utoipa::path(post, path = "/api/v1/clusters/{id}/transactions/{tid}/ops", tag = "transactions", params(TransactionPath),
    operation_id = "stage_ops", request_body(content = Ops, description = "an edit op or a list of edit ops"),
    responses((status = 200, description = "the transaction", body = fleet_core::Transaction), (status = 422, description = "an op does not apply"),
        (status = 413, description = "the transaction would hold more ops than --max-ops-per-transaction allows")))]
pub(crate) async fn stage(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<TransactionPath>,
    Json(ops): Json<Ops>,
) -> ApiResult<impl IntoResponse> {
    let user = caller.user(Permission::Write)?;
    let ops = match ops {
        Ops::One(op) => vec![op],
        Ops::Many(ops) => ops,
    };
    Ok(axum::Json(state.store.stage_in(&user.username, path.id, path.tid, ops).await?))
}
