//! Failures as HTML: the API's one mapping of fleet-core errors to statuses
//! ([`crate::errors::ApiError`]), shown as a page that htmx can also swap in as a fragment.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::html;

use super::layout;
use crate::errors::ApiError;

/// An error answer of a UI route.
#[derive(Debug)]
pub(crate) struct UiError(ApiError);

impl UiError {
    /// 400 with `message`.
    pub(crate) fn bad_request(message: impl Into<String>) -> UiError {
        UiError(ApiError::bad_request(message))
    }

    /// 403: a form without its CSRF token, or with another session's.
    pub(crate) fn csrf() -> UiError {
        UiError(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "this form's security token is missing or out of date: reload the page and submit it again",
        ))
    }

    /// 404 for a name the URL gives.
    pub(crate) fn not_found(what: impl Into<String>) -> UiError {
        UiError(fleet_core::Error::not_found(what).into())
    }
}

impl From<fleet_core::Error> for UiError {
    fn from(error: fleet_core::Error) -> UiError {
        UiError(error.into())
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let body = html! {
            div.error role="alert" {
                p { strong { "Error " (status.as_u16()) ": " } (self.0.message()) }
                (layout::diagnostics(self.0.diagnostics()))
            }
        };
        let page = layout::bare(&format!("Error {}", status.as_u16()), html! { main #main { (body) p { a href="/ui/" { "Back to the overview" } } } });
        (status, Html(page.into_string())).into_response()
    }
}

/// What UI handlers return.
pub(crate) type UiResult<T> = Result<T, UiError>;
