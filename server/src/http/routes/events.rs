//! The event stream (`GET /api/v1/events`): server-sent events (HTML Living Standard §9.2) of
//! what happens in the fleet, read by fleet-core's feed (see `Store::feed_events`).

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use fleet_core::rbac::{Principal, Readable};
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
#[serde(deny_unknown_fields)]
pub(crate) struct EventsQuery {
    /// Only this cluster's events (and those of no cluster: alerts, fleet-wide changes, shown
    /// to callers with a global role only). A cluster the caller may not read: 403.
    cluster_id: Option<i64>,
    /// Comma-separated kinds to keep: `audit`, `alert` (default both).
    kinds: Option<String>,
}

/// One server-sent event of the stream, as a client's SSE parser yields it (the schema of the
/// `text/event-stream` body, per event).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct StreamEvent {
    /// `audit`, `alert` or `lagged`.
    event: String,
    /// For `audit` and `alert`, the JSON `{kind, at, cluster_id, data}`; for `lagged`, how many
    /// events the subscriber missed.
    data: String,
}

/// Follows the fleet: each event is an SSE `event: audit|alert` whose `data` is the JSON
/// `{kind, at, cluster_id, data}`; a comment every 15 s keeps proxies from closing the stream;
/// a subscriber that fell behind gets `event: lagged` with how many it missed.
#[utoipa::path(get, path = "/api/v1/events", tag = "events", params(EventsQuery),
    responses((status = 200, description = "text/event-stream of fleet events", content_type = "text/event-stream", body = StreamEvent)))]
pub(crate) async fn event_stream(State(state): State<AppState>, Caller(caller): Caller, Query(query): Query<EventsQuery>) -> ApiResult<impl IntoResponse> {
    let readable = state.store.readable(&caller).await?;
    if let Some(id) = query.cluster_id {
        if !readable.sees(Some(id)) && !state.store.reads_cluster(&caller, id).await? {
            return Err(fleet_core::Error::Forbidden(format!("no role here allows to read cluster {id}")).into());
        }
    }
    let kinds: Vec<String> = query.kinds.as_deref().unwrap_or("audit,alert").split(',').map(|k| k.trim().to_string()).collect();
    let receiver = state.store.subscribe_events();
    let shutdown = state.shutdown.clone();
    // Who may see what: the caller's clusters when the stream opened; a cluster seen later is
    // asked about once (it may have been made in one of the caller's pools since).
    let sight = Sight { store: state.store.clone(), caller, readable, later: HashMap::new() };
    let stream = futures_util::stream::unfold((receiver, shutdown, sight), move |(mut receiver, mut shutdown, mut sight)| {
        let kinds = kinds.clone();
        async move {
            loop {
                let next = tokio::select! {
                    next = receiver.recv() => next,
                    _ = shutdown.changed() => return None,
                };
                let event = match next {
                    Ok(event) => event,
                    Err(RecvError::Lagged(missed)) => {
                        return Some((Ok::<_, Infallible>(Event::default().event("lagged").data(missed.to_string())), (receiver, shutdown, sight)))
                    }
                    Err(RecvError::Closed) => return None,
                };
                let cluster_ok = query.cluster_id.is_none() || event.cluster_id.is_none() || event.cluster_id == query.cluster_id;
                if !cluster_ok || !kinds.iter().any(|k| k == event.kind) || !sight.sees(event.cluster_id).await {
                    continue;
                }
                let data = serde_json::to_string(&*event).unwrap_or_default();
                return Some((Ok(Event::default().event(event.kind).data(data)), (receiver, shutdown, sight)));
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// What a subscriber may see ([`Readable`]), with the clusters asked about since it subscribed.
struct Sight {
    store: fleet_core::Store,
    caller: Principal,
    readable: Readable,
    later: HashMap<i64, bool>,
}

impl Sight {
    async fn sees(&mut self, cluster: Option<i64>) -> bool {
        match cluster {
            _ if self.readable.sees(cluster) => true,
            None => false,
            Some(id) => match self.later.get(&id) {
                Some(seen) => *seen,
                None => {
                    let seen = self.store.reads_cluster(&self.caller, id).await.unwrap_or(false);
                    self.later.insert(id, seen);
                    seen
                }
            },
        }
    }
}
