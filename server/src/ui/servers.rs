//! Backends and servers of the latest version, 50 backends a page (a 20,000-backend
//! configuration stays fast), with each server's live state on every agent (from its last
//! heartbeat's runtime summary), runtime buttons (drain, ready, maint, weight: no reload) whose
//! per-agent results follow, and typed forms that make a new version (weight, add server, add
//! backend; binds, ACLs and `use_backend` rules on frontends).

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::response::Html;
use fleet_core::rbac::Permission;
use fleet_core::runtime::{RuntimeAction, RuntimeRequest, RuntimeSummary, ServerAction};
use fleet_core::{Agent, Cluster, TextAt};
use haproxy_model::{Proxy, Server};
use maud::{html, Markup};
use serde::Deserialize;

use super::cluster::{open, tabs, Tab};
use super::error::{UiError, UiResult};
use super::layout::{self, badge, Nav};
use super::session::{urlencode, Posted, Session};
use crate::http::AppState;

/// Backends per page.
pub(crate) const BACKENDS_PER_PAGE: usize = 50;

/// `?page=&q=&done=`.
#[derive(Deserialize)]
pub(crate) struct ListQuery {
    page: Option<usize>,
    q: Option<String>,
    done: Option<String>,
}

/// Each agent's runtime summary, by agent name (agents without one are left out).
fn summaries(agents: &[Agent]) -> BTreeMap<String, RuntimeSummary> {
    agents
        .iter()
        .filter_map(|a| {
            let runtime = a.facts.get("runtime")?.clone();
            Some((a.name.clone(), serde_json::from_value::<RuntimeSummary>(runtime).ok()?))
        })
        .collect()
}

fn status_badge(status: &str) -> Markup {
    let kind = match status {
        s if s.starts_with("UP") => "ok",
        s if s.starts_with("DRAIN") || s.starts_with("NOLB") => "warn",
        s if s.starts_with("DOWN") || s.starts_with("MAINT") => "bad",
        _ => "idle",
    };
    badge(kind, status)
}

/// `GET /ui/clusters/{cluster}/backends`.
pub(crate) async fn page(State(state): State<AppState>, session: Session, Path(name): Path<String>, Query(query): Query<ListQuery>) -> UiResult<Html<String>> {
    let opened = open(&state, &session, &name).await?;
    let cluster = &opened.cluster;
    let writer = opened.user(Permission::Write).is_ok();
    let parsed = state.store.document_at(cluster.id, TextAt::Latest).await?;
    let base = state.store.versions(cluster.id).await?.last().map_or(0, |v| v.number);
    let agents = state.store.status(cluster.id).await?.agents;
    let live = summaries(&agents);
    let filter = query.q.clone().unwrap_or_default();
    let proxies: Vec<Proxy<'_>> = parsed.document().sections().iter().filter_map(Proxy::new).collect();
    let backends: Vec<&Proxy<'_>> = proxies
        .iter()
        .filter(|p| p.kind().has_backend())
        .filter(|p| filter.is_empty() || p.name().is_some_and(|n| n.contains(filter.as_str())))
        .collect();
    let frontends: Vec<&Proxy<'_>> = proxies.iter().filter(|p| p.kind().has_frontend()).collect();
    let page = query.page.unwrap_or(1).max(1);
    let pages = backends.len().div_ceil(BACKENDS_PER_PAGE).max(1);
    let href = |p: usize| format!("/ui/clusters/{}/backends?page={p}&q={}", urlencode(&cluster.name), urlencode(&filter));
    let form_base = format!("/ui/clusters/{}", urlencode(&cluster.name));
    let body = html! {
        (tabs(cluster, Tab::Backends))
        (layout::notice(query.done.as_deref()))
        p.muted { "Version " (base) ". Runtime buttons change HAProxy live on every agent (no reload, nothing stored in the configuration); forms make a new version, to apply." }
        form.row method="get" role="search" {
            label { "Backend name contains" input name="q" type="search" value=(filter); }
            button type="submit" { "Filter" }
        }
        div #runtime-result aria-live="polite" {}
        @if pages > 1 {
            nav.pager aria-label="Pages of backends" {
                @if page > 1 { a href=(href(page - 1)) rel="prev" { "← previous" } }
                span { (backends.len()) " backends, page " (page) " of " (pages) }
                @if page < pages { a href=(href(page + 1)) rel="next" { "next →" } }
            }
        }
        @for proxy in backends.iter().skip((page - 1) * BACKENDS_PER_PAGE).take(BACKENDS_PER_PAGE) {
            (backend_block(&session, cluster, proxy, &live, writer, base, &form_base))
        }
        @if writer {
            h2 { "Add a backend" }
            form.row method="post" action={ (form_base) "/edit/backend" } {
                (layout::csrf(&session))
                input type="hidden" name="base" value=(base);
                label { "Name" input name="name" required pattern="[A-Za-z0-9._:-]+"; }
                label { "Balance (optional)" input name="balance" placeholder="roundrobin"; }
                button type="submit" { "Add backend" }
            }
        }
        h2 { "Frontends" }
        @for proxy in frontends { (frontend_block(&session, proxy, writer, base, &form_base)) }
    };
    Ok(layout::page(&session, Nav::None, &format!("Backends of {}", cluster.name), body))
}

