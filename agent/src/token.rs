//! The agent's token on disk: written once after enrolment, mode 0600, atomically (temporary
//! file then rename) so a crash never leaves half a token.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Reads the stored token, `None` when the file does not exist.
pub(crate) fn read(path: &Path) -> std::io::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let token = text.trim().to_string();
            if token.is_empty() {
                Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("token file {} is empty", path.display())))
            } else {
                Ok(Some(token))
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Stores the token with mode 0600.
pub(crate) fn write(path: &Path, token: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
    // The mode of an existing file is not changed by `open`.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(token.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_private_and_read_back() {
        let dir = std::env::temp_dir().join(format!("fleet-agent-token-{}", std::process::id()));
        let path = dir.join("token");
        assert_eq!(read(&path).unwrap(), None);
        write(&path, "fg_abc").unwrap();
        assert_eq!(read(&path).unwrap().as_deref(), Some("fg_abc"));
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        std::fs::write(&path, "\n").unwrap();
        assert!(read(&path).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
