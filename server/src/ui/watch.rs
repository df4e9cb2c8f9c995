//! What needs watching across the fleet: certificates with their expiry, and alerts (firing and
//! resolved) with their rules; a rule can be silenced from here.

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use fleet_core::rbac::{Permission, Scope};
use maud::html;
use serde::Deserialize;

use super::error::{UiError, UiResult};
use super::layout::{self, badge, Nav};
use super::session::{urlencode, Posted, Session};
use crate::http::AppState;

/// Days under which a certificate's expiry is flagged.
const EXPIRY_WARNING_DAYS: i64 = 21;

/// `GET /ui/certificates`: every certificate the session may read, soonest expiry first.
pub(crate) async fn certificates(State(state): State<AppState>, session: Session) -> UiResult<Html<String>> {
    session.principal.reader()?;
    let clusters = state.store.clusters(None).await?;
    let mut shown = Vec::new();
    for certificate in state.store.certificates().await? {
        let principal = match certificate.cluster_id {
            Some(id) => state.store.scoped(session.principal.clone(), Scope::Cluster(id)).await?,
            None => session.principal.clone(),
        };
        if principal.user(Permission::Read).is_ok() {
            shown.push(certificate);
        }
    }
    shown.sort_by_key(|c| c.facts.not_after);
    let now = state.store.now();
    let body = html! {
        @if shown.is_empty() { p.muted { "No certificates. Upload one with POST /api/v1/certificates or order one from an ACME CA." } }
        @else {
            table {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Names" } th scope="col" { "Issuer" } th scope="col" { "Expires" } th scope="col" { "Cluster" } th.num scope="col" { "Revision" } } }
                tbody { @for c in &shown {
                    @let days = (c.facts.not_after - now) / 86_400_000;
                    tr {
                        td { (c.name) }
                        td { (c.facts.sans.join(", ")) }
                        td { (c.facts.issuer) }
                        td { (layout::time(c.facts.not_after)) " "
                            @if days < 0 { (badge("bad", "expired")) } @else if days < EXPIRY_WARNING_DAYS { (badge("warn", &format!("{days} days"))) } @else { (badge("ok", &format!("{days} days"))) } }
                        td { (c.cluster_id.and_then(|id| clusters.iter().find(|x| x.id == id)).map(|x| x.name.as_str()).unwrap_or("any")) }
                        td.num { (c.revision) }
                    }
                } }
            }
        }
    };
    Ok(layout::page(&session, Nav::Certificates, "Certificates", body))
}

/// `?state=`.
#[derive(Deserialize)]
pub(crate) struct AlertQuery {
    state: Option<String>,
    done: Option<String>,
}

/// `GET /ui/alerts`: alerts (firing first) and the rules.
pub(crate) async fn alerts(State(state): State<AppState>, session: Session, Query(query): Query<AlertQuery>) -> UiResult<Html<String>> {
    session.principal.user(Permission::Read)?;
    let wanted = query.state.as_deref().filter(|s| !s.is_empty());
    let alerts = state.store.alerts(wanted, 200).await?;
    let rules = state.store.alert_rules().await?;
    let writer = session.principal.user(Permission::Write).is_ok();
    let body = html! {
        (layout::notice(query.done.as_deref()))
        form.row method="get" {
            label { "State" select name="state" {
                @for s in ["", "firing", "pending", "resolved"] { option value=(s) selected[wanted == Some(s) || (s.is_empty() && wanted.is_none())] { (if s.is_empty() { "any" } else { s }) } }
            } }
            button type="submit" { "Show" }
        }
        @if alerts.is_empty() { p.muted { "No alerts." } }
        @else {
            table {
                thead { tr { th scope="col" { "State" } th scope="col" { "Rule" } th scope="col" { "Subject" } th scope="col" { "Summary" } th scope="col" { "Since" } } }
                tbody { @for a in &alerts {
                    tr {
                        td { @match a.state.as_str() { "firing" => (badge("bad", "firing")), "pending" => (badge("warn", "pending")), other => (badge("idle", other)) }
                            @if a.silenced { " " (badge("idle", "silenced")) } }
                        td { (a.rule) } td { (a.subject) } td { (a.summary) } td { (layout::time(a.started_at)) }
                    }
                } }
            }
        }
        h2 { "Rules" }
        table {
            thead { tr { th scope="col" { "Rule" } th scope="col" { "Enabled" } th scope="col" { "For" } th scope="col" { "Silenced until" } @if writer { th scope="col" { "" } } } }
            tbody { @for r in &rules {
                tr {
                    td { (r.rule.name) }
                    td { @if r.rule.enabled { (badge("ok", "yes")) } @else { (badge("idle", "no")) } }
                    td { (r.rule.for_seconds) " s" }
                    td { @match r.silenced_until { Some(at) => (layout::time(at)), None => "–" } }
                    @if writer { td {
                        form.row method="post" action={ "/ui/alerts/rules/" (r.id) "/silence" } {
                            (layout::csrf(&session))
                            label { "Silence " (r.rule.name) " for (minutes)" input name="minutes" type="number" min="1" max="43200" value="60"; }
                            button.secondary type="submit" { "Silence" }
                        }
                    } }
                }
            } }
        }
        p.muted { "Rules are created and changed through the API (/api/v1/alerts/rules, admin)." }
    };
    Ok(layout::page(&session, Nav::Alerts, "Alerts", body))
}

/// The silence form.
#[derive(Deserialize)]
pub(crate) struct SilenceForm {
    minutes: u64,
}

/// `POST /ui/alerts/rules/{id}/silence`.
pub(crate) async fn silence(State(state): State<AppState>, Path(id): Path<i64>, posted: Posted<SilenceForm>) -> UiResult<Response> {
    let user = posted.session.principal.user(Permission::Write)?;
    let minutes = posted.form.minutes;
    if minutes == 0 {
        return Err(UiError::bad_request("silence for at least one minute"));
    }
    let rule = state.store.silence_alert_rule(&user.username, id, minutes * 60).await?;
    Ok(Redirect::to(&format!("/ui/alerts?done={}", urlencode(&format!("rule {} silenced for {minutes} min", rule.rule.name)))).into_response())
}
