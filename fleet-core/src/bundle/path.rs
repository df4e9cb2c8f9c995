//! Paths inside the managed directory: relative, normalised, never leaving it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest path accepted, in bytes (Linux `PATH_MAX` less room for the managed directory).
pub const MAX_PATH_BYTES: usize = 1024;

/// Why a path cannot name a file of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// Empty, `.` or only slashes.
    #[error("empty path")]
    Empty,
    /// Starts with `/`: bundle paths are relative to the managed directory.
    #[error("{0}: absolute paths are not allowed in a bundle (paths are relative to the managed directory)")]
    Absolute(String),
    /// Has a `..` component.
    #[error("{0}: `..` would leave the managed directory")]
    Parent(String),
    /// NUL, a control character or a backslash.
    #[error("{0:?}: control characters, NUL and backslashes are not allowed in paths")]
    Character(String),
    /// Longer than [`MAX_PATH_BYTES`].
    #[error("path of {0} bytes: at most {MAX_PATH_BYTES}")]
    TooLong(usize),
}

/// A relative path inside the managed directory, normalised: no empty or `.` components, no
/// `..`, no leading or doubled `/`. Compared and sorted as its string.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct BundlePath(String);

/// A bundle path is a string in JSON (`conf.d/10-app.cfg`). The pattern is [`BundlePath::new`]'s
/// rule as a regular expression: not absolute, no control character or backslash, no `..`
/// segment, at least one segment that is neither empty nor `.` (the limit is in bytes; the
/// schema can only count characters).
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for BundlePath {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("a relative path inside the managed directory, at most 1024 bytes"))
            .pattern(Some(PATTERN))
            .max_length(Some(MAX_PATH_BYTES))
            .into()
    }
}

/// [`BundlePath::new`]'s rule as a regular expression (ECMA 262), for the OpenAPI schema.
#[cfg(feature = "openapi")]
const PATTERN: &str = r"^(?:\.(?:/+\.)*/+)?(?:[^./\\\u0000-\u001f\u007f-\u009f]|\.[^./\\\u0000-\u001f\u007f-\u009f]|\.\.[^/\\\u0000-\u001f\u007f-\u009f])[^/\\\u0000-\u001f\u007f-\u009f]*(?:/(?:\.|(?:[^./\\\u0000-\u001f\u007f-\u009f]|\.[^./\\\u0000-\u001f\u007f-\u009f]|\.\.[^/\\\u0000-\u001f\u007f-\u009f])[^/\\\u0000-\u001f\u007f-\u009f]*)?)*$";

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for BundlePath {}

impl BundlePath {
    /// Checks and normalises `raw` (`./conf.d//a.cfg` becomes `conf.d/a.cfg`).
    pub fn new(raw: &str) -> Result<BundlePath, PathError> {
        if raw.len() > MAX_PATH_BYTES {
            return Err(PathError::TooLong(raw.len()));
        }
        if raw.starts_with('/') {
            return Err(PathError::Absolute(raw.to_string()));
        }
        if raw.chars().any(|c| c.is_control() || c == '\\') {
            return Err(PathError::Character(raw.to_string()));
        }
        let mut parts = Vec::new();
        for part in raw.split('/') {
            match part {
                "" | "." => {}
                ".." => return Err(PathError::Parent(raw.to_string())),
                part => parts.push(part),
            }
        }
        if parts.is_empty() {
            return Err(PathError::Empty);
        }
        Ok(BundlePath(parts.join("/")))
    }

    /// A path as written in a configuration: absolute paths inside `managed_dir` become relative
    /// (`/etc/haproxy/certs/a.pem` -> `certs/a.pem`); other absolute paths are not in the bundle
    /// (`None`); relative paths are resolved against `base` (HAProxy's `default-path`, relative
    /// to the managed directory; empty for the managed directory itself).
    pub fn resolve(written: &str, managed_dir: &str, base: &str) -> Option<BundlePath> {
        if let Some(abs) = written.strip_prefix('/') {
            let dir = managed_dir.trim_end_matches('/').trim_start_matches('/');
            let rest = if dir.is_empty() { Some(abs) } else { abs.strip_prefix(dir)?.strip_prefix('/') }?;
            BundlePath::new(rest).ok()
        } else if base.is_empty() {
            BundlePath::new(written).ok()
        } else {
            BundlePath::new(&format!("{base}/{written}")).ok()
        }
    }

    /// The path as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last component.
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }
}

impl fmt::Display for BundlePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for BundlePath {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        BundlePath::new(&raw).map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for BundlePath {
    type Err = PathError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BundlePath::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises() {
        assert_eq!(BundlePath::new("./conf.d//a.cfg").map(|p| p.0), Ok("conf.d/a.cfg".to_string()));
        assert_eq!(BundlePath::new("a/").map(|p| p.0), Ok("a".to_string()));
    }

    #[test]
    fn refuses_escapes() {
        assert!(matches!(BundlePath::new("/etc/passwd"), Err(PathError::Absolute(_))));
        assert!(matches!(BundlePath::new("a/../../b"), Err(PathError::Parent(_))));
        assert!(matches!(BundlePath::new(".."), Err(PathError::Parent(_))));
        assert!(matches!(BundlePath::new("a\0b"), Err(PathError::Character(_))));
        assert!(matches!(BundlePath::new("a\\b"), Err(PathError::Character(_))));
        assert_eq!(BundlePath::new("./"), Err(PathError::Empty));
        assert!(matches!(BundlePath::new(&"a".repeat(2000)), Err(PathError::TooLong(2000))));
    }

    #[test]
    fn resolves_as_haproxy_does() {
        let r = |w, b| BundlePath::resolve(w, "/etc/haproxy", b).map(|p| p.0);
        assert_eq!(r("/etc/haproxy/certs/a.pem", ""), Some("certs/a.pem".into()));
        assert_eq!(r("/etc/haproxyx/a.pem", ""), None);
        assert_eq!(r("/var/lib/a.pem", ""), None);
        assert_eq!(r("certs/a.pem", ""), Some("certs/a.pem".into()));
        assert_eq!(r("a.pem", "certs"), Some("certs/a.pem".into()));
        assert_eq!(r("../a.pem", ""), None);
    }

    #[test]
    fn deserialises_only_valid_paths() {
        assert!(serde_json::from_str::<BundlePath>("\"../x\"").is_err());
        assert_eq!(serde_json::from_str::<BundlePath>("\"./x\"").map(|p| p.0).ok(), Some("x".to_string()));
    }
}
