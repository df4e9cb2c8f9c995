//! A cluster's traffic rules (WAF): each rule in the order it runs, its kind, frontends and mode,
//! the entries of list rules with a form to add or remove some (applied through the runtime API,
//! no reload), each node's latest reading of a rate limit's table (fleet-core `rules::hits`), and
//! a delete button. Rules are created through the API or `fleet rule add`.

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use fleet_core::rbac::Permission;
use maud::html;
use serde::Deserialize;

use super::cluster::{open, tabs, Tab};
use super::error::UiResult;
use super::layout::{self, badge, Nav};
use super::session::{urlencode, Posted, Session};
use crate::http::AppState;

/// `?done=`.
#[derive(Deserialize)]
pub(crate) struct Done {
    pub(crate) done: Option<String>,
}

/// `GET /ui/clusters/{cluster}/rules`.
pub(crate) async fn page(State(state): State<AppState>, session: Session, Path(name): Path<String>, Query(query): Query<Done>) -> UiResult<Html<String>> {
    let opened = open(&state, &session, &name).await?;
    let cluster = &opened.cluster;
    let rules = state.store.rules(cluster.id).await?;
    let mut hits = Vec::with_capacity(rules.len());
    for rule in &rules {
        hits.push(state.store.rule_hits(cluster.id, &rule.name).await?);
    }
    let now = state.store.now();
    let write = opened.user(Permission::Write).is_ok();
    let base = format!("/ui/clusters/{}/rules", urlencode(&cluster.name));
    let body = html! {
        (tabs(cluster, Tab::Rules))
        (layout::notice(query.done.as_deref()))
        p.muted { "Hits: each node's latest reading of a rate limit's stick table (keys tracked, keys over the limit now). Other kinds have no per-rule counter in HAProxy 2.6; their denials count in the frontend's dreq / 4xx statistics." }
        p.muted { "Rules render into a generated region of each frontend (between # BEGIN fleet rules and # END fleet rules), before its first http-request, use_backend or default_backend line. Add them with " code { "fleet rule add" } " or " code { "POST /api/v1/clusters/" (cluster.id) "/rules" } "." }
        @if rules.is_empty() { p.muted { "No rules." } }
        @else {
            table {
                thead { tr { th scope="col" { "Priority" } th scope="col" { "Name" } th scope="col" { "Kind" } th scope="col" { "Frontends" } th scope="col" { "Mode" } th scope="col" { "Entries" } th scope="col" { "Hits (per node)" } @if write { th scope="col" { "" } } } }
                tbody { @for (rule, nodes) in rules.iter().zip(&hits) {
                    tr {
                        td { (rule.priority) }
                        td { code { (rule.name) } }
                        td { (rule.kind_name()) }
                        td { @if rule.frontends.is_empty() { "all" } @else { (rule.frontends.join(", ")) } }
                        td { @if !rule.enabled { (badge("idle", "disabled")) } @else if rule.dry_run { (badge("warn", "dry run")) } @else { (badge("ok", "enforced")) } }
                        td { @match rule.entries() {
                            None => "–",
                            Some(entries) => {
                                (entries.len())
                                @if !entries.is_empty() { details { summary { "show" } ul { @for e in entries { li { code { (e) } } } } } }
                                @if write {
                                    form.row method="post" action={ (base) "/" (urlencode(&rule.name)) "/entries" } {
                                        (layout::csrf(&session))
                                        label { "Add" input name="add" placeholder="192.0.2.0/24 FR"; }
                                        label { "Remove" input name="remove"; }
                                        button type="submit" { "Change" }
                                    }
                                }
                            }
                        } }
                        td { @if nodes.is_empty() { "–" } @else { ul { @for n in nodes {
                            li { code { (n.agent) } ": " (n.hits.tracked) " tracked, " (n.hits.over_limit) " over the limit (max rate " (n.hits.max_rate) "), " (layout::ago(n.measured_at, now)) }
                        } } } }
                        @if write { td {
                            form method="post" action={ (base) "/" (urlencode(&rule.name)) "/delete" } {
                                (layout::csrf(&session))
                                button type="submit" { "Delete" }
                            }
                        } }
                    }
                } }
            }
        }
    };
    Ok(layout::page(&session, Nav::None, &format!("Rules of {}", cluster.name), body))
}

/// The entries form.
#[derive(Deserialize)]
pub(crate) struct EntriesForm {
    add: Option<String>,
    remove: Option<String>,
}

fn words(s: Option<String>) -> Vec<String> {
    s.unwrap_or_default().split([' ', ',', '\n']).map(str::trim).filter(|w| !w.is_empty()).map(str::to_string).collect()
}

fn back(name: &str, done: &str) -> Response {
    Redirect::to(&format!("/ui/clusters/{}/rules?done={}", urlencode(name), urlencode(done))).into_response()
}

/// Applies `version` when the agents run the one before it (as the API's `?apply=true`).
pub(crate) async fn apply(state: &AppState, actor: &str, cluster_id: i64, version: i64) -> UiResult<String> {
    Ok(match state.store.apply_blocker(cluster_id, version).await? {
        None => {
            state.desired.apply(actor, cluster_id, version).await?;
            format!("version {version} applied")
        }
        Some(why) => format!("version {version} not applied: {why}"),
    })
}

/// `POST /ui/clusters/{cluster}/rules/{rule}/entries`.
pub(crate) async fn entries(State(state): State<AppState>, Path((name, rule)): Path<(String, String)>, posted: Posted<EntriesForm>) -> UiResult<Response> {
    let opened = open(&state, &posted.session, &name).await?;
    let user = opened.user(Permission::Write)?;
    let (add, remove) = (words(posted.form.add), words(posted.form.remove));
    let change = state.store.rule_entries(user.into(), opened.cluster.id, &rule, &add, &remove).await?;
    let applied = apply(&state, &user.username, opened.cluster.id, change.committed.version.number).await?;
    Ok(back(&name, &format!("rule {rule}: {} added, {} removed; {applied}", add.len(), remove.len())))
}

/// `POST /ui/clusters/{cluster}/rules/{rule}/delete`.
pub(crate) async fn delete(State(state): State<AppState>, Path((name, rule)): Path<(String, String)>, posted: Posted<super::login::Empty>) -> UiResult<Response> {
    let opened = open(&state, &posted.session, &name).await?;
    let user = opened.user(Permission::Write)?;
    let change = state.store.delete_rule(user.into(), opened.cluster.id, &rule).await?;
    let applied = apply(&state, &user.username, opened.cluster.id, change.committed.version.number).await?;
    Ok(back(&name, &format!("rule {rule} deleted; {applied}")))
}
