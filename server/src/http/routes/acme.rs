//! ACME (fleet-core `certs::acme`): accounts at any RFC 8555 CA, and certificate orders that a
//! server task drives (the request only stores the order and wakes the task).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use fleet_core::certs::acme::{AcmeAccount, AcmeOrder, NewAccount, NewOrder, OrderStatus};
use fleet_core::rbac::Permission;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::errors::ApiResult;
use crate::http::auth::Caller;
use crate::http::extract::{Body, Path};
use crate::http::AppState;

/// Registers an account at the CA (admin): `{directory_url, contact, ca_pem?, eab_kid?, eab_hmac?}`.
/// The account key is sealed at rest and never returned. 422 with the CA's problem detail when
/// the CA refuses (e.g. it requires an external account binding).
#[utoipa::path(post, path = "/api/v1/acme/accounts", tag = "acme",
    request_body = NewAccount,
    responses((status = 201, description = "the account (never its key)", body = AcmeAccount), (status = 422, description = "bad input or refused by the CA")))]
pub(crate) async fn create_account(
    State(state): State<AppState>,
    Caller(caller): Caller,
    body: Body<NewAccount>,
) -> ApiResult<impl IntoResponse> {
    let user = caller.user(Permission::Admin)?;
    let request = body.parse()?;
    let account = state.store.create_acme_account(&state.keyring, &user.username, &request).await?;
    Ok((StatusCode::CREATED, axum::Json(account)))
}

/// Every ACME account (never a key).
#[utoipa::path(get, path = "/api/v1/acme/accounts", tag = "acme", responses((status = 200, description = "accounts", body = Vec<AcmeAccount>)))]
pub(crate) async fn list_accounts(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.acme_accounts().await?))
}

/// Orders a certificate: `{names, account_id, challenge, clusters, frontends?, certificate_id?,
/// path?, key_type?, auto_apply?}` → 202 `{id, status}`; follow it at `/acme/orders/{id}`.
/// Needs write access to every cluster named.
#[utoipa::path(post, path = "/api/v1/acme/certificates", tag = "acme",
    request_body = NewOrder,
    responses((status = 202, description = "the order, accepted", body = OrderAccepted), (status = 404, description = "no such account or cluster"), (status = 422, description = "bad input; nothing stored")))]
pub(crate) async fn create_order(
    State(state): State<AppState>,
    Caller(caller): Caller,
    body: Body<NewOrder>,
) -> ApiResult<impl IntoResponse> {
    let actor = caller.user(Permission::Write)?.username.clone();
    let request = body.parse()?;
    for &cluster in &request.clusters {
        let pool = state.store.cluster(cluster).await?.pool_id;
        caller.clone().in_pool(pool).user(Permission::Write)?;
    }
    let order = state.store.create_acme_order(&actor, &request).await?;
    state.acme.wake();
    Ok((StatusCode::ACCEPTED, axum::Json(OrderAccepted { id: order.id, status: order.status })))
}

/// The answer to an order: follow it at `/acme/orders/{id}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OrderAccepted {
    /// Order id.
    id: i64,
    /// `pending` at first.
    status: OrderStatus,
}

/// Every order with its events, oldest first: what a site file's ACME certificates compare
/// with (`fleet plan -f`).
#[utoipa::path(get, path = "/api/v1/acme/orders", tag = "acme", responses((status = 200, description = "orders, oldest first", body = Vec<AcmeOrder>)))]
pub(crate) async fn list_orders(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.acme_orders().await?))
}

/// `/acme/orders/{id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct OrderPath {
    /// Order id.
    id: i64,
}

/// An order: `{id, status: pending|ready|processing|valid|invalid, error, events: [{at, status,
/// message}], ...}`.
#[utoipa::path(get, path = "/api/v1/acme/orders/{id}", tag = "acme", params(OrderPath),
    responses((status = 200, description = "the order with its events", body = AcmeOrder), (status = 404, description = "no such order")))]
pub(crate) async fn get_order(State(state): State<AppState>, Caller(caller): Caller, Path(path): Path<OrderPath>) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.acme_order(path.id).await?))
}
