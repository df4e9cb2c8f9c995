//! The HTTP API: state, router, middleware.
//!
//! ```text
//! request -> request id -> trace span -> metrics -> body limit -> writes in their own task -> route handler
//!            handler: extract (path, query, body, Caller) -> fleet-core -> JSON / text / ApiError
//! ```
//!
//! Every route is declared with `#[utoipa::path]` and registered through `utoipa_axum::routes!`,
//! so the router and the OpenAPI document at `/api/v1/openapi.json` come from the same
//! declarations. `/api/docs` shows that document in Swagger UI ([`docs`]).

mod auth;
mod complete;
mod docs;
mod extract;
pub(crate) mod limits;
pub(crate) mod metrics;
mod names;
mod quiet;
mod routes;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::Router;
use fleet_core::{DesiredWatch, Store};
use tokio::sync::watch;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::errors::ApiError;
use metrics::Metrics;
pub(crate) use routes::install::AgentFile;
pub(crate) use routes::releases::Releases;
pub(crate) use routes::Peer;

/// What every handler can reach ([`Shared`]). One reference count to clone: every request
/// clones it for each layer and extractor that takes it.
#[derive(Clone)]
pub(crate) struct AppState(Arc<Shared>);

impl AppState {
    pub(crate) fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What an [`AppState`] holds.
pub(crate) struct Shared {
    pub(crate) store: Store,
    pub(crate) desired: Arc<DesiredWatch>,
    pub(crate) metrics: Arc<Metrics>,
    /// The URL agents reach this server at, for install commands (else taken from `Host`).
    pub(crate) public_url: Option<String>,
    /// True when served over TLS (install commands built from `Host` say `https://`).
    pub(crate) https: bool,
    /// The self-signed CA agents pin (`fleet serve --tls-self-signed`), for install commands.
    pub(crate) ca_fingerprint: Option<fleet_core::fingerprint::CaFingerprint>,
    /// Flips to true when the server shuts down: long-polls end at once.
    pub(crate) shutdown: watch::Receiver<bool>,
    /// How long a session lasts.
    pub(crate) session_ttl: Duration,
    /// How long a Data Plane API write waits for its rollout (`--dataplane-wait-seconds`).
    pub(crate) dataplane_wait: Duration,
    /// How long an enrolment secret stays valid.
    pub(crate) enrolment_ttl: Duration,
    /// Request body limits ([`limits`]).
    pub(crate) body_limits: limits::BodyLimits,
    /// Long-polls waiting per agent ([`fleet_core::limits::PollSlots`]).
    pub(crate) poll_slots: Arc<fleet_core::limits::PollSlots>,
    /// The master key ring: seals and opens stored private keys (certificates).
    pub(crate) keyring: Arc<fleet_core::secrets::Keyring>,
    /// The task driving ACME orders (woken when one is created; shares the key ring).
    pub(crate) acme: fleet_core::certs::acme::driver::AcmeDriver,
    /// The agent binary handed out at `/install/fleet-agent` (`fleet serve --agent-binary`).
    pub(crate) agent_file: Option<Arc<routes::install::AgentFile>>,
    /// Signed agent releases and the key agents pin (`--releases`, `--release-public-key`).
    pub(crate) releases: Arc<routes::releases::Releases>,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "HAProxy Fleet API", description = "Versioned, lossless HAProxy configuration for fleets of nodes."),
    modifiers(&BearerAuth),
    components(schemas(crate::errors::Body)),
    security(("bearer" = [])),
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The routes and their OpenAPI document, before state and middleware.
pub(crate) fn api() -> OpenApiRouter<AppState> {
    let mut api = routes::register(OpenApiRouter::with_openapi(ApiDoc::openapi()));
    routes::openapi_paths(api.get_openapi_mut());
    routes::document_errors(api.get_openapi_mut());
    api
}

/// The URL agents reach this server at, for install commands: `--public-url`, else the scheme
/// this server speaks and the host the request was sent to (HTTP/2 carries it in `:authority`,
/// the URI, not in `Host`).
pub(crate) fn server_url(state: &AppState, headers: &axum::http::HeaderMap, uri: &axum::http::Uri) -> String {
    match &state.public_url {
        Some(url) => url.clone(),
        None => {
            let host = headers
                .get(axum::http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .or_else(|| uri.authority().map(|a| a.as_str()))
                .unwrap_or("localhost");
            let scheme = if state.https { "https" } else { "http" };
            format!("{scheme}://{host}")
        }
    }
}

/// Issues an enrolment whose install commands point at this server as the request reached it
/// (the API's and the web UI's enrolment forms).
pub(crate) async fn issue_enrolment(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    uri: &axum::http::Uri,
    actor: &str,
    cluster_id: i64,
    request: fleet_core::EnrolmentRequest,
) -> fleet_core::Result<fleet_core::IssuedEnrolment> {
    let server_url = server_url(state, headers, uri);
    let script = routes::install::script(state, &server_url);
    let source = fleet_core::InstallSource { server_url: &server_url, ca: state.ca_fingerprint.as_ref(), script: script.as_deref() };
    state.store.issue_enrolment(actor, cluster_id, request, state.enrolment_ttl, source).await
}

/// Request ids: `x-request-id` from the client when it sends one, else `r<n>` per process.
#[derive(Clone, Default)]
struct Counter(Arc<AtomicU64>);

impl MakeRequestId for Counter {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let n = self.0.fetch_add(1, Ordering::Relaxed) + 1;
        format!("r{n}").parse().ok().map(RequestId::new)
    }
}

/// The whole application: routes, the OpenAPI document, middleware, state.
pub(crate) fn app(state: AppState) -> Router {
    let (router, _openapi) = api().split_for_parts();
    let request_id = HeaderName::from_static("x-request-id");
    let metrics = state.metrics.clone();
    let body_limits = state.body_limits;
    let api = router
        .merge(docs::routes())
        .merge(crate::ui::routes())
        .merge(crate::dataplane::routes())
        .fallback(|| async { ApiError::no_route() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(axum::middleware::from_fn(complete::complete_writes))
        .layer(DefaultBodyLimit::max(body_limits.upload_bytes))
        .layer(axum::middleware::from_fn_with_state(body_limits, limits::limit_bodies))
        .layer(axum::middleware::from_fn_with_state(metrics, metrics::track))
        .layer(axum::middleware::from_fn(quiet::mark))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", id = %id, method = %request.method(), uri = %request.uri())
        }).on_response(quiet::on_response))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, Counter::default()))
        .with_state(state.clone());
    // Cluster and pool names become ids before routing ([`names`]): a layer of the router runs
    // after its routing, so the API is this router's fallback.
    Router::new().fallback_service(api).layer(axum::middleware::from_fn_with_state(state.store.clone(), names::resolve))
}

#[cfg(test)]
mod long_poll_size {
    /// The size of the future `f` returns, without calling it.
    fn future_size<A, B, C, Fut, F: FnOnce(A, B, C) -> Fut>(_f: F) -> usize {
        std::mem::size_of::<Fut>()
    }

    /// An agent's long-poll keeps its future, and every layer's, for as long as it waits: once
    /// per agent, 10,000 on one server (issue 20). Sizes as this profile builds them; they were
    /// 4,064 and 2,576 bytes before the rare steps were boxed.
    #[test]
    fn a_waiting_long_poll_holds_small_futures() {
        let desired = future_size(super::routes::agent::desired);
        assert!(desired <= 2_500, "the desired-state handler's future is {desired} bytes");
        let resolve = future_size(super::names::resolve);
        assert!(resolve <= 1_200, "the name middleware's future is {resolve} bytes");
    }
}
