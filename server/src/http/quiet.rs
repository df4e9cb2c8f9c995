//! The request log at the right level: agents' routine traffic (heartbeats, desired-state
//! long-polls that end without news, runtime-action polls) at debug, so the info log holds the
//! domain events (applies, reports, enrolments, user requests) and not heartbeat noise.

use std::time::Duration;

use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use fleet_core::runtime::AGENT_RUNTIME_PATH;
use fleet_core::wire::{DESIRED_PATH, HEARTBEAT_PATH};

/// Marks a response as routine (logged at debug).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Routine;

/// True for an agent's routine request: a heartbeat, a runtime-action poll, or a long-poll of
/// the desired state that ended without news (304).
pub(crate) fn is_routine(method: &Method, path: &str, status: StatusCode) -> bool {
    match (method, path) {
        (&Method::POST, HEARTBEAT_PATH) | (&Method::GET, AGENT_RUNTIME_PATH) => status.is_success(),
        (&Method::GET, DESIRED_PATH) => status == StatusCode::NOT_MODIFIED,
        _ => false,
    }
}

/// Middleware: marks routine responses for [`on_response`].
pub(crate) async fn mark(request: Request, next: Next) -> Response {
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    let mut response = next.run(request).await;
    if is_routine(&method, &path, response.status()) {
        response.extensions_mut().insert(Routine);
    }
    response
}

/// The trace layer's response line: debug for routine responses, info for the rest.
pub(crate) fn on_response<B>(response: &Response<B>, latency: Duration, _span: &tracing::Span) {
    let (status, latency) = (response.status().as_u16(), latency.as_millis() as u64);
    if response.extensions().get::<Routine>().is_some() {
        tracing::debug!(status, latency_ms = latency, "finished processing request");
    } else {
        tracing::info!(status, latency_ms = latency, "finished processing request");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_routine_agent_traffic_is_quiet() {
        assert!(is_routine(&Method::POST, HEARTBEAT_PATH, StatusCode::OK));
        assert!(is_routine(&Method::GET, AGENT_RUNTIME_PATH, StatusCode::OK));
        assert!(is_routine(&Method::GET, DESIRED_PATH, StatusCode::NOT_MODIFIED));
        assert!(!is_routine(&Method::GET, DESIRED_PATH, StatusCode::OK), "news for an agent is an event");
        assert!(!is_routine(&Method::POST, HEARTBEAT_PATH, StatusCode::UNAUTHORIZED), "a refused agent is not routine");
        assert!(!is_routine(&Method::POST, "/api/v1/agent/report", StatusCode::OK));
    }
}
