//! Signed agent releases: what a release signature says, how it is made and checked, and the
//! trial an upgraded agent runs under until it proves it can heartbeat ([`trial`]).
//!
//! ```text
//! fleet release keygen --out KEY   -> KEY (PKCS#8 PEM, 0600) + prints ed25519:<base64 public key>
//! fleet release sign --key KEY BIN -> BIN.sig  (version, platform, sha256 of BIN, key, signature)
//! fleet serve --releases DIR --release-public-key ed25519:...
//!     enrolment answer carries the public key -> the agent pins it beside its token
//! upgrade-agent {version}: agent downloads BIN + BIN.sig -> verify_download(pinned key, version,
//!     platform, sha256 of the bytes) -> --version smoke test -> swap -> re-exec -> trial
//! ```
//!
//! The signature file is small text, one `name: value` per line, in this order:
//! ```text
//! fleet-agent release signature v1
//! version: 0.2.0
//! platform: x86_64-linux
//! sha256: <64 lowercase hex digits: the binary's SHA-256>
//! key: ed25519:<base64 of the 32-byte public key>
//! signature: <base64 of the 64-byte Ed25519 signature>
//! ```
//! The signature covers the first five lines exactly as written above (each ending in `\n`):
//! the header, so a signature of another format can never be read as one of these; the
//! version and platform, so an old signed release cannot be replayed as a newer one or a
//! binary of another architecture; the binary's SHA-256, so the bytes are bound; and the key,
//! so a refusal can name which key signed. Nothing here trusts the server or the transport:
//! the agent checks against the key it pinned at enrolment.

pub mod catalog;
pub mod trial;

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ring::signature::{Ed25519KeyPair, KeyPair as _, UnparsedPublicKey, ED25519};

use crate::secret::sha256_hex;

/// The first line of a signature file.
pub const SIGNATURE_HEADER: &str = "fleet-agent release signature v1";
/// The signature of `BIN` is `BIN.sig`.
pub const SIGNATURE_SUFFIX: &str = ".sig";
/// The prefix of a public key's text form.
pub const KEY_PREFIX: &str = "ed25519:";
/// The PEM label of a private key file (PKCS#8, RFC 5958 / RFC 8410).
const PEM_LABEL: &str = "PRIVATE KEY";

/// Why a key, a signature or a downloaded release is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReleaseError {
    /// A public key that is not `ed25519:` and base64 of 32 bytes.
    #[error("invalid release public key {0:?}: expected ed25519: and the base64 of 32 bytes")]
    PublicKey(String),
    /// A private key file that is not an Ed25519 PKCS#8 PEM.
    #[error("invalid release private key: {0}")]
    PrivateKey(String),
    /// Key generation failed (the system's random source).
    #[error("cannot generate a key: the system's random source failed")]
    Random,
    /// A version that is not 1 to 64 of `A-Z a-z 0-9 . _ + -`.
    #[error("invalid release version {0:?}: 1 to 64 letters, digits, '.', '_', '+' or '-'")]
    Version(String),
    /// A platform that is not 1 to 64 of `a-z 0-9 _ -`.
    #[error("invalid platform {0:?}: 1 to 64 lowercase letters, digits, '_' or '-' (like x86_64-linux)")]
    Platform(String),
    /// The signature file does not follow the format (line `line`, 1-based).
    #[error("not a release signature (line {line}): {reason}")]
    Format { line: usize, reason: String },
    /// Signed with another key than the pinned one.
    #[error("the release is signed by {signer}, not by the pinned release key {pinned}")]
    OtherKey { signer: String, pinned: String },
    /// The signature does not verify: the signed lines were altered, or it is not a signature.
    #[error("the release signature does not verify with the pinned key {0}: the signature file was altered")]
    BadSignature(String),
    /// The binary's bytes are not the ones signed.
    #[error("the binary's sha256 is {actual}, the signature is for {signed}: the binary was altered")]
    Tampered { signed: String, actual: String },
    /// A signature for another version than the one asked for.
    #[error("the signature is for version {signed}, not {asked}")]
    WrongVersion { signed: String, asked: String },
    /// A signature for another platform.
    #[error("the release is for {signed}, this node is {node}")]
    WrongPlatform { signed: String, node: String },
}

/// An Ed25519 public key; text form `ed25519:<base64 of 32 bytes>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    /// The key's 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{KEY_PREFIX}{}", BASE64.encode(self.0))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl FromStr for PublicKey {
    type Err = ReleaseError;

    /// `ed25519:<base64>`, surrounding blanks ignored (a key read from a file).
    fn from_str(text: &str) -> Result<PublicKey, ReleaseError> {
        let bad = || ReleaseError::PublicKey(text.trim().chars().take(100).collect());
        let encoded = text.trim().strip_prefix(KEY_PREFIX).ok_or_else(bad)?;
        let bytes = BASE64.decode(encoded).map_err(|_| bad())?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| bad())?;
        Ok(PublicKey(key))
    }
}

