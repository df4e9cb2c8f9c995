//! One's own account (who am I, password, second factor) and the server's security settings.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use fleet_core::rbac::Permission;
use fleet_core::SecuritySettings;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::errors::ApiResult;
use crate::http::auth::Caller;
use crate::http::extract::Json;
use crate::http::AppState;

/// The caller: its user, global role, pool roles and second-factor state.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", responses((status = 200, description = "the user", body = fleet_core::User)))]
pub(crate) async fn me(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult<impl IntoResponse> {
    let user = caller.account()?;
    Ok(axum::Json(state.store.user(user.id).await?))
}

/// `PUT /api/v1/auth/password`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct PasswordChange {
    /// The password in use.
    current_password: String,
    /// The new one (at least 12 characters, not all blanks, not a common one).
    #[schema(min_length = 12, pattern = "\\S")]
    new_password: String,
}

/// Changes one's own password; every session of the user ends (log in again).
#[utoipa::path(put, path = "/api/v1/auth/password", tag = "auth", request_body = PasswordChange,
    responses((status = 204, description = "changed; sessions ended"), (status = 403, description = "wrong current password"),
        (status = 429, description = "too many wrong passwords: see Retry-After"),
        (status = 422, description = "weak new password")))]
pub(crate) async fn change_password(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Json(body): Json<PasswordChange>,
) -> ApiResult<StatusCode> {
    let user = caller.account()?;
    state.store.change_password(user, &body.current_password, &body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts enrolling a TOTP second factor: `{secret, otpauth_uri, qr_svg}` (scan the QR code,
/// then confirm with a code).
#[utoipa::path(post, path = "/api/v1/auth/mfa/enrol", tag = "auth",
    responses((status = 200, description = "the secret, its otpauth URI and QR code", body = fleet_core::MfaEnrolment), (status = 409, description = "already enrolled")))]
pub(crate) async fn mfa_enrol(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult<impl IntoResponse> {
    let user = caller.account()?;
    Ok(axum::Json(state.store.begin_mfa(&state.keyring, user).await?))
}

/// `POST /api/v1/auth/mfa/confirm`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct MfaCode {
    /// The authenticator's current code.
    code: String,
}

/// Confirms enrolment with a current code: the factor is active; `{recovery_codes}` (shown once).
#[utoipa::path(post, path = "/api/v1/auth/mfa/confirm", tag = "auth", request_body = MfaCode,
    responses((status = 200, description = "the recovery codes (shown once)", body = RecoveryCodes), (status = 409, description = "no enrolment in progress"),
        (status = 422, description = "wrong code")))]
pub(crate) async fn mfa_confirm(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Json(body): Json<MfaCode>,
) -> ApiResult<impl IntoResponse> {
    let user = caller.account()?;
    let codes = state.store.confirm_mfa(&state.keyring, user, &body.code).await?;
    Ok(axum::Json(RecoveryCodes { recovery_codes: codes }))
}

/// `{recovery_codes}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RecoveryCodes {
    /// One-time codes that stand in for the second factor.
    recovery_codes: Vec<String>,
}

/// A body holding the caller's password.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct PasswordProof {
    /// The caller's current password.
    password: String,
}

/// New recovery codes (the old ones stop working): `{recovery_codes}`.
#[utoipa::path(post, path = "/api/v1/auth/mfa/recovery-codes", tag = "auth", request_body = PasswordProof,
    responses((status = 200, description = "the new recovery codes (shown once)", body = RecoveryCodes), (status = 403, description = "wrong password"),
        (status = 429, description = "too many wrong passwords: see Retry-After")))]
pub(crate) async fn mfa_recovery_codes(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Json(body): Json<PasswordProof>,
) -> ApiResult<impl IntoResponse> {
    let user = caller.account()?;
    let codes = state.store.regenerate_recovery_codes(user, &body.password).await?;
    Ok(axum::Json(RecoveryCodes { recovery_codes: codes }))
}

/// Turns off one's own second factor (with the password).
#[utoipa::path(post, path = "/api/v1/auth/mfa/disable", tag = "auth", request_body = PasswordProof,
    responses((status = 204, description = "off"), (status = 403, description = "wrong password"),
        (status = 429, description = "too many wrong passwords: see Retry-After")))]
pub(crate) async fn mfa_disable(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Json(body): Json<PasswordProof>,
) -> ApiResult<StatusCode> {
    let user = caller.account()?;
    state.store.disable_own_mfa(user, &body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The server's security settings (admin).
#[utoipa::path(get, path = "/api/v1/settings/security", tag = "users", responses((status = 200, description = "the settings", body = SecuritySettings)))]
pub(crate) async fn get_security(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Admin)?;
    Ok(axum::Json(state.store.security_settings().await?))
}

/// Replaces the server's security settings (admin): `{mfa_required_for_admins}`.
#[utoipa::path(put, path = "/api/v1/settings/security", tag = "users", request_body(content = SecuritySettings, description = "{mfa_required_for_admins}"),
    responses((status = 200, description = "the settings", body = SecuritySettings)))]
pub(crate) async fn put_security(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Json(settings): Json<SecuritySettings>,
) -> ApiResult<impl IntoResponse> {
    let admin = caller.user(Permission::Admin)?;
    Ok(axum::Json(state.store.set_security_settings(&admin.username, settings).await?))
}
