//! `--adopt`: the node's managed tree becomes its cluster's first version.
//!
//! ```text
//! managed directory (the folder of --config-path) -> fleet_core::bundle::tree::pack_tree (tar)
//!   -> POST /api/v1/agent/adopt?configs=<--config-path inside it>
//!   -> 201 version 1 | 409 the cluster has a version (left alone) | 4xx refused (logged)
//! ```
//!
//! The server decides (`Store::adopt`): the same gate as a user's import, only for a cluster
//! without versions. Nothing changes on the node: the version is not applied until an operator
//! applies it, and HAProxy keeps running the files it was adopted from.

use std::path::{Path, PathBuf};
use std::time::Duration;

use fleet_core::backoff::Backoff;
use fleet_core::bundle::tree::pack_tree;
use fleet_core::OsRandom;
use reqwest::StatusCode;

use crate::client::{Client, ClientError};

/// Why the tree was not adopted.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AdoptError {
    #[error("--config-path {config} is not inside the managed directory {managed}")]
    Outside { config: PathBuf, managed: PathBuf },
    #[error("cannot pack the managed directory {managed}: {reason}")]
    Pack { managed: PathBuf, reason: String },
    #[error("the server refused the adoption: {0}")]
    Refused(ClientError),
}

/// The tree at `managed` and the config file at `config` as the upload's archive and its
/// `configs` query (the config's path inside the tree).
async fn packed(managed: &Path, config: &Path) -> Result<(Vec<u8>, String), AdoptError> {
    let inside = config
        .strip_prefix(managed)
        .ok()
        .and_then(Path::to_str)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| AdoptError::Outside { config: config.to_path_buf(), managed: managed.to_path_buf() })?
        .to_string();
    let dir = managed.to_path_buf();
    let tree = tokio::task::spawn_blocking(move || pack_tree(&dir))
        .await
        .map_err(|e| AdoptError::Pack { managed: managed.to_path_buf(), reason: e.to_string() })?
        .map_err(|e| AdoptError::Pack { managed: managed.to_path_buf(), reason: e.to_string() })?;
    if !tree.skipped.is_empty() {
        tracing::info!(skipped = ?tree.skipped, "not adopted: neither files, folders nor links");
    }
    Ok((tree.archive, inside))
}

/// Uploads the tree (retried while the server is unreachable); the version made, or `None`
/// when the cluster already had one.
pub(crate) async fn adopt(client: &Client, managed: &Path, config: &Path) -> Result<Option<i64>, AdoptError> {
    let (archive, configs) = packed(managed, config).await?;
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    loop {
        match client.adopt(archive.clone(), &configs).await {
            Ok(answer) => return Ok(answer["version"].as_i64()),
            Err(ClientError::Status { status, .. }) if status == StatusCode::CONFLICT => return Ok(None),
            Err(e @ ClientError::Status { .. }) => return Err(AdoptError::Refused(e)),
            Err(e) => {
                let delay = backoff.next_delay(&OsRandom);
                tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "cannot upload the managed directory");
                tokio::time::sleep(delay).await;
            }
        }
    }
}
