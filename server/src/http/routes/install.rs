//! The agent install a node runs before it has a token: `/install/agent.sh` (the script of
//! [`fleet_core::install`], filled for this server) and `/install/fleet-agent` (the binary whose
//! SHA-256 the script carries). No authentication: both are public, the one-time secret is not
//! in them, and the checksums vouch for the bytes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use fleet_core::install::{self, AgentDownload};
use tokio::io::AsyncReadExt;

use crate::errors::ApiError;
use crate::http::AppState;

/// The agent's systemd unit, as the `fleet-agent` package installs it.
pub(crate) const AGENT_UNIT: &str = include_str!("../../../../agent/systemd/fleet-agent.service");

/// The agent binary this server hands out: where it is and what the script expects of it.
#[derive(Debug, Clone)]
pub(crate) struct AgentFile {
    /// The file served at `/install/fleet-agent`.
    pub(crate) path: PathBuf,
    /// Its SHA-256 and size when the server started.
    pub(crate) download: AgentDownload,
}

impl AgentFile {
    /// Reads `path` once for its SHA-256 and size (on a blocking thread: the binary is tens of MB).
    pub(crate) async fn load(path: &Path) -> std::io::Result<Arc<AgentFile>> {
        let owned = path.to_path_buf();
        let bytes = tokio::task::spawn_blocking(move || std::fs::read(owned))
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))??;
        let download = AgentDownload { sha256: fleet_core::secret::sha256_hex(&bytes), size: bytes.len() as u64 };
        Ok(Arc::new(AgentFile { path: path.to_path_buf(), download }))
    }
}

/// The install script as this server serves it to a node reaching it at `server_url`; none when
/// it hands out no agent binary.
pub(crate) fn script(state: &AppState, server_url: &str) -> Option<String> {
    let agent = state.agent_file.as_ref()?;
    Some(install::script(server_url, &agent.download, state.ca_fingerprint.as_ref(), AGENT_UNIT))
}

fn no_agent() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "this server hands out no agent binary: start fleet serve with --agent-binary PATH",
    )
}

/// The agent install script (POSIX sh) for this server: run it as root on a node with
/// `--enroll-secret SECRET` after checking its SHA-256 against the enrolment's `install_script`.
#[utoipa::path(get, path = "/install/agent.sh", security(()), tag = "agents", responses(
    (status = 200, description = "the script", body = String, content_type = "text/x-shellscript"),
    (status = 404, description = "the server hands out no agent binary (`fleet serve --agent-binary`)", body = crate::errors::Body)))]
pub(crate) async fn agent_script(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let server_url = crate::http::server_url(&state, &headers, &uri);
    match script(&state, &server_url) {
        Some(text) => ([(CONTENT_TYPE, "text/x-shellscript; charset=utf-8"), (CACHE_CONTROL, "no-store")], text).into_response(),
        None => no_agent().into_response(),
    }
}

/// The `fleet-agent` binary the install script downloads and checks.
#[utoipa::path(get, path = "/install/fleet-agent", security(()), tag = "agents", responses(
    (status = 200, description = "the binary", body = Vec<u8>, content_type = "application/octet-stream"),
    (status = 404, description = "the server hands out no agent binary (`fleet serve --agent-binary`)", body = crate::errors::Body)))]
pub(crate) async fn agent_binary(State(state): State<AppState>) -> Response {
    let Some(agent) = state.agent_file.clone() else {
        return no_agent().into_response();
    };
    stream_file(&agent.path, agent.download.size, "fleet-agent").await
}

/// Streams the file at `path` as an attachment named `filename` (`size`: its length when it
/// cannot be stat'ed); 500 when it cannot be opened.
pub(crate) async fn stream_file(path: &Path, size: u64, filename: &str) -> Response {
    let file = match tokio::fs::File::open(path).await {
        Ok(file) => file,
        Err(error) => {
            tracing::error!(path = %path.display(), %error, "a served binary cannot be read");
            return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the binary cannot be read").into_response();
        }
    };
    let size = file.metadata().await.map(|m| m.len()).unwrap_or(size);
    // Streamed in 256 KiB pieces: a thousand nodes installing at once must not hold a thousand copies.
    let chunks = futures_util::stream::unfold(file, |mut file| async move {
        let mut buffer = Vec::with_capacity(256 * 1024);
        match (&mut file).take(256 * 1024).read_to_end(&mut buffer).await {
            Ok(0) => None,
            Ok(_) => Some((Ok::<_, std::io::Error>(buffer), file)),
            Err(error) => Some((Err(error), file)),
        }
    });
    (
        [
            (CONTENT_TYPE, "application/octet-stream".to_string()),
            (CONTENT_LENGTH, size.to_string()),
            (CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        Body::from_stream(chunks),
    )
        .into_response()
}
