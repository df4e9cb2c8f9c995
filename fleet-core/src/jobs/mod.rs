//! Remote jobs: a **closed set** of typed operations an operator (or a schedule) asks some or
//! all agents of a cluster to run, never an arbitrary command. The control plane gets no shell
//! on a node: each kind is code in the agent, and kinds that change software on the node need
//! the node's own opt-in (`fleet-agent --allow-jobs`).
//!
//! ```text
//! POST /api/v1/clusters/{id}/jobs {"kind":"diagnostics", agents?, timeout?}
//!   -> Store::create_job: one run per agent, `queued`, audited; waiting agents woken
//!   -> GET /api/v1/agent/jobs?wait=<s> (the agent's jobs long-poll, held beside the
//!      desired-state one): the agent's queued runs, marked `running` as they leave, and the
//!      cancels of its running runs
//!   -> the agent runs the kind under the job's timeout (the whole process group killed on
//!      timeout or cancel) -> POST /api/v1/agent/jobs/{job_id}/result
//!   -> GET /api/v1/clusters/{id}/jobs/{job_id}: per agent {agent, status, output, exit_code,
//!      duration_ms}
//! ```
//!
//! Snapshots ride the same path: a `snapshot` run uploads the node's tree as a bundle
//! (`POST /api/v1/agent/jobs/{job_id}/snapshot`), a `restore {snapshot}` run fetches one
//! (`GET /api/v1/agent/snapshots/{id}`) and applies it through the agent's validated pipeline.
//!
//! The decisions (which kinds a node allows, how long a job may run, how output is bounded,
//! when a run nobody reports is given up, what a job's overall status is) are pure functions
//! here; the store module only fetches, decides and writes.

#[cfg(feature = "store")]
mod store;

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The agent's jobs long-poll.
pub const AGENT_JOBS_PATH: &str = "/api/v1/agent/jobs";
/// Where an agent posts how a run ended: `/api/v1/agent/jobs/{job_id}/result`.
pub fn agent_result_path(job_id: i64) -> String {
    format!("{AGENT_JOBS_PATH}/{job_id}/result")
}
/// Where a `snapshot` run uploads its tar: `/api/v1/agent/jobs/{job_id}/snapshot`.
pub fn agent_snapshot_upload_path(job_id: i64) -> String {
    format!("{AGENT_JOBS_PATH}/{job_id}/snapshot")
}
/// Where a `restore` run fetches its snapshot: `/api/v1/agent/snapshots/{id}`.
pub fn agent_snapshot_path(snapshot_id: i64) -> String {
    format!("/api/v1/agent/snapshots/{snapshot_id}")
}

/// A job's timeout when the request names none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
/// `install-haproxy`'s default (apt may download).
pub const DEFAULT_INSTALL_TIMEOUT: Duration = Duration::from_secs(900);
/// The longest timeout a job may ask for.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);
/// The most output kept per run; more is cut and the cut is marked.
pub const MAX_OUTPUT_BYTES: usize = 64 << 10;
/// How long a queued run waits for its agent to take it before it is given up (`failed`).
pub const QUEUE_TTL_MS: i64 = 10 * 60 * 1000;
/// How long after its timeout a running run may still be reported before it is given up
/// (`timed_out`): the agent kills it at the timeout and reports at once, unless it is gone.
pub const REPORT_GRACE_MS: i64 = 30 * 1000;
/// The most jobs a listing returns.
pub const MAX_JOB_LIST: i64 = 500;
/// How many lines of HAProxy's log `diagnostics` returns.
pub const DIAGNOSTICS_LOG_LINES: usize = 100;

