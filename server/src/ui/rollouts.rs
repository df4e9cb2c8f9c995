//! The cluster page's rollout section: the latest staged (or unfinished) rollout with its
//! stages and each agent's outcome, pause / resume / abort buttons, and a staged apply form.
//! The same fleet-core calls as the API (`DesiredWatch::start_rollout`, `control_rollout`).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use fleet_core::rbac::Permission;
use fleet_core::rollouts::{AgentOutcome, Rollout, RolloutState, StageState, StrategySpec};
use fleet_core::{Cluster, Control};
use maud::{html, Markup};
use serde::Deserialize;

use super::cluster::open;
use super::error::{UiError, UiResult};
use super::layout::{self, badge};
use super::session::{urlencode, Posted, Session};
use crate::http::AppState;

fn base(cluster: &Cluster) -> String {
    format!("/ui/clusters/{}", urlencode(&cluster.name))
}

fn state_badge(state: RolloutState) -> Markup {
    let kind = match state {
        RolloutState::Succeeded => "ok",
        RolloutState::Running => "warn",
        RolloutState::Paused | RolloutState::Aborted => "idle",
        RolloutState::Halted | RolloutState::RolledBack => "bad",
    };
    badge(kind, state.as_str())
}

fn outcome_badge(outcome: AgentOutcome) -> Markup {
    let text = serde_json::to_value(outcome).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    let kind = match outcome {
        o if o.is_applied() => "ok",
        o if o.is_failure() => "bad",
        AgentOutcome::Applying | AgentOutcome::RolledBack => "warn",
        _ => "idle",
    };
    badge(kind, &text)
}

/// The section: the rollout worth showing (staged, or not finished), then the staged apply
/// form for writers.
pub(crate) fn section(session: &Session, cluster: &Cluster, latest: Option<&Rollout>, version: Option<i64>, write: bool) -> Markup {
    let shown = latest.filter(|r| !r.strategy.is_all() || !r.state.is_final());
    html! {
        @if let Some(r) = shown {
            section #rollout aria-label="Current rollout" {
                h2 { "Rollout " (r.rollout_id) " of version " (r.version) " " (state_badge(r.state)) }
                p.muted {
                    "By " (r.created_by) " at " (layout::time(r.created_at))
                    @if let Some(previous) = r.previous_version { " · previous version " (previous) }
                    " · max failures " (r.strategy.max_failures) " · soak " (r.strategy.soak_seconds) " s · on failure "
                    (if r.strategy.on_failure == fleet_core::rollouts::OnFailure::Rollback { "rollback" } else { "halt" })
                }
                @if let Some(reason) = &r.reason { p.error { (reason) } }
                table {
                    thead { tr { th { "Stage" } th { "State" } th { "Agents" } } }
                    tbody { @for (i, stage) in r.stages.iter().enumerate() {
                        tr data-stage=(stage.name) {
                            td { (stage.name) }
                            td { (badge(match stage.state { StageState::Passed => "ok", StageState::Failed => "bad", StageState::Started => "warn", StageState::Pending => "idle" },
                                match stage.state { StageState::Passed => "passed", StageState::Failed => "failed", StageState::Started => "started", StageState::Pending => "pending" })) }
                            td { @for a in r.agents.iter().filter(|a| a.stage == i) {
                                span data-agent=(a.name) { (a.name) " " (outcome_badge(a.outcome)) @if let Some(e) = &a.error { " " span.error { (e) } } } " "
                            } }
                        }
                    } }
                }
                @if write && !r.state.is_final() {
                    div.row {
                        @let actions: &[(&str, &str)] = if r.state == RolloutState::Paused { &[("resume", "Resume"), ("abort", "Abort")] } else { &[("pause", "Pause"), ("abort", "Abort")] };
                        @for (action, label) in actions {
                            form method="post" action={ (base(cluster)) "/rollouts/" (r.rollout_id) "/" (action) } {
                                (layout::csrf(session))
                                button type="submit" { (label) }
                            }
                        }
                    }
                }
            }
        }
        @if let (true, Some(version)) = (write, version) {
            details {
                summary { "Staged apply of version " (version) }
                form.row method="post" action={ (base(cluster)) "/rollouts" } {
                    (layout::csrf(session))
                    input type="hidden" name="version" value=(version);
                    label { "Canary agents" input name="canary" type="number" min="1" value="1"; }
                    label { "Batch %" input name="batch_percent" type="number" min="1" max="100" value="50"; }
                    label { "Pause (s)" input name="pause" type="number" min="0" max="86400" value="0"; }
                    label { "Soak (s)" input name="soak" type="number" min="0" max="86400" value="0"; }
                    label { "Max failures" input name="max_failures" type="number" min="0" value="0"; }
                    label { "On failure" select name="on_failure" { option value="halt" { "halt" } option value="rollback" { "rollback" } } }
                    button type="submit" { "Start rollout" }
                }
            }
        }
    }
}

