//! Login, logout, users, API tokens and the audit log.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use fleet_core::rbac::{Permission, Scope};
use fleet_core::{Credentials, PoolRole, Role, UserChange};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::errors::ApiResult;
use crate::http::auth::{Caller, Token};
use crate::http::extract::{Json, Path, Query};
use crate::http::AppState;
use super::agent::Peer;

/// `POST /api/v1/auth/login`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct LoginRequest {
    username: String,
    password: String,
}

fn session_ttl(state: &AppState) -> i64 {
    i64::try_from(state.session_ttl.as_millis()).unwrap_or(i64::MAX)
}

/// The first login step: `{status: "session", token, user, mfa_enrolment_required}`, or
/// `{status: "mfa_required", challenge, expires_at}` when the user has a second factor (send
/// the code to `/auth/login/mfa`). Throttled per username and per source address.
#[utoipa::path(post, path = "/api/v1/auth/login", security(()), tag = "auth", request_body = LoginRequest,
    responses((status = 200, description = "a session, or the second factor's challenge", body = fleet_core::SignIn), (status = 401, description = "wrong credentials"),
        (status = 429, description = "too many failed logins: see Retry-After")))]
pub(crate) async fn login(State(state): State<AppState>, Peer(peer): Peer, Json(body): Json<LoginRequest>) -> ApiResult<impl IntoResponse> {
    let credentials = Credentials { username: &body.username, password: &body.password, source: peer };
    Ok(axum::Json(state.store.sign_in(credentials, session_ttl(&state)).await?))
}

/// `POST /api/v1/auth/login/mfa`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct MfaLoginRequest {
    /// The first step's challenge.
    challenge: String,
    /// The authenticator's current code, or an unused recovery code.
    code: String,
}

/// The second login step: the session, like `/auth/login` without a second factor.
#[utoipa::path(post, path = "/api/v1/auth/login/mfa", security(()), tag = "auth", request_body = MfaLoginRequest,
    responses((status = 200, description = "the session", body = fleet_core::SignIn), (status = 401, description = "wrong code or spent challenge"),
        (status = 429, description = "too many failed logins")))]
pub(crate) async fn login_mfa(State(state): State<AppState>, Peer(peer): Peer, Json(body): Json<MfaLoginRequest>) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(state.store.complete_mfa(&state.keyring, &body.challenge, &body.code, peer, session_ttl(&state)).await?))
}

/// Ends the session whose token is sent.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204, description = "logged out")))]
pub(crate) async fn logout(State(state): State<AppState>, Token(token): Token) -> ApiResult<StatusCode> {
    state.store.logout(&token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every user (admin).
#[utoipa::path(get, path = "/api/v1/users", tag = "users", responses((status = 200, description = "users", body = Vec<fleet_core::User>)))]
pub(crate) async fn list_users(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Admin)?;
    Ok(axum::Json(state.store.users().await?))
}

/// `POST /api/v1/users`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct NewUser {
    /// 1 to 64 characters after NFKC: letters, digits, `.`, `-`, `_`, `@`; unique ignoring case
    /// and look-alike letters.
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9._@-]+$")]
    username: String,
    /// At least 12 characters, not all blanks, not a common password.
    #[schema(min_length = 12, pattern = "\\S")]
    password: String,
    /// `admin`, `operator` or `viewer` everywhere; absent or null: only `pool_roles`. Read as
    /// text so an unknown role is a 422 after the permission check.
    #[serde(default)]
    #[schema(value_type = Option<Role>)]
    role: Option<String>,
    /// Roles in single pools: `[{pool_id, role}]`.
    #[serde(default)]
    pool_roles: Vec<PoolRole>,
}

/// Creates a user with a global role and/or roles in pools (admin).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUser,
    responses((status = 201, description = "the user", body = fleet_core::User), (status = 404, description = "a pool in pool_roles does not exist"),
        (status = 409, description = "the name is taken (ignoring case and look-alikes)"),
        (status = 422, description = "bad username, weak password or unknown role")))]
pub(crate) async fn create_user(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Json(body): Json<NewUser>,
) -> ApiResult<impl IntoResponse> {
    let admin = caller.user(Permission::Admin)?;
    let role: Option<Role> = body.role.as_deref().map(str::parse).transpose()?;
    let user = state.store.create_user_with(&admin.username, &body.username, &body.password, role, &body.pool_roles).await?;
    Ok((StatusCode::CREATED, axum::Json(user)))
}

/// `/users/{user_id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct UserPath {
    /// User id.
    user_id: i64,
}

/// Changes a user's global role (`null` removes it), pool roles or second-factor requirement
/// (admin). The last global admin keeps its role.
#[utoipa::path(patch, path = "/api/v1/users/{user_id}", tag = "users", params(UserPath),
    request_body(content = UserChange, description = "{role?, pool_roles?, mfa_required?}"),
    responses((status = 200, description = "the user", body = fleet_core::User), (status = 409, description = "the last global admin")))]
pub(crate) async fn update_user(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<UserPath>,
    Json(change): Json<UserChange>,
) -> ApiResult<impl IntoResponse> {
    let admin = caller.user(Permission::Admin)?;
    Ok(axum::Json(state.store.update_user(&admin.username, path.user_id, &change).await?))
}

