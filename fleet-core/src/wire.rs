//! The agent protocol's JSON bodies, shared by the server and the agent (no storage needed, so
//! the agent links them without sqlx).
//!
//! ```text
//! agent                                   server
//!   POST /api/v1/agent/enroll  EnrolRequest  -> EnrolResponse (the agent's own token, once)
//!   GET  /api/v1/agent/desired?known=<sha256>&wait=<s>
//!                                          -> 200 DesiredState | 304 (nothing new in `wait` s)
//!   POST /api/v1/agent/report  AgentReport   -> the agent as recorded (204 with RETURN_MINIMAL)
//!   POST /api/v1/agent/heartbeat Heartbeat   -> 200 HeartbeatAnswer (what to probe)
//!   POST /api/v1/agent/adopt?configs=<paths>  (tar of the managed tree)
//!                                          -> 201 the cluster's first version | 409 it has one
//!   GET  /api/v1/agent/releases/{version}/binary|signature?platform=P
//!                                          -> a signed release's bytes | its signature (404: none)
//!   GET  /api/v1/agent/me                  -> AgentIdentity (its name: keepalived/<name>.conf)
//!   POST /api/v1/agent/keepalived  (the node's keepalived.conf bytes)
//!                                          -> 201 a version with keepalived/<name>.conf | 409
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use crate::apply::DownloadError;
use crate::bundle::{Bundle, BundleDelta, BundleFile, FileInfo};
use crate::model::ClusterSettings;

/// Path of the enrolment route.
pub const ENROLL_PATH: &str = "/api/v1/agent/enroll";
/// Prefix of an agent's release downloads: `<prefix>/{version}/binary?platform=P` (the
/// bytes) and `<prefix>/{version}/signature?platform=P` (the signature file's text).
pub const AGENT_RELEASES_PATH: &str = "/api/v1/agent/releases";
/// Path of the desired-state long-poll.
pub const DESIRED_PATH: &str = "/api/v1/agent/desired";
/// Path of the apply report.
pub const REPORT_PATH: &str = "/api/v1/agent/report";
/// The `Prefer` header's preference (RFC 7240 §4.2) with which a report is answered 204, not
/// with the agent read back: fleet-agent ignores that answer.
pub const RETURN_MINIMAL: &str = "return=minimal";
/// Path of the heartbeat.
pub const HEARTBEAT_PATH: &str = "/api/v1/agent/heartbeat";
/// Path of the adoption upload (`fleet-agent --adopt`): a tar of the node's managed tree.
pub const ADOPT_PATH: &str = "/api/v1/agent/adopt";
/// Path of the agent's own identity ([`AgentIdentity`]): the name its per-node files carry.
pub const ME_PATH: &str = "/api/v1/agent/me";
/// Path of the keepalived adoption upload (`fleet-agent --keepalived --adopt`): the node's
/// keepalived.conf, byte for byte, becomes `keepalived/<agent>.conf` of a new version.
pub const KEEPALIVED_ADOPT_PATH: &str = "/api/v1/agent/keepalived";

/// How long a long-poll waits when the agent does not say.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(30);
/// The longest wait the server grants (proxies and load balancers drop idle requests).
pub const MAX_WAIT: Duration = Duration::from_secs(300);

/// The wait a long-poll gets for a requested number of seconds: the default when none, at most
/// [`MAX_WAIT`].
pub fn long_poll_wait(seconds: Option<u64>) -> Duration {
    seconds.map_or(DEFAULT_WAIT, |s| Duration::from_secs(s).min(MAX_WAIT))
}

/// What an agent sends once, with the one-time enrolment secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrolRequest {
    /// The secret from `POST /api/v1/clusters/{id}/enrollments`.
    pub secret: String,
    /// The node's hostname.
    #[serde(default)]
    pub hostname: String,
    /// Facts about the node (HAProxy version, OS ...).
    #[serde(default)]
    pub facts: serde_json::Value,
}

/// The agent's identity and its own token (shown once; the server keeps only its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrolResponse {
    /// The agent's id.
    pub agent_id: i64,
    /// The cluster it serves.
    pub cluster_id: i64,
    /// Its name in the cluster.
    pub name: String,
    /// Bearer token for every later request.
    pub token: String,
    /// The release public key (`ed25519:...`, `fleet serve --release-public-key`) the agent pins
    /// beside its token: upgrades are accepted only when signed by it. Absent: the server has
    /// none, and the agent refuses upgrades until one is pinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_public_key: Option<String>,
}

