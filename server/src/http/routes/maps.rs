//! Map files' entries (`/api/v1/clusters/{id}/maps`, fleet-core `maps`): list a cluster's map
//! files, read one's entries, set and remove entries. A change is one version whose only change
//! is the map file: agents take it through HAProxy's runtime API (prepare/add/commit map),
//! without a reload, and keep the file, so the next reload loads the same entries. Unless
//! `?apply=false`, it is applied when nothing unapplied lies before it (as rule entries are).

use axum::extract::State;
use axum::response::IntoResponse;
use fleet_core::bundle::BundlePath;
use fleet_core::maps::{MapEdit, MapEntry, MapFile};
use fleet_core::rbac::Permission;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{apply_change, ApplyQuery, ClusterPath};
use crate::errors::{ApiError, ApiResult};
use crate::http::auth::ScopedCaller;
use crate::http::extract::{Json, Path, Query};
use crate::http::AppState;

/// `/clusters/{id}/maps/{path}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct MapPath {
    /// Cluster id.
    id: i64,
    /// The map file's path in the managed directory (slashes allowed, or encoded as `%2F`).
    #[param(value_type = BundlePath)]
    path: String,
}

impl MapPath {
    fn bundle_path(&self) -> Result<BundlePath, ApiError> {
        BundlePath::new(&self.path).map_err(|e| ApiError::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.to_string()))
    }
}

/// The latest version's map files.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MapListing {
    /// The version read (0 before the first).
    version: i64,
    /// Files of kind map and files a configuration loads as a map, in bundle order.
    maps: Vec<MapFile>,
}

/// `POST .../maps/{path}`: entries to set and keys to remove, made in that order.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MapChangeBody {
    /// Entries to set: the value of every entry with the key changes, or the entry is added at
    /// the end of the file.
    #[serde(default)]
    set: Vec<MapEntry>,
    /// Keys whose entries are removed (a key not in the file is no error).
    #[serde(default)]
    remove: Vec<String>,
}

/// What a change made.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MapChanged {
    /// The new version, absent when the file already held these entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<i64>,
    /// Whether that version is now the one agents run.
    applied: bool,
    /// Why it was not applied, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    not_applied: Option<String>,
    /// The file's entries after the change, in file order.
    entries: Vec<MapEntry>,
}

/// The map files of the latest version, each with its entry count and the config lines that
/// load it.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/maps", tag = "maps", params(ClusterPath),
    responses((status = 200, description = "the map files", body = MapListing), (status = 404, description = "no such cluster")))]
pub(crate) async fn list_maps(State(state): State<AppState>, ScopedCaller(caller): ScopedCaller, Path(path): Path<ClusterPath>) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    let (version, maps) = state.store.map_files(path.id).await?;
    Ok(axum::Json(MapListing { version, maps }))
}

/// A map file's entries in the latest version, as HAProxy loads them (comments and blank lines
/// skipped; a duplicated key is listed each time, HAProxy uses the first).
#[utoipa::path(get, path = "/api/v1/clusters/{id}/maps/{*path}", tag = "maps", params(MapPath),
    responses((status = 200, description = "the entries", body = Vec<MapEntry>),
        (status = 404, description = "no such cluster or map file"), (status = 422, description = "not a valid bundle path")))]
pub(crate) async fn get_map(State(state): State<AppState>, ScopedCaller(caller): ScopedCaller, Path(path): Path<MapPath>) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.map_entries(path.id, &path.bundle_path()?).await?))
}

/// Sets and removes entries of a map file (only their lines change; comments, blank lines and
/// the other entries stay byte for byte): one version, taken by agents through HAProxy's runtime
/// API without a reload.
#[utoipa::path(post, path = "/api/v1/clusters/{id}/maps/{*path}", tag = "maps", params(MapPath, ApplyQuery), request_body = MapChangeBody,
    responses((status = 200, description = "the version and the entries after it", body = MapChanged),
        (status = 404, description = "no such cluster or map file"),
        (status = 422, description = "an entry a map line cannot carry (a key with a blank, a value with a line break ...), or a version the gate refuses")))]
pub(crate) async fn change_map(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<MapPath>,
    Query(query): Query<ApplyQuery>,
    Json(body): Json<MapChangeBody>,
) -> ApiResult<impl IntoResponse> {
    let user = caller.user(Permission::Write)?;
    let file = path.bundle_path()?;
    let edits: Vec<MapEdit> = body.set.into_iter().map(MapEdit::Put).chain(body.remove.into_iter().map(MapEdit::Remove)).collect();
    let message = format!("map {file}: {} edits", edits.len());
    let committed = state.store.edit_map(user.into(), path.id, &file, &edits, &message).await?;
    let (version, applied, not_applied) = match committed {
        Some(committed) => {
            state.metrics.version_committed();
            let version = committed.version.number;
            let not_applied = apply_change(&state, &user.username, path.id, version, query.apply).await?;
            (Some(version), not_applied.is_none(), not_applied)
        }
        None => (None, false, None),
    };
    let entries = state.store.map_entries(path.id, &file).await?;
    Ok(axum::Json(MapChanged { version, applied, not_applied, entries }))
}