/// Deletes a user with its sessions and tokens (admin; not oneself, not the last global admin).
#[utoipa::path(delete, path = "/api/v1/users/{user_id}", tag = "users", params(UserPath),
    responses((status = 204, description = "deleted"), (status = 409, description = "oneself or the last global admin")))]
pub(crate) async fn delete_user(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<UserPath>,
) -> ApiResult<StatusCode> {
    let admin = caller.user(Permission::Admin)?;
    state.store.delete_user(&admin.username, admin.id, path.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/v1/users/{user_id}/password`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct PasswordReset {
    /// The new password (at least 12 characters, not all blanks, not a common one).
    #[schema(min_length = 12, pattern = "\\S")]
    password: String,
}

/// Sets a user's password (admin); every session of that user ends.
#[utoipa::path(put, path = "/api/v1/users/{user_id}/password", tag = "users", params(UserPath), request_body = PasswordReset,
    responses((status = 204, description = "set"), (status = 422, description = "weak password")))]
pub(crate) async fn reset_password(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<UserPath>,
    Json(body): Json<PasswordReset>,
) -> ApiResult<StatusCode> {
    let admin = caller.user(Permission::Admin)?;
    state.store.reset_password(&admin.username, path.user_id, &body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a user's second factor, e.g. after a lost device (admin).
#[utoipa::path(delete, path = "/api/v1/users/{user_id}/mfa", tag = "users", params(UserPath), responses((status = 204, description = "removed")))]
pub(crate) async fn reset_mfa(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<UserPath>,
) -> ApiResult<StatusCode> {
    let admin = caller.user(Permission::Admin)?;
    state.store.reset_mfa(&admin.username, path.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/tokens`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct NewToken {
    /// A label: 1 to 100 characters, not all blanks, no control characters.
    #[schema(max_length = 100, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    name: String,
    /// The user the token acts as (admins only; default: the caller).
    #[serde(default)]
    user_id: Option<i64>,
    /// Lifetime in seconds (1 s to 366 days); absent: until revoked.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 31_622_400)]
    ttl_seconds: Option<u64>,
}

/// Creates an API token for automation: `{token, api_token}` (the token is shown once).
#[utoipa::path(post, path = "/api/v1/tokens", tag = "users", request_body = NewToken, responses((status = 201, description = "the token", body = NewApiToken),
    (status = 404, description = "no such user")))]
pub(crate) async fn create_token(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Json(body): Json<NewToken>,
) -> ApiResult<impl IntoResponse> {
    let owner = caller.api_token_owner(body.user_id)?;
    let ttl_ms = body.ttl_seconds.map(|s| i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX));
    let (api_token, token) = state.store.create_api_token_for(&caller.actor(), owner, &body.name, ttl_ms).await?;
    Ok((StatusCode::CREATED, axum::Json(NewApiToken { token, api_token })))
}

/// A new API token.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NewApiToken {
    /// The secret to send as `Authorization: Bearer ...` (shown once).
    token: String,
    /// Its metadata.
    api_token: fleet_core::ApiToken,
}

/// The caller's own API tokens (prefix, expiry, last use; never the secret).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "users", responses((status = 200, description = "tokens", body = Vec<fleet_core::ApiToken>)))]
pub(crate) async fn list_tokens(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult<impl IntoResponse> {
    let user = caller.account()?;
    Ok(axum::Json(state.store.api_tokens(user.id).await?))
}

/// `/tokens/{token_id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct TokenPath {
    /// API token id.
    token_id: i64,
}

/// Revokes an API token: one's own, or anyone's for an admin.
#[utoipa::path(delete, path = "/api/v1/tokens/{token_id}", tag = "users", params(TokenPath), responses((status = 204, description = "revoked")))]
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<TokenPath>,
) -> ApiResult<StatusCode> {
    let owner = match caller.user(Permission::Admin) {
        Ok(_) => None,
        Err(_) => Some(caller.account()?.id),
    };
    state.store.revoke_api_token_of(&caller.actor(), path.token_id, owner).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `?cluster_id=&actor=&action=&limit=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditQuery {
    /// Only this cluster's entries.
    cluster_id: Option<i64>,
    /// Only this actor's (a username, `agent:<name>`, `system`).
    actor: Option<String>,
    /// Only actions starting with this (`version.`, `failover.move`).
    action: Option<String>,
    /// At most this many (default 100, at most 1000).
    limit: Option<i64>,
}

/// The newest audit entries, newest first (admin, operator): the whole log with a global role;
/// with `?cluster_id=`, that cluster's entries with the role in its pool.
#[utoipa::path(get, path = "/api/v1/audit", tag = "users", params(AuditQuery), responses((status = 200, description = "entries", body = Vec<fleet_core::AuditEntry>)))]
pub(crate) async fn audit(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<AuditQuery>,
) -> ApiResult<impl IntoResponse> {
    match query.cluster_id {
        Some(id) => state.store.scoped(caller, Scope::Cluster(id)).await?.user(Permission::Audit).map(|_| ())?,
        None => caller.user(Permission::Audit).map(|_| ())?,
    }
    let filter = fleet_core::AuditFilter {
        cluster_id: query.cluster_id,
        actor: query.actor.filter(|a| !a.is_empty()),
        action: query.action.filter(|a| !a.is_empty()),
        limit: query.limit.unwrap_or(100).clamp(1, 1000),
    };
    Ok(axum::Json(state.store.audit_entries(&filter).await?))
}
