//! The one mapping from failures to HTTP responses:
//! `{"error":{"code","message","line","column"}}` (line and column for configuration errors,
//! with `file` when the configuration has several files, plus every `diagnostics` entry when
//! there are several).
//!
//! 401 means "who are you?" (no, unknown or expired token) and carries `WWW-Authenticate`;
//! 403 means "you may not" (a role or a principal kind that does not allow the route). 413 and
//! 429 name the limit that refused the request and its `fleet serve` flag; 507 says the
//! database's disk is full (writes resume by themselves once space is freed). Storage,
//! crypto and other internal failures are logged with the request's span and answered with a
//! generic message: no SQL, paths or library errors leave the server.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use haproxy_model::Diagnostic;
use serde::Serialize;

/// An error answer.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    diagnostics: Vec<Diagnostic>,
    /// Seconds for a `Retry-After` header (429).
    retry_after: Option<u64>,
    /// What a decommissioned agent must do (410).
    decommission: Option<Box<fleet_core::wire::Decommission>>,
}

/// The body of every error answer (the OpenAPI document's `Error` schema).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub(crate) struct Body<'a> {
    error: Inner<'a>,
}

/// What went wrong.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ErrorDetail)]
struct Inner<'a> {
    /// Machine-readable: `not_found`, `conflict`, `invalid`, `forbidden`, `throttled` ...
    code: &'a str,
    /// For people: lowercase, no final period.
    message: &'a str,
    /// The bundle file of the first diagnostic, when it names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    diagnostics: Vec<DiagnosticBody<'a>>,
    /// With `decommissioned` (410 Gone, an agent token revoked by a decommission or a forced
    /// delete): whether the node should stop HAProxy before its agent exits.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<fleet_core::wire::Decommission>)]
    decommission: Option<&'a fleet_core::wire::Decommission>,
}

/// One finding about a configuration.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ErrorDiagnostic)]
struct DiagnosticBody<'a> {
    severity: String,
    /// The bundle file it is in, when the configuration has several.
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    line: u32,
    column: u32,
    message: &'a str,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), diagnostics: Vec::new(), retry_after: None, decommission: None }
    }

    /// The HTTP status.
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    /// The message for people (lowercase, no final period).
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    /// Configuration diagnostics, errors first.
    pub(crate) fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// 400: a malformed request (bad JSON, a missing query parameter).
    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// An extractor's rejection, keeping its status (400, 413, 415, 422).
    pub(crate) fn rejected(status: StatusCode, message: String) -> ApiError {
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::UNPROCESSABLE_ENTITY => "invalid",
            _ => "bad_request",
        };
        ApiError::new(status, code, message.to_lowercase())
    }

    /// 404 for a path no route serves.
    pub(crate) fn no_route() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "no_route", "no such route")
    }

    /// 405 for a routed path that does not serve this method.
    pub(crate) fn method_not_allowed() -> ApiError {
        ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "method not allowed on this route")
    }

    fn internal(error: &fleet_core::Error) -> ApiError {
        tracing::error!(%error, "internal error");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal server error")
    }
}

