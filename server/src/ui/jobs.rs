//! A cluster's remote jobs and snapshots: run a job of the closed set on its agents, follow
//! each agent's status and output, cancel; list snapshots, restore one onto an agent, promote
//! one to a version. The same fleet-core functions as the API (`Store::create_job` ...).

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use fleet_core::jobs::{JobSpec, JobStatus};
use fleet_core::rbac::Permission;
use maud::html;
use serde::Deserialize;

use super::cluster::{open, tabs, Tab};
use super::error::{UiError, UiResult};
use super::layout::{self, badge, Nav};
use super::session::{urlencode, Posted, Session};
use crate::http::AppState;

/// `?done=`.
#[derive(Deserialize)]
pub(crate) struct Done {
    done: Option<String>,
}

fn status_badge(status: JobStatus) -> maud::Markup {
    let class = match status {
        JobStatus::Succeeded => "ok",
        JobStatus::Queued | JobStatus::Running => "idle",
        JobStatus::Cancelled => "warn",
        _ => "bad",
    };
    badge(class, status.as_str())
}

/// `GET /ui/clusters/{cluster}/jobs`.
pub(crate) async fn page(State(state): State<AppState>, session: Session, Path(name): Path<String>, Query(query): Query<Done>) -> UiResult<Html<String>> {
    let opened = open(&state, &session, &name).await?;
    let cluster = &opened.cluster;
    let jobs = state.store.jobs(cluster.id, 50).await?;
    let snapshots = state.store.snapshots(cluster.id, None).await?;
    let agents = state.store.agents(cluster.id).await?;
    let write = opened.user(Permission::Write).is_ok();
    let base = format!("/ui/clusters/{}", urlencode(&cluster.name));
    let body = html! {
        (tabs(cluster, Tab::Jobs))
        (layout::notice(query.done.as_deref()))
        @if write {
            h2 { "Run a job" }
            p.muted { "A closed set of operations the agents know; no arbitrary commands. install-haproxy runs only on nodes started with --allow-jobs ...,install-haproxy." }
            form.row method="post" action={ (base) "/jobs" } {
                (layout::csrf(&session))
                label { "Kind" select name="kind" {
                    @for kind in ["validate", "reload", "restart", "diagnostics", "snapshot", "install-haproxy"] { option value=(kind) { (kind) } }
                } }
                label { "Agents (blank: all)" input name="agents" placeholder="node1 node2"; }
                label { "Timeout (s)" input name="timeout" type="number" min="1" max="3600" placeholder="120"; }
                button type="submit" { "Run" }
            }
        }
        h2 { "Jobs" }
        @if jobs.is_empty() { p.muted { "No jobs yet." } }
        @for job in &jobs {
            details {
                summary {
                    "#" (job.id) " " strong { (job.spec.kind().as_str()) }
                    @if let JobSpec::Restore { snapshot } = &job.spec { " of snapshot " (snapshot) }
                    " " (status_badge(job.status)) " by " (job.author) " " (layout::time(job.created_at))
                }
                @if write && !job.status.is_final() {
                    form.inline method="post" action={ (base) "/jobs/" (job.id) "/cancel" } {
                        (layout::csrf(&session))
                        button.danger type="submit" { "Cancel" }
                    }
                }
                table { thead { tr { th { "Agent" } th { "Status" } th { "Exit" } th { "ms" } } } tbody {
                    @for run in &job.runs {
                        tr { td { (run.agent) } td { (status_badge(run.status)) } td { (run.exit_code.map(|c| c.to_string()).unwrap_or_default()) } td { (run.duration_ms.map(|d| d.to_string()).unwrap_or_default()) } }
                    }
                } }
                @for run in job.runs.iter().filter(|r| !r.output.is_empty()) {
                    p { strong { (run.agent) } }
                    pre { (run.output) }
                }
            }
        }
        h2 { "Snapshots" }
        @if snapshots.is_empty() { p.muted { "No snapshots: run a snapshot job." } }
        @else {
            table { thead { tr { th { "Id" } th { "Agent" } th { "Files" } th { "Bytes" } th { "Taken" } @if write { th { "Restore onto" } th {} } } } tbody {
                @for s in &snapshots {
                    tr {
                        td { (s.id) } td { (s.agent) } td { (s.files.len()) } td { (s.size) } td { (layout::time(s.created_at)) }
                        @if write {
                            td { form.inline method="post" action={ (base) "/snapshots/" (s.id) "/restore" } {
                                (layout::csrf(&session))
                                select name="agent" { @for a in &agents { option value=(a.name) { (a.name) } } }
                                button type="submit" { "Restore" }
                            } }
                            td { form.inline method="post" action={ (base) "/snapshots/" (s.id) "/promote" } data-confirm="Make this snapshot the cluster's next version?" {
                                (layout::csrf(&session))
                                button.secondary type="submit" { "Make it a version" }
                            } }
                        }
                    }
                }
            } }
        }
    };
    Ok(layout::page(&session, Nav::None, &format!("Jobs of {}", cluster.name), body))
}

