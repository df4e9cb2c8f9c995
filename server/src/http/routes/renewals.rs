//! Certificate renewal status: when each ACME certificate renews next, from which window (the
//! CA's ARI window or a third of the lifetime left), failures and backoff. The scheduler itself
//! is a background task (`fleet serve`); these routes only read what it decided.

use axum::extract::State;
use axum::response::IntoResponse;
use fleet_core::rbac::Permission;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::errors::ApiResult;
use crate::http::auth::Caller;
use crate::http::extract::Path;
use crate::http::AppState;

/// Every certificate kept renewed, soonest first: `[{certificate_id, names, lifetime, cert_id,
/// plan: {renew_at_ms, window: {start_ms, end_ms}, source: "ari"|"lifetime"}, next_attempt_ms,
/// due, failures, retry_at_ms, last_error, ...}]` (times Unix ms).
#[utoipa::path(get, path = "/api/v1/acme/renewals", tag = "certificates", responses((status = 200, description = "renewals")))]
pub(crate) async fn list_renewals(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.renewal_statuses().await?))
}

/// `/certificates/{id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct CertificatePath {
    /// Certificate id.
    id: i64,
}

/// The renewal of one certificate (same shape as a list entry); 404 when it is not kept
/// renewed (not issued by ACME).
#[utoipa::path(get, path = "/api/v1/certificates/{id}/renewal", tag = "certificates", params(CertificatePath),
    responses((status = 200, description = "renewal"), (status = 404, description = "not kept renewed")))]
pub(crate) async fn get_renewal(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<CertificatePath>,
) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.renewal_status(path.id).await?))
}
