//! `services/haproxy/reloads`: a commit's rollout across the cluster, per node. A reload id is
//! `YYYY-MM-DD-N` for version N ([`super::flow::reload_id`]); its status is what every node
//! made of that version ([`fleet_core::dataplane::rollout`]):
//!
//! ```text
//! every node runs it (or the cluster has none) -> succeeded
//! every node answered, some refused it         -> failed
//! some node has not answered yet               -> in_progress
//! ```
//! `response` says it per node, one line each (`web1: applied`, `web2: rejected: ...`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fleet_core::rbac::Permission;
use serde_json::{json, Value};

use super::auth::Dp;
use super::errors::{DpError, DpResult};
use super::extract::Path;
use super::flow::{reload_id, rollout_lines};

/// How many of the latest versions `GET reloads` lists.
const LISTED: usize = 20;

async fn shown(dp: &Dp, number: i64, created_at: i64) -> DpResult<Value> {
    let rollout = fleet_core::dataplane::rollout(&dp.state.store, dp.cluster_id, number).await?;
    let status = if rollout.agents.is_empty() || rollout.succeeded() {
        "succeeded"
    } else if rollout.finished() {
        "failed"
    } else {
        "in_progress"
    };
    let lines = rollout_lines(&rollout);
    let response = if lines.is_empty() { "no nodes in this cluster".to_string() } else { lines.join("\n") };
    Ok(json!({"id": reload_id(created_at, number), "status": status, "reload_timestamp": created_at / 1000, "response": response}))
}

/// The rollouts of the latest versions, newest first.
pub(crate) async fn list(dp: Dp) -> DpResult<Response> {
    dp.user(Permission::Read)?;
    let versions = dp.state.store.versions(dp.cluster_id).await?;
    let mut out = Vec::new();
    for v in versions.iter().rev().take(LISTED) {
        out.push(shown(&dp, v.number, v.created_at).await?);
    }
    Ok(axum::Json(out).into_response())
}

/// One rollout.
pub(crate) async fn get(dp: Dp, Path((_, id)): Path<(String, String)>) -> DpResult<Response> {
    dp.user(Permission::Read)?;
    let missing = || DpError::new(StatusCode::NOT_FOUND, format!("reload {id} does not exist"));
    let number = id.rsplit_once('-').and_then(|(_, n)| n.parse::<i64>().ok()).ok_or_else(missing)?;
    let info = match dp.state.store.version_info(dp.cluster_id, number).await {
        Ok(info) => info,
        Err(fleet_core::Error::NotFound(_)) => return Err(missing()),
        Err(other) => return Err(other.into()),
    };
    if reload_id(info.created_at, number) != id {
        return Err(missing());
    }
    Ok(axum::Json(shown(&dp, number, info.created_at).await?).into_response())
}
