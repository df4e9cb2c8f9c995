//! `services/haproxy/runtime/backends/{parent_name}/servers[/{name}]`: servers' live state
//! across the cluster's online nodes, and admin state / weight changed through runtime actions
//! (no reload, no new version). The mapping is fleet-core's ([`fleet_core::dataplane`]
//! `runtime_*`); a change answers once every online node ran it:
//!
//! ```text
//! GET  -> latest version's servers + online nodes' summaries -> runtime_server models
//! PUT  -> runtime_requests (only what differs) -> queued for every node -> wait_runtime
//!         done -> 200 with the new state; a node refused -> 400 naming it and HAProxy's
//!         answer; still running after ACTION_WAIT -> 202 naming the nodes (upstream's error
//!         model: the spec declares no 202 here)
//! POST -> runtime_add: the server added to the configuration (the same op as a configuration
//!         POST) as the next version -> every node applies it runtime-first (`add server`,
//!         no reload) -> rollout waited for -> 201 with the server as the cluster runs it
//! DELETE -> runtime_delete: the server removed from the configuration (`del server`) -> 204
//!         409 when the server exists, 404 for an unknown backend or server; a node that
//!         refused the version -> 400 naming it; still rolling out -> 202 (error model)
//! ```
//!
//! Unlike upstream, whose runtime add lasts until the next reload, an added server is part of
//! the cluster's configuration: it survives reloads and shows in the version history.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get as get_route;
use axum::Router;
use fleet_core::dataplane::{self, RuntimeProgress};
use fleet_core::rbac::Permission;
use serde_json::Value;

use super::auth::Dp;
use super::errors::{DpError, DpResult};
use super::extract::{Object, Path};
use super::flow::{rollout_lines, Written};
use crate::http::AppState;

/// The runtime routes, added to the surface's `v3` router.
pub(crate) fn routes(router: Router<AppState>) -> Router<AppState> {
    let base = "/{cluster}/v3/services/haproxy/runtime/backends/{parent_name}/servers";
    router.route(base, get_route(list).post(create)).route(&format!("{base}/{{name}}"), get_route(get).put(replace).delete(delete))
}

/// How long a change waits for the nodes to run it.
pub(crate) const ACTION_WAIT: Duration = Duration::from_secs(10);

/// The servers of a backend as the nodes run them.
pub(crate) async fn list(dp: Dp, Path((_, parent)): Path<(String, String)>) -> DpResult<Response> {
    dp.user(Permission::Read)?;
    let (_, parsed) = dp.state.store.latest_document(dp.cluster_id).await?;
    let (summaries, _) = dataplane::online_nodes(&dp.state.store, dp.cluster_id).await?;
    let nodes: Vec<_> = summaries.iter().collect();
    Ok(axum::Json(dataplane::runtime_servers(parsed.document(), &parent, &nodes)?).into_response())
}

/// One server as the nodes run it.
pub(crate) async fn get(dp: Dp, Path((_, parent, name)): Path<(String, String, String)>) -> DpResult<Response> {
    dp.user(Permission::Read)?;
    let (_, parsed) = dp.state.store.latest_document(dp.cluster_id).await?;
    let (summaries, _) = dataplane::online_nodes(&dp.state.store, dp.cluster_id).await?;
    let nodes: Vec<_> = summaries.iter().collect();
    Ok(axum::Json(dataplane::runtime_server(parsed.document(), &parent, &name, &nodes)?).into_response())
}

/// Changes a server's admin state and/or weight on every node (see the module docs).
pub(crate) async fn replace(dp: Dp, Path((_, parent, name)): Path<(String, String, String)>, Object(body): Object) -> DpResult<Response> {
    let user = dp.user(Permission::Write)?.clone();
    let store = &dp.state.store;
    let (_, parsed) = store.latest_document(dp.cluster_id).await?;
    let (summaries, _) = dataplane::online_nodes(store, dp.cluster_id).await?;
    let nodes: Vec<_> = summaries.iter().collect();
    let current = dataplane::runtime_server(parsed.document(), &parent, &name, &nodes)?;
    let requests = dataplane::runtime_requests(&parent, &name, &current, &body)?;
    let mut queued = Vec::with_capacity(requests.len());
    for request in requests {
        queued.push(store.queue_runtime_action(&user.username, dp.cluster_id, request).await?);
    }
    let mut after = current;
    if let Value::Object(fields) = &mut after {
        for field in ["admin_state", "weight"] {
            if let Some(value) = body.get(field).filter(|v| !v.is_null()) {
                fields.insert(field.into(), value.clone());
            }
        }
    }
    match dataplane::wait_runtime(store, dp.cluster_id, &queued, ACTION_WAIT).await? {
        RuntimeProgress::Done => Ok(axum::Json(after).into_response()),
        RuntimeProgress::Failed(nodes) => {
            let named: Vec<String> = nodes.iter().map(|(node, answer)| format!("{node}: {answer}")).collect();
            Err(DpError::bad_request(format!("HAProxy refused the change on {}", named.join("; "))))
        }
        RuntimeProgress::Pending(nodes) => Err(DpError::new(
            StatusCode::ACCEPTED,
            format!("queued; not run yet on {} (GET this server again to follow it)", nodes.join(", ")),
        )),
    }
}

/// 400 when a node refused the version `written` made, 202 (error model) while it still rolls
/// out; `Ok` when every online node runs it (or the cluster has none).
fn rolled_out(written: &Written) -> DpResult<()> {
    let Written::Committed { version, rollout, .. } = written else { return Ok(()) };
    if !rollout.finished() {
        let waiting = rollout_lines(rollout).join("; ");
        return Err(DpError::new(StatusCode::ACCEPTED, format!("version {version} is committed and rolling out ({waiting}); GET this server again to follow it")));
    }
    if rollout.agents.is_empty() || rollout.succeeded() {
        return Ok(());
    }
    Err(DpError::bad_request(format!("version {version} was committed and applied, but not every node runs it ({})", rollout_lines(rollout).join("; "))))
}

/// Adds a server to a backend on every node (see the module docs).
pub(crate) async fn create(dp: Dp, Path((_, parent)): Path<(String, String)>, Object(body): Object) -> DpResult<Response> {
    let what = format!("POST runtime/backends/{parent}/servers");
    let written = dp.write_latest(&what, |doc| Ok(vec![dataplane::runtime_add(doc, &parent, &body)?])).await?;
    rolled_out(&written)?;
    let name = body.get("name").and_then(Value::as_str).unwrap_or_default();
    let (_, parsed) = dp.state.store.latest_document(dp.cluster_id).await?;
    let (summaries, _) = dataplane::online_nodes(&dp.state.store, dp.cluster_id).await?;
    let nodes: Vec<_> = summaries.iter().collect();
    let view = dataplane::runtime_server(parsed.document(), &parent, name, &nodes)?;
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}

/// Deletes a server of a backend on every node (see the module docs).
pub(crate) async fn delete(dp: Dp, Path((_, parent, name)): Path<(String, String, String)>) -> DpResult<Response> {
    let what = format!("DELETE runtime/backends/{parent}/servers/{name}");
    let written = dp.write_latest(&what, |doc| Ok(vec![dataplane::runtime_delete(doc, &parent, &name)?])).await?;
    rolled_out(&written)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
