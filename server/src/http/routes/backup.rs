//! `GET /api/v1/system/backup`: a consistent backup of the whole server state, streamed to an
//! admin (`fleet backup create --server URL FILE`, the Python client's `backup()`).

use axum::body::Body;
use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use fleet_core::backup::{self, CreateOptions, Database};
use fleet_core::rbac::Permission;
use tokio::io::AsyncReadExt;

use crate::errors::ApiResult;
use crate::http::auth::Caller;
use crate::http::AppState;

/// The whole server state as a backup archive (admin): a tar whose first entry is
/// `manifest.json` (format and schema version, per-table row counts and sha256), then each
/// table's rows, read in one read transaction while the server keeps serving. Sealed secrets
/// stay sealed and the master key is never included: keep `secret.key` apart. Audited as
/// `backup.create` (after the copy, so the entry is not in it).
#[utoipa::path(get, path = "/api/v1/system/backup", tag = "system", responses(
    (status = 200, description = "the backup archive", body = Vec<u8>, content_type = "application/x-tar",
        headers(("x-fleet-backup-rows" = i64, description = "rows in the backup, over every table"),
            ("x-fleet-backup-schema" = i64, description = "the backup's schema version (latest migration)"))),
    (status = 401, description = "not logged in"),
    (status = 403, description = "not an admin")))]
pub(crate) async fn create_backup(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult<Response> {
    let admin = caller.user(Permission::Admin)?.username.clone();
    static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!(".fleet-api-backup-{}-{}-{n}.tar", std::process::id(), state.store.now()));
    let written = backup::create_file(&Database::of(&state.store), &path, &CreateOptions::default()).await;
    let manifest = match written {
        Ok(manifest) => manifest,
        Err(e) => return Err(fleet_core::Error::from(e).into()),
    };
    let opened = tokio::fs::File::open(&path).await;
    // The open file keeps its bytes; the name goes now, so nothing is left behind.
    let _ = std::fs::remove_file(&path);
    let file = opened.map_err(|e| fleet_core::Error::Corrupt(format!("the backup file: {e}")))?;
    let size = file.metadata().await.map_err(|e| fleet_core::Error::Corrupt(format!("the backup file: {e}")))?.len();
    state.store.audit_backup(&admin, &manifest).await?;
    let stream = futures_util::stream::unfold(file, |mut file| async move {
        let mut buffer = vec![0u8; 64 * 1024];
        match file.read(&mut buffer).await {
            Ok(0) => None,
            Ok(n) => {
                buffer.truncate(n);
                Some((Ok::<_, std::io::Error>(buffer), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-tar"));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(size));
    headers.insert("x-fleet-backup-rows", HeaderValue::from(manifest.total_rows()));
    headers.insert("x-fleet-backup-schema", HeaderValue::from(manifest.schema_version));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"fleet-backup-{}.tar\"", manifest.created_at)) {
        headers.insert(CONTENT_DISPOSITION, value);
    }
    Ok((headers, Body::from_stream(stream)).into_response())
}
