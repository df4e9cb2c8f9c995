//! Certificate renewal status: when each ACME certificate renews next, from which window (the
//! CA's ARI window or a third of the lifetime left), failures and backoff. The scheduler itself
//! is a background task (`fleet serve`); these routes only read what it decided. Access is the
//! certificate's own ([`super::certificates`]): a cluster-bound certificate's renewal needs the
//! role in that cluster's pool.

use axum::extract::State;
use axum::response::IntoResponse;
use fleet_core::certs::renewal::RenewalStatus;
use fleet_core::rbac::Permission;

use super::certificates::{readable, CertificatePath};
use crate::errors::ApiResult;
use crate::http::auth::Caller;
use crate::http::extract::Path;
use crate::http::AppState;

/// Every certificate kept renewed that the caller may read, soonest first: `[{certificate_id,
/// names, lifetime, cert_id, plan: {renew_at_ms, window: {start_ms, end_ms}, source:
/// "ari"|"lifetime"}, next_attempt_ms, due, failures, retry_at_ms, last_error, ...}]` (Unix ms).
#[utoipa::path(get, path = "/api/v1/acme/renewals", tag = "certificates", responses((status = 200, description = "renewals", body = Vec<RenewalStatus>)))]
pub(crate) async fn list_renewals(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult<impl IntoResponse> {
    caller.reader()?;
    let mut shown = Vec::new();
    for renewal in state.store.renewal_statuses().await? {
        if readable(&state, caller.clone(), renewal.renewal.certificate_id, Permission::Read).await.is_ok() {
            shown.push(renewal);
        }
    }
    Ok(axum::Json(shown))
}

/// The renewal of one certificate (same shape as a list entry); 404 when it is not kept
/// renewed (not issued by ACME).
#[utoipa::path(get, path = "/api/v1/certificates/{id}/renewal", tag = "certificates", params(CertificatePath),
    responses((status = 200, description = "renewal", body = RenewalStatus), (status = 404, description = "no such certificate, or not kept renewed")))]
pub(crate) async fn get_renewal(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<CertificatePath>,
) -> ApiResult<impl IntoResponse> {
    readable(&state, caller, path.id, Permission::Read).await?;
    Ok(axum::Json(state.store.renewal_status(path.id).await?))
}