impl From<fleet_core::Error> for ApiError {
    fn from(error: fleet_core::Error) -> ApiError {
        use fleet_core::Error as E;
        match error {
            E::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, "not_found", error.to_string()),
            E::Conflict(_) => ApiError::new(StatusCode::CONFLICT, "conflict", error.to_string()),
            E::Outdated { .. } => ApiError::new(StatusCode::CONFLICT, "outdated", error.to_string()),
            E::Invalid { message, mut diagnostics } => {
                diagnostics.sort_by_key(|d| (!d.is_error(), d.position.line, d.position.column));
                ApiError { status: StatusCode::UNPROCESSABLE_ENTITY, code: "invalid", message, diagnostics, retry_after: None, decommission: None }
            }
            E::Malformed(message) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message),
            E::Unauthorized => {
                ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "missing, unknown or expired credentials")
            }
            E::Forbidden(message) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", message),
            E::Decommissioned(decommission) => {
                let message = format!(
                    "agent {} was decommissioned by {} ({}): {}",
                    decommission.agent,
                    decommission.by,
                    decommission.reason,
                    if decommission.stop_haproxy { "stop haproxy and exit" } else { "leave haproxy running and exit" }
                );
                let mut answer = ApiError::new(StatusCode::GONE, "decommissioned", message);
                answer.decommission = Some(decommission);
                answer
            }
            E::Throttled { retry_after_ms } => {
                let mut answer = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "throttled", error.to_string());
                answer.retry_after = Some(fleet_core::auth::throttle::retry_after_secs(retry_after_ms));
                answer
            }
            E::TooMany(message) => ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many", message),
            E::TooLarge(message) => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message),
            E::StorageFull(words) => {
                tracing::error!(%words, "the database's disk is full");
                ApiError::new(
                    StatusCode::INSUFFICIENT_STORAGE,
                    "storage_full",
                    "the server's database has no space left: nothing was written; retry once space is freed",
                )
            }
            other => ApiError::internal(&other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let first = self.diagnostics.first();
        let body = Body {
            error: Inner {
                code: self.code,
                message: &self.message,
                file: first.and_then(|d| d.file.as_deref()),
                line: first.map(|d| d.position.line),
                column: first.map(|d| d.position.column),
                diagnostics: self
                    .diagnostics
                    .iter()
                    .map(|d| DiagnosticBody {
                        severity: d.severity.to_string(),
                        file: d.file.as_deref(),
                        line: d.position.line,
                        column: d.position.column,
                        message: &d.message,
                    })
                    .collect(),
                decommission: self.decommission.as_deref(),
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// What handlers return.
pub(crate) type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;

    use super::*;

    async fn answer(error: fleet_core::Error) -> (StatusCode, Option<String>, serde_json::Value) {
        let response = ApiError::from(error).into_response();
        let status = response.status();
        let challenge = response.headers().get(header::WWW_AUTHENTICATE).map(|v| v.to_str().unwrap().to_string());
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, challenge, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn statuses_and_codes() {
        use fleet_core::Error as E;
        let cases = [
            (E::not_found("cluster 7"), 404, "not_found"),
            (E::Conflict("pool in use".into()), 409, "conflict"),
            (E::Outdated { base: 1, latest: 2 }, 409, "outdated"),
            (E::invalid("bad role"), 422, "invalid"),
            (E::Malformed("name is required".into()), 422, "invalid"),
            (E::Unauthorized, 401, "unauthorized"),
            (E::Forbidden("role viewer may not write".into()), 403, "forbidden"),
            (E::TooMany("user a has 32 open transactions".into()), 429, "too_many"),
            (E::TooLarge("a transaction holds at most 10 ops".into()), 413, "too_large"),
            (E::StorageFull("database or disk is full".into()), 507, "storage_full"),
        ];
        for (error, status, code) in cases {
            let (got, challenge, body) = answer(error).await;
            assert_eq!(got.as_u16(), status);
            assert_eq!(body["error"]["code"], code);
            assert_eq!(challenge.is_some(), status == 401);
        }
    }

    #[tokio::test]
    async fn a_decommissioned_agent_hears_410_with_what_to_do() {
        let decommission = fleet_core::wire::Decommission {
            agent: "web-1".into(),
            cluster_id: 7,
            reason: fleet_core::wire::DECOMMISSIONED.into(),
            stop_haproxy: true,
            by: "admin".into(),
            at: 1_700_000_000_000,
        };
        let (status, challenge, body) = answer(fleet_core::Error::Decommissioned(Box::new(decommission.clone()))).await;
        assert_eq!((status, challenge), (StatusCode::GONE, None));
        assert_eq!(body["error"]["code"], "decommissioned");
        assert_eq!(body["error"]["message"], "agent web-1 was decommissioned by admin (decommissioned): stop haproxy and exit");
        let back: fleet_core::wire::Decommission = serde_json::from_value(body["error"]["decommission"].clone()).unwrap();
        assert_eq!(back, decommission);
    }

    #[tokio::test]
    async fn internal_details_stay_inside() {
        let secret = "corrupt column secret_hash at /var/lib/fleet/fleet.db";
        let (status, _, body) = answer(fleet_core::Error::Corrupt(secret.into())).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body, serde_json::json!({"error": {"code": "internal", "message": "internal server error"}}));
    }

    #[tokio::test]
    async fn configuration_errors_carry_line_and_column() {
        let parsed = haproxy_parse::check("backend app\n    balance nope\n");
        let error = fleet_core::Error::Invalid { message: "configuration has 1 error".into(), diagnostics: parsed.diagnostics };
        let (status, _, body) = answer(error).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["line"], 2);
        assert!(body["error"]["column"].as_u64().unwrap() > 1);
        assert_eq!(body["error"]["diagnostics"][0]["severity"], "error");
    }
}
