//! Versions of a cluster: the list (author, message, time), the diff between any two (the
//! structural summary, privileged directives, then each changed file's unified diff),
//! restore, apply, and the apply's progress per agent until every node has reported.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect, Response};
use fleet_core::rbac::Permission;
use fleet_core::{Agent, Cluster};
use maud::{html, Markup};
use serde::Deserialize;

use super::cluster::{open, tabs, Tab};
use super::error::UiResult;
use super::layout::{self, badge, Nav};
use super::overview::outcome_badge;
use super::session::{urlencode, Posted, Session};
use crate::http::AppState;

fn base(cluster: &Cluster) -> String {
    format!("/ui/clusters/{}", urlencode(&cluster.name))
}

/// `?done=` after a write.
#[derive(Deserialize)]
pub(crate) struct Done {
    done: Option<String>,
}

/// `GET /ui/clusters/{cluster}/versions`.
pub(crate) async fn list(State(state): State<AppState>, session: Session, Path(name): Path<String>, Query(query): Query<Done>) -> UiResult<Html<String>> {
    let opened = open(&state, &session, &name).await?;
    let cluster = &opened.cluster;
    let mut versions = state.store.versions(cluster.id).await?;
    versions.reverse();
    let writer = opened.user(Permission::Write).is_ok();
    let latest = versions.first().map(|v| v.number);
    let body = html! {
        (tabs(cluster, Tab::Versions))
        (layout::notice(query.done.as_deref()))
        @if versions.len() > 1 {
            form.row method="get" action={ (base(cluster)) "/diff" } {
                label { "From version" select name="from" { @for v in &versions { option value=(v.number) selected[Some(v.number + 1) == latest] { (v.number) } } } }
                label { "to version" select name="to" { @for v in &versions { option value=(v.number) selected[Some(v.number) == latest] { (v.number) } } } }
                button type="submit" { "Compare" }
            }
        }
        table {
            thead { tr { th.num scope="col" { "Version" } th scope="col" { "Author" } th scope="col" { "Message" } th scope="col" { "Made" } th scope="col" { "" } } }
            tbody { @for v in &versions {
                tr {
                    td.num { (v.number) @if cluster.desired_version == Some(v.number) { " " (badge("ok", "desired")) } }
                    td { (v.author) }
                    td { (v.message) }
                    td { (layout::time(v.created_at)) }
                    td {
                        a href={ (base(cluster)) "/diff?from=" (v.number - 1) "&to=" (v.number) } { "diff" }
                        @if writer && Some(v.number) != latest {
                            " "
                            form.inline method="post" action={ (base(cluster)) "/restore" } data-confirm={ "Make a new version with the files of version " (v.number) "?" } {
                                (layout::csrf(&session))
                                input type="hidden" name="version" value=(v.number);
                                button.secondary type="submit" { "Restore" }
                            }
                        }
                        @if writer && cluster.desired_version != Some(v.number) {
                            " "
                            form.inline method="post" action={ (base(cluster)) "/apply" } data-confirm={ "Apply version " (v.number) " to every agent?" } {
                                (layout::csrf(&session))
                                input type="hidden" name="version" value=(v.number);
                                button.secondary type="submit" { "Apply" }
                            }
                        }
                    }
                }
            } }
        }
    };
    Ok(layout::page(&session, Nav::None, &format!("Versions of {}", cluster.name), body))
}

/// `?from=&to=` of a diff.
#[derive(Deserialize)]
pub(crate) struct DiffQuery {
    from: Option<i64>,
    to: Option<i64>,
}

/// A unified diff with its lines coloured.
pub(crate) fn unified(text: &str) -> Markup {
    html! {
        pre.code.diff { code {
            @for line in text.lines() {
                @let class = if line.starts_with("+++") || line.starts_with("---") { "hunk" } else if line.starts_with('+') { "add" } else if line.starts_with('-') { "del" } else if line.starts_with("@@") { "hunk" } else { "ctx" };
                span class=(class) { (line) }
            }
        } }
    }
}

/// `GET /ui/clusters/{cluster}/diff`.
pub(crate) async fn diff(State(state): State<AppState>, session: Session, Path(name): Path<String>, Query(query): Query<DiffQuery>) -> UiResult<Html<String>> {
    let opened = open(&state, &session, &name).await?;
    let cluster = &opened.cluster;
    let latest = state.store.versions(cluster.id).await?.last().map_or(0, |v| v.number);
    let to = query.to.unwrap_or(latest);
    let from = query.from.unwrap_or(to - 1);
    let diff = state.store.diff_versions(cluster.id, to, Some(from)).await?;
    let body = html! {
        (tabs(cluster, Tab::Versions))
        p { "From version " strong { (from.max(0)) } " to version " strong { (to) } "." }
        @if diff.is_empty() { p { "No difference." } }
        @if !diff.config.summary.is_empty() {
            h2 { "Summary" }
            ul.summary { @for change in &diff.config.summary { li { (change.to_string()) } } }
        }
        @if !diff.config.privileged.is_empty() {
            h2 { "Privileged directives" }
            ul.diagnostics { @for p in &diff.config.privileged { li.warning { (p.to_string()) } } }
        }
        @for file in &diff.files {
            h2 { code { (file.path.as_str()) } " " span.muted { (file.change.as_str()) } }
            @if file.unified.is_empty() {
                p.muted { "Not shown as text (" (file.kind.as_str()) "): sha256 "
                    code { (file.sha256.0.as_deref().unwrap_or("–")) } " → " code { (file.sha256.1.as_deref().unwrap_or("–")) } }
            } @else { (unified(&file.unified)) }
        }
        @if opened.user(Permission::Write).is_ok() && cluster.desired_version != Some(to) && to == latest && to > 0 {
            (super::cluster::apply_form(&session, cluster, to))
        }
        div #progress {}
    };
    Ok(layout::page(&session, Nav::None, &format!("Diff of {}", cluster.name), body))
}