/// The staged apply form.
#[derive(Deserialize)]
pub(crate) struct StagedForm {
    version: i64,
    canary: Option<String>,
    batch_percent: Option<String>,
    pause: Option<String>,
    soak: Option<String>,
    max_failures: Option<String>,
    on_failure: Option<String>,
}

fn number(field: &str, text: Option<&str>) -> UiResult<Option<u64>> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => t.parse().map(Some).map_err(|_| UiError::bad_request(format!("{field}: {t:?} is not a whole number"))),
    }
}

/// `POST /ui/clusters/{cluster}/rollouts`: starts a staged rollout.
pub(crate) async fn start(State(state): State<AppState>, Path(name): Path<String>, posted: Posted<StagedForm>) -> UiResult<Response> {
    let opened = open(&state, &posted.session, &name).await?;
    let user = opened.user(Permission::Write)?;
    let f = &posted.form;
    let mut spec = serde_json::json!({"max_failures": number("max failures", f.max_failures.as_deref())?.unwrap_or(0), "soak_seconds": number("soak", f.soak.as_deref())?.unwrap_or(0)});
    if let Some(agents) = number("canary", f.canary.as_deref())? {
        spec["canary"] = serde_json::json!({"agents": agents});
    }
    if let Some(percent) = number("batch %", f.batch_percent.as_deref())? {
        spec["batches"] = serde_json::json!({"percent": percent, "pause_seconds": number("pause", f.pause.as_deref())?.unwrap_or(0)});
    }
    if let Some(policy) = f.on_failure.as_deref().filter(|p| !p.is_empty()) {
        spec["on_failure"] = serde_json::json!(policy);
    }
    let strategy = serde_json::from_value::<StrategySpec>(spec).map_err(|e| UiError::bad_request(e.to_string()))?.strategy();
    let (_, rollout) = state.desired.start_rollout(&user.username, opened.cluster.id, f.version, &strategy).await?;
    Ok(back(&opened.cluster, &format!("rollout {} of version {} started", rollout.rollout_id, f.version)))
}

/// `POST /ui/clusters/{cluster}/rollouts/{id}/{action}`: pause, resume or abort.
pub(crate) async fn control(State(state): State<AppState>, Path((name, id, action)): Path<(String, i64, String)>, posted: Posted<super::login::Empty>) -> UiResult<Response> {
    let opened = open(&state, &posted.session, &name).await?;
    let user = opened.user(Permission::Write)?;
    let control = match action.as_str() {
        "pause" => Control::Pause,
        "resume" => Control::Resume,
        "abort" => Control::Abort,
        other => return Err(UiError::not_found(format!("rollout action {other}"))),
    };
    let rollout = state.desired.control_rollout(&user.username, opened.cluster.id, id, control).await?;
    Ok(back(&opened.cluster, &format!("rollout {id} is {}", rollout.state.as_str())))
}

fn back(cluster: &Cluster, done: &str) -> Response {
    Redirect::to(&format!("{}?done={}", base(cluster), urlencode(done))).into_response()
}
