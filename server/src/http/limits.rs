//! Request body limits, per route (issue 12 §5): a small one for the JSON API, a large one for
//! the routes that take whole configurations and bundles.
//!
//! ```text
//! POST .../import, PUT .../config, PUT|POST .../files[/...]  -> upload limit (--max-upload-bytes,
//! POST /api/v1/agent/adopt                                     default: a bundle's limit)
//! every other route                                           -> body limit   (--max-body-bytes)
//! ```
//!
//! A declared `Content-Length` over the limit is refused before anything is read; a body sent
//! without one (chunked) is read up to the limit and refused when it passes it. Either way the
//! answer is 413 `payload_too_large` naming the limit and its flag. Other routes' bodies are
//! read here whole (they are small by definition); upload bodies are left to the handlers'
//! extractors, which stop at the upload limit ([`axum::extract::DefaultBodyLimit`]).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::errors::ApiError;

/// Default of `--max-body-bytes`: ten thousand typed ops fit, with room.
pub(crate) const DEFAULT_BODY_BYTES: usize = 2 << 20;

/// The two body limits, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BodyLimits {
    /// Every route but the uploads.
    pub(crate) body_bytes: usize,
    /// Imports, whole-text replaces and bundle files (tar imports up to a bundle's size).
    pub(crate) upload_bytes: usize,
}

impl Default for BodyLimits {
    fn default() -> Self {
        BodyLimits { body_bytes: DEFAULT_BODY_BYTES, upload_bytes: fleet_core::bundle::MAX_BUNDLE_BYTES }
    }
}

/// True for the routes that take whole configurations or bundle files.
fn is_upload(method: &Method, path: &str) -> bool {
    if *method == Method::POST && path == fleet_core::wire::ADOPT_PATH {
        return true;
    }
    // A `snapshot` run's upload: `/api/v1/agent/jobs/{job_id}/snapshot`.
    if *method == Method::POST && path.starts_with(fleet_core::jobs::AGENT_JOBS_PATH) && path.ends_with("/snapshot") {
        return true;
    }
    let Some(rest) = path.strip_prefix("/api/v1/clusters/") else { return false };
    // `{id}/` then the resource.
    let Some((_, resource)) = rest.split_once('/') else { return false };
    match *method {
        Method::POST => resource == "import" || resource == "files" || resource.starts_with("files/"),
        Method::PUT => resource == "config" || resource.starts_with("files/"),
        _ => false,
    }
}

fn too_large(limit: usize, flag: &str, what: String) -> Response {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("request body of {what} is over this route's limit of {limit} bytes ({flag})"),
    )
    .into_response()
}

/// Middleware: applies [`BodyLimits`] (see the module docs).
pub(crate) async fn limit_bodies(State(limits): State<BodyLimits>, request: Request, next: Next) -> Response {
    let upload = is_upload(request.method(), request.uri().path());
    let (limit, flag) =
        if upload { (limits.upload_bytes, "--max-upload-bytes") } else { (limits.body_bytes, "--max-body-bytes") };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(length) = declared.filter(|&length| length > limit as u64) {
        return too_large(limit, flag, format!("{length} bytes"));
    }
    if upload {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
        Err(error) if is_length_limit(&error) => too_large(limit, flag, "more bytes".to_string()),
        Err(error) => ApiError::bad_request(format!("cannot read the request body: {error}")).into_response(),
    }
}

/// True when reading stopped at the limit: http-body-util's `LengthLimitError`, which axum
/// wraps, says "length limit exceeded" (matched by its words: the type is not re-exported).
fn is_length_limit(error: &axum::Error) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if e.to_string() == "length limit exceeded" {
            return true;
        }
        current = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_routes() {
        assert!(is_upload(&Method::POST, "/api/v1/clusters/7/import"));
        assert!(is_upload(&Method::PUT, "/api/v1/clusters/7/config"));
        assert!(is_upload(&Method::PUT, "/api/v1/clusters/7/files/certs/site.pem"));
        assert!(is_upload(&Method::POST, "/api/v1/agent/adopt"));
        assert!(!is_upload(&Method::GET, "/api/v1/clusters/7/config"));
        assert!(!is_upload(&Method::POST, "/api/v1/clusters/7/transactions/3/ops"));
        assert!(!is_upload(&Method::POST, "/api/v1/pools"));
    }
}