impl serde::Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<PublicKey, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A release signing key (Ed25519), read from or written to a PKCS#8 PEM file.
pub struct SigningKey {
    pair: Ed25519KeyPair,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({})", self.public_key())
    }
}

impl SigningKey {
    /// A new key from the system's random source, and its PEM text (for a 0600 file).
    ///
    /// Errors: [`ReleaseError::Random`] when the random source fails.
    pub fn generate() -> Result<(SigningKey, String), ReleaseError> {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| ReleaseError::Random)?;
        let pem = pem_encode(pkcs8.as_ref());
        let key = SigningKey::from_pem(&pem)?;
        Ok((key, pem))
    }

    /// The key in `pem` (`-----BEGIN PRIVATE KEY-----`, Ed25519 PKCS#8 v1 or v2).
    ///
    /// Errors: [`ReleaseError::PrivateKey`] saying what is wrong.
    pub fn from_pem(pem: &str) -> Result<SigningKey, ReleaseError> {
        let der = pem_decode(pem)?;
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
            .map_err(|e| ReleaseError::PrivateKey(format!("not an Ed25519 PKCS#8 key ({e})")))?;
        Ok(SigningKey { pair })
    }

    /// The public half, which agents pin.
    pub fn public_key(&self) -> PublicKey {
        let mut key = [0u8; 32];
        key.copy_from_slice(self.pair.public_key().as_ref());
        PublicKey(key)
    }

    /// Signs `release`.
    pub fn sign(&self, release: &Release) -> Signature {
        let key = self.public_key();
        let signed = release.signed_text(&key);
        let mut signature = [0u8; 64];
        signature.copy_from_slice(self.pair.sign(signed.as_bytes()).as_ref());
        Signature { release: release.clone(), key, signature }
    }
}

fn pem_encode(der: &[u8]) -> String {
    let body = BASE64.encode(der);
    let mut pem = format!("-----BEGIN {PEM_LABEL}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(chunk));
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {PEM_LABEL}-----\n"));
    pem
}

fn pem_decode(pem: &str) -> Result<Vec<u8>, ReleaseError> {
    let begin = format!("-----BEGIN {PEM_LABEL}-----");
    let end = format!("-----END {PEM_LABEL}-----");
    let text = pem.trim();
    let inner = text
        .strip_prefix(begin.as_str())
        .and_then(|rest| rest.strip_suffix(end.as_str()))
        .ok_or_else(|| ReleaseError::PrivateKey(format!("expected a PEM block {begin} ... {end}")))?;
    let body: String = inner.split_whitespace().collect();
    BASE64.decode(body).map_err(|_| ReleaseError::PrivateKey("the PEM body is not base64".into()))
}

/// What a signature vouches for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Release {
    /// The release's version (`0.2.0`), what `upgrade-agent` asks for.
    pub version: String,
    /// The platform it runs on (`x86_64-linux`, see [`platform`]).
    pub platform: String,
    /// SHA-256 of the binary, lowercase hex.
    pub sha256: String,
}

impl Release {
    /// The release of `binary`'s bytes as `version` for `platform`.
    ///
    /// Errors: [`ReleaseError::Version`], [`ReleaseError::Platform`].
    pub fn of(binary: &[u8], version: &str, platform: &str) -> Result<Release, ReleaseError> {
        check_version(version)?;
        check_platform(platform)?;
        Ok(Release { version: version.to_string(), platform: platform.to_string(), sha256: sha256_hex(binary) })
    }

    /// The signed lines (see the module docs).
    fn signed_text(&self, key: &PublicKey) -> String {
        format!("{SIGNATURE_HEADER}\nversion: {}\nplatform: {}\nsha256: {}\nkey: {key}\n", self.version, self.platform, self.sha256)
    }
}

/// Checks a release version: 1 to 64 of `A-Z a-z 0-9 . _ + -`, not starting with `.` or `-`
/// (it names files and travels in URLs).
///
/// Errors: [`ReleaseError::Version`].
pub fn check_version(version: &str) -> Result<(), ReleaseError> {
    let ok = (1..=64).contains(&version.len())
        && !version.starts_with(['.', '-'])
        && version.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-'));
    ok.then_some(()).ok_or_else(|| ReleaseError::Version(version.chars().take(80).collect()))
}

