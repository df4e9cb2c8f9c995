//! The files of a bundle (fleet-core `bundle`): list, read, write and delete one file, import a
//! whole managed tree as a tar archive, download a version as a tar archive.
//!
//! Reads take `?version=N`, `?transaction_id=T` or nothing (the latest version). Writes take
//! `?version=N` (a new version on base N, 409 when N is not the latest) or `?transaction_id=T`
//! (staged as a `put_file`/`delete_file` op in T), like the config routes. Paths may contain
//! slashes (`/files/certs/site.pem`). A file holding a private key is never returned: its
//! listing says so, `GET` answers 403, the tar download leaves it out and names it in
//! `X-Fleet-Withheld`.

use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, ETAG};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use fleet_core::bundle::{tar, BundleFile, BundlePath, FileInfo, FileKind};
use fleet_core::rbac::Permission;
use fleet_core::{EditOp, TextAt};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::proxies::AtQuery;
use super::{committed, ClusterPath};
use crate::errors::{ApiError, ApiResult};
use crate::http::auth::ScopedCaller;
use crate::http::extract::{Path, Query, Raw};
use crate::http::AppState;

/// `/clusters/{id}/files/{path}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct FilePath {
    /// Cluster id.
    id: i64,
    /// The file's path in the managed directory (slashes allowed, or encoded as `%2F`).
    #[param(value_type = BundlePath)]
    path: String,
}

impl FilePath {
    fn bundle_path(&self) -> Result<BundlePath, ApiError> {
        BundlePath::new(&self.path).map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.to_string()))
    }
}

/// Where a write goes, and what the file is.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct WriteQuery {
    /// Make a new version on this base (must be the latest; 0 for a cluster without versions).
    version: Option<i64>,
    /// Or stage the change in this open transaction.
    transaction_id: Option<i64>,
    /// The file's kind (`config`, `certificate`, `crt-list`, `map`, `acl`, `errorfile`, `lua`,
    /// `other`); guessed from the name when absent. Read as text so a bad one is a 422 after
    /// the permission check.
    #[param(value_type = Option<FileKind>)]
    kind: Option<String>,
    /// Permission bits in octal (`600`); the kind's default when absent.
    #[param(pattern = "^[0-7]{1,4}$")]
    mode: Option<String>,
    /// Why (direct writes).
    #[serde(default)]
    message: String,
}

/// What a file write answers: a new version on `?version=N` (`CommittedBody`), the
/// transaction on `?transaction_id=T`. Only the OpenAPI document uses it.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub(crate) enum FileWrite {
    /// `?version=N`.
    Version(super::CommittedBody),
    /// `?transaction_id=T`.
    Transaction(fleet_core::Transaction),
}

enum Target {
    Version(i64),
    Transaction(i64),
}

impl WriteQuery {
    fn target(&self) -> Result<Target, ApiError> {
        match (self.version, self.transaction_id) {
            (Some(_), Some(_)) => Err(ApiError::bad_request("give version or transaction_id, not both")),
            (Some(n), None) => Ok(Target::Version(n)),
            (None, Some(t)) => Ok(Target::Transaction(t)),
            (None, None) => Err(ApiError::bad_request("query parameter version (the base) or transaction_id is required")),
        }
    }

    fn kind(&self) -> Result<Option<FileKind>, ApiError> {
        self.kind.as_deref().map(str::parse).transpose().map_err(|e: fleet_core::bundle::BundleError| invalid(e.to_string()))
    }

    fn mode(&self) -> Result<Option<u32>, ApiError> {
        self.mode
            .as_deref()
            .map(|m| u32::from_str_radix(m, 8).map_err(|_| invalid(format!("mode {m:?} is not an octal number like 644"))))
            .transpose()
    }
}

fn invalid(message: String) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
}

/// A file as listed.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ListedFile {
    #[serde(flatten)]
    info: FileInfo,
    /// True when the file holds a private key: never returned by user routes.
    private_key: bool,
}

/// `{version, digest, files}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Listing {
    /// The version read (none for a transaction's candidate).
    version: Option<i64>,
    /// The bundle's digest.
    digest: String,
    files: Vec<ListedFile>,
}

/// Every file of the latest version (or `?version=N`, `?transaction_id=T`), configs first.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/files", tag = "files", params(ClusterPath, AtQuery),
    responses((status = 200, description = "the files", body = Listing), (status = 404, description = "no such cluster or version")))]
