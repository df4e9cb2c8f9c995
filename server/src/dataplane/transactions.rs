//! `services/haproxy/transactions`: upstream's transactions over fleet-core's (typed ops staged
//! on a base version, committed as the next version; [`fleet_core::Store::begin`] ...).
//!
//! ```text
//! POST ?version=N   -> begin on N (409 when N is not the latest)      -> 201 {id, _version, status}
//! GET / GET {id}    -> open ones (in_progress); committed: success; outdated: outdated
//! PUT {id}          -> commit, apply, wait for the rollout (as any write: 200, 202, 400)
//! DELETE {id}       -> discard                                         -> 204
//! ```
//!
//! Ids are fleet's transaction ids written as strings (upstream's are UUIDs).

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use fleet_core::rbac::Permission;
use fleet_core::{Transaction, TransactionState};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Dp;
use super::errors::{DpError, DpResult};
use super::extract::{Path, Query};
use super::flow::{self, transaction_number, version_header, Payload};

/// Upstream's `transaction` model.
fn shown(transaction: &Transaction, version: i64) -> Value {
    let status = match transaction.state {
        TransactionState::Open => "in_progress",
        TransactionState::Committed => "success",
        TransactionState::Outdated => "outdated",
        TransactionState::Discarded => "failed",
    };
    json!({"id": transaction.id.to_string(), "_version": version, "status": status})
}

/// `?status=`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    status: Option<String>,
}

/// The cluster's open transactions (`?status=in_progress` or none; other statuses list
/// nothing: closed transactions are not kept as upstream's are).
pub(crate) async fn list(dp: Dp, Query(query): Query<ListQuery>) -> DpResult<Response> {
    dp.user(Permission::Read)?;
    if query.status.as_deref().is_some_and(|s| s != "in_progress") {
        return match query.status.as_deref() {
            Some("failed") | Some("outdated") | Some("success") => Ok(axum::Json(Vec::<Value>::new()).into_response()),
            _ => Err(DpError::bad_request("status must be one of failed, outdated, in_progress, success")),
        };
    }
    let open = dp.state.store.open_transactions(dp.cluster_id).await?;
    Ok(axum::Json(open.iter().map(|t| shown(t, t.base_version)).collect::<Vec<_>>()).into_response())
}

/// `?version=N`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct BeginQuery {
    version: Option<i64>,
}

/// Begins a transaction on version `N`.
pub(crate) async fn begin(dp: Dp, Query(query): Query<BeginQuery>) -> DpResult<Response> {
    let user = dp.user(Permission::Write)?.clone();
    let version = query.version.ok_or_else(|| DpError::bad_request("version is required"))?;
    let transaction = dp.state.store.begin(&user.username, dp.cluster_id, version).await?;
    let mut headers = HeaderMap::new();
    version_header(&mut headers, version);
    Ok((StatusCode::CREATED, headers, axum::Json(shown(&transaction, version))).into_response())
}

async fn transaction(dp: &Dp, id: &str) -> DpResult<Transaction> {
    let missing = || DpError::new(StatusCode::NOT_FOUND, format!("transaction {id} does not exist"));
    let tid = transaction_number(id).ok_or_else(missing)?;
    match dp.state.store.cluster_transaction(dp.cluster_id, tid).await {
        Ok(t) if t.state == TransactionState::Discarded => Err(missing()),
        Ok(t) => Ok(t),
        Err(fleet_core::Error::NotFound(_)) => Err(missing()),
        Err(other) => Err(other.into()),
    }
}

/// One transaction.
pub(crate) async fn get(dp: Dp, Path((_, id)): Path<(String, String)>) -> DpResult<Response> {
    dp.user(Permission::Read)?;
    let t = transaction(&dp, &id).await?;
    let version = t.committed_version.unwrap_or(t.base_version);
    let mut headers = HeaderMap::new();
    version_header(&mut headers, version);
    Ok((headers, axum::Json(shown(&t, version))).into_response())
}

/// `?force_reload=`: 200 once the rollout succeeded, else 202 with a reload id (as upstream).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct CommitQuery {
    #[serde(default)]
    force_reload: bool,
}

/// Commits the transaction as the next version and rolls it out.
pub(crate) async fn commit(dp: Dp, Path((_, id)): Path<(String, String)>, Query(query): Query<CommitQuery>) -> DpResult<Response> {
    let user = dp.user(Permission::Write)?.clone();
    let t = transaction(&dp, &id).await?;
    // An outdated transaction (another commit won since it began) is upstream's 406.
    let outdated = || DpError::new(StatusCode::NOT_ACCEPTABLE, format!("transaction {id} is outdated and cannot be committed"));
    match t.state {
        TransactionState::Open => {}
        TransactionState::Outdated => return Err(outdated()),
        state => return Err(DpError::bad_request(format!("transaction {id} is {state}"))),
    }
    let message = format!("Data Plane API: commit of transaction {id}");
    let committed = match dp.state.store.commit_in((&user).into(), dp.cluster_id, t.id, &message).await {
        Err(fleet_core::Error::Outdated { .. }) => return Err(outdated()),
        other => other?,
    };
    let number = committed.version.number;
    let written = dp.roll_out(&user.username, number, committed.version.created_at, query.force_reload).await?;
    let body = json!({"id": id, "_version": number, "status": "success"});
    Ok(flow::answer(written, StatusCode::OK, Payload::Json(body)))
}

/// Discards the transaction.
pub(crate) async fn delete(dp: Dp, Path((_, id)): Path<(String, String)>) -> DpResult<Response> {
    let user = dp.user(Permission::Write)?.clone();
    let t = transaction(&dp, &id).await?;
    dp.state.store.discard_in(&user.username, dp.cluster_id, t.id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