/// Who an agent token belongs to (`GET /api/v1/agent/me`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentIdentity {
    /// The agent's id.
    pub agent_id: i64,
    /// The cluster it serves.
    pub cluster_id: i64,
    /// Its name in the cluster (the name of its per-node files, `keepalived/<name>.conf`).
    pub name: String,
}

/// Why an agent's token no longer works, as the server kept it (a tombstone): every call made
/// with that token answers 410 Gone with `{"error": {"code": "decommissioned", "message",
/// "decommission": Decommission}}`, and the agent stops calling (stopping HAProxy first when
/// `stop_haproxy` says so) and exits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Decommission {
    /// The agent's name in its cluster.
    pub agent: String,
    /// The cluster it served (possibly deleted since).
    pub cluster_id: i64,
    /// [`DECOMMISSIONED`] (the agent was decommissioned) or [`CLUSTER_DELETED`] (its cluster or
    /// pool was deleted with `?force=true`).
    pub reason: String,
    /// True when the node should stop HAProxy before the agent exits (process mode: the master
    /// the agent runs; systemd mode: `systemctl stop` of the unit); false leaves it serving.
    pub stop_haproxy: bool,
    /// Who did it (a user name).
    pub by: String,
    /// When, Unix milliseconds.
    pub at: i64,
}

/// [`Decommission::reason`] of an agent decommissioned on its own.
pub const DECOMMISSIONED: &str = "decommissioned";
/// [`Decommission::reason`] of an agent whose cluster (or its pool) was deleted with `force`.
pub const CLUSTER_DELETED: &str = "cluster_deleted";

/// One file of the desired bundle: its listing and its bytes in standard base64 (RFC 4648 §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WireFile {
    /// Path, kind, mode, size, sha256.
    #[serde(flatten)]
    pub info: FileInfo,
    /// The bytes, base64.
    pub content_base64: String,
}

impl WireFile {
    /// The wire form of a bundle file.
    pub fn new(file: &BundleFile) -> WireFile {
        WireFile { info: file.info(), content_base64: BASE64.encode(&file.content) }
    }
}

/// The configuration an agent should run: the whole bundle of the desired version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DesiredState {
    /// The cluster.
    pub cluster_id: i64,
    /// The desired version's number.
    pub version: i64,
    /// The bundle's digest ([`crate::bundle::digest_of`]): what the agent sends back as `known`.
    pub sha256: String,
    /// Every file, configs first in load order (empty when `delta` carries the changes).
    pub files: Vec<WireFile>,
    /// Where to write it and how to reload.
    pub settings: ClusterSettings,
    /// Only to an agent that asked with `delta=true` and whose `known` bundle the server has:
    /// the changes from that bundle ([`BundleDelta`]), sent instead of `files` when smaller.
    /// The agent builds the files with [`DesiredState::resolve`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<BundleDelta>,
}

impl DesiredState {
    /// The desired state of a cluster running `bundle` as version `version`.
    pub fn new(cluster_id: i64, version: i64, bundle: &Bundle, settings: ClusterSettings) -> DesiredState {
        DesiredState {
            cluster_id,
            version,
            sha256: bundle.digest(),
            files: bundle.files().iter().map(WireFile::new).collect(),
            settings,
            delta: None,
        }
    }

    /// This state for an agent running `base`: the changes instead of the files, or `None`
    /// when the changes would not carry fewer bytes than the whole bundle.
    pub fn as_delta_from(&self, base: &Bundle, target: &Bundle) -> Option<DesiredState> {
        let delta = BundleDelta::between(base, target);
        (delta.payload_bytes() < target.size()).then(|| DesiredState { files: Vec::new(), delta: Some(delta), ..self.clone_without_files() })
    }

    fn clone_without_files(&self) -> DesiredState {
        DesiredState {
            cluster_id: self.cluster_id,
            version: self.version,
            sha256: self.sha256.clone(),
            files: Vec::new(),
            settings: self.settings.clone(),
            delta: None,
        }
    }

