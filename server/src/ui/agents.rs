//! A cluster's agents and enrolments: the measured state of each agent, one-time enrolments
//! (the install command is shown once, with a copy button), revocation and decommission.

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use fleet_core::rbac::Permission;
use fleet_core::EnrolmentRequest;
use maud::html;
use serde::Deserialize;

use super::cluster::{open, tabs, Tab};
use super::error::{UiError, UiResult};
use super::layout::{self, badge, Nav};
use super::overview::{agent_head, agent_row};
use super::session::{urlencode, Posted, Session};
use crate::http::AppState;

/// `?done=`.
#[derive(Deserialize)]
pub(crate) struct Done {
    done: Option<String>,
}

/// `GET /ui/clusters/{cluster}/agents`.
pub(crate) async fn page(State(state): State<AppState>, session: Session, Path(name): Path<String>, Query(query): Query<Done>) -> UiResult<Html<String>> {
    let opened = open(&state, &session, &name).await?;
    let cluster = &opened.cluster;
    let agents = state.store.agents(cluster.id).await?;
    let admin = opened.user(Permission::Admin).is_ok();
    let enrolments = if admin { state.store.pending_enrolments(cluster.id).await? } else { Vec::new() };
    let now = state.store.now();
    let base = format!("/ui/clusters/{}", urlencode(&cluster.name));
    let body = html! {
        (tabs(cluster, Tab::Agents))
        (layout::notice(query.done.as_deref()))
        @if agents.is_empty() { p.muted { "No agents enrolled." } } @else {
            table.matrix { (agent_head()) tbody { @for a in &agents { (agent_row(&a.into(), cluster.desired_version, now)) } } }
        }
        @if admin {
            @if !agents.is_empty() {
                h2 { "Revoke an agent" }
                p.muted { "Its token stops working at once; the node must enrol again." }
                @for a in &agents {
                    form.inline method="post" action={ (base) "/agents/" (urlencode(&a.name)) "/revoke" } data-confirm={ "Revoke agent " (a.name) "?" } {
                        (layout::csrf(&session))
                        button.danger type="submit" { "Revoke " (a.name) }
                    }
                    " "
                }
                h2 { "Decommission an agent" }
                p.muted { "Its token is revoked at once; at its next call the agent stops HAProxy if asked, then exits for good." }
                @for a in &agents {
                    form.inline method="post" action={ (base) "/agents/" (urlencode(&a.name)) "/decommission" } data-confirm={ "Decommission agent " (a.name) " and leave HAProxy serving?" } {
                        (layout::csrf(&session))
                        button.danger type="submit" { "Decommission " (a.name) }
                    }
                    " "
                    form.inline method="post" action={ (base) "/agents/" (urlencode(&a.name)) "/decommission" } data-confirm={ "Decommission agent " (a.name) " and stop HAProxy on its node?" } {
                        (layout::csrf(&session))
                        input type="hidden" name="stop_haproxy" value="true";
                        button.danger type="submit" { "Decommission " (a.name) " and stop HAProxy" }
                    }
                    " "
                }
            }
            h2 { "Enrol an agent" }
            form.row method="post" action={ (base) "/enrolments" } hx-post={ (base) "/enrolments" } hx-target="#enrolment" {
                (layout::csrf(&session))
                label { "Agent name" input name="name" required pattern="[A-Za-z0-9._-]{1,100}"; }
                label { "Allowed source networks (blank: any)" input name="allowed_cidrs" placeholder="10.0.0.0/8 192.0.2.7"; }
                label { "Valid for (minutes)" input name="ttl_minutes" type="number" min="1" max="10080" placeholder="60"; }
                button type="submit" { "Create enrolment" }
            }
            div #enrolment aria-live="polite" {}
            @if !enrolments.is_empty() {
                h2 { "Pending enrolments" }
                table { thead { tr { th { "Name" } th { "Networks" } th { "Expires" } } } tbody {
                    @for e in &enrolments { tr { td { (e.name) } td { (if e.allowed_cidrs.is_empty() { "any".to_string() } else { e.allowed_cidrs.join(", ") }) } td { (layout::time(e.expires_at)) } } }
                } }
            }
        }
    };
    Ok(layout::page(&session, Nav::None, &format!("Agents of {}", cluster.name), body))
}