/// What to run: the closed set of job kinds, with the fields each needs. JSON:
/// `{"kind":"diagnostics"}`, `{"kind":"restore","snapshot":ID}`,
/// `{"kind":"install-haproxy","version":"2.6.12-1"}`.
///
/// Adding a kind: a variant here, its name in [`JobKind`], whether nodes allow it by default
/// ([`JobKind::DEFAULT_ALLOWED`]), and its execution in the agent (`agent/src/jobs/`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum JobSpec {
    /// `haproxy -c` on the configuration that runs.
    Validate,
    /// A hitless reload of what runs.
    Reload,
    /// Stop and start HAProxy (connections are cut).
    Restart,
    /// Upload the node's managed tree, keepalived.conf and the unmanaged files under the
    /// managed directory as a snapshot.
    Snapshot,
    /// Apply a snapshot (of this node or another of the cluster) through the validated
    /// pipeline: `haproxy -c`, atomic switch, reload, rollback on failure.
    Restore {
        /// The snapshot's id.
        #[cfg_attr(feature = "openapi", schema(minimum = 1))]
        snapshot: i64,
    },
    /// `haproxy -vv`, `show info`, `show errors`, `show sess` counts, the last lines of
    /// HAProxy's log, disk and memory.
    Diagnostics,
    /// `apt-get install haproxy[=version]` (only on nodes started with
    /// `--allow-jobs ...,install-haproxy`).
    InstallHaproxy {
        /// A Debian package version (`2.6.12-1+deb12u1`); the candidate version when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9][A-Za-z0-9.+:~-]{0,63}$"))]
        version: Option<String>,
    },
    /// Upgrade the agent to a signed release the server offers ([`crate::release`]): verified
    /// with the key the node pinned, swapped, re-executed, rolled back without a heartbeat
    /// (only on nodes started with `--allow-jobs ...,upgrade-agent`).
    UpgradeAgent {
        /// The release version (`fleet release list`).
        #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_+][A-Za-z0-9._+-]{0,63}$"))]
        version: String,
    },
}

/// A job kind without its fields: what node policies and listings name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum JobKind {
    /// [`JobSpec::Validate`].
    Validate,
    /// [`JobSpec::Reload`].
    Reload,
    /// [`JobSpec::Restart`].
    Restart,
    /// [`JobSpec::Snapshot`].
    Snapshot,
    /// [`JobSpec::Restore`].
    Restore,
    /// [`JobSpec::Diagnostics`].
    Diagnostics,
    /// [`JobSpec::InstallHaproxy`].
    InstallHaproxy,
    /// [`JobSpec::UpgradeAgent`].
    UpgradeAgent,
}

impl JobKind {
    /// Every kind.
    pub const ALL: &'static [JobKind] = &[
        JobKind::Validate,
        JobKind::Reload,
        JobKind::Restart,
        JobKind::Snapshot,
        JobKind::Restore,
        JobKind::Diagnostics,
        JobKind::InstallHaproxy,
        JobKind::UpgradeAgent,
    ];
    /// What a node allows without `--allow-jobs`: every kind that does not change software.
    pub const DEFAULT_ALLOWED: &'static [JobKind] =
        &[JobKind::Validate, JobKind::Reload, JobKind::Restart, JobKind::Diagnostics, JobKind::Snapshot, JobKind::Restore];

    /// Its JSON and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Validate => "validate",
            JobKind::Reload => "reload",
            JobKind::Restart => "restart",
            JobKind::Snapshot => "snapshot",
            JobKind::Restore => "restore",
            JobKind::Diagnostics => "diagnostics",
            JobKind::InstallHaproxy => "install-haproxy",
            JobKind::UpgradeAgent => "upgrade-agent",
        }
    }
}

impl std::fmt::Display for JobKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for JobKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<JobKind> {
        JobKind::ALL.iter().copied().find(|k| k.as_str() == s).ok_or_else(|| {
            let known: Vec<&str> = JobKind::ALL.iter().map(|k| k.as_str()).collect();
            Error::invalid(format!("unknown job kind {s:?} (one of {})", known.join(", ")))
        })
    }
}

/// The job kinds a node runs (`fleet-agent --allow-jobs LIST`): names separated by commas,
/// `default` for [`JobKind::DEFAULT_ALLOWED`] (`default,install-haproxy`), `all` for every kind.
/// An unknown name is an error naming the known ones.
pub fn parse_allowed(list: &str) -> Result<BTreeSet<JobKind>> {
    let mut allowed = BTreeSet::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match name {
            "default" => allowed.extend(JobKind::DEFAULT_ALLOWED.iter().copied()),
            "all" => allowed.extend(JobKind::ALL.iter().copied()),
            other => {
                allowed.insert(other.parse::<JobKind>()?);
            }
        }
    }
    Ok(allowed)
}

