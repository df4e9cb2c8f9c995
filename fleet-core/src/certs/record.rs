//! The certificate store's records and its pure decisions: names, scope, expiry thresholds,
//! which node serves which revision. The store (`Store::put_certificate` ...) fetches, asks these,
//! and writes.

use serde::{Deserialize, Serialize};

use super::inspect::CertificateFacts;
use crate::bundle::BundlePath;
use crate::error::{Error, Result};

/// One day in ms.
pub const DAY_MS: i64 = 86_400_000;

/// The expiry warnings, in days left: each is written to the audit log once per revision, and
/// the status names the nearest one reached (0: expired).
pub const EXPIRY_THRESHOLDS_DAYS: [i64; 4] = [30, 14, 7, 0];

/// The longest certificate name.
pub const MAX_NAME_LEN: usize = 100;

/// A stored certificate: its facts, never its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Certificate {
    /// Random id below 2^53.
    pub id: i64,
    /// Unique name; the default bundle path is `certs/<name>.pem`.
    pub name: String,
    /// `None`: global, any cluster may use it; else the one cluster that may.
    pub cluster_id: Option<i64>,
    /// 1 at upload, +1 at each replacement.
    pub revision: i64,
    /// Subject, SANs, issuer, serial, validity, key type and size, fingerprints, chain.
    #[serde(flatten)]
    pub facts: CertificateFacts,
    /// Upload time, Unix ms.
    pub created_at: i64,
    /// Last replacement, Unix ms.
    pub updated_at: i64,
}

impl Certificate {
    /// The bundle path a deploy without one uses: `certs/<name>.pem`.
    pub fn default_path(&self) -> Result<BundlePath> {
        Ok(BundlePath::new(&format!("certs/{}.pem", self.name))?)
    }

    /// Refuses a deploy into `cluster_id` when the certificate is bound to another cluster.
    pub fn usable_in(&self, cluster_id: i64) -> Result<()> {
        match self.cluster_id {
            Some(bound) if bound != cluster_id => Err(Error::invalid(format!(
                "certificate {} is bound to cluster {bound}: it cannot be deployed to cluster {cluster_id}",
                self.name
            ))),
            _ => Ok(()),
        }
    }
}

/// Checks a certificate name: 1 to [`MAX_NAME_LEN`] of `A-Z a-z 0-9 . _ -`, not starting with a
/// dot (it becomes a file name).
pub fn check_name(name: &str) -> Result<()> {
    let fine = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if fine {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "certificate name {name:?}: use 1 to {MAX_NAME_LEN} letters, digits, '.', '_' or '-', not starting with '.'"
        )))
    }
}

/// Where a certificate is placed in a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deployment {
    /// The certificate.
    pub certificate_id: i64,
    /// The cluster.
    pub cluster_id: i64,
    /// The combined PEM's path in the cluster's bundle.
    pub path: BundlePath,
    /// The crt-list file holding a line for it, if any.
    pub crt_list: Option<BundlePath>,
    /// The version that last wrote it.
    pub version: i64,
    /// The certificate revision that version holds.
    pub revision: i64,
    /// Last written, Unix ms.
    pub updated_at: i64,
}

/// A crt-list line to write with a deploy (HAProxy configuration.txt §5.1 `crt-list`):
/// `<certificate file> [ssl options] [sni filters]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CrtListEntry {
    /// The crt-list file in the bundle (made when missing).
    pub path: String,
    /// What follows the certificate file on its line: `[alpn h2] www.example.com`; may be empty.
    #[serde(default)]
    pub options: String,
}

