//! The event stream (`GET /api/v1/events`): server-sent events (HTML Living Standard §9.2) of
//! what happens in the fleet, read by fleet-core's feed (see `Store::feed_events`).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use fleet_core::rbac::Permission;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use utoipa::IntoParams;

use crate::errors::ApiResult;
use crate::http::auth::Caller;
use crate::http::extract::Query;
use crate::http::AppState;

/// `?cluster_id=&kinds=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventsQuery {
    /// Only this cluster's events (and those of no cluster: alerts, fleet-wide changes).
    cluster_id: Option<i64>,
    /// Comma-separated kinds to keep: `audit`, `alert` (default both).
    kinds: Option<String>,
}

/// Follows the fleet: each event is an SSE `event: audit|alert` whose `data` is the JSON
/// `{kind, at, cluster_id, data}`; a comment every 15 s keeps proxies from closing the stream;
/// a subscriber that fell behind gets `event: lagged` with how many it missed.
#[utoipa::path(get, path = "/api/v1/events", tag = "events", params(EventsQuery),
    responses((status = 200, description = "text/event-stream of fleet events", content_type = "text/event-stream", body = String)))]
pub(crate) async fn event_stream(State(state): State<AppState>, Caller(caller): Caller, Query(query): Query<EventsQuery>) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    let kinds: Vec<String> = query.kinds.as_deref().unwrap_or("audit,alert").split(',').map(|k| k.trim().to_string()).collect();
    let receiver = state.store.subscribe_events();
    let shutdown = state.shutdown.clone();
    let stream = futures_util::stream::unfold((receiver, shutdown), move |(mut receiver, mut shutdown)| {
        let kinds = kinds.clone();
        async move {
            loop {
                let next = tokio::select! {
                    next = receiver.recv() => next,
                    _ = shutdown.changed() => return None,
                };
                let event = match next {
                    Ok(event) => event,
                    Err(RecvError::Lagged(missed)) => return Some((Ok::<_, Infallible>(Event::default().event("lagged").data(missed.to_string())), (receiver, shutdown))),
                    Err(RecvError::Closed) => return None,
                };
                let cluster_ok = query.cluster_id.is_none() || event.cluster_id.is_none() || event.cluster_id == query.cluster_id;
                if !cluster_ok || !kinds.iter().any(|k| k == event.kind) {
                    continue;
                }
                let data = serde_json::to_string(&*event).unwrap_or_default();
                return Some((Ok(Event::default().event(event.kind).data(data)), (receiver, shutdown)));
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
