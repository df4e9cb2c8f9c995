//! A pool's DNS failover: the record's target and what the DNS server answers now, each
//! member's measured health, manual moves (make active, cut over) and the timeline. Settings
//! are changed through the API (`PUT /api/v1/pools/{id}/failover`) or the client.

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use fleet_core::rbac::{Permission, Scope};
use fleet_core::{Error, Pool};
use maud::html;
use serde::Deserialize;

use super::error::UiResult;
use super::layout::{self, ago, badge, Nav};
use super::session::{urlencode, Posted, Session};
use crate::http::AppState;

/// The pool named `name`, with the session narrowed to it.
async fn open_pool(state: &AppState, session: &Session, name: &str) -> UiResult<(Pool, fleet_core::rbac::Principal)> {
    let pool = state.store.pool_by_name(name).await?;
    let principal = state.store.scoped(session.principal.clone(), Scope::Pool(pool.id)).await?;
    principal.user(Permission::Read)?;
    Ok((pool, principal))
}

/// `?done=`.
#[derive(Deserialize)]
pub(crate) struct Done {
    done: Option<String>,
}

/// `GET /ui/pools/{pool}/failover`.
pub(crate) async fn page(State(state): State<AppState>, session: Session, Path(name): Path<String>, Query(query): Query<Done>) -> UiResult<Html<String>> {
    let (pool, principal) = open_pool(&state, &session, &name).await?;
    let writer = principal.user(Permission::Write).is_ok();
    let failover = match state.store.failover(pool.id).await {
        Ok(f) => Some(f),
        Err(Error::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let events = state.store.failover_events(pool.id, 50).await?;
    let now = state.store.now();
    let base = format!("/ui/pools/{}/failover", urlencode(&pool.name));
    let body = html! {
        (layout::notice(query.done.as_deref()))
        @match &failover {
            None => p { "This pool has no DNS failover. Set one with " code { "PUT /api/v1/pools/" (pool.id) "/failover" } " (admin)." },
            Some(f) => {
                p { "Record " code { (f.settings.hostname) } " (" (f.settings.record_types.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")) ", TTL " (f.settings.ttl) " s) points at "
                    strong { (f.active.as_deref().unwrap_or("nobody yet")) }
                    @if let Some(at) = f.last_move_at { " since " span title=(fleet_core::clock::rfc3339(at)) { (ago(at, now)) } } "." }
                p { "Automatic failover " @if f.settings.automatic { (badge("ok", "on")) } @else { (badge("idle", "off")) }
                    ", detection window " (f.settings.detection_window_seconds) " s, hold " (f.settings.hold_seconds) " s." }
                h2 { "What the DNS server answers" }
                ul { @for p in &f.published { li { code { (p) } } } }
                h2 { "Members" }
                table {
                    thead { tr { th scope="col" { "Agent" } th scope="col" { "Addresses" } th scope="col" { "Health" } th scope="col" { "Probe" } th scope="col" { "Last seen" } @if writer { th scope="col" { "" } } } }
                    tbody { @for m in &f.members {
                        tr {
                            td { (m.agent) @if f.active.as_deref() == Some(m.agent.as_str()) { " " (badge("ok", "active")) } }
                            td { (m.addresses.join(", ")) }
                            td { @if m.healthy { (badge("ok", "healthy")) } @else { (badge("bad", "unhealthy")) } }
                            td { @match &m.probe { Some(p) => { @if p.ok { (badge("ok", "passing")) } @else { (badge("bad", "failing")) } " " span.muted { (p.detail) } }, None => span.muted { "none" } } }
                            td { @match m.last_seen_at { Some(at) => (ago(at, now)), None => "never" } }
                            @if writer { td { @if f.active.as_deref() != Some(m.agent.as_str()) {
                                form.inline method="post" action={ (base) "/activate" } data-confirm={ "Point " (f.settings.hostname) " at " (m.agent) "?" } {
                                    (layout::csrf(&session))
                                    input type="hidden" name="agent" value=(m.agent);
                                    button.secondary type="submit" { "Make active" }
                                }
                            } } }
                        }
                    } }
                }
                @if writer {
                    form method="post" action={ (base) "/cutover" } data-confirm="Move the record to the next ready standby?" {
                        (layout::csrf(&session))
                        button type="submit" { "Cut over to a standby" }
                    }
                }
            }
        }
        h2 { "Timeline" }
        @if events.is_empty() { p.muted { "Nothing yet." } }
        ul.timeline { @for e in &events { li { (layout::time(e.at)) " " code { (e.kind) } " " (e.message) } } }
    };
    Ok(layout::page(&session, Nav::None, &format!("DNS failover of pool {}", pool.name), body))
}

/// `agent=` of a manual move.
#[derive(Deserialize)]
pub(crate) struct ActivateForm {
    agent: String,
}

/// `POST /ui/pools/{pool}/failover/activate`.
pub(crate) async fn activate(State(state): State<AppState>, Path(name): Path<String>, posted: Posted<ActivateForm>) -> UiResult<Response> {
    let (pool, principal) = open_pool(&state, &posted.session, &name).await?;
    let user = principal.user(Permission::Write)?;
    let why = format!("made active by {}", user.username);
    state.store.activate(&user.username, &state.keyring, pool.id, &posted.form.agent, &why).await?;
    Ok(Redirect::to(&format!("/ui/pools/{}/failover?done={}", urlencode(&name), urlencode(&format!("{} is active", posted.form.agent)))).into_response())
}

/// `POST /ui/pools/{pool}/failover/cutover`.
pub(crate) async fn cutover(State(state): State<AppState>, Path(name): Path<String>, posted: Posted<super::login::Empty>) -> UiResult<Response> {
    let (pool, principal) = open_pool(&state, &posted.session, &name).await?;
    let user = principal.user(Permission::Write)?;
    let moved = state.store.cut_over(&user.username, &state.keyring, pool.id).await?;
    let done = format!("now pointing at {}", moved.active.as_deref().unwrap_or("nobody"));
    Ok(Redirect::to(&format!("/ui/pools/{}/failover?done={}", urlencode(&name), urlencode(&done))).into_response())
}
