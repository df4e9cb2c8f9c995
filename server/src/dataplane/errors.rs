//! Errors as the Data Plane API answers them: `{"code": <HTTP status>, "message": "..."}`
//! (upstream's `error` model), with upstream's statuses (client-native's error kinds as
//! dataplaneapi's `misc.HandleError` maps them):
//!
//! ```text
//! not found ........................................ 404
//! already exists, version mismatch (stale base) .... 409
//! invalid body or configuration, no version/transaction, unknown transaction ... 400
//! a body that breaks its model's schema (required, enum, pattern) ............ 422
//! wrong credentials 401 (WWW-Authenticate: Basic), role or scope 403, limits 413/429
//! anything internal ................................ 500, logged, a generic message
//! ```
//!
//! The classification and the hiding of internals are the API's ([`crate::errors::ApiError`]);
//! this only reshapes its answer.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::errors::ApiError;

/// An error answer of the compatibility surface.
#[derive(Debug)]
pub(crate) struct DpError {
    status: StatusCode,
    message: String,
}

pub(crate) type DpResult<T> = Result<T, DpError>;

#[derive(Serialize)]
struct Body<'a> {
    code: u16,
    message: &'a str,
}

impl DpError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> DpError {
        DpError { status, message: message.into() }
    }

    /// 400.
    pub(crate) fn bad_request(message: impl Into<String>) -> DpError {
        DpError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401 without (readable) Basic credentials.
    pub(crate) fn unauthorized() -> DpError {
        DpError::new(StatusCode::UNAUTHORIZED, "missing or wrong credentials (HTTP Basic: a fleet user and its password or API token)")
    }
}

impl From<ApiError> for DpError {
    fn from(error: ApiError) -> DpError {
        // Upstream answers 400 where this API says 422 (a body or configuration that breaks
        // the rules); the first error's place goes into the message.
        let status = match error.status() {
            StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
            other => other,
        };
        let mut message = error.message().to_string();
        if let Some(first) = error.diagnostics().first() {
            message = format!("{message}: line {}:{}: {}", first.position.line, first.position.column, first.message);
        }
        DpError { status, message }
    }
}

impl From<fleet_core::Error> for DpError {
    fn from(error: fleet_core::Error) -> DpError {
        if let fleet_core::Error::Malformed(message) = &error {
            return DpError::new(StatusCode::UNPROCESSABLE_ENTITY, message.clone());
        }
        let outdated = matches!(error, fleet_core::Error::Outdated { .. });
        let mut mapped = DpError::from(ApiError::from(error));
        if outdated {
            mapped.message = format!("version mismatch: {}", mapped.message);
        }
        mapped
    }
}

impl IntoResponse for DpError {
    fn into_response(self) -> Response {
        let body = Body { code: self.status.as_u16(), message: &self.message };
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"HAProxy Fleet Data Plane API\""));
        }
        response
    }
}

/// 404 for a path under the surface that no route serves.
pub(crate) async fn no_route() -> DpError {
    DpError::new(StatusCode::NOT_FOUND, "no such route in this Data Plane API surface (see the README for the implemented routes)")
}

/// 405 for a routed path that does not serve this method.
pub(crate) async fn method_not_allowed() -> DpError {
    DpError::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed on this route")
}