    /// The whole state: itself when it carries its files, else the files its delta builds from
    /// `base` (the bundle the agent runs), each checked against its announced sha256 and all of
    /// them against the announced digest. An error (no base, another base, any mismatch) means
    /// the agent must ask for the whole bundle.
    pub fn resolve(self, base: Option<&Bundle>) -> Result<DesiredState, DownloadError> {
        let Some(delta) = &self.delta else { return Ok(self) };
        let refused = |message: String| DownloadError::Delta { version: self.version, message };
        let base = base.ok_or_else(|| refused("no base bundle to apply the delta to".into()))?;
        let bundle = delta.apply(base, &self.sha256).map_err(|e| refused(e.to_string()))?;
        Ok(DesiredState { files: bundle.files().iter().map(WireFile::new).collect(), delta: None, ..self.clone_without_files() })
    }

    /// The bundle, decoded and verified: every file's bytes must hash to its announced sha256
    /// and the listing to the announced digest, so a truncated or altered download is never
    /// written.
    pub fn bundle(&self) -> Result<Bundle, DownloadError> {
        let mut files = Vec::with_capacity(self.files.len());
        for wire in &self.files {
            let content = BASE64.decode(&wire.content_base64).map_err(|e| DownloadError::Encoding {
                version: self.version,
                path: wire.info.path.to_string(),
                message: e.to_string(),
            })?;
            let file = BundleFile { path: wire.info.path.clone(), kind: wire.info.kind, mode: wire.info.mode, content };
            let actual = file.sha256();
            if !actual.eq_ignore_ascii_case(&wire.info.sha256) {
                return Err(DownloadError::Checksum {
                    version: self.version,
                    announced: format!("{} {}", wire.info.path, wire.info.sha256),
                    actual,
                });
            }
            files.push(file);
        }
        let bundle = Bundle::new(files).map_err(|e| DownloadError::Bundle { version: self.version, message: e.to_string() })?;
        let digest = bundle.digest();
        if !digest.eq_ignore_ascii_case(&self.sha256) {
            return Err(DownloadError::Checksum { version: self.version, announced: self.sha256.clone(), actual: digest });
        }
        Ok(bundle)
    }

    /// True when an agent that knows `known` (a sha256, or nothing) must be told about this state.
    pub fn is_news_to(&self, known: Option<&str>) -> bool {
        known != Some(self.sha256.as_str())
    }
}

/// What an agent sends every few seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Heartbeat {
    /// Current facts; none keeps the stored ones.
    #[serde(default)]
    pub facts: Option<serde_json::Value>,
    /// The certificates HAProxy serves (`show ssl cert`); none keeps the stored ones (older
    /// agents, or HAProxy's CLI not reachable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificates: Option<Vec<ServedCertificate>>,
    /// keepalived on the node (`fleet-agent --keepalived`); none keeps the stored report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalived: Option<crate::vip::KeepalivedReport>,
    /// The node's interfaces and addresses (`ip addr`); none keeps the stored ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interfaces: Option<Vec<crate::vip::NodeInterface>>,
    /// The agent's heartbeat interval (`--heartbeat-seconds`), from which the server tells
    /// `online` from `offline`; none keeps the stored one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3600))]
    pub heartbeat_seconds: Option<u64>,
    /// The agent's check of its managed files against what it applied; none keeps the stored
    /// drift (older agents, or nothing applied yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<crate::monitor::DriftReport>,
    /// HAProxy's `show stat` rows now (with the worker's pid), stored as the cluster's stats
    /// history ([`crate::monitor::stats`]); none when HAProxy's CLI did not answer, or when the
    /// agent sampled less than a raw bucket ago ([`crate::monitor::stats::sample_due`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<crate::monitor::stats::StatsSample>,
    /// Each rate-limit rule's table now (`show table fleet_rl_<rule>`, [`crate::rules::hits`]);
    /// none keeps the stored figures (older agents, or HAProxy's CLI not reachable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_hits: Option<Vec<crate::rules::RuleHits>>,
}

/// The server's answer to a heartbeat: what it asks the agent to measure for the next one, and
/// what the agent must follow between versions (a settings change makes no new version, so it
/// does not come through the desired state).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeartbeatAnswer {
    /// The HTTP probe of a frontend the agent's pool's DNS failover asks for
    /// ([`crate::failover::probe`]); the agent reports it in its next heartbeat's facts as
    /// `failover_probe`. `null`: none.
    #[serde(default)]
    pub failover_probe: Option<crate::failover::Probe>,
    /// The cluster's drift setting ([`crate::monitor::drift`]).
    #[serde(default)]
    pub drift: crate::monitor::DriftPolicy,
}