/// Why a node refuses a job, as its run's output says it (`None`: it runs).
pub fn refused_by_node(kind: JobKind, allowed: &BTreeSet<JobKind>) -> Option<String> {
    if allowed.contains(&kind) {
        return None;
    }
    let list: Vec<&str> = allowed.iter().map(|k| k.as_str()).collect();
    Some(format!(
        "refused by node policy: this node does not run {kind} jobs (fleet-agent --allow-jobs allows {}; \
         add {kind} there to allow it)",
        if list.is_empty() { "none".to_string() } else { list.join(",") }
    ))
}

impl JobSpec {
    /// Its kind.
    pub fn kind(&self) -> JobKind {
        match self {
            JobSpec::Validate => JobKind::Validate,
            JobSpec::Reload => JobKind::Reload,
            JobSpec::Restart => JobKind::Restart,
            JobSpec::Snapshot => JobKind::Snapshot,
            JobSpec::Restore { .. } => JobKind::Restore,
            JobSpec::Diagnostics => JobKind::Diagnostics,
            JobSpec::InstallHaproxy { .. } => JobKind::InstallHaproxy,
            JobSpec::UpgradeAgent { .. } => JobKind::UpgradeAgent,
        }
    }

    /// Refuses fields no node could act on safely: a package version that is not a Debian
    /// version (it becomes an `apt-get` argument, so nothing that reads as an option).
    pub fn validate(&self) -> Result<()> {
        if let JobSpec::InstallHaproxy { version: Some(version) } = self {
            let ok = !version.is_empty()
                && version.len() <= 64
                && version.as_bytes()[0].is_ascii_alphanumeric()
                && version.bytes().all(|b| b.is_ascii_alphanumeric() || b".+:~-".contains(&b));
            if !ok {
                return Err(Error::invalid(format!(
                    "version {version:?} is not a package version (letters, digits and .+:~- , starting with a letter or digit, at most 64)"
                )));
            }
        }
        // The release module's rule (the version names files and travels in a URL path); the
        // agent checks again before it asks for the release.
        #[cfg(feature = "release")]
        if let JobSpec::UpgradeAgent { version } = self {
            crate::release::check_version(version).map_err(|e| Error::invalid(e.to_string()))?;
        }
        if let JobSpec::Restore { snapshot } = self {
            if *snapshot <= 0 {
                return Err(Error::invalid(format!("snapshot {snapshot}: ids are positive")));
            }
        }
        Ok(())
    }

    /// The timeout of a job of this kind asking for `seconds` (the kind's default when none):
    /// an error outside 1 s ..= [`MAX_TIMEOUT`].
    pub fn timeout(&self, seconds: Option<u64>) -> Result<Duration> {
        let default = match self {
            JobSpec::InstallHaproxy { .. } => DEFAULT_INSTALL_TIMEOUT,
            _ => DEFAULT_TIMEOUT,
        };
        match seconds {
            None => Ok(default),
            Some(s) if (1..=MAX_TIMEOUT.as_secs()).contains(&s) => Ok(Duration::from_secs(s)),
            Some(s) => Err(Error::invalid(format!("timeout {s} s: between 1 and {} s", MAX_TIMEOUT.as_secs()))),
        }
    }
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for its agent to take it.
    Queued,
    /// The agent took it.
    Running,
    /// Done, exit 0.
    Succeeded,
    /// Done with an error, refused by the node's policy, or given up.
    Failed,
    /// Cancelled before or while it ran.
    Cancelled,
    /// Killed at its timeout (or its agent never reported).
    TimedOut,
}

impl JobStatus {
    /// The database name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
            JobStatus::TimedOut => "timed_out",
        }
    }

    /// True once the run ended (nothing changes it any more).
    pub fn is_final(self) -> bool {
        !matches!(self, JobStatus::Queued | JobStatus::Running)
    }
}

