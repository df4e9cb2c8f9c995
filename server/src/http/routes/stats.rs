//! The stats history of a cluster (`fleet_core::monitor::stats`): series per agent and `show
//! stat` row, aligned on common steps.

use axum::extract::State;
use fleet_core::monitor::stats::StatsAnswer;
use fleet_core::rbac::Permission;
use fleet_core::{Error, StatsQuery};
use serde::Deserialize;
use utoipa::IntoParams;

use super::ClusterPath;
use crate::errors::ApiResult;
use crate::http::auth::ScopedCaller;
use crate::http::extract::{Path, Query};
use crate::http::AppState;

/// `?from=&to=&step=&proxy=&server=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatsParams {
    /// Start: RFC 3339 (`2026-12-01T10:00:00Z`) or Unix ms; default an hour before `to`.
    from: Option<String>,
    /// End, exclusive: RFC 3339 or Unix ms; default now.
    to: Option<String>,
    /// Step in seconds (rounded up to 10 s on the raw tier, 300 s on the rollup tier);
    /// default about 300 steps over the window.
    #[param(minimum = 1)]
    step: Option<i64>,
    /// Only this proxy (`pxname`).
    proxy: Option<String>,
    /// Only this row: `FRONTEND`, `BACKEND` or a server's name (`svname`).
    server: Option<String>,
}

/// A time given as RFC 3339 or Unix ms.
fn time(name: &str, value: Option<&str>) -> Result<Option<i64>, Error> {
    value
        .map(|v| {
            v.parse::<i64>()
                .ok()
                .or_else(|| fleet_core::clock::parse_rfc3339(v))
                .ok_or_else(|| Error::invalid(format!("{name} must be RFC 3339 (2026-12-01T10:00:00Z) or Unix ms, not {v:?}")))
        })
        .transpose()
}

/// The cluster's stats history: for every agent and frontend, backend and server (or the ones
/// `proxy`/`server` name), one value per step of rates per second computed from HAProxy's
/// counters across heartbeats (`session_rate` from `stot`, `request_rate` from `req_tot` (servers:
/// their HTTP responses), `bytes_in_rate`/`bytes_out_rate` in bytes/s, `hrsp_4xx_rate`,
/// `hrsp_5xx_rate`; a reload's counter restart never gives a negative rate), gauges (`scur`,
/// `qcur`: the last sample of the step, the peak on the rollup tier; `rtime_ms`: HAProxy's mean
/// response time in ms) and `up_ratio` (0..1 of the step the row was `UP`/`OPEN`). `null` where
/// no heartbeat fell. Windows within the last 24 h with steps under 5 min read the raw tier
/// (10 s points), others the rollup tier (5 min points, 30 days). `timestamps` are each step's
/// start in Unix ms.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/stats", tag = "clusters", params(ClusterPath, StatsParams),
    responses((status = 200, description = "the series, aligned", body = StatsAnswer),
        (status = 400, description = "a parameter of the wrong type"), (status = 401, description = "not signed in"),
        (status = 403, description = "no read access to this cluster's pool"), (status = 404, description = "no such cluster"),
        (status = 422, description = "from not before to, a time that is not RFC 3339 or Unix ms, a step under 1 s, more than 10,000 steps, or more than 1,000 series (narrow with proxy= and server=)")))]
pub(crate) async fn cluster_stats(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<ClusterPath>,
    Query(params): Query<StatsParams>,
) -> ApiResult<axum::Json<StatsAnswer>> {
    caller.user(Permission::Read)?;
    let query = StatsQuery {
        from: time("from", params.from.as_deref())?,
        to: time("to", params.to.as_deref())?,
        step_ms: params.step.map(|s| s.saturating_mul(1_000)),
        proxy: params.proxy,
        server: params.server,
    };
    Ok(axum::Json(state.store.stats(path.id, &query).await?))
}