/// One certificate file HAProxy has loaded, as `show ssl cert <file>` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServedCertificate {
    /// HAProxy's name for the file: the path as the configuration wrote it.
    pub filename: String,
    /// `SHA1 FingerPrint` of the leaf, uppercase hex (HAProxy 2.6 prints no SHA-256; the store
    /// keeps both fingerprints of every certificate to match it).
    pub sha1: String,
    /// `Serial` of the leaf, uppercase hex.
    #[serde(default)]
    pub serial: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_are_clamped() {
        assert_eq!(long_poll_wait(None), DEFAULT_WAIT);
        assert_eq!(long_poll_wait(Some(2)), Duration::from_secs(2));
        assert_eq!(long_poll_wait(Some(100_000)), MAX_WAIT);
    }

    #[test]
    fn news_is_a_different_checksum() {
        let state =
            DesiredState { cluster_id: 1, version: 2, sha256: "ab".into(), files: vec![], settings: ClusterSettings::default(), delta: None };
        assert!(state.is_news_to(None));
        assert!(state.is_news_to(Some("cd")));
        assert!(!state.is_news_to(Some("ab")));
    }

    fn bundle() -> Bundle {
        let path = |p: &str| crate::bundle::BundlePath::new(p).unwrap_or_else(|e| unreachable!("{e}"));
        Bundle::new(vec![
            BundleFile::new(path("haproxy.cfg"), crate::bundle::FileKind::Config, b"global\n".to_vec()),
            BundleFile::new(path("certs/a.pem"), crate::bundle::FileKind::Certificate, vec![0, 1, 2, 255]),
        ])
        .unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[test]
    fn bundles_survive_the_wire_byte_for_byte() {
        let bundle = bundle();
        let state = DesiredState::new(1, 3, &bundle, ClusterSettings::default());
        let json = serde_json::to_string(&state).unwrap_or_default();
        let back: DesiredState = serde_json::from_str(&json).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(back.bundle(), Ok(bundle));
    }

    #[test]
    fn deltas_resolve_to_the_announced_bundle_or_an_error() {
        let path = |p: &str| crate::bundle::BundlePath::new(p).unwrap_or_else(|e| unreachable!("{e}"));
        let config = |n: usize| {
            let text: String = (0..100).map(|i| format!("backend b{i}\n    server s1 10.0.0.{}:80\n", if i == 50 { n } else { i })).collect();
            BundleFile::new(path("haproxy.cfg"), crate::bundle::FileKind::Config, text.into_bytes())
        };
        let base = bundle().with_file(config(1)).unwrap_or_else(|e| unreachable!("{e}"));
        let target = base.with_file(config(2)).unwrap_or_else(|e| unreachable!("{e}"));
        let full = DesiredState::new(1, 4, &target, ClusterSettings::default());
        let delta = full.as_delta_from(&base, &target).unwrap_or_else(|| unreachable!("smaller than the bundle"));
        assert!(delta.files.is_empty());
        let json = serde_json::to_string(&delta).unwrap_or_default();
        assert!(!json.contains("certs/a.pem"), "unchanged files are not sent: {json}");
        let back: DesiredState = serde_json::from_str(&json).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(back.clone().resolve(Some(&base)), Ok(full.clone()));
        // Without the base, or on another base: an error, so the agent asks for every file.
        assert!(matches!(back.clone().resolve(None), Err(DownloadError::Delta { .. })));
        assert!(matches!(back.resolve(Some(&target)), Err(DownloadError::Delta { .. })));
        // A whole state resolves to itself.
        assert_eq!(full.clone().resolve(None), Ok(full));
    }

    #[test]
    fn altered_downloads_are_refused() {
        let mut state = DesiredState::new(1, 3, &bundle(), ClusterSettings::default());
        state.files[1].content_base64 = BASE64.encode([0, 1, 2]);
        assert!(matches!(state.bundle(), Err(DownloadError::Checksum { .. })));
        let mut state = DesiredState::new(1, 3, &bundle(), ClusterSettings::default());
        state.files.pop();
        assert!(matches!(state.bundle(), Err(DownloadError::Checksum { .. })));
        let mut state = DesiredState::new(1, 3, &bundle(), ClusterSettings::default());
        state.files[0].content_base64 = "%%".into();
        assert!(matches!(state.bundle(), Err(DownloadError::Encoding { .. })));
    }
}
