//! Schedules (`/api/v1/schedules`): cron expressions in a time zone that run a target, their
//! next run times and their history. Who may manage one depends on its target: a job on a
//! cluster needs the operator role there, a target on the whole server a global admin; reading
//! follows the same scope (readers of the cluster, global readers for server-wide ones). The
//! runs themselves are the scheduler's (fleet-core's engine, in `fleet serve`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use fleet_core::rbac::{Permission, Principal, Scope};
use fleet_core::schedules::timetable::{local_time, MAX_PREVIEW};
use fleet_core::schedules::{NewSchedule, Schedule, ScheduleRun, Target, Timetable};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::errors::{ApiError, ApiResult};
use crate::http::auth::Caller;
use crate::http::extract::{Json, Path, Query};
use crate::http::AppState;

/// `/schedules/{id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct SchedulePath {
    /// Schedule id.
    id: i64,
}

/// `GET /schedules/{id}/runs?limit=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct RunsQuery {
    /// At most this many, newest run time first (default 100, 1 to 1000).
    limit: Option<i64>,
}

/// `GET /schedules/preview?cron=&timezone=&count=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct PreviewQuery {
    /// Five cron fields (`*/5 * * * *`).
    cron: String,
    /// IANA time zone name (default `UTC`).
    timezone: Option<String>,
    /// How many run times (default 5, 1 to 100).
    count: Option<i64>,
}

/// The next run times of an expression.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PreviewAnswer {
    /// The expression as given.
    cron: String,
    /// The zone it is read in.
    timezone: String,
    /// The next run times after now, RFC 3339 in UTC.
    runs: Vec<String>,
    /// The same times as wall time in the zone, with its offset (`2026-03-29T03:00:00+02:00`).
    local: Vec<String>,
}

/// The caller as it acts on a schedule with `target`: narrowed to the target's cluster's pool,
/// or global for a server-wide target.
async fn acting(state: &AppState, caller: Principal, target: &Target) -> ApiResult<Principal> {
    Ok(match target.cluster_id() {
        Some(cluster) => state.store.scoped(caller, Scope::Cluster(cluster)).await?,
        None => caller,
    })
}

/// Checks that the caller may manage a schedule with `target` (operator of its cluster, or a
/// global admin for a server-wide one); its username.
async fn manager(state: &AppState, caller: Principal, target: &Target) -> ApiResult<String> {
    let needed = if target.cluster_id().is_some() { Permission::Write } else { Permission::Admin };
    let acting = acting(state, caller, target).await?;
    Ok(acting.user(needed)?.username.clone())
}

/// Schedule `id` when the caller may read it.
async fn readable(state: &AppState, caller: Principal, id: i64) -> ApiResult<Schedule> {
    caller.reader()?;
    let schedule = state.store.schedule(id).await?;
    acting(state, caller, &schedule.schedule.target).await?.user(Permission::Read)?;
    Ok(schedule)
}

/// Every schedule the caller may read, by name.
#[utoipa::path(get, path = "/api/v1/schedules", tag = "schedules", responses((status = 200, description = "by name", body = Vec<Schedule>)))]
pub(crate) async fn list_schedules(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult<impl IntoResponse> {
    let readable = state.store.readable(&caller).await?;
    let schedules = state.store.schedules().await?.into_iter().filter(|s| readable.sees(s.schedule.target.cluster_id()));
    Ok(axum::Json(schedules.collect::<Vec<_>>()))
}

/// Creates a schedule: a job on a cluster needs the operator role there, a server-wide target
/// a global admin. Audited (`schedule.create`).
#[utoipa::path(post, path = "/api/v1/schedules", tag = "schedules", request_body = NewSchedule,
    responses((status = 201, description = "the schedule, with its next run time", body = Schedule), (status = 404, description = "no such cluster"),
        (status = 409, description = "the name is taken"), (status = 422, description = "a bad field, named (cron, timezone, name, target)")))]
pub(crate) async fn create_schedule(State(state): State<AppState>, Caller(caller): Caller, Json(body): Json<NewSchedule>) -> ApiResult<impl IntoResponse> {
    let actor = manager(&state, caller, &body.target).await?;
    Ok((StatusCode::CREATED, axum::Json(state.store.create_schedule(&actor, &body).await?)))
}

