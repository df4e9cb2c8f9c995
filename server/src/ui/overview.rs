//! The fleet overview: pools -> clusters -> agents as a health matrix, what each node really
//! runs (measured by its reports) against what it should, in three queries whatever the size.

use std::collections::HashMap;

use axum::extract::State;
use axum::response::Html;
use fleet_core::monitor::{NodeState, NodeSummary};
use fleet_core::{ApplyOutcome, Cluster};
use maud::{html, Markup};

use super::error::UiResult;
use super::layout::{self, ago, badge, Nav};
use super::session::Session;
use crate::http::AppState;

/// The badge of an agent's last outcome.
pub(crate) fn outcome_badge(outcome: Option<ApplyOutcome>) -> Markup {
    match outcome {
        None => badge("idle", "none yet"),
        Some(o) if o.runs_version() => badge("ok", o.as_str()),
        Some(o) => badge("bad", o.as_str()),
    }
}

/// The badge of an agent's liveness.
pub(crate) fn state_badge(agent: &NodeSummary) -> Markup {
    match agent.state {
        NodeState::Online => badge("ok", "online"),
        NodeState::Offline => badge("bad", "offline"),
    }
}

/// One row of the matrix.
pub(crate) fn agent_row(agent: &NodeSummary, desired: Option<i64>, now: i64) -> Markup {
    let lagging = desired.is_some() && agent.applied_version != desired;
    html! {
        tr {
            td { (agent.name) br; span.muted { (agent.hostname) } }
            td class=(if agent.state == NodeState::Offline { "state-offline" } else { "" }) { (state_badge(agent)) }
            td.num class=(if lagging { "lag" } else { "" }) {
                (agent.applied_version.map_or("–".to_string(), |v| v.to_string()))
                " / " (desired.map_or("–".to_string(), |v| v.to_string()))
            }
            td { (outcome_badge(agent.last_outcome)) @if let Some(e) = &agent.last_error { br; span.error { (truncate(e, 160)) } } }
            td { (agent.haproxy_version.as_deref().unwrap_or("")) }
            td { @match agent.last_seen_at { Some(at) => { span title=(fleet_core::clock::rfc3339(at)) { (ago(at, now)) } }, None => span.muted { "never" } } }
            td { @if agent.drifted_files > 0 { (badge("warn", "drifted")) " " span.muted { (agent.drifted_files) " file(s)" } } @else { span.muted { "no" } } }
        }
    }
}

/// The matrix header.
pub(crate) fn agent_head() -> Markup {
    html! {
        thead { tr {
            th scope="col" { "Agent" } th scope="col" { "State" } th.num scope="col" { "Applied / desired" }
            th scope="col" { "Last outcome" } th scope="col" { "HAProxy" } th scope="col" { "Last seen" } th scope="col" { "Drift" }
        } }
    }
}

/// `text` cut to `max` characters with an ellipsis.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// `GET /ui/`.
pub(crate) async fn page(State(state): State<AppState>, session: Session) -> UiResult<Html<String>> {
    let pools: Vec<_> = state.store.pools().await?.into_iter().filter(|p| session.principal.sees_pool(p.id)).collect();
    let clusters = state.store.clusters(None).await?;
    let mut agents_of: HashMap<i64, Vec<NodeSummary>> = HashMap::new();
    for agent in state.store.node_summaries().await? {
        agents_of.entry(agent.cluster_id).or_default().push(agent);
    }
    let now = state.store.now();
    let all: Vec<&NodeSummary> = agents_of.values().flatten().collect();
    let online = all.iter().filter(|a| a.state == NodeState::Online).count();
    let drifted = all.iter().filter(|a| a.drifted_files > 0).count();
    let failing = all.iter().filter(|a| a.last_outcome.is_some_and(|o| !o.runs_version())).count();
    let empty = Vec::new();
    let cluster_block = |cluster: &Cluster| {
        let agents = agents_of.get(&cluster.id).unwrap_or(&empty);
        html! {
            section.cluster aria-labelledby={ "c-" (cluster.id) } {
                h3 #{ "c-" (cluster.id) } {
                    a href={ "/ui/clusters/" (cluster.name) } { (cluster.name) }
                    " " span.muted { "desired version " (cluster.desired_version.map_or("none".to_string(), |v| v.to_string())) }
                }
                @if agents.is_empty() {
                    p.muted { "No agents yet: " a href={ "/ui/clusters/" (cluster.name) "/agents" } { "enrol one" } "." }
                } @else {
                    table.matrix { (agent_head()) tbody { @for a in agents { (agent_row(a, cluster.desired_version, now)) } } }
                }
            }
        }
    };
    let body = html! {
        p.summary {
            (all.len()) " agents: " (badge("ok", &format!("{online} online"))) " "
            (badge(if all.len() > online { "bad" } else { "idle" }, &format!("{} offline", all.len() - online))) " "
            (badge(if drifted > 0 { "warn" } else { "idle" }, &format!("{drifted} drifted"))) " "
            (badge(if failing > 0 { "bad" } else { "idle" }, &format!("{failing} failing")))
        }
        @if pools.is_empty() { p { "No pools yet. Create one with " code { "POST /api/v1/pools" } " or " code { "fleet pool create NAME" } "." } }
        @for pool in &pools {
            section.pool aria-labelledby={ "p-" (pool.id) } {
                h2 #{ "p-" (pool.id) } { "Pool " (pool.name) " " a.muted href={ "/ui/pools/" (pool.name) "/failover" } { "DNS failover" } }
                @if !pool.description.is_empty() { p.muted { (pool.description) } }
                @for cluster in clusters.iter().filter(|c| c.pool_id == pool.id) { (cluster_block(cluster)) }
            }
        }
    };
    Ok(layout::page(&session, Nav::Overview, "Fleet overview", body))
}
