//! Schedules: every schedule the session may read, with its expression, zone, target, next run
//! time and latest runs. They are created and changed through the API and the client
//! (`fleet schedule`); this page is for watching them run.

use axum::extract::State;
use axum::response::Html;
use fleet_core::rbac::{Permission, Scope};
use fleet_core::schedules::{Outcome, Target};
use maud::html;

use super::error::UiResult;
use super::layout::{self, badge, Nav};
use super::session::Session;
use crate::http::AppState;

/// Runs shown per schedule.
const RUNS_SHOWN: i64 = 5;

fn outcome_badge(outcome: Outcome) -> maud::Markup {
    let kind = match outcome {
        Outcome::Succeeded => "ok",
        Outcome::Failed => "bad",
        Outcome::Running => "warn",
        Outcome::Skipped | Outcome::Missed => "idle",
    };
    badge(kind, outcome.as_str())
}

/// `GET /ui/schedules`.
pub(crate) async fn page(State(state): State<AppState>, session: Session) -> UiResult<Html<String>> {
    session.principal.reader()?;
    let clusters = state.store.clusters(None).await?;
    let mut shown = Vec::new();
    for schedule in state.store.schedules().await? {
        let principal = match schedule.schedule.target.cluster_id() {
            Some(id) => state.store.scoped(session.principal.clone(), Scope::Cluster(id)).await?,
            None => session.principal.clone(),
        };
        if principal.user(Permission::Read).is_ok() {
            let runs = state.store.schedule_runs(schedule.id, RUNS_SHOWN).await?;
            shown.push((schedule, runs));
        }
    }
    let cluster_name = |id: i64| clusters.iter().find(|c| c.id == id).map_or_else(|| id.to_string(), |c| c.name.clone());
    let body = html! {
        @if shown.is_empty() { p.muted { "No schedules. Create one with fleet schedule create or POST /api/v1/schedules." } }
        @for (schedule, runs) in &shown {
            section {
                h2 { (schedule.schedule.name) }
                dl {
                    dt { "When" } dd { code { (schedule.schedule.cron) } " in " (schedule.schedule.timezone) }
                    dt { "Runs" } dd { @match &schedule.schedule.target {
                        Target::Job { cluster_id, job } => { "job " code { (job.spec.kind().as_str()) } " on " (cluster_name(*cluster_id)) }
                        Target::ServerBackup { destination, retention } => { "server backup to " code { (destination) } ", the newest " (retention) " kept" }
                    } }
                    dt { "Next run" } dd { @match schedule.next_run_at { Some(at) => (layout::time(at)), None => (badge("idle", "disabled")) } }
                    dt { "Policies" } dd { "missed: " (format!("{:?}", schedule.schedule.missed).to_lowercase()) ", concurrency: " (format!("{:?}", schedule.schedule.concurrency).to_lowercase()) }
                }
                @if runs.is_empty() { p.muted { "No runs yet." } }
                @else {
                    table {
                        thead { tr { th scope="col" { "Scheduled for" } th scope="col" { "Outcome" } th scope="col" { "Started" } th scope="col" { "Finished" } th scope="col" { "Created" } th scope="col" { "Detail" } } }
                        tbody { @for run in runs {
                            tr {
                                td { (layout::time(run.scheduled_for)) }
                                td { (outcome_badge(run.outcome)) @if run.catch_up { " " (badge("idle", "catch-up")) } }
                                td { @match run.started_at { Some(at) => (layout::time(at)), None => "–" } }
                                td { @match run.finished_at { Some(at) => (layout::time(at)), None => "–" } }
                                td { @match &run.created { Some(created) => code { (created.to_string()) }, None => "–" } }
                                td { (run.detail) }
                            }
                        } }
                    }
                }
            }
        }
    };
    Ok(layout::page(&session, Nav::Schedules, "Schedules", body))
}
