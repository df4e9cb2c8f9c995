//! `services/haproxy/runtime/maps[/{name}[/entries[/{id}]]]`: upstream's runtime maps over the
//! map files of the cluster's bundle (mapping in [`fleet_core::dataplane`] `runtime_map*`, the
//! entry edits in [`fleet_core::maps`]).
//!
//! ```text
//! GET  maps, maps/{name}, .../entries, .../entries/{id}  -> the latest version's map files
//! POST .../entries (add), PUT .../entries/{id} (set), DELETE .../entries/{id} (del),
//! PUT  maps/{name} (add a payload), DELETE maps/{name} (clear; forceDelete: the file too)
//!   -> Store::edit_map: a version whose only change is the map file -> applied; agents run it
//!      through HAProxy's runtime API (prepare/add/commit map), no reload, and keep the file,
//!      so the next reload loads the same entries -> the rollout waited for (flow.rs):
//!      done -> 201/200/204, still rolling -> 202 + Reload-ID, a node refused -> 400
//! ```
//! `force_sync` is accepted and changes nothing: every change is written to the file (that is
//! how it reaches the nodes).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get as get_route;
use axum::Router;
use fleet_core::bundle::BundlePath;
use fleet_core::dataplane;
use fleet_core::maps::{MapEdit, MapEntry, MapFile};
use fleet_core::rbac::Permission;
use serde::Deserialize;
use serde_json::Value;

use super::auth::Dp;
use super::errors::DpResult;
use super::extract::{Json, Object, Path, Query};
use super::flow::{answer, Payload, Written};
use crate::http::AppState;

/// The runtime map routes, added to the surface's `v3` router.
pub(crate) fn routes(router: Router<AppState>) -> Router<AppState> {
    let base = "/{cluster}/v3/services/haproxy/runtime/maps";
    router
        .route(base, get_route(list))
        .route(&format!("{base}/{{name}}"), get_route(get).put(add_payload).delete(clear))
        .route(&format!("{base}/{{name}}/entries"), get_route(entries).post(add_entry))
        .route(&format!("{base}/{{name}}/entries/{{id}}"), get_route(get_entry).put(replace_entry).delete(delete_entry))
}

/// `GET maps?include_unmanaged=`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    include_unmanaged: bool,
}

/// `DELETE maps/{name}?forceDelete=`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ClearQuery {
    #[serde(default, rename = "forceDelete")]
    force_delete: bool,
}

/// The managed directory and the latest version's map files.
async fn map_files(dp: &Dp) -> DpResult<(String, Vec<MapFile>)> {
    dp.user(Permission::Read)?;
    let managed = dp.state.store.cluster(dp.cluster_id).await?.settings.managed_dir().to_string();
    let (_, files) = dp.state.store.map_files(dp.cluster_id).await?;
    Ok((managed, files))
}

/// The bundle path of the map `name` addresses.
async fn map_path(dp: &Dp, name: &str) -> DpResult<BundlePath> {
    let (managed, files) = map_files(dp).await?;
    Ok(dataplane::runtime_map_path(&managed, &files, name)?)
}

/// Makes `edits` to map `name` as one version, rolled out (see the module docs).
async fn edit(dp: &Dp, name: &str, edits: Vec<MapEdit>, what: &str) -> DpResult<Written> {
    let user = dp.user(Permission::Write)?.clone();
    let path = map_path(dp, name).await?;
    let message = format!("Data Plane API: {what} runtime map {name}");
    match dp.state.store.edit_map((&user).into(), dp.cluster_id, &path, &edits, &message).await? {
        // Final statuses (as force_reload): the specification declares 201/200/204 here.
        Some(committed) => dp.roll_out(&user.username, committed.version.number, committed.version.created_at, true).await,
        None => {
            let (latest, _) = dp.state.store.map_files(dp.cluster_id).await?;
            Ok(Written::Unchanged { version: latest, created_at: None, force_reload: true })
        }
    }
}

/// Every map file of the maps storage (with `include_unmanaged`, every map file of the bundle).
pub(crate) async fn list(dp: Dp, Query(query): Query<ListQuery>) -> DpResult<Response> {
    let (managed, files) = map_files(&dp).await?;
    Ok(axum::Json(dataplane::runtime_maps(&managed, &files, query.include_unmanaged)).into_response())
}