/// The version field of restore and apply.
#[derive(Deserialize)]
pub(crate) struct VersionForm {
    version: i64,
}

/// `POST /ui/clusters/{cluster}/restore`.
pub(crate) async fn restore(State(state): State<AppState>, Path(name): Path<String>, posted: Posted<VersionForm>) -> UiResult<Response> {
    let opened = open(&state, &posted.session, &name).await?;
    let n = posted.form.version;
    let committed = state.store.restore(opened.actor(Permission::Write)?, opened.cluster.id, n, "").await?;
    let made = committed.version.number;
    Ok(Redirect::to(&format!("{}/diff?from={}&to={made}", base(&opened.cluster), made - 1)).into_response())
}

/// `POST /ui/clusters/{cluster}/apply`: sets the desired version (agents' long-polls are
/// answered at once); htmx swaps in the progress, a plain form goes to the cluster page.
pub(crate) async fn apply(State(state): State<AppState>, headers: HeaderMap, Path(name): Path<String>, posted: Posted<VersionForm>) -> UiResult<Response> {
    let opened = open(&state, &posted.session, &name).await?;
    let user = opened.user(Permission::Write)?;
    state.desired.apply(&user.username, opened.cluster.id, posted.form.version).await?;
    if headers.contains_key("hx-request") {
        let cluster = state.store.cluster(opened.cluster.id).await?;
        let agents = state.store.status(cluster.id).await?.agents;
        // The button goes once pressed (an out-of-band swap): the progress replaces it.
        let answer = html! { (progress_fragment(&cluster, &agents)) div #apply-form hx-swap-oob="delete" {} };
        return Ok(Html(answer.into_string()).into_response());
    }
    Ok(Redirect::to(&format!("{}?done={}", base(&opened.cluster), urlencode(&format!("version {} is desired", posted.form.version)))).into_response())
}

/// Where each agent stands on the desired version: polls itself every second until every agent
/// has reported on it (applied or failed), then stays.
pub(crate) fn progress_fragment(cluster: &Cluster, agents: &[Agent]) -> Markup {
    let Some(desired) = cluster.desired_version else { return html! {} };
    let runs = |a: &Agent| a.applied_version == Some(desired);
    let failed_on = |a: &Agent| !runs(a) && a.last_outcome.is_some_and(|o| !o.runs_version());
    let applied = agents.iter().filter(|a| runs(a)).count();
    let failed = agents.iter().filter(|a| failed_on(a)).count();
    let pending = agents.iter().any(|a| !runs(a) && !failed_on(a));
    html! {
        div.progress #apply-progress role="status" aria-live="polite"
            hx-get=[pending.then(|| format!("{}/progress", base(cluster)))] hx-trigger=[pending.then_some("every 1s")] hx-swap=[pending.then_some("outerHTML")] {
            p {
                strong { "Apply of version " (desired) ": " }
                @if agents.is_empty() { "no agents in this cluster." }
                @else if !pending && failed == 0 { (badge("ok", "applied")) " on all " (agents.len()) " agents" }
                @else if !pending { (badge("bad", "failed")) " on " (failed) " of " (agents.len()) " agents" }
                @else { (badge("warn", "in progress")) " " (applied) " of " (agents.len()) " agents applied" }
            }
            ul { @for a in agents {
                li data-agent=(a.name) {
                    (a.name) ": "
                    @if runs(a) { (outcome_badge(a.last_outcome)) }
                    @else if failed_on(a) { (outcome_badge(a.last_outcome)) @if let Some(e) = &a.last_error { " " span.error { (e) } } }
                    @else { (badge("idle", "waiting")) " runs " (a.applied_version.map_or("nothing".into(), |v| format!("version {v}"))) }
                }
            } }
        }
    }
}

/// `GET /ui/clusters/{cluster}/progress` (htmx): the progress fragment.
pub(crate) async fn progress(State(state): State<AppState>, session: Session, Path(name): Path<String>) -> UiResult<Html<String>> {
    let opened = open(&state, &session, &name).await?;
    let agents = state.store.status(opened.cluster.id).await?.agents;
    Ok(Html(progress_fragment(&opened.cluster, &agents).into_string()))
}
