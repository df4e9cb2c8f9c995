//! Health, metrics and the OpenAPI document: no session authentication (`/metrics` takes its
//! own optional bearer token).

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::errors::ApiError;
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

/// Prometheus metrics (text exposition format 0.0.4): this server's request counters, then the
/// fleet families of [`fleet_core::metrics`] (agents by state, versions, apply outcomes, runtime
/// per backend/server, certificate expiry, DNS failover, VIP holders) read in a few queries. With
/// `fleet serve --metrics-token`, 401 without `Authorization: Bearer <token>`.
#[utoipa::path(get, path = "/metrics", security(()), tag = "system", responses(
    (status = 200, description = "metrics text", body = String, content_type = "text/plain"),
    (status = 401, description = "`--metrics-token` is set and the request does not carry it")))]
pub(crate) async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.metrics.token {
        let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
        if !fleet_core::metrics::bearer_matches(authorization, token) {
            let error = ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "/metrics needs the metrics token (Authorization: Bearer)");
            return ([(WWW_AUTHENTICATE, "Bearer")], error).into_response();
        }
    }
    let mut text = state.metrics.render();
    match state.store.fleet_snapshot().await {
        Ok(snapshot) => text.push_str(&fleet_core::metrics::render(&snapshot, &state.metrics.options)),
        // This server's own families still answer when the database does not.
        Err(error) => tracing::warn!(%error, "fleet families left out of /metrics"),
    }
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
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
