//! The master key file (`fleet serve --secret-key-file`, default `<data>/secret.key`): created
//! mode 0600 when missing, refused when others may read it, replaced atomically (write a
//! temporary file, fsync, rename, fsync the folder), so a crash leaves the old file or the new.
//!
//! ```text
//! # HAProxy Fleet master key ...
//! key <16 hex id> <base64 of 32 bytes>      the first line seals; later lines only open
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Keyring, MasterKey, SecretError};
use crate::clock::Random;

/// The key file's name in the data directory when `--secret-key-file` is not given.
pub const KEY_FILE_NAME: &str = "secret.key";

const HEADER: &str = "# HAProxy Fleet master key: it seals the secrets the server reads back (CA and certificate\n\
# keys, credentials). Keep it private (mode 0600) and backed up apart from the database:\n\
# without it they cannot be opened. `fleet secrets rotate` replaces it.\n";

/// A master key file at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFile {
    path: PathBuf,
}

impl KeyFile {
    /// The key file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> KeyFile {
        KeyFile { path: path.into() }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, reason: impl Into<String>) -> SecretError {
        SecretError::File { path: self.path.display().to_string(), reason: reason.into() }
    }

    /// The key ring in the file, `None` when there is no file. Refused: a file group or others
    /// may read, a file without a key, a line that is not `key <id> <base64>` or whose id does
    /// not match its key.
    pub fn load(&self) -> Result<Option<Keyring>, SecretError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.error(e.to_string())),
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&self.path).map_err(|e| self.error(e.to_string()))?.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(self.error(format!("group or others may access it (mode {:o}): chmod 600 it", mode & 0o777)));
            }
        }
        let mut keys = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = || self.error(format!("line {}: expected `key <id> <base64 of {} bytes>`", index + 1, super::KEY_LEN));
            let mut words = line.split_whitespace();
            let (Some("key"), Some(id), Some(base64), None) = (words.next(), words.next(), words.next(), words.next()) else {
                return Err(bad());
            };
            let key = MasterKey::from_base64(base64).ok_or_else(bad)?;
            if key.id().as_str() != id {
                return Err(self.error(format!("line {}: key id {id} does not match its key ({})", index + 1, key.id())));
            }
            keys.push(key);
        }
        let mut keys = keys.into_iter();
        let primary = keys.next().ok_or_else(|| self.error("holds no key"))?;
        Ok(Some(Keyring::with_older(primary, keys)))
    }

    /// A new key ring of one key drawn from `random`, written to the file (mode 0600). Refused
    /// when the file exists.
    pub fn create(&self, random: &dyn Random) -> Result<Keyring, SecretError> {
        if self.path.exists() {
            return Err(self.error("already exists"));
        }
        let ring = Keyring::new(MasterKey::generate(random)?);
        self.write(&ring)?;
        Ok(ring)
    }

    /// Replaces the file with `ring`, atomically, mode 0600.
    pub fn write(&self, ring: &Keyring) -> Result<(), SecretError> {
        let io = |e: std::io::Error| self.error(e.to_string());
        let folder = self.path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(folder).map_err(io)?;
        let name = self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let temporary = folder.join(format!(".{name}.{}.tmp", std::process::id()));
        let mut text = String::from(HEADER);
        for key in ring.keys() {
            text.push_str(&format!("key {} {}\n", key.id(), key.to_base64()));
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let written = options.open(&temporary).and_then(|mut file| {
            file.write_all(text.as_bytes())?;
            file.sync_all()
        });
        if let Err(e) = written.and_then(|()| std::fs::rename(&temporary, &self.path)) {
            let _ = std::fs::remove_file(&temporary);
            return Err(io(e));
        }
        // The rename is durable once the folder is.
        std::fs::File::open(folder).and_then(|dir| dir.sync_all()).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SeededRandom;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("fleet-keyfile-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn created_0600_loaded_back_and_never_overwritten() {
        let dir = scratch("create");
        let file = KeyFile::new(dir.join("secret.key"));
        assert_eq!(file.load().unwrap(), None);
        let ring = file.create(&SeededRandom::new(1)).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(file.path()).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(file.load().unwrap(), Some(ring.clone()));
        assert!(matches!(file.create(&SeededRandom::new(2)), Err(SecretError::File { .. })));
        assert_eq!(file.load().unwrap(), Some(ring));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn rings_of_several_keys_keep_their_order() {
        let dir = scratch("ring");
        let file = KeyFile::new(dir.join("k"));
        let random = SeededRandom::new(3);
        let (a, b) = (MasterKey::generate(&random).unwrap(), MasterKey::generate(&random).unwrap());
        let ring = Keyring::with_older(b.clone(), [a.clone()]);
        file.write(&ring).unwrap();
        let back = file.load().unwrap().unwrap();
        assert_eq!(back.primary(), &b);
        assert_eq!(back.keys(), &[b, a]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(unix)]
    #[test]
    fn readable_by_others_or_malformed_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("bad");
        let file = KeyFile::new(dir.join("k"));
        file.create(&SeededRandom::new(4)).unwrap();
        std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
        let message = file.load().unwrap_err().to_string();
        assert!(message.ends_with("group or others may access it (mode 644): chmod 600 it"), "{message}");
        std::fs::write(file.path(), "key 0011223344556677 AAAA\n").unwrap();
        std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(0o600)).unwrap();
        let message = file.load().unwrap_err().to_string();
        assert!(message.ends_with("line 1: expected `key <id> <base64 of 32 bytes>`"), "{message}");
        std::fs::write(file.path(), "# nothing\n").unwrap();
        assert!(file.load().unwrap_err().to_string().ends_with("holds no key"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