/// Checks a platform name: 1 to 64 of `a-z 0-9 _ -`.
///
/// Errors: [`ReleaseError::Platform`].
pub fn check_platform(platform: &str) -> Result<(), ReleaseError> {
    let ok = (1..=64).contains(&platform.len())
        && platform.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-'));
    ok.then_some(()).ok_or_else(|| ReleaseError::Platform(platform.chars().take(80).collect()))
}

/// The platform of the running program: `<arch>-<os>` as Rust names them (`x86_64-linux`,
/// `aarch64-linux`).
pub fn platform() -> String {
    format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS)
}

/// A parsed signature file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// What is signed.
    pub release: Release,
    /// The key that claims to have signed it (checked against the pinned key).
    pub key: PublicKey,
    signature: [u8; 64],
}

impl Signature {
    /// Reads a signature file (the format in the module docs; a final newline optional).
    ///
    /// Errors: [`ReleaseError::Format`] naming the line.
    pub fn parse(text: &str) -> Result<Signature, ReleaseError> {
        let format = |line: usize, reason: String| ReleaseError::Format { line, reason };
        let lines: Vec<&str> = text.strip_suffix('\n').unwrap_or(text).split('\n').collect();
        if lines.first() != Some(&SIGNATURE_HEADER) {
            return Err(format(1, format!("expected {SIGNATURE_HEADER:?}")));
        }
        let names = ["version", "platform", "sha256", "key", "signature"];
        if lines.len() > names.len() + 1 {
            return Err(format(names.len() + 2, "nothing may follow the signature line".into()));
        }
        let mut values = Vec::with_capacity(names.len());
        for (index, name) in names.iter().enumerate() {
            let line = index + 2;
            let text = lines.get(index + 1).ok_or_else(|| format(line, format!("missing line {name}:")))?;
            let value = text.strip_prefix(name).and_then(|rest| rest.strip_prefix(": ")).ok_or_else(|| {
                format(line, format!("expected {name}: ..., found {:?}", text.chars().take(80).collect::<String>()))
            })?;
            values.push(value);
        }
        let [version, platform, sha256, key, encoded] = values[..] else {
            return Err(format(1, "incomplete".into()));
        };
        check_version(version).map_err(|e| format(2, e.to_string()))?;
        check_platform(platform).map_err(|e| format(3, e.to_string()))?;
        if sha256.len() != 64 || !sha256.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')) {
            return Err(format(4, "sha256 must be 64 lowercase hex digits".into()));
        }
        let key: PublicKey = key.parse().map_err(|e: ReleaseError| format(5, e.to_string()))?;
        let signature: [u8; 64] = BASE64
            .decode(encoded)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| format(6, "signature must be the base64 of 64 bytes".into()))?;
        let release = Release { version: version.to_string(), platform: platform.to_string(), sha256: sha256.to_string() };
        Ok(Signature { release, key, signature })
    }

    /// The file's text (what [`Signature::parse`] reads back).
    pub fn render(&self) -> String {
        format!("{}signature: {}\n", self.release.signed_text(&self.key), BASE64.encode(self.signature))
    }

    /// Checks that `pinned` signed this release.
    ///
    /// Errors: [`ReleaseError::OtherKey`], [`ReleaseError::BadSignature`].
    pub fn verify(&self, pinned: &PublicKey) -> Result<(), ReleaseError> {
        if self.key != *pinned {
            return Err(ReleaseError::OtherKey { signer: self.key.to_string(), pinned: pinned.to_string() });
        }
        let signed = self.release.signed_text(&self.key);
        UnparsedPublicKey::new(&ED25519, pinned.as_bytes())
            .verify(signed.as_bytes(), &self.signature)
            .map_err(|_| ReleaseError::BadSignature(pinned.to_string()))
    }
}

/// What an agent checks before it runs a downloaded release: the signature file verifies with
/// the `pinned` key, is for `version` and `platform`, and `binary`'s bytes are the ones signed.
///
/// Errors: every [`ReleaseError`] a signature can fail with.
pub fn verify_download(binary: &[u8], signature: &str, pinned: &PublicKey, version: &str, platform: &str) -> Result<Release, ReleaseError> {
    let signature = Signature::parse(signature)?;
    signature.verify(pinned)?;
    let release = signature.release;
    if release.version != version {
        return Err(ReleaseError::WrongVersion { signed: release.version, asked: version.to_string() });
    }
    if release.platform != platform {
        return Err(ReleaseError::WrongPlatform { signed: release.platform, node: platform.to_string() });
    }
    let actual = sha256_hex(binary);
    if actual != release.sha256 {
        return Err(ReleaseError::Tampered { signed: release.sha256, actual });
    }
    Ok(release)
}

#[cfg(test)]
mod tests;