/// The enrolment form.
#[derive(Deserialize)]
pub(crate) struct EnrolForm {
    name: String,
    allowed_cidrs: Option<String>,
    ttl_minutes: Option<String>,
}

/// `POST /ui/clusters/{cluster}/enrolments`: the secret and install command, shown once.
pub(crate) async fn enrol(State(state): State<AppState>, headers: HeaderMap, uri: Uri, Path(name): Path<String>, posted: Posted<EnrolForm>) -> UiResult<Response> {
    let opened = open(&state, &posted.session, &name).await?;
    let admin = opened.user(Permission::Admin)?;
    let f = posted.form;
    let ttl = match f.ttl_minutes.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => Some(Duration::from_secs(60 * t.parse::<u64>().map_err(|_| UiError::bad_request(format!("{t:?} is not a number of minutes")))?)),
    };
    let request = EnrolmentRequest {
        name: f.name.trim().to_string(),
        allowed_cidrs: f.allowed_cidrs.unwrap_or_default().split([' ', ',']).filter(|c| !c.is_empty()).map(str::to_string).collect(),
        ttl,
    };
    let issued = crate::http::issue_enrolment(&state, &headers, &uri, &admin.username, opened.cluster.id, request).await?;
    let fragment = html! {
        div.enrolled {
            p { (badge("ok", "created")) " Run this on the node as root before " (layout::time(issued.expires_at)) ". It is shown only now." }
            @if let Some(script) = &issued.install_script {
                p { "Install and enrol in one line (downloads the agent from this server; the script is checked against its SHA-256 before it runs):" }
                code.install #install-script { (script.command) }
                button.secondary type="button" data-copy="#install-script" { "Copy" }
                p.muted { "Script SHA-256: " code { (script.sha256) } }
                p { "Or, where fleet-agent is already installed:" }
            }
            code.install #install-command { (issued.install_command) }
            button.secondary type="button" data-copy="#install-command" { "Copy" }
        }
    };
    if headers.contains_key("hx-request") {
        return Ok(Html(fragment.into_string()).into_response());
    }
    Ok(layout::page(&posted.session, Nav::None, &format!("Enrolment for {}", issued.name), fragment).into_response())
}

/// `POST /ui/clusters/{cluster}/agents/{agent}/revoke`.
pub(crate) async fn revoke(State(state): State<AppState>, Path((name, agent)): Path<(String, String)>, posted: Posted<super::login::Empty>) -> UiResult<Response> {
    let opened = open(&state, &posted.session, &name).await?;
    let admin = opened.user(Permission::Admin)?;
    let found = state.store.agents(opened.cluster.id).await?.into_iter().find(|a| a.name == agent).ok_or_else(|| UiError::not_found(format!("agent {agent}")))?;
    state.store.revoke_agent(&admin.username, opened.cluster.id, found.id).await?;
    Ok(Redirect::to(&format!("/ui/clusters/{}/agents?done={}", urlencode(&name), urlencode(&format!("agent {agent} revoked")))).into_response())
}

/// The decommission form: `stop_haproxy=true` stops HAProxy on the node too.
#[derive(Deserialize)]
pub(crate) struct DecommissionForm {
    stop_haproxy: Option<String>,
}

/// `POST /ui/clusters/{cluster}/agents/{agent}/decommission`.
pub(crate) async fn decommission(State(state): State<AppState>, Path((name, agent)): Path<(String, String)>, posted: Posted<DecommissionForm>) -> UiResult<Response> {
    let opened = open(&state, &posted.session, &name).await?;
    let admin = opened.user(Permission::Admin)?;
    let found = state.store.agents(opened.cluster.id).await?.into_iter().find(|a| a.name == agent).ok_or_else(|| UiError::not_found(format!("agent {agent}")))?;
    let stop = posted.form.stop_haproxy.as_deref() == Some("true");
    state.store.decommission_agent(&admin.username, opened.cluster.id, found.id, stop).await?;
    let done = match stop {
        true => format!("agent {agent} decommissioned: it stops HAProxy and exits at its next call"),
        false => format!("agent {agent} decommissioned: it exits at its next call, HAProxy keeps serving"),
    };
    Ok(Redirect::to(&format!("/ui/clusters/{}/agents?done={}", urlencode(&name), urlencode(&done))).into_response())
}
