//! Signed agent releases ([`fleet_core::release`]): the listing for people, and the downloads
//! for agents running an `upgrade-agent` job. Only releases with a signature are served; the
//! agent, not the server, judges the signature against the key it pinned.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fleet_core::rbac::Permission;
use fleet_core::release::catalog::{Catalog, ReleaseFile};
use fleet_core::release::{self, PublicKey};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::errors::{ApiError, ApiResult};
use crate::http::auth::Caller;
use crate::http::extract::{Path, Query};
use crate::http::AppState;

/// Where releases come from: `fleet serve --releases DIR --release-public-key KEY`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Releases {
    /// The folder of signed binaries.
    pub(crate) dir: Option<PathBuf>,
    /// The key agents pin at enrolment.
    pub(crate) key: Option<PublicKey>,
}

impl Releases {
    /// The folder as it is now (an empty catalog without `--releases`).
    async fn catalog(self: Arc<Self>) -> ApiResult<Catalog> {
        let Some(dir) = self.dir.clone() else { return Ok(Catalog::default()) };
        let key = self.key;
        let read = tokio::task::spawn_blocking(move || Catalog::read(&dir, key.as_ref())).await;
        match read {
            Ok(Ok(catalog)) => Ok(catalog),
            Ok(Err(error)) => {
                tracing::error!(%error, "the releases folder cannot be read");
                Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the releases folder cannot be read"))
            }
            Err(_) => Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the releases folder cannot be read")),
        }
    }
}

/// `GET /api/v1/releases`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReleaseListing {
    /// The key agents pin at enrolment (`null`: none, agents refuse upgrades).
    public_key: Option<String>,
    /// Signed releases offered for `upgrade-agent`.
    releases: Vec<ReleaseFile>,
    /// Files of the folder that are not offered (unsigned, bad signature file), with why.
    refused: Vec<fleet_core::release::catalog::RefusedFile>,
}

/// The signed agent releases this server offers for upgrades (`fleet serve --releases DIR`),
/// the release public key agents pin, and the files not offered with why.
#[utoipa::path(get, path = "/api/v1/releases", tag = "agents", responses((status = 200, description = "the releases", body = ReleaseListing)))]
pub(crate) async fn list_releases(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    let catalog = state.releases.clone().catalog().await?;
    let public_key = state.releases.key.map(|k| k.to_string());
    Ok(axum::Json(ReleaseListing { public_key, releases: catalog.releases, refused: catalog.refused }))
}

/// `/agent/releases/{version}/...`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct VersionPath {
    /// The release version (1 to 64 of `A-Z a-z 0-9 . _ + -`).
    version: String,
}

/// `?platform=x86_64-linux`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PlatformQuery {
    /// The agent's platform (`<arch>-<os>`, like x86_64-linux).
    platform: String,
}

/// The signed release asked for, or why not.
async fn find(state: &AppState, version: &str, platform: &str) -> ApiResult<ReleaseFile> {
    for checked in [release::check_version(version), release::check_platform(platform)] {
        checked.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.to_string()))?;
    }
    let catalog = state.releases.clone().catalog().await?;
    catalog.find(version, platform).cloned().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no signed release {version} for {platform} on this server (fleet serve --releases; unsigned binaries are never offered)"),
        )
    })
}

/// The binary of a signed release (agents, for `upgrade-agent`); 404 when there is no signed
/// release of that version for that platform.
#[utoipa::path(get, path = "/api/v1/agent/releases/{version}/binary", tag = "agent", params(VersionPath, PlatformQuery), responses(
    (status = 200, description = "the binary", body = Vec<u8>, content_type = "application/octet-stream"),
    (status = 400, description = "not a version or platform name"), (status = 404, description = "no signed release of that version for that platform")))]
pub(crate) async fn release_binary(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<VersionPath>,
    Query(query): Query<PlatformQuery>,
) -> ApiResult<Response> {
    caller.agent()?;
    let found = find(&state, &path.version, &query.platform).await?;
    let Some(dir) = &state.releases.dir else { return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "no releases")) };
    Ok(super::install::stream_file(&dir.join(&found.file), found.size, "fleet-agent").await)
}

/// The signature file of a signed release (agents, for `upgrade-agent`).
#[utoipa::path(get, path = "/api/v1/agent/releases/{version}/signature", tag = "agent", params(VersionPath, PlatformQuery), responses(
    (status = 200, description = "the signature file", body = String, content_type = "text/plain"),
    (status = 400, description = "not a version or platform name"), (status = 404, description = "no signed release of that version for that platform")))]
pub(crate) async fn release_signature(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<VersionPath>,
    Query(query): Query<PlatformQuery>,
) -> ApiResult<Response> {
    caller.agent()?;
    let found = find(&state, &path.version, &query.platform).await?;
    let Some(dir) = &state.releases.dir else { return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "no releases")) };
    let sig = dir.join(format!("{}{}", found.file, release::SIGNATURE_SUFFIX));
    let text = tokio::fs::read_to_string(&sig).await.map_err(|error| {
        tracing::error!(path = %sig.display(), %error, "a release signature cannot be read");
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "the release's signature is gone")
    })?;
    Ok(([(CONTENT_TYPE, "text/plain; charset=utf-8"), (CACHE_CONTROL, "no-store")], text).into_response())
}