/// One map file.
pub(crate) async fn get(dp: Dp, Path((_, name)): Path<(String, String)>) -> DpResult<Response> {
    let (managed, files) = map_files(&dp).await?;
    let path = dataplane::runtime_map_path(&managed, &files, &name)?;
    let file = files.iter().find(|f| f.path == path).ok_or_else(|| fleet_core::Error::not_found(format!("runtime map {name}")))?;
    Ok(axum::Json(dataplane::runtime_map(&managed, file)).into_response())
}

/// Adds a payload of entries at the end of the map (`add map` of a payload).
pub(crate) async fn add_payload(dp: Dp, Path((_, name)): Path<(String, String)>, Json(body): Json) -> DpResult<Response> {
    let added = dataplane::map_entries_body(&body)?;
    let shown: Vec<Value> = added.iter().map(dataplane::runtime_map_entry).collect();
    let written = edit(&dp, &name, vec![MapEdit::Append(added)], "PUT").await?;
    Ok(answer(written, StatusCode::CREATED, Payload::Json(Value::Array(shown))))
}

/// Removes every entry (`clear map`); with `forceDelete`, the file itself (the gate refuses
/// that while a configuration line loads it).
pub(crate) async fn clear(dp: Dp, Path((_, name)): Path<(String, String)>, Query(query): Query<ClearQuery>) -> DpResult<Response> {
    if !query.force_delete {
        let written = edit(&dp, &name, vec![MapEdit::Clear], "DELETE (clear)").await?;
        return Ok(answer(written, StatusCode::NO_CONTENT, Payload::None));
    }
    let user = dp.user(Permission::Write)?.clone();
    let path = map_path(&dp, &name).await?;
    let store = &dp.state.store;
    let (latest, _) = store.latest_document(dp.cluster_id).await?;
    let op = fleet_core::EditOp::DeleteFile { path };
    let message = format!("Data Plane API: DELETE runtime map {name} (forceDelete)");
    let committed = store.edit((&user).into(), dp.cluster_id, latest, vec![op], &message).await?;
    let written = dp.roll_out(&user.username, committed.version.number, committed.version.created_at, true).await?;
    Ok(answer(written, StatusCode::NO_CONTENT, Payload::None))
}

/// The map's entries (`show map`).
pub(crate) async fn entries(dp: Dp, Path((_, name)): Path<(String, String)>) -> DpResult<Response> {
    let path = map_path(&dp, &name).await?;
    let entries = dp.state.store.map_entries(dp.cluster_id, &path).await?;
    Ok(axum::Json(entries.iter().map(dataplane::runtime_map_entry).collect::<Vec<_>>()).into_response())
}

/// Adds one entry (`add map`); 409 when its key is there already.
pub(crate) async fn add_entry(dp: Dp, Path((_, name)): Path<(String, String)>, Object(body): Object) -> DpResult<Response> {
    let entry = dataplane::map_entry_body(&body)?;
    let shown = dataplane::runtime_map_entry(&entry);
    let written = edit(&dp, &name, vec![MapEdit::Add(entry)], "POST entry to").await?;
    Ok(answer(written, StatusCode::CREATED, Payload::Json(shown)))
}

/// The first entry with key `id` (`get map`).
pub(crate) async fn get_entry(dp: Dp, Path((_, name, id)): Path<(String, String, String)>) -> DpResult<Response> {
    let path = map_path(&dp, &name).await?;
    let entries = dp.state.store.map_entries(dp.cluster_id, &path).await?;
    let entry = entries.iter().find(|e| e.key == id).ok_or_else(|| fleet_core::Error::not_found(format!("map entry {id} of runtime map {name}")))?;
    Ok(axum::Json(dataplane::runtime_map_entry(entry)).into_response())
}

/// Sets the value of every entry with key `id` (`set map`).
pub(crate) async fn replace_entry(dp: Dp, Path((_, name, id)): Path<(String, String, String)>, Object(body): Object) -> DpResult<Response> {
    let entry = MapEntry { key: id, value: dataplane::map_value_body(&body)? };
    let shown = dataplane::runtime_map_entry(&entry);
    let written = edit(&dp, &name, vec![MapEdit::Replace(entry)], "PUT entry of").await?;
    Ok(answer(written, StatusCode::OK, Payload::Json(shown)))
}

/// Deletes every entry with key `id` (`del map`).
pub(crate) async fn delete_entry(dp: Dp, Path((_, name, id)): Path<(String, String, String)>) -> DpResult<Response> {
    let written = edit(&dp, &name, vec![MapEdit::Delete(id)], "DELETE entry of").await?;
    Ok(answer(written, StatusCode::NO_CONTENT, Payload::None))
}
