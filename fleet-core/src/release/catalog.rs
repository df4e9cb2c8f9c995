//! The releases a server hands out for upgrades: a folder (`fleet serve --releases DIR`) where
//! every release is a binary `NAME` beside its signature `NAME.sig` (as `fleet release sign`
//! writes it). The folder is read when asked, so a release dropped in is offered at once.
//!
//! ```text
//! DIR/fleet-agent-0.2.0      + DIR/fleet-agent-0.2.0.sig  -> release 0.2.0 x86_64-linux
//! DIR/fleet-agent-test       (no .sig)                    -> refused: unsigned, never served
//! DIR/x.sig                  (no x, or not a signature)   -> refused, with why
//! ```
//! The server reads the signature's fields but is not the judge of it: agents verify against the
//! key they pinned. With the server's `--release-public-key` the listing says whether each
//! release verifies with it (an operator's check before asking nodes to upgrade).

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{PublicKey, Signature, SIGNATURE_SUFFIX};

/// A signed release in the folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReleaseFile {
    /// The version its signature names.
    pub version: String,
    /// The platform its signature names (`x86_64-linux`).
    pub platform: String,
    /// SHA-256 of the binary as signed, lowercase hex (the agent checks the bytes it gets).
    pub sha256: String,
    /// The binary's size in bytes now.
    pub size: u64,
    /// The binary's file name in the folder.
    pub file: String,
    /// The key the signature names (`ed25519:...`).
    pub signed_by: String,
    /// Whether the signature verifies with the server's `--release-public-key`; `null` when the
    /// server has none.
    pub verified: Option<bool>,
}

/// A file of the folder that is not offered, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefusedFile {
    /// The file name.
    pub file: String,
    /// Why it is not a release (unsigned, unreadable or malformed signature, missing binary).
    pub reason: String,
}

/// What a releases folder offers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Catalog {
    /// Signed releases, by version then platform.
    pub releases: Vec<ReleaseFile>,
    /// Files that are not offered.
    pub refused: Vec<RefusedFile>,
}

impl Catalog {
    /// Reads `dir` (blocking I/O: signature files are read whole, binaries only stat'ed); with
    /// `key`, each release's `verified` says whether its signature verifies with it.
    ///
    /// Errors: the folder cannot be listed.
    pub fn read(dir: &Path, key: Option<&PublicKey>) -> std::io::Result<Catalog> {
        let mut names: Vec<String> = std::fs::read_dir(dir)?
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.file_type().map(|t| t.is_file() || t.is_symlink()).unwrap_or(false))
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter(|name| !name.starts_with('.'))
            .collect();
        names.sort();
        let mut catalog = Catalog::default();
        for name in &names {
            if let Some(binary) = name.strip_suffix(SIGNATURE_SUFFIX) {
                match read_release(dir, binary, name, key) {
                    Ok(release) => catalog.releases.push(release),
                    Err(reason) => catalog.refused.push(RefusedFile { file: name.clone(), reason }),
                }
            } else if !names.contains(&format!("{name}{SIGNATURE_SUFFIX}")) {
                let reason = format!("unsigned: no {name}{SIGNATURE_SUFFIX} beside it (fleet release sign)");
                catalog.refused.push(RefusedFile { file: name.clone(), reason });
            }
        }
        catalog.releases.sort_by(|a, b| (&a.version, &a.platform, &a.file).cmp(&(&b.version, &b.platform, &b.file)));
        Ok(catalog)
    }

    /// The release `version` for `platform` (the first by file name when several are).
    pub fn find(&self, version: &str, platform: &str) -> Option<&ReleaseFile> {
        self.releases.iter().find(|r| r.version == version && r.platform == platform)
    }
}

fn read_release(dir: &Path, binary: &str, sig_name: &str, key: Option<&PublicKey>) -> Result<ReleaseFile, String> {
    let text = std::fs::read_to_string(dir.join(sig_name)).map_err(|e| format!("cannot read the signature: {e}"))?;
    let signature = Signature::parse(&text).map_err(|e| e.to_string())?;
    let path: PathBuf = dir.join(binary);
    let meta = std::fs::metadata(&path).map_err(|e| format!("the signed binary {binary} cannot be read: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{binary} is not a file"));
    }
    Ok(ReleaseFile {
        version: signature.release.version.clone(),
        platform: signature.release.platform.clone(),
        sha256: signature.release.sha256.clone(),
        size: meta.len(),
        file: binary.to_string(),
        signed_by: signature.key.to_string(),
        verified: key.map(|key| signature.verify(key).is_ok()),
    })
}

#[cfg(test)]
mod tests {
    use super::super::{Release, SigningKey};
    use super::*;

    #[test]
    fn signed_pairs_are_releases_and_the_rest_is_refused_with_why() {
        let dir = std::env::temp_dir().join(format!("fleet-release-catalog-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_default();
        let (key, _) = SigningKey::generate().unwrap_or_else(|e| unreachable!("{e}"));
        let (other, _) = SigningKey::generate().unwrap_or_else(|e| unreachable!("{e}"));
        let write = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).unwrap_or_default();
        let sign = |key: &SigningKey, bytes: &[u8], version: &str| {
            key.sign(&Release::of(bytes, version, "x86_64-linux").unwrap_or_else(|e| unreachable!("{e}"))).render()
        };
        write("agent-2", b"two");
        write("agent-2.sig", sign(&key, b"two", "0.2.0").as_bytes());
        write("agent-3", b"three");
        write("agent-3.sig", sign(&other, b"three", "0.3.0").as_bytes());
        write("agent-unsigned", b"x");
        write("lost.sig", sign(&key, b"lost", "0.4.0").as_bytes());
        write("junk", b"j");
        write("junk.sig", b"hello");
        write(".hidden", b"h");
        let catalog = Catalog::read(&dir, Some(&key.public_key())).unwrap_or_default();
        let releases: Vec<(&str, &str, Option<bool>)> =
            catalog.releases.iter().map(|r| (r.version.as_str(), r.file.as_str(), r.verified)).collect();
        assert_eq!(releases, [("0.2.0", "agent-2", Some(true)), ("0.3.0", "agent-3", Some(false))]);
        assert_eq!(catalog.releases[0].size, 3);
        assert_eq!(catalog.releases[0].signed_by, key.public_key().to_string());
        let refused: Vec<&str> = catalog.refused.iter().map(|r| r.file.as_str()).collect();
        assert_eq!(refused, ["agent-unsigned", "junk.sig", "lost.sig"]);
        assert!(catalog.refused[0].reason.starts_with("unsigned: no agent-unsigned.sig"), "{:?}", catalog.refused);
        assert!(catalog.refused[1].reason.starts_with("not a release signature (line 1)"), "{:?}", catalog.refused);
        assert!(catalog.refused[2].reason.contains("the signed binary lost cannot be read"), "{:?}", catalog.refused);
        assert_eq!(catalog.find("0.2.0", "x86_64-linux").map(|r| r.file.as_str()), Some("agent-2"));
        assert!(catalog.find("0.2.0", "aarch64-linux").is_none() && catalog.find("0.9.0", "x86_64-linux").is_none());
        let unkeyed = Catalog::read(&dir, None).unwrap_or_default();
        assert!(unkeyed.releases.iter().all(|r| r.verified.is_none()));
        std::fs::remove_dir_all(&dir).unwrap_or_default();
    }
}