impl std::str::FromStr for JobStatus {
    type Err = Error;
    fn from_str(s: &str) -> Result<JobStatus> {
        Ok(match s {
            "queued" => JobStatus::Queued,
            "running" => JobStatus::Running,
            "succeeded" => JobStatus::Succeeded,
            "failed" => JobStatus::Failed,
            "cancelled" => JobStatus::Cancelled,
            "timed_out" => JobStatus::TimedOut,
            other => return Err(Error::Corrupt(format!("unknown job status {other:?}"))),
        })
    }
}

/// A job's status over its runs: `queued` while none started, `running` while any is not
/// final, else `succeeded` when all succeeded, else the first of `timed_out`, `failed`,
/// `cancelled` that some run has.
pub fn overall_status(runs: impl IntoIterator<Item = JobStatus>) -> JobStatus {
    let statuses: Vec<JobStatus> = runs.into_iter().collect();
    if statuses.iter().all(|s| *s == JobStatus::Queued) && !statuses.is_empty() {
        return JobStatus::Queued;
    }
    if statuses.iter().any(|s| !s.is_final()) {
        return JobStatus::Running;
    }
    for worst in [JobStatus::TimedOut, JobStatus::Failed, JobStatus::Cancelled] {
        if statuses.contains(&worst) {
            return worst;
        }
    }
    JobStatus::Succeeded
}

/// `output` cut to at most [`MAX_OUTPUT_BYTES`] (at a character boundary), the cut marked with
/// how many bytes were dropped.
pub fn bound_output(output: &str) -> String {
    if output.len() <= MAX_OUTPUT_BYTES {
        return output.to_string();
    }
    let marker_room = 64;
    let mut end = MAX_OUTPUT_BYTES - marker_room;
    while !output.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n[output truncated: {} more bytes]\n", &output[..end], output.len() - end)
}

/// What happens to a run nobody finished, as of `now` (Unix ms): a queued run older than
/// [`QUEUE_TTL_MS`] fails (its agent is away), a running run past its timeout plus
/// [`REPORT_GRACE_MS`] times out (its agent died or lost the result). `None`: it stands.
pub fn given_up(status: JobStatus, created_at: i64, started_at: Option<i64>, timeout_ms: i64, now: i64) -> Option<(JobStatus, String)> {
    match status {
        JobStatus::Queued if now - created_at > QUEUE_TTL_MS => Some((
            JobStatus::Failed,
            format!("the agent did not take the job within {} min (offline?)", QUEUE_TTL_MS / 60_000),
        )),
        JobStatus::Running if now - started_at.unwrap_or(created_at) > timeout_ms + REPORT_GRACE_MS => Some((
            JobStatus::TimedOut,
            format!("the agent did not report within its timeout ({} s) and {} s more", timeout_ms / 1000, REPORT_GRACE_MS / 1000),
        )),
        _ => None,
    }
}

/// `POST /api/v1/clusters/{id}/jobs`: the kind with its fields, and optionally which agents (by
/// name; default every agent of the cluster) and the timeout in seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobRequest {
    /// What to run.
    #[serde(flatten)]
    pub spec: JobSpec,
    /// The agents to run it on, by name (default: every agent of the cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub agents: Option<Vec<String>>,
    /// Seconds before a run is killed and reported `timed_out` (default 120, install-haproxy
    /// 900; 1 to 3600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3600))]
    pub timeout: Option<u64>,
}

/// One agent's run of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobRun {
    /// The agent's name.
    pub agent: String,
    /// The agent's id.
    pub agent_id: i64,
    /// Where it stands.
    pub status: JobStatus,
    /// What it printed (at most 64 KiB; a cut is marked).
    pub output: String,
    /// The exit code of the command the kind ran, when it ran one.
    pub exit_code: Option<i64>,
    /// How long it ran, in ms, once final.
    pub duration_ms: Option<i64>,
    /// When the agent took it (Unix ms).
    pub started_at: Option<i64>,
    /// When it ended (Unix ms).
    pub finished_at: Option<i64>,
}