/// The run form.
#[derive(Deserialize)]
pub(crate) struct RunForm {
    kind: String,
    agents: Option<String>,
    timeout: Option<String>,
}

fn back(name: &str, done: &str) -> Response {
    Redirect::to(&format!("/ui/clusters/{}/jobs?done={}", urlencode(name), urlencode(done))).into_response()
}

/// `POST /ui/clusters/{cluster}/jobs`.
pub(crate) async fn run(State(state): State<AppState>, Path(name): Path<String>, posted: Posted<RunForm>) -> UiResult<Response> {
    let opened = open(&state, &posted.session, &name).await?;
    let user = opened.user(Permission::Write)?;
    let f = posted.form;
    let spec: JobSpec = serde_json::from_value(serde_json::json!({"kind": f.kind}))
        .map_err(|_| UiError::bad_request(format!("unknown job kind {:?}", f.kind)))?;
    let agents: Vec<String> = f.agents.unwrap_or_default().split([' ', ',']).filter(|a| !a.is_empty()).map(str::to_string).collect();
    let timeout = match f.timeout.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => Some(t.parse::<u64>().map_err(|_| UiError::bad_request(format!("{t:?} is not a number of seconds")))?),
    };
    let agents = (!agents.is_empty()).then_some(agents);
    let job = state.store.create_job(&user.username, opened.cluster.id, spec, agents.as_deref(), timeout).await?;
    Ok(back(&name, &format!("job {} queued", job.id)))
}

/// `POST /ui/clusters/{cluster}/jobs/{id}/cancel`.
pub(crate) async fn cancel(State(state): State<AppState>, Path((name, id)): Path<(String, i64)>, posted: Posted<super::login::Empty>) -> UiResult<Response> {
    let opened = open(&state, &posted.session, &name).await?;
    let user = opened.user(Permission::Write)?;
    state.store.cancel_job(&user.username, opened.cluster.id, id).await?;
    Ok(back(&name, &format!("job {id} cancelled")))
}

/// The restore form.
#[derive(Deserialize)]
pub(crate) struct RestoreForm {
    agent: String,
}

/// `POST /ui/clusters/{cluster}/snapshots/{id}/restore`: a restore job on one agent.
pub(crate) async fn restore(State(state): State<AppState>, Path((name, id)): Path<(String, i64)>, posted: Posted<RestoreForm>) -> UiResult<Response> {
    let opened = open(&state, &posted.session, &name).await?;
    let user = opened.user(Permission::Write)?;
    let agents = [posted.form.agent.clone()];
    let job = state.store.create_job(&user.username, opened.cluster.id, JobSpec::Restore { snapshot: id }, Some(&agents), None).await?;
    Ok(back(&name, &format!("restore of snapshot {id} onto {} queued (job {})", posted.form.agent, job.id)))
}

/// `POST /ui/clusters/{cluster}/snapshots/{id}/promote`.
pub(crate) async fn promote(State(state): State<AppState>, Path((name, id)): Path<(String, i64)>, posted: Posted<super::login::Empty>) -> UiResult<Response> {
    let opened = open(&state, &posted.session, &name).await?;
    let user = opened.user(Permission::Write)?;
    let done = state.store.promote_snapshot(user.into(), opened.cluster.id, id, "").await?;
    Ok(back(&name, &format!("snapshot {id} is version {}", done.version.number)))
}
