//! `services/haproxy/storage/{maps,ssl_certificates,general}[/{name}]`: upstream's file storage
//! over the files of the cluster's bundle (mapping in [`fleet_core::dataplane`] `storage_*`).
//!
//! ```text
//! GET list   -> the latest version's files in the storage's folder -> entries
//! GET one    -> maps, general: the bytes (application/octet-stream); ssl: the entry
//! POST       -> multipart file_upload (upload.rs) -> put_file (409 when it exists)
//! PUT        -> the new bytes (text/plain; general: multipart) -> put_file (404 when missing)
//! DELETE     -> delete_file
//!   each write: one version on the latest (these routes take no version), applied and its
//!   rollout waited for as every write of the surface (flow.rs): done -> 201/200/204,
//!   rolling -> 202 + Reload-ID, a node refused it -> 400
//! ```
//! `skip_reload` and `force_reload` are accepted and change nothing: every change is rolled
//! out and answered with its final status, as with `force_reload` (a node reloads only when
//! the file needs it; maps change at runtime).

use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get as get_route;
use axum::Router;
use fleet_core::bundle::FileInfo;
use fleet_core::dataplane::{self, Storage};
use fleet_core::rbac::Permission;
use fleet_core::EditOp;

use super::auth::Dp;
use super::errors::DpResult;
use super::extract::{Path, Text};
use super::flow::{answer, Payload, Written};
use super::upload::Upload;
use crate::http::AppState;

/// The routes of the three storages, added to the surface's `v3` router.
pub(crate) fn routes(mut router: Router<AppState>) -> Router<AppState> {
    for (plural, storage) in [("maps", Storage::Maps), ("ssl_certificates", Storage::SslCertificates), ("general", Storage::General)] {
        let base = format!("/{{cluster}}/v3/services/haproxy/storage/{plural}");
        let item = get_route(move |dp, p| get(storage, dp, p)).delete(move |dp, p| delete(storage, dp, p));
        let item = match storage {
            Storage::General => item.put(move |dp, p, u| replace_upload(storage, dp, p, u)),
            _ => item.put(move |dp, p, t| replace_text(storage, dp, p, t)),
        };
        router = router
            .route(&base, get_route(move |dp| list(storage, dp)).post(move |dp, u| create(storage, dp, u)))
            .route(&format!("{base}/{{name}}"), item);
    }
    router
}

/// The latest version's number and files (none before the first version).
async fn latest_files(dp: &Dp) -> DpResult<(i64, Vec<FileInfo>)> {
    let store = &dp.state.store;
    let (latest, _) = store.latest_document(dp.cluster_id).await?;
    let files = if latest == 0 { Vec::new() } else { store.files(dp.cluster_id, latest).await? };
    Ok((latest, files))
}

/// The managed directory of the cluster (where the nodes keep the bundle).
async fn managed_dir(dp: &Dp) -> DpResult<String> {
    Ok(dp.state.store.cluster(dp.cluster_id).await?.settings.managed_dir().to_string())
}

/// One version on the latest with the op `plan` makes from its files, rolled out.
async fn commit(dp: &Dp, what: &str, plan: impl FnOnce(&[FileInfo]) -> fleet_core::Result<EditOp>) -> DpResult<Written> {
    let user = dp.user(Permission::Write)?.clone();
    let (latest, files) = latest_files(dp).await?;
    let op = plan(&files)?;
    let message = format!("Data Plane API: {what}");
    let committed = dp.state.store.edit((&user).into(), dp.cluster_id, latest, vec![op], &message).await?;
    // Final statuses (as force_reload): upstream declares only 201/204 for most of these.
    dp.roll_out(&user.username, committed.version.number, committed.version.created_at, true).await
}

/// The entry `name` as the latest version holds it.
async fn entry_after(dp: &Dp, storage: Storage, name: &str) -> DpResult<serde_json::Value> {
    let (_, files) = latest_files(dp).await?;
    Ok(dataplane::storage_entry(storage, &managed_dir(dp).await?, &files, name)?)
}

/// Every entry of a storage.
pub(crate) async fn list(storage: Storage, dp: Dp) -> DpResult<Response> {
    dp.user(Permission::Read)?;
    let (_, files) = latest_files(&dp).await?;
    Ok(axum::Json(dataplane::storage_entries(storage, &managed_dir(&dp).await?, &files)).into_response())
}

/// One entry: the file's bytes, or (SSL certificates) its model.
pub(crate) async fn get(storage: Storage, dp: Dp, Path((_, name)): Path<(String, String)>) -> DpResult<Response> {
    dp.user(Permission::Read)?;
    let (latest, files) = latest_files(&dp).await?;
    let entry = dataplane::storage_entry(storage, &managed_dir(&dp).await?, &files, &name)?;
    if storage == Storage::SslCertificates {
        return Ok(axum::Json(entry).into_response());
    }
    let file = dp.state.store.file(dp.cluster_id, latest, &storage.path(&name)?).await?;
    Ok(([(CONTENT_TYPE, "application/octet-stream")], file.content).into_response())
}

/// Adds an uploaded file (`file_upload`); 409 when the name is taken.
pub(crate) async fn create(storage: Storage, dp: Dp, upload: Upload) -> DpResult<Response> {
    let name = upload.filename.clone();
    let what = format!("POST storage/{}/{name}", storage.folder());
    let written = commit(&dp, &what, |files| dataplane::put_storage(storage, files, &name, &upload.content, false)).await?;
    let entry = entry_after(&dp, storage, &name).await?;
    Ok(answer(written, StatusCode::CREATED, Payload::Json(entry)))
}

/// Replaces a file's bytes with a text body (maps, SSL certificates).
pub(crate) async fn replace_text(storage: Storage, dp: Dp, Path((_, name)): Path<(String, String)>, Text(text): Text) -> DpResult<Response> {
    replace(storage, dp, name, text.into_bytes()).await
}

/// Replaces a file's bytes with an uploaded file (general storage).
pub(crate) async fn replace_upload(storage: Storage, dp: Dp, Path((_, name)): Path<(String, String)>, upload: Upload) -> DpResult<Response> {
    replace(storage, dp, name, upload.content).await
}

async fn replace(storage: Storage, dp: Dp, name: String, content: Vec<u8>) -> DpResult<Response> {
    let what = format!("PUT storage/{}/{name}", storage.folder());
    let written = commit(&dp, &what, |files| dataplane::put_storage(storage, files, &name, &content, true)).await?;
    if storage == Storage::SslCertificates {
        let entry = entry_after(&dp, storage, &name).await?;
        return Ok(answer(written, StatusCode::OK, Payload::Json(entry)));
    }
    Ok(answer(written, StatusCode::NO_CONTENT, Payload::None))
}

/// Deletes a file.
pub(crate) async fn delete(storage: Storage, dp: Dp, Path((_, name)): Path<(String, String)>) -> DpResult<Response> {
    let what = format!("DELETE storage/{}/{name}", storage.folder());
    let written = commit(&dp, &what, |files| dataplane::delete_storage(storage, files, &name)).await?;
    Ok(answer(written, StatusCode::NO_CONTENT, Payload::None))
}