/// `content` (a crt-list file) with the line for `certificate` (its file name as HAProxy opens
/// it) set to `options`: an existing line for that file is replaced in place, else one is
/// appended. Other lines stay byte for byte.
pub fn crt_list_with(content: &str, certificate: &str, options: &str) -> String {
    let line = if options.trim().is_empty() { certificate.to_string() } else { format!("{certificate} {}", options.trim()) };
    let mut out = String::with_capacity(content.len() + line.len() + 1);
    let mut found = false;
    for existing in content.split_inclusive('\n') {
        if existing.split_whitespace().next() == Some(certificate) && !found {
            found = true;
            out.push_str(&line);
            out.push('\n');
        } else {
            out.push_str(existing);
        }
    }
    if !found {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Whole days left until `not_after` at `now` (negative once expired), rounded down.
pub fn days_left(not_after: i64, now: i64) -> i64 {
    (not_after - now).div_euclid(DAY_MS)
}

/// The nearest expiry threshold reached at `now`: `Some(30)` with 30 days or less left ...
/// `Some(0)` once expired; `None` with more than 30 days left.
pub fn threshold_reached(not_after: i64, now: i64) -> Option<i64> {
    if not_after <= now {
        return Some(0);
    }
    EXPIRY_THRESHOLDS_DAYS.iter().rev().copied().find(|days| *days > 0 && not_after - now <= days * DAY_MS)
}

/// The threshold to warn about now, when it is nearer than the one already warned about.
pub fn warning_due(not_after: i64, now: i64, warned_days: Option<i64>) -> Option<i64> {
    let reached = threshold_reached(not_after, now)?;
    match warned_days {
        Some(warned) if warned <= reached => None,
        _ => Some(reached),
    }
}

/// True when HAProxy's name for a loaded certificate file (`show ssl cert`: the path as the
/// configuration wrote it, absolute or relative to `crt-base`) is the bundle path `path`.
pub fn serves_path(filename: &str, path: &BundlePath) -> bool {
    filename == path.as_str() || filename.ends_with(&format!("/{}", path.as_str()))
}

/// What one node's HAProxy serves at a deployment's path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeServes {
    /// The agent.
    pub agent_id: i64,
    /// Its name.
    pub agent: String,
    /// HAProxy's name for the file.
    pub filename: String,
    /// SHA-1 of the served leaf (`show ssl cert`'s `SHA1 FingerPrint`), uppercase hex.
    pub sha1: String,
    /// Serial number of the served leaf, uppercase hex.
    pub serial: String,
    /// True when it is the certificate's current revision.
    pub current: bool,
    /// When the node said so, Unix ms.
    pub reported_at: i64,
}

/// A deployment and what the cluster's nodes serve there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploymentStatus {
    /// Where and which version.
    #[serde(flatten)]
    pub deployment: Deployment,
    /// True when the version holds the current revision.
    pub current: bool,
    /// Each node that reported the file.
    pub nodes: Vec<NodeServes>,
}

/// A certificate's expiry and rollout status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CertificateStatus {
    /// The certificate.
    pub certificate: Certificate,
    /// Whole days until notAfter (negative once expired).
    pub days_left: i64,
    /// The nearest expiry threshold reached (30, 14, 7, 0 = expired), if any.
    pub warning_days: Option<i64>,
    /// A sentence for people when a threshold is reached.
    pub warning: Option<String>,
    /// Where it is deployed.
    pub deployments: Vec<DeploymentStatus>,
    /// When ACME renews it next and why (`None`: not kept renewed, e.g. uploaded by hand).
    pub renewal: Option<super::renewal::RenewalStatus>,
}

/// The warning sentence for `threshold` days.
pub fn warning_text(name: &str, days_left: i64, threshold: i64) -> String {
    if threshold == 0 {
        format!("certificate {name} has expired")
    } else {
        format!("certificate {name} expires in {days_left} day(s) (under {threshold})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_warn_once_each() {
        let end = 100 * DAY_MS;
        assert_eq!(threshold_reached(end, 0), None);
        assert_eq!(threshold_reached(end, end - 30 * DAY_MS), Some(30));
        assert_eq!(threshold_reached(end, end - 10 * DAY_MS), Some(14));
        assert_eq!(threshold_reached(end, end - 1), Some(7));
        assert_eq!(threshold_reached(end, end), Some(0));
        assert_eq!(warning_due(end, end - 20 * DAY_MS, None), Some(30));
        assert_eq!(warning_due(end, end - 20 * DAY_MS, Some(30)), None);
        assert_eq!(warning_due(end, end - 5 * DAY_MS, Some(30)), Some(7));
        assert_eq!(warning_due(end, end + 1, Some(7)), Some(0));
        assert_eq!(warning_due(end, end + 1, Some(0)), None);
        assert_eq!(days_left(end, end - 3 * DAY_MS - 5), 3);
        assert_eq!(days_left(end, end + 1), -1);
    }

    #[test]
    fn names_and_paths() {
        assert!(check_name("www.example.com_2026").is_ok());
        for bad in ["", ".hidden", "a/b", "a b", &"x".repeat(101)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        let path = BundlePath::new("certs/site.pem").unwrap_or_else(|e| unreachable!("{e}"));
        assert!(serves_path("/etc/haproxy/certs/site.pem", &path));
        assert!(serves_path("certs/site.pem", &path));
        assert!(!serves_path("/etc/haproxy/certs/other-site.pem", &path));
    }

    #[test]
    fn crt_list_lines_are_set_in_place() {
        let list = "# sites\n/etc/haproxy/certs/a.pem [alpn h2]\n/etc/haproxy/certs/b.pem\n";
        assert_eq!(
            crt_list_with(list, "/etc/haproxy/certs/a.pem", "a.example"),
            "# sites\n/etc/haproxy/certs/a.pem a.example\n/etc/haproxy/certs/b.pem\n"
        );
        assert_eq!(crt_list_with("x", "/c.pem", ""), "x\n/c.pem\n");
        assert_eq!(crt_list_with("", "/c.pem", "[ocsp-update off]"), "/c.pem [ocsp-update off]\n");
    }
}