pub(crate) async fn list_files(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<ClusterPath>,
    Query(query): Query<AtQuery>,
) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    let (version, bundle) = state.store.bundle_at(path.id, query.at()?).await?;
    let files = bundle.files().iter().map(|f| ListedFile { info: f.info(), private_key: f.holds_private_key() }).collect();
    Ok(axum::Json(Listing { version, digest: bundle.digest(), files }))
}

/// One file's bytes (`text/plain` for UTF-8 text, else `application/octet-stream`), with its
/// kind in `X-Fleet-Kind` and its sha256 as `ETag`. 403 for a file holding a private key.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/files/{*path}", tag = "files", params(FilePath, AtQuery),
    responses((status = 200, description = "the file's bytes", content((String = "text/plain"), (Vec<u8> = "application/octet-stream")),
            headers(("x-fleet-kind" = String, description = "the file's kind"), ("etag" = String, description = "the file's sha256, quoted"))),
        (status = 403, description = "the file holds a private key"), (status = 422, description = "not a valid bundle path"),
        (status = 404, description = "no such file")))]
pub(crate) async fn get_file(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<FilePath>,
    Query(query): Query<AtQuery>,
) -> ApiResult<Response> {
    caller.user(Permission::Read)?;
    let wanted = path.bundle_path()?;
    let (_, bundle) = state.store.bundle_at(path.id, query.at()?).await?;
    let file = bundle.file(&wanted).ok_or_else(|| fleet_core::Error::not_found(format!("file {wanted}")))?;
    if file.holds_private_key() {
        return Err(fleet_core::Error::Forbidden(format!("{wanted} holds a private key: only the cluster's agents receive it")).into());
    }
    let content_type = if file.text().is_some() { "text/plain; charset=utf-8" } else { "application/octet-stream" };
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert("x-fleet-kind", HeaderValue::from_static(file.kind.as_str()));
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", file.sha256())) {
        headers.insert(ETAG, etag);
    }
    Ok((headers, file.content.clone()).into_response())
}

/// Adds or replaces one file with the body's bytes: a new version on `?version=N`, or a
/// `put_file` op staged in `?transaction_id=T`.
#[utoipa::path(put, path = "/api/v1/clusters/{id}/files/{*path}", tag = "files", params(FilePath, WriteQuery),
    request_body(content = Option<Vec<u8>>, content_type = "application/octet-stream", description = "the file's bytes (an empty body is an empty file)"),
    responses((status = 200, description = "the new version, or the transaction", body = FileWrite), (status = 409, description = "stale base version"),
        (status = 422, description = "bad path, kind or mode, or the bundle is refused")))]
pub(crate) async fn put_file(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<FilePath>,
    Query(query): Query<WriteQuery>,
    Raw(body): Raw,
) -> ApiResult<Response> {
    let user = caller.user(Permission::Write)?;
    let target = query.target()?;
    let file_path = path.bundle_path()?;
    let (kind, mode) = (query.kind()?, query.mode()?);
    match target {
        Target::Version(base) => {
            let mut file = BundleFile::new(file_path.clone(), kind.unwrap_or_else(|| FileKind::guess(&file_path)), body.to_vec());
            if let Some(mode) = mode {
                file.mode = mode;
            }
            let done = state.store.put_file(user.into(), path.id, Some(base), file, &query.message).await?;
            Ok(committed(&state, StatusCode::OK, done))
        }
        Target::Transaction(tid) => {
            let op = EditOp::put_file(file_path, kind, mode, &body);
            Ok(axum::Json(state.store.stage_in(&user.username, path.id, tid, vec![op]).await?).into_response())
        }
    }
}

/// Removes one file: a new version on `?version=N`, or a `delete_file` op staged in
/// `?transaction_id=T`.
#[utoipa::path(delete, path = "/api/v1/clusters/{id}/files/{*path}", tag = "files", params(FilePath, WriteQuery),
    responses((status = 200, description = "the new version, or the transaction", body = FileWrite), (status = 404, description = "no such file"),
        (status = 422, description = "not a valid bundle path, or the bundle is refused"),
        (status = 409, description = "stale base version")))]
