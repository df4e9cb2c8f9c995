//! `services/haproxy/configuration/raw`: the first config file's text, read at a version or in
//! a transaction, and replaced whole (lossless: the text is stored as sent).
//!
//! ```text
//! POST ?version=N               -> version N+1 (409 when N is not the latest), rolled out
//! POST ?skip_version=true       -> on whatever is latest
//! POST ?only_validate=true      -> the offline check and, with --haproxy-bin, haproxy -c:
//!                                  202 and the text when it passes, 400 naming the first error
//! ```

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use fleet_core::bundle::{BundleFile, BundlePath, FileKind};
use fleet_core::rbac::Permission;
use fleet_core::TextAt;
use serde::Deserialize;

use super::auth::Dp;
use super::errors::{DpError, DpResult};
use super::extract::{Query, Text};
use super::flow::{self, version_header, Payload, ReadQuery};

/// The text at the addressed version or transaction (`Configuration-Version` says which).
pub(crate) async fn get(dp: Dp, Query(query): Query<ReadQuery>) -> DpResult<Response> {
    let (version, parsed) = dp.read_doc(&query).await?;
    let text = haproxy_render::lossless(parsed.document());
    let mut headers = HeaderMap::new();
    version_header(&mut headers, version);
    Ok((headers, [(axum::http::header::CONTENT_TYPE, "text/plain")], text).into_response())
}

/// Upstream's raw routes produce `text/plain` only, errors included: dataplaneapi writes its
/// `{"code","message"}` error as the string payload (handlers/raw.go), so a client built from
/// the specification reads every answer here as text. Same body, that content type.
pub(crate) async fn plain_errors(mut response: Response) -> Response {
    if !response.status().is_success() {
        response.headers_mut().insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("text/plain"));
    }
    response
}

/// The query of `POST raw`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PostQuery {
    version: Option<i64>,
    #[serde(default)]
    skip_version: bool,
    #[serde(default)]
    only_validate: bool,
    #[serde(default)]
    force_reload: bool,
    #[allow(dead_code)]
    #[serde(default)]
    skip_reload: bool,
}

/// The path of the cluster's first config file (`haproxy.cfg` before the first version).
async fn config_path(dp: &Dp) -> DpResult<BundlePath> {
    match dp.state.store.bundle_at(dp.cluster_id, TextAt::Latest).await {
        Ok((_, bundle)) => Ok(bundle.first_config().path.clone()),
        Err(fleet_core::Error::NotFound(_)) => BundlePath::new("haproxy.cfg").map_err(|e| DpError::bad_request(e.to_string())),
        Err(other) => Err(other.into()),
    }
}

/// Replaces the text (see the module docs).
pub(crate) async fn post(dp: Dp, Query(query): Query<PostQuery>, Text(text): Text) -> DpResult<Response> {
    let user = dp.user(Permission::Write)?.clone();
    if !text.is_empty() && !text.contains('\n') {
        return Err(DpError::bad_request("invalid configuration: no newline character found"));
    }
    let store = &dp.state.store;
    let (latest, _) = store.latest_document(dp.cluster_id).await?;
    if query.only_validate {
        let path = config_path(&dp).await?;
        let file = BundleFile::new(path.clone(), FileKind::guess(&path), text.clone().into_bytes());
        let check = store.check_candidate(dp.cluster_id, file).await?;
        if check.blocks() {
            let first = match &check.haproxy {
                Some(verdict) => verdict.diagnostics.first().map(|d| format!("line {}: {}", d.position.line, d.message)).or_else(|| verdict.general.first().cloned()),
                None => check.offline.iter().find(|d| d.is_error()).map(|d| format!("line {}: {}", d.position.line, d.message)),
            };
            return Err(DpError::bad_request(format!("invalid configuration: {}", first.unwrap_or_default())));
        }
        let mut response = (StatusCode::ACCEPTED, [(axum::http::header::CONTENT_TYPE, "text/plain")], text).into_response();
        version_header(response.headers_mut(), latest);
        return Ok(response);
    }
    let base = match (query.skip_version, query.version) {
        (true, _) => latest,
        (false, Some(version)) => version,
        (false, None) => return Err(DpError::bad_request("version or transaction not specified")),
    };
    let committed = store.replace((&user).into(), dp.cluster_id, base, &text, "Data Plane API: POST raw").await?;
    let written = dp.roll_out(&user.username, committed.version.number, committed.version.created_at, query.force_reload).await?;
    Ok(flow::answer(written, StatusCode::CREATED, Payload::Text(text)))
}