/// A job and its runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Job {
    /// Random id below 2^53.
    pub id: i64,
    /// Its cluster.
    pub cluster_id: i64,
    /// What it runs (`kind` and the kind's fields).
    #[serde(flatten)]
    pub spec: JobSpec,
    /// The timeout of each run, in ms.
    pub timeout_ms: i64,
    /// Who asked (a username, or `schedule:<name>`).
    pub author: String,
    /// When (Unix ms).
    pub created_at: i64,
    /// When a cancel was asked (Unix ms).
    pub cancel_requested_at: Option<i64>,
    /// Over its runs ([`overall_status`]).
    pub status: JobStatus,
    /// One per agent, by agent name.
    pub runs: Vec<JobRun>,
}

/// A job as its agent receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentJob {
    /// The job's id.
    pub id: i64,
    /// What to run.
    #[serde(flatten)]
    pub spec: JobSpec,
    /// Kill it after this many ms.
    pub timeout_ms: i64,
}

/// The answer of the jobs long-poll: runs to start, and running runs to cancel (job ids).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobPoll {
    /// Start these (they are `running` now).
    pub start: Vec<AgentJob>,
    /// Stop these (job ids).
    pub cancel: Vec<i64>,
}

impl JobPoll {
    /// True when there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.start.is_empty() && self.cancel.is_empty()
    }
}

/// How a run ended, as its agent posts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobResult {
    /// `succeeded`, `failed`, `cancelled` or `timed_out`.
    pub status: JobStatus,
    /// What it printed (cut to 64 KiB by the server too).
    pub output: String,
    /// The exit code of the command it ran, if any.
    #[serde(default)]
    pub exit_code: Option<i64>,
    /// How long it ran, in ms.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub duration_ms: u64,
}