pub(crate) async fn delete_file(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<FilePath>,
    Query(query): Query<WriteQuery>,
) -> ApiResult<Response> {
    let user = caller.user(Permission::Write)?;
    let target = query.target()?;
    let file_path = path.bundle_path()?;
    match target {
        Target::Version(base) => {
            let done = state.store.delete_file(user.into(), path.id, Some(base), &file_path, &query.message).await?;
            Ok(committed(&state, StatusCode::OK, done))
        }
        Target::Transaction(tid) => {
            let op = EditOp::DeleteFile { path: file_path };
            Ok(axum::Json(state.store.stage_in(&user.username, path.id, tid, vec![op]).await?).into_response())
        }
    }
}

/// `?version=N` of a download.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct BundleQuery {
    /// The version (default: the latest).
    version: Option<i64>,
}

/// The files of a version as a tar archive (`tar -x -C DIR` gives the managed tree back).
/// Files holding a private key are left out and named in `X-Fleet-Withheld` (comma-separated).
#[utoipa::path(get, path = "/api/v1/clusters/{id}/bundle", tag = "files", params(ClusterPath, BundleQuery),
    responses((status = 200, description = "the version's files as a tar archive", body = Vec<u8>, content_type = "application/x-tar",
            headers(("x-fleet-withheld" = String, description = "files left out because they hold a private key, comma-separated"))),
        (status = 404, description = "no such cluster or version")))]
pub(crate) async fn get_bundle(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<ClusterPath>,
    Query(query): Query<BundleQuery>,
) -> ApiResult<Response> {
    caller.user(Permission::Read)?;
    let at = query.version.map_or(TextAt::Latest, TextAt::Version);
    let (version, bundle) = state.store.bundle_at(path.id, at).await?;
    let (withheld, shown): (Vec<&BundleFile>, Vec<&BundleFile>) = bundle.files().iter().partition(|f| f.holds_private_key());
    let created = state.store.version(path.id, version.unwrap_or_default()).await?.info.created_at;
    let archive = tar::write_tar(shown, u64::try_from(created / 1000).unwrap_or(0))
        .map_err(|e| fleet_core::Error::Corrupt(format!("cannot write the tar archive: {e}")))?;
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-tar"));
    if let Ok(name) = HeaderValue::from_str(&format!("attachment; filename=\"cluster-{}-v{}.tar\"", path.id, version.unwrap_or_default())) {
        headers.insert(CONTENT_DISPOSITION, name);
    }
    let names: Vec<&str> = withheld.iter().map(|f| f.path.as_str()).collect();
    if let Ok(value) = HeaderValue::from_str(&names.join(",")) {
        headers.insert("x-fleet-withheld", value);
    }
    Ok((headers, archive).into_response())
}

/// `?configs=haproxy.cfg,conf.d&message=...` of a tar import.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct TarImportQuery {
    /// The config files in load order, comma-separated: a file, or a folder meaning its `*.cfg`
    /// files in name order (default: the cluster's config file).
    configs: Option<String>,
    /// Why.
    #[serde(default)]
    pub(crate) message: String,
}

/// Imports a tar archive of a managed directory as the next version (the import route with
/// `Content-Type: application/x-tar`).
pub(crate) async fn import_tar(state: &AppState, caller: &fleet_core::rbac::Principal, cluster_id: i64, query: &TarImportQuery, body: &[u8]) -> ApiResult<Response> {
    let user = caller.user(Permission::Write)?;
    let bundle = query.read(state, cluster_id, body).await?;
    let done = state.store.import_bundle(user.into(), cluster_id, &bundle, &query.message).await?;
    Ok(committed(state, StatusCode::CREATED, done))
}

impl TarImportQuery {
    /// The archive `body` as a bundle of `cluster_id`, its config files in the listed order,
    /// each file of the kind its use implies ([`tar::import_tar`]).
    pub(crate) async fn read(&self, state: &AppState, cluster_id: i64, body: &[u8]) -> ApiResult<fleet_core::bundle::Bundle> {
        let settings = state.store.cluster(cluster_id).await?.settings;
        let configs = match self.configs.as_deref().filter(|c| !c.trim().is_empty()) {
            Some(list) => list
                .split(',')
                .map(|c| BundlePath::new(c.trim()).map_err(|e| invalid(format!("configs: {e}"))))
                .collect::<Result<Vec<_>, _>>()?,
            None => vec![settings.config_name()],
        };
        tar::import_tar(body, &configs, &settings).map_err(|e| invalid(e.to_string()))
    }
}
