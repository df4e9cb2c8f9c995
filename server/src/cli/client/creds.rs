//! Where `fleet login` keeps the session: `credentials.json` in the user's config folder
//! (`$FLEET_CONFIG_DIR`, else `$XDG_CONFIG_HOME/fleet`, else `~/.config/fleet`), the folder
//! 0700 and the file 0600, written whole and renamed into place.
//!
//! ```text
//! server: --server URL > FLEET_SERVER > the stored one
//! token:  FLEET_TOKEN > the stored one (only for the stored server)
//! CA:     --ca-file > FLEET_CA_FILE > the stored one
//! ```

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::ClientError;

/// What `fleet login` stores.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Stored {
    /// The server's URL.
    pub(crate) server: String,
    /// The session token (absent after `fleet logout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) token: Option<String>,
    /// Who logged in.
    #[serde(default)]
    pub(crate) username: String,
    /// A CA certificate (PEM) to trust for this server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ca_file: Option<PathBuf>,
}

/// The config folder.
pub(crate) fn dir() -> Result<PathBuf, ClientError> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = var("FLEET_CONFIG_DIR") {
        return Ok(dir);
    }
    if let Some(config) = var("XDG_CONFIG_HOME") {
        return Ok(config.join("fleet"));
    }
    match var("HOME") {
        Some(home) => Ok(home.join(".config").join("fleet")),
        None => Err(ClientError::Usage("cannot find a config folder: set HOME, XDG_CONFIG_HOME or FLEET_CONFIG_DIR".into())),
    }
}

/// The credentials file.
pub(crate) fn file() -> Result<PathBuf, ClientError> {
    Ok(dir()?.join("credentials.json"))
}

/// The stored credentials, if any.
pub(crate) fn load() -> Result<Option<Stored>, ClientError> {
    let path = file()?;
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ClientError::Usage(format!("{}: {e} (remove it and log in again)", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ClientError::Io { path: path.display().to_string(), source }),
    }
}

/// Stores `stored` (0600, atomically).
pub(crate) fn save(stored: &Stored) -> Result<PathBuf, ClientError> {
    let dir = dir()?;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir).map_err(|e| io(dir.as_path(), e))?;
    let path = dir.join("credentials.json");
    let temporary = dir.join(format!(".credentials.json.{}", std::process::id()));
    let bytes = serde_json::to_vec_pretty(stored).map_err(|e| ClientError::Answer(e.to_string()))?;
    let mut out = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&temporary).map_err(|e| io(temporary.as_path(), e))?;
    out.write_all(&bytes).and_then(|()| out.sync_all()).map_err(|e| io(temporary.as_path(), e))?;
    // A file left by an older umask keeps its mode through the rename: set it.
    std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(0o600)).map_err(|e| io(temporary.as_path(), e))?;
    std::fs::rename(&temporary, &path).map_err(|e| io(path.as_path(), e))?;
    Ok(path)
}

fn io(path: &std::path::Path, source: std::io::Error) -> ClientError {
    ClientError::Io { path: path.display().to_string(), source }
}
