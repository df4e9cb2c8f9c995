//! The web UI: server-rendered HTML under `/ui`, progressively enhanced with htmx.
//!
//! ```text
//! request -> security headers (CSP, no framing, no sniffing) -> route
//!   GET  page:  Session (cookie -> fleet-core Principal) -> fleet-core reads -> maud markup -> layout
//!   POST form:  Posted<T> (session + CSRF token, then the urlencoded form) -> fleet-core write
//!               -> redirect (303, Post/Redirect/Get) or an htmx fragment
//! ```
//!
//! Pages read and write through fleet-core exactly as the JSON API's handlers do: the UI decides
//! nothing the API would not. Every read page works without JavaScript; htmx adds live parts
//! (apply progress, runtime actions) and is vendored (`assets/`). Errors are
//! [`crate::errors::ApiError`]s rendered as HTML ([`error`]): one mapping of failures to statuses.

mod agents;
mod assets;
mod audit;
mod cluster;
mod error;
mod failover;
mod forms;
mod highlight;
mod jobs;
mod layout;
mod login;
mod overview;
mod rollouts;
mod maps;
mod rules;
mod schedules;
mod servers;
mod session;
mod users;
mod versions;
mod watch;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::http::AppState;

/// `Content-Security-Policy` of every UI answer: only this server's scripts, styles, images and
/// connections; no inline script or style, no plugins, no framing, forms post only here.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The UI's routes (names, not ids, in URLs).
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/") }))
        .route("/ui", get(|| async { Redirect::to("/ui/") }))
        .route("/ui/", get(overview::page))
        .route("/ui/assets/{name}", get(assets::serve))
        .route("/ui/login", get(login::form).post(login::submit))
        .route("/ui/login/mfa", post(login::submit_mfa))
        .route("/ui/logout", post(login::logout))
        .route("/ui/account", get(users::account))
        .route("/ui/account/mfa", post(users::mfa_enrol))
        .route("/ui/account/mfa/confirm", post(users::mfa_confirm))
        .route("/ui/audit", get(audit::page))
        .route("/ui/certificates", get(watch::certificates))
        .route("/ui/alerts", get(watch::alerts))
        .route("/ui/schedules", get(schedules::page))
        .route("/ui/alerts/rules/{id}/silence", post(watch::silence))
        .route("/ui/users", get(users::page).post(users::create))
        .route("/ui/users/{username}", post(users::update))
        .route("/ui/pools/{pool}/failover", get(failover::page))
        .route("/ui/pools/{pool}/failover/activate", post(failover::activate))
        .route("/ui/pools/{pool}/failover/cutover", post(failover::cutover))
        .route("/ui/clusters/{cluster}", get(cluster::page))
        .route("/ui/clusters/{cluster}/import", post(cluster::import))
        .route("/ui/clusters/{cluster}/edit", get(cluster::editor))
        .route("/ui/clusters/{cluster}/check", post(cluster::check))
        .route("/ui/clusters/{cluster}/commit", post(cluster::commit))
        .route("/ui/clusters/{cluster}/versions", get(versions::list))
        .route("/ui/clusters/{cluster}/diff", get(versions::diff))
        .route("/ui/clusters/{cluster}/restore", post(versions::restore))
        .route("/ui/clusters/{cluster}/apply", post(versions::apply))
        .route("/ui/clusters/{cluster}/progress", get(versions::progress))
        .route("/ui/clusters/{cluster}/rollouts", post(rollouts::start))
        .route("/ui/clusters/{cluster}/rollouts/{id}/{action}", post(rollouts::control))
        .route("/ui/clusters/{cluster}/backends", get(servers::page))
        .route("/ui/clusters/{cluster}/edit/server", post(forms::server))
        .route("/ui/clusters/{cluster}/edit/backend", post(forms::backend))
        .route("/ui/clusters/{cluster}/edit/bind", post(forms::bind))
        .route("/ui/clusters/{cluster}/edit/acl", post(forms::acl))
        .route("/ui/clusters/{cluster}/edit/use-backend", post(forms::use_backend))
        .route("/ui/clusters/{cluster}/runtime", post(servers::runtime))
        .route("/ui/clusters/{cluster}/runtime/{id}", get(servers::runtime_status))
        .route("/ui/clusters/{cluster}/agents", get(agents::page))
        .route("/ui/clusters/{cluster}/jobs", get(jobs::page).post(jobs::run))
        .route("/ui/clusters/{cluster}/rules", get(rules::page))
        .route("/ui/clusters/{cluster}/rules/{rule}/entries", post(rules::entries))
        .route("/ui/clusters/{cluster}/rules/{rule}/delete", post(rules::delete))
        .route("/ui/clusters/{cluster}/maps", get(maps::page))
        .route("/ui/clusters/{cluster}/maps/change", post(maps::change))
        .route("/ui/clusters/{cluster}/jobs/{id}/cancel", post(jobs::cancel))
        .route("/ui/clusters/{cluster}/snapshots/{id}/restore", post(jobs::restore))
        .route("/ui/clusters/{cluster}/snapshots/{id}/promote", post(jobs::promote))
        .route("/ui/clusters/{cluster}/enrolments", post(agents::enrol))
        .route("/ui/clusters/{cluster}/agents/{agent}/revoke", post(agents::revoke))
        .route("/ui/clusters/{cluster}/agents/{agent}/decommission", post(agents::decommission))
        .layer(axum::middleware::map_response(secure))
}

/// Adds the security headers to every UI answer (pages, fragments, redirects, assets).
async fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response.into_response()
}
