//! Writes run to completion even when the client goes away.
//!
//! hyper drops a handler's future when its connection closes. A write dropped in the middle of
//! `BEGIN IMMEDIATE` (waiting for SQLite's write lock) can leave the pooled connection inside a
//! transaction nobody owns: later writes on it fail ("attempted to call begin_with at non-zero
//! transaction depth") and it holds the lock ("database is locked"). An agent killed while it
//! reports, or a client that times out, must not be able to do that. So every request that may
//! write (any method but GET and HEAD) runs in a task of its own, which finishes whether or not
//! anyone still waits for the answer. Reads stay inline: a long-poll whose agent is gone should
//! end with it.

use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use crate::errors::ApiError;

/// Middleware: runs requests that may write in their own task (see the module docs).
pub(crate) async fn complete_writes(request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let task = tokio::spawn(next.run(request).instrument(tracing::Span::current()));
    match task.await {
        Ok(response) => response,
        Err(error) => {
            tracing::error!(%error, "request task failed");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal server error").into_response()
        }
    }
}
