//! Health, metrics and the OpenAPI document: no authentication.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

use crate::http::AppState;

/// Liveness: the process answers.
#[utoipa::path(get, path = "/api/v1/health", security(()), tag = "system", responses((status = 200, description = "the process answers", body = Health)))]
pub(crate) async fn health() -> impl IntoResponse {
    axum::Json(Health { status: "ok" })
}

/// `{"status": "ok"}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct Health {
    /// Always `ok`.
    status: &'static str,
}

/// Prometheus metrics (text exposition format), with the certificate store's expiry gauge.
#[utoipa::path(get, path = "/metrics", security(()), tag = "system", responses((status = 200, description = "metrics text", body = String, content_type = "text/plain")))]
pub(crate) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut text = state.metrics.render();
    match state.store.certificate_expiries().await {
        Ok(rows) => text.push_str(&crate::http::metrics::render_certificate_expiries(&rows)),
        // The other families still answer when the database does not.
        Err(error) => tracing::warn!(%error, "certificate expiries left out of /metrics"),
    }
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", security(()), tag = "system", responses((status = 200, description = "OpenAPI 3 document", body = Object)))]
pub(crate) async fn openapi() -> impl IntoResponse {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    let text = DOCUMENT.get_or_init(|| {
        let document = crate::http::api().into_openapi();
        serde_json::to_string(&document).unwrap_or_else(|_| "{}".into())
    });
    ([(CONTENT_TYPE, "application/json")], text.as_str())
}