/// A node's files as a `snapshot` run uploaded them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Snapshot {
    /// Random id below 2^53.
    pub id: i64,
    /// Its cluster.
    pub cluster_id: i64,
    /// The agent it was taken on (it may since have been revoked).
    pub agent_id: i64,
    /// That agent's name.
    pub agent: String,
    /// The `snapshot` job that took it.
    pub job_id: Option<i64>,
    /// The bundle digest (as versions have).
    pub digest: String,
    /// Total bytes.
    pub size: i64,
    /// When (Unix ms).
    pub created_at: i64,
    /// The files (no contents).
    pub files: Vec<crate::bundle::FileInfo>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_the_pinned_json() {
        let json = |s: &JobSpec| serde_json::to_string(s).unwrap();
        assert_eq!(json(&JobSpec::Diagnostics), r#"{"kind":"diagnostics"}"#);
        assert_eq!(json(&JobSpec::Restore { snapshot: 7 }), r#"{"kind":"restore","snapshot":7}"#);
        assert_eq!(json(&JobSpec::InstallHaproxy { version: None }), r#"{"kind":"install-haproxy"}"#);
        let request: JobRequest = serde_json::from_str(r#"{"kind":"install-haproxy","version":"2.6","agents":["a"],"timeout":5}"#).unwrap();
        assert_eq!(request.spec, JobSpec::InstallHaproxy { version: Some("2.6".into()) });
        assert_eq!((request.agents, request.timeout), (Some(vec!["a".to_string()]), Some(5)));
        assert!(serde_json::from_str::<JobRequest>(r#"{"kind":"shell","command":"id"}"#).is_err());
        assert!(serde_json::from_str::<JobRequest>(r#"{"kind":"restore"}"#).is_err());
        for kind in JobKind::ALL {
            assert_eq!(kind.as_str().parse::<JobKind>().unwrap(), *kind);
            assert_eq!(serde_json::to_value(kind).unwrap(), serde_json::json!(kind.as_str()));
        }
    }

    #[test]
    fn node_policy_defaults_exclude_software_changes() {
        let default = parse_allowed("default").unwrap();
        assert!(default.contains(&JobKind::Restore) && !default.contains(&JobKind::InstallHaproxy));
        assert!(!default.contains(&JobKind::UpgradeAgent), "upgrade-agent needs the node's opt-in");
        assert!(parse_allowed("default,upgrade-agent").unwrap().contains(&JobKind::UpgradeAgent));
        let upgrade: JobSpec = serde_json::from_str(r#"{"kind":"upgrade-agent","version":"0.2.0"}"#).unwrap();
        assert_eq!(upgrade, JobSpec::UpgradeAgent { version: "0.2.0".into() });
        assert!(upgrade.validate().is_ok());
        assert!(JobSpec::UpgradeAgent { version: "../x".into() }.validate().is_err());
        let message = refused_by_node(JobKind::InstallHaproxy, &default).unwrap();
        assert!(message.starts_with("refused by node policy: this node does not run install-haproxy jobs"), "{message}");
        assert!(refused_by_node(JobKind::Reload, &default).is_none());
        let more = parse_allowed("default, install-haproxy").unwrap();
        assert!(refused_by_node(JobKind::InstallHaproxy, &more).is_none());
        assert_eq!(parse_allowed("all").unwrap().len(), JobKind::ALL.len());
        assert_eq!(parse_allowed("validate").unwrap().len(), 1);
        let error = parse_allowed("validate,shell").unwrap_err().to_string();
        assert!(error.contains("unknown job kind \"shell\" (one of validate, reload"), "{error}");
    }

    #[test]
    fn versions_and_timeouts_are_bounded() {
        let install = |v: &str| JobSpec::InstallHaproxy { version: Some(v.into()) }.validate();
        assert!(install("2.6.12-1+deb12u1").is_ok() && install("1:2.8~bpo").is_ok());
        for bad in ["", "-o=APT::x", "2.6 ; rm", "2.6\n", &"9".repeat(65)] {
            assert!(install(bad).is_err(), "{bad:?}");
        }
        assert!(JobSpec::Restore { snapshot: 0 }.validate().is_err());
        assert_eq!(JobSpec::Reload.timeout(None).unwrap(), DEFAULT_TIMEOUT);
        assert_eq!(JobSpec::InstallHaproxy { version: None }.timeout(None).unwrap(), DEFAULT_INSTALL_TIMEOUT);
        assert_eq!(JobSpec::Reload.timeout(Some(3600)).unwrap(), MAX_TIMEOUT);
        assert!(JobSpec::Reload.timeout(Some(0)).is_err() && JobSpec::Reload.timeout(Some(3601)).is_err());
    }

    #[test]
    fn output_is_bounded_and_the_cut_marked() {
        assert_eq!(bound_output("short"), "short");
        let long = "é".repeat(MAX_OUTPUT_BYTES);
        let cut = bound_output(&long);
        assert!(cut.len() <= MAX_OUTPUT_BYTES, "{}", cut.len());
        assert!(cut.ends_with("more bytes]\n") && cut.contains("[output truncated: "));
    }

    #[test]
    fn overall_status_and_giving_up() {
        use JobStatus::*;
        assert_eq!(overall_status([Queued, Queued]), Queued);
        assert_eq!(overall_status([Queued, Succeeded]), Running);
        assert_eq!(overall_status([Succeeded, Succeeded]), Succeeded);
        assert_eq!(overall_status([Succeeded, Cancelled, Failed]), Failed);
        assert_eq!(overall_status([Failed, TimedOut]), TimedOut);
        assert_eq!(given_up(Queued, 0, None, 1000, QUEUE_TTL_MS), None);
        assert_eq!(given_up(Queued, 0, None, 1000, QUEUE_TTL_MS + 1).unwrap().0, Failed);
        assert_eq!(given_up(Running, 0, Some(10), 1000, 10 + 1000 + REPORT_GRACE_MS), None);
        assert_eq!(given_up(Running, 0, Some(10), 1000, 11 + 1000 + REPORT_GRACE_MS).unwrap().0, TimedOut);
        assert_eq!(given_up(Succeeded, 0, Some(0), 0, i64::MAX / 2), None);
    }
}