/// One schedule.
#[utoipa::path(get, path = "/api/v1/schedules/{id}", tag = "schedules", params(SchedulePath),
    responses((status = 200, description = "the schedule", body = Schedule), (status = 404, description = "no such schedule")))]
pub(crate) async fn get_schedule(State(state): State<AppState>, Caller(caller): Caller, Path(path): Path<SchedulePath>) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(readable(&state, caller, path.id).await?))
}

/// Replaces a schedule (the right to manage both its old and its new target). Its next run time
/// is computed again from now; its history stays. Audited (`schedule.update`).
#[utoipa::path(put, path = "/api/v1/schedules/{id}", tag = "schedules", params(SchedulePath), request_body = NewSchedule,
    responses((status = 200, description = "the schedule", body = Schedule), (status = 404, description = "no such schedule or cluster"),
        (status = 409, description = "the name is taken"), (status = 422, description = "a bad field, named")))]
pub(crate) async fn put_schedule(State(state): State<AppState>, Caller(caller): Caller, Path(path): Path<SchedulePath>, Json(body): Json<NewSchedule>) -> ApiResult<impl IntoResponse> {
    let old = readable(&state, caller.clone(), path.id).await?;
    manager(&state, caller.clone(), &old.schedule.target).await?;
    let actor = manager(&state, caller, &body.target).await?;
    Ok(axum::Json(state.store.update_schedule(&actor, path.id, &body).await?))
}

/// Deletes a schedule and its history (a job it started goes on). Audited (`schedule.delete`).
#[utoipa::path(delete, path = "/api/v1/schedules/{id}", tag = "schedules", params(SchedulePath),
    responses((status = 204, description = "deleted"), (status = 404, description = "no such schedule")))]
pub(crate) async fn delete_schedule(State(state): State<AppState>, Caller(caller): Caller, Path(path): Path<SchedulePath>) -> ApiResult<impl IntoResponse> {
    let old = readable(&state, caller.clone(), path.id).await?;
    let actor = manager(&state, caller, &old.schedule.target).await?;
    state.store.delete_schedule(&actor, path.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A schedule's runs, newest run time first: each with its run time, start, end, outcome
/// (`running`, `succeeded`, `failed`, `skipped`, `missed`) and what it created.
#[utoipa::path(get, path = "/api/v1/schedules/{id}/runs", tag = "schedules", params(SchedulePath, RunsQuery),
    responses((status = 200, description = "newest first", body = Vec<ScheduleRun>), (status = 404, description = "no such schedule")))]
pub(crate) async fn schedule_runs(State(state): State<AppState>, Caller(caller): Caller, Path(path): Path<SchedulePath>, Query(query): Query<RunsQuery>) -> ApiResult<impl IntoResponse> {
    readable(&state, caller, path.id).await?;
    Ok(axum::Json(state.store.schedule_runs(path.id, query.limit.unwrap_or(100).clamp(1, 1000)).await?))
}

/// The next run times of a cron expression in a zone, from now (any reader; nothing stored).
#[utoipa::path(get, path = "/api/v1/schedules/preview", tag = "schedules", params(PreviewQuery),
    responses((status = 200, description = "the next run times", body = PreviewAnswer), (status = 422, description = "a bad cron, timezone or count, named")))]
pub(crate) async fn preview(State(state): State<AppState>, Caller(caller): Caller, Query(query): Query<PreviewQuery>) -> ApiResult<impl IntoResponse> {
    caller.reader()?;
    let timezone = query.timezone.unwrap_or_else(|| "UTC".into());
    let count = query.count.unwrap_or(5);
    if !(1..=i64::try_from(MAX_PREVIEW).unwrap_or(100)).contains(&count) {
        return Err(ApiError::from(fleet_core::Error::invalid(format!("count: 1 to {MAX_PREVIEW}"))));
    }
    let table = Timetable::new(&query.cron, &timezone).map_err(fleet_core::Error::invalid)?;
    let runs = table.preview(state.store.now(), usize::try_from(count).unwrap_or(5));
    Ok(axum::Json(PreviewAnswer {
        local: runs.iter().filter_map(|ms| local_time(*ms, &timezone)).collect(),
        runs: runs.iter().map(|ms| fleet_core::clock::rfc3339(*ms)).collect(),
        cron: query.cron,
        timezone,
    }))
}