fn backend_block(session: &Session, cluster: &Cluster, proxy: &Proxy<'_>, live: &BTreeMap<String, RuntimeSummary>, writer: bool, base: i64, form_base: &str) -> Markup {
    let backend = proxy.name().unwrap_or_default().to_string();
    let servers = proxy.servers();
    html! {
        section.backend aria-labelledby={ "b-" (backend) } {
            h3 #{ "b-" (backend) } { (proxy.kind().keyword()) " " (backend)
                @if let Some(b) = proxy.balance() { " " span.muted { "balance " (b.algorithm) } } }
            table {
                thead { tr {
                    th scope="col" { "Server" } th scope="col" { "Address" } th.num scope="col" { "Weight (config)" }
                    th scope="col" { "Live on each agent" }
                    @if writer { th scope="col" { "Runtime" } th scope="col" { "Set weight in the configuration" } }
                } }
                tbody { @for server in &servers { (server_row(session, cluster, &backend, server, live, writer, base, form_base)) } }
            }
            @if writer {
                form.row method="post" action={ (form_base) "/edit/server" } {
                    (layout::csrf(session))
                    input type="hidden" name="base" value=(base);
                    input type="hidden" name="backend" value=(backend);
                    input type="hidden" name="op" value="add";
                    label { "New server name" input name="name" required pattern="[A-Za-z0-9._:-]+"; }
                    label { "Address" input name="address" required placeholder="10.0.0.5:8080"; }
                    label { "Weight" input name="weight" type="number" min="0" max="256"; }
                    button.secondary type="submit" { "Add server to " (backend) }
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn server_row(session: &Session, cluster: &Cluster, backend: &str, server: &Server<'_>, live: &BTreeMap<String, RuntimeSummary>, writer: bool, base: i64, form_base: &str) -> Markup {
    let name = server.name().unwrap_or_default().to_string();
    let key = format!("{backend}/{name}");
    let runtime_url = format!("/ui/clusters/{}/runtime", urlencode(&cluster.name));
    let action = |verb: &str, label: &str, question: &str| html! {
        button.secondary type="button" hx-post=(runtime_url) hx-target="#runtime-result"
            hx-vals=(serde_json::json!({"backend": backend, "server": name, "action": verb}).to_string())
            hx-confirm=(question) { (label) }
    };
    html! {
        tr data-server=(key) {
            td { (name) }
            td { (server.address_text().unwrap_or_default()) }
            td.num { (server.weight().map_or("–".to_string(), |w| w.to_string())) }
            td { @for (agent, summary) in live {
                @if let Some(s) = summary.servers.get(&key) {
                    span.live { (agent) " " (status_badge(&s.status)) " w" (s.weight) " · " (s.sessions) " sess" } br;
                }
            } }
            @if writer {
                td {
                    (action("drain", "Drain", &format!("Drain {key} on every agent (no new sessions)?")))
                    " " (action("ready", "Ready", &format!("Put {key} back in service on every agent?")))
                    " " (action("maint", "Maint", &format!("Put {key} in maintenance on every agent?")))
                    form.row hx-post=(runtime_url) hx-target="#runtime-result" hx-confirm={ "Change the live weight of " (key) " on every agent (not stored in the configuration)?" } {
                        input type="hidden" name="backend" value=(backend);
                        input type="hidden" name="server" value=(name);
                        input type="hidden" name="action" value="weight";
                        label { "Live weight" input name="value" type="number" min="0" max="256" required aria-label={ "Live weight of " (key) }; }
                        button.secondary type="submit" { "Set live weight" }
                    }
                }
                td {
                    form.row method="post" action={ (form_base) "/edit/server" } {
                        (layout::csrf(session))
                        input type="hidden" name="base" value=(base);
                        input type="hidden" name="backend" value=(backend);
                        input type="hidden" name="name" value=(name);
                        input type="hidden" name="op" value="update";
                        input name="weight" type="number" min="0" max="256" required value=[server.weight()] aria-label={ "Weight of " (key) };
                        button.secondary type="submit" { "Save" }
                    }
                    form.row method="post" action={ (form_base) "/edit/server" } data-confirm={ "Remove " (key) " from the configuration (a new version)?" } {
                        (layout::csrf(session))
                        input type="hidden" name="base" value=(base);
                        input type="hidden" name="backend" value=(backend);
                        input type="hidden" name="name" value=(name);
                        input type="hidden" name="op" value="delete";
                        button.danger type="submit" { "Remove" }
                    }
                }
            }
        }
    }
}

/// ACLs and `use_backend` rules listed per frontend (a generated frontend may hold 40,000).
const SHOWN_PER_FRONTEND: usize = 50;

fn frontend_block(session: &Session, proxy: &Proxy<'_>, writer: bool, base: i64, form_base: &str) -> Markup {
    let name = proxy.name().unwrap_or_default().to_string();
    let acls = proxy.acls();
    let rules = proxy.rules_of("use_backend");
    html! {
        section.frontend aria-labelledby={ "f-" (name) } {
            h3 #{ "f-" (name) } { (proxy.kind().keyword()) " " (name) @if let Some(b) = proxy.default_backend() { " " span.muted { "default_backend " (b) } } }
            ul {
                @for bind in proxy.binds() { li { code { (bind.line().text().trim()) } } }
                @for acl in acls.iter().take(SHOWN_PER_FRONTEND) { li { code { (acl.line().text().trim()) } } }
                @for rule in rules.iter().take(SHOWN_PER_FRONTEND) { li { code { (rule.line().text().trim()) } } }
            }
            @if acls.len() > SHOWN_PER_FRONTEND || rules.len() > SHOWN_PER_FRONTEND {
                p.muted { (acls.len()) " ACLs and " (rules.len()) " use_backend rules in all: the first " (SHOWN_PER_FRONTEND) " of each are listed; the configuration tab shows every line." }
            }
            @if writer {
                details { summary { "Add a bind, an ACL or a use_backend rule to " (name) }
                    form.row method="post" action={ (form_base) "/edit/bind" } {
                        (layout::csrf(session)) input type="hidden" name="base" value=(base); input type="hidden" name="frontend" value=(name);
                        label { "Bind address" input name="address" required placeholder=":8443"; }
                        label { "Parameters" input name="params" placeholder="ssl crt /etc/haproxy/site.pem"; }
                        button.secondary type="submit" { "Add bind" }
                    }
                    form.row method="post" action={ (form_base) "/edit/acl" } {
                        (layout::csrf(session)) input type="hidden" name="base" value=(base); input type="hidden" name="proxy" value=(name);
                        label { "ACL name" input name="name" required; }
                        label { "Criterion and patterns" input name="words" required placeholder="path_beg /api"; }
                        button.secondary type="submit" { "Add ACL" }
                    }
                    form.row method="post" action={ (form_base) "/edit/use-backend" } {
                        (layout::csrf(session)) input type="hidden" name="base" value=(base); input type="hidden" name="frontend" value=(name);
                        label { "Backend" input name="backend" required; }
                        label { "Condition" input name="condition" placeholder="if is_api"; }
                        button.secondary type="submit" { "Add use_backend" }
                    }
                }
            }
        }
    }
}

/// A runtime action's fields (htmx `hx-vals`, or a form).
#[derive(Deserialize)]
pub(crate) struct RuntimeForm {
    backend: String,
    server: String,
    action: String,
    value: Option<i64>,
}

/// `POST /ui/clusters/{cluster}/runtime` (htmx): queues the action for every agent of the
/// cluster (fleet-core checks the names and the value) and answers its per-agent results,
/// polling until every agent has answered.
pub(crate) async fn runtime(State(state): State<AppState>, Path(name): Path<String>, posted: Posted<RuntimeForm>) -> UiResult<Html<String>> {
    let opened = open(&state, &posted.session, &name).await?;
    let user = opened.user(Permission::Write)?;
    let form = posted.form;
    let action = match form.action.as_str() {
        "drain" => ServerAction::Drain,
        "ready" => ServerAction::Ready,
        "maint" => ServerAction::Maint,
        "weight" => ServerAction::Weight,
        other => return Err(UiError::bad_request(format!("unknown runtime action {other:?}"))),
    };
    let request = RuntimeRequest { backend: form.backend, server: form.server, action, value: form.value };
    let queued = state.store.queue_runtime_action(&user.username, opened.cluster.id, request).await?;
    let agents = state.store.agents(opened.cluster.id).await?;
    Ok(Html(runtime_fragment(&opened.cluster, &queued, agents.len()).into_string()))
}

/// `GET /ui/clusters/{cluster}/runtime/{id}` (htmx): the action's results so far.
pub(crate) async fn runtime_status(State(state): State<AppState>, session: Session, Path((name, id)): Path<(String, i64)>) -> UiResult<Html<String>> {
    let opened = open(&state, &session, &name).await?;
    let action = state.store.runtime_action(opened.cluster.id, id).await?;
    let agents = state.store.agents(opened.cluster.id).await?;
    Ok(Html(runtime_fragment(&opened.cluster, &action, agents.len()).into_string()))
}

fn runtime_fragment(cluster: &Cluster, action: &RuntimeAction, agents: usize) -> Markup {
    let pending = action.results.len() < agents;
    let url = format!("/ui/clusters/{}/runtime/{}", urlencode(&cluster.name), action.id);
    let r = &action.request;
    html! {
        div.runtime-action role="status" hx-get=[pending.then_some(url.as_str())] hx-trigger=[pending.then_some("every 1s")] hx-swap=[pending.then_some("outerHTML")] {
            p { strong { (r.action.as_str()) " " (r.backend) "/" (r.server) } ": "
                (action.results.len()) " of " (agents) " agents answered"
                @if !pending { @if action.results.iter().all(|x| x.ok) { " " (badge("ok", "done")) } @else { " " (badge("bad", "failed on some")) } } }
            ul { @for result in &action.results {
                li data-agent=(result.agent) { (result.agent) ": " @if result.ok { (badge("ok", "ok")) } @else { (badge("bad", "failed")) " " code { (result.output) } } }
            } }
        }
    }
}
