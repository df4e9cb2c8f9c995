//! Login, logout, users, API tokens and the audit log.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use fleet_core::rbac::Permission;
use fleet_core::Role;
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::errors::ApiResult;
use crate::http::auth::{Caller, Token};
use crate::http::extract::{Json, Path, Query};
use crate::http::AppState;

/// `POST /api/v1/auth/login`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct LoginRequest {
    username: String,
    password: String,
}

/// Opens a session: `{token, user}`; send `Authorization: Bearer <token>` afterwards.
#[utoipa::path(post, path = "/api/v1/auth/login", security(()), tag = "auth", request_body = LoginRequest,
    responses((status = 200, description = "session token"), (status = 401, description = "wrong credentials")))]
pub(crate) async fn login(State(state): State<AppState>, Json(body): Json<LoginRequest>) -> ApiResult<impl IntoResponse> {
    let ttl = i64::try_from(state.session_ttl.as_millis()).unwrap_or(i64::MAX);
    let (user, token) = state.store.login(&body.username, &body.password, ttl).await?;
    Ok(axum::Json(json!({"token": token, "user": user})))
}

/// Ends the session whose token is sent.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204, description = "logged out")))]
pub(crate) async fn logout(State(state): State<AppState>, Token(token): Token) -> ApiResult<StatusCode> {
    state.store.logout(&token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every user (admin).
#[utoipa::path(get, path = "/api/v1/users", tag = "users", responses((status = 200, description = "users")))]
pub(crate) async fn list_users(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Admin)?;
    Ok(axum::Json(state.store.users().await?))
}

/// `POST /api/v1/users`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct NewUser {
    username: String,
    password: String,
    /// `admin`, `operator` or `viewer`.
    role: String,
}

/// Creates a user with a role (admin).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUser, responses((status = 201, description = "the user")))]
pub(crate) async fn create_user(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Json(body): Json<NewUser>,
) -> ApiResult<impl IntoResponse> {
    let admin = caller.user(Permission::Admin)?;
    let role: Role = body.role.parse()?;
    let user = state.store.create_user(&admin.username, &body.username, &body.password, role).await?;
    Ok((StatusCode::CREATED, axum::Json(user)))
}

/// `POST /api/v1/tokens`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct NewToken {
    /// A label.
    name: String,
    /// The user the token acts as (admins only; default: the caller).
    #[serde(default)]
    user_id: Option<i64>,
}

/// Creates an API token for automation: `{token, api_token}` (the token is shown once).
#[utoipa::path(post, path = "/api/v1/tokens", tag = "users", request_body = NewToken, responses((status = 201, description = "the token")))]
pub(crate) async fn create_token(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Json(body): Json<NewToken>,
) -> ApiResult<impl IntoResponse> {
    let owner = caller.api_token_owner(body.user_id)?;
    let (api_token, token) = state.store.create_api_token(&caller.actor(), owner, &body.name).await?;
    Ok((StatusCode::CREATED, axum::Json(json!({"token": token, "api_token": api_token}))))
}

/// `/tokens/{token_id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct TokenPath {
    /// API token id.
    token_id: i64,
}

/// Revokes an API token (admin).
#[utoipa::path(delete, path = "/api/v1/tokens/{token_id}", tag = "users", params(TokenPath), responses((status = 204, description = "revoked")))]
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<TokenPath>,
) -> ApiResult<StatusCode> {
    let admin = caller.user(Permission::Admin)?;
    state.store.revoke_api_token(&admin.username, path.token_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `?cluster_id=&limit=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
    /// Only this cluster's entries.
    cluster_id: Option<i64>,
    /// At most this many (default 100, at most 1000).
    limit: Option<i64>,
}

/// The newest audit entries, newest first (admin, operator).
#[utoipa::path(get, path = "/api/v1/audit", tag = "users", params(AuditQuery), responses((status = 200, description = "entries")))]
pub(crate) async fn audit(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<AuditQuery>,
) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Audit)?;
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    Ok(axum::Json(state.store.audit_log(query.cluster_id, limit).await?))
}
