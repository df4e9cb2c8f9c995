//! The audit log (operators and admins), filtered by cluster, actor and action prefix.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::Html;
use fleet_core::rbac::Permission;
use fleet_core::AuditFilter;
use maud::html;
use serde::Deserialize;

use super::error::{UiError, UiResult};
use super::layout::{self, Nav};
use super::session::Session;
use crate::http::AppState;

/// `?cluster=&actor=&action=&limit=`.
#[derive(Deserialize)]
pub(crate) struct AuditQuery {
    cluster: Option<String>,
    actor: Option<String>,
    action: Option<String>,
    limit: Option<i64>,
}

fn given(text: &Option<String>) -> Option<String> {
    text.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_string)
}

/// `GET /ui/audit`.
pub(crate) async fn page(State(state): State<AppState>, session: Session, Query(query): Query<AuditQuery>) -> UiResult<Html<String>> {
    session.principal.user(Permission::Audit)?;
    let clusters = state.store.clusters(None).await?;
    let names: HashMap<i64, &str> = clusters.iter().map(|c| (c.id, c.name.as_str())).collect();
    let cluster_id = match given(&query.cluster) {
        None => None,
        Some(name) => Some(clusters.iter().find(|c| c.name == name).ok_or_else(|| UiError::not_found(format!("cluster {name}")))?.id),
    };
    let limit = query.limit.unwrap_or(200).clamp(1, 1000);
    let filter = AuditFilter { cluster_id, actor: given(&query.actor), action: given(&query.action), limit };
    let entries = state.store.audit_entries(&filter).await?;
    let body = html! {
        form.row method="get" role="search" {
            label { "Cluster" select name="cluster" {
                option value="" { "any" }
                @for c in &clusters { option value=(c.name) selected[cluster_id == Some(c.id)] { (c.name) } }
            } }
            label { "Actor" input name="actor" value=[given(&query.actor)] placeholder="admin"; }
            label { "Action starts with" input name="action" value=[given(&query.action)] placeholder="version."; }
            label { "At most" input name="limit" type="number" min="1" max="1000" value=(limit); }
            button type="submit" { "Filter" }
        }
        table {
            thead { tr { th scope="col" { "When" } th scope="col" { "Actor" } th scope="col" { "Action" } th scope="col" { "Cluster" } th.num scope="col" { "Version" } th scope="col" { "Details" } } }
            tbody { @for e in &entries {
                tr {
                    td { (layout::time(e.at)) }
                    td { (e.actor) }
                    td { code { (e.action) } }
                    td { (e.cluster_id.and_then(|id| names.get(&id).copied()).unwrap_or("")) }
                    td.num { (e.version.map(|v| v.to_string()).unwrap_or_default()) }
                    td { code.details { (super::overview::truncate(&e.details.to_string(), 300)) } }
                }
            } }
        }
        @if entries.is_empty() { p.muted { "No entries match." } }
    };
    Ok(layout::page(&session, Nav::Audit, "Audit log", body))
}
