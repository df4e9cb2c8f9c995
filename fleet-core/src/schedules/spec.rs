//! Schedules as `POST /api/v1/schedules` takes them and the API shows them, and their runs.

use serde::{Deserialize, Serialize};

use super::timetable::Timetable;
use crate::jobs::JobRequest;

/// What a schedule runs. Serialised with a `type` tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Target {
    /// A job on the agents of a cluster, made by [`crate::Store::create_job`] as
    /// `POST /api/v1/clusters/{id}/jobs` makes it (author `schedule:<name>`).
    Job {
        /// The cluster.
        cluster_id: i64,
        /// The job as the jobs route takes it: `{"kind":"diagnostics"}`, with `agents` and
        /// `timeout` when wanted.
        job: JobRequest,
    },
    /// A backup of the whole server ([`crate::backup::scheduled`]): `fleet-backup-<UTC
    /// time>.tar` written to a folder of the server or under an S3 prefix (credentials from the
    /// server's `AWS_*` environment), the newest `retention` kept. Without the key file.
    ServerBackup {
        /// An absolute folder on the server, or `s3://BUCKET/PREFIX`.
        destination: String,
        /// How many backups to keep there, 1 to 1000 (default 7).
        #[serde(default = "seven")]
        retention: u32,
    },
}

fn seven() -> u32 {
    7
}

impl Target {
    /// The cluster the target acts on (`None`: the whole server), which decides who may
    /// manage the schedule: that cluster's operators, else a global admin.
    pub fn cluster_id(&self) -> Option<i64> {
        match self {
            Target::Job { cluster_id, .. } => Some(*cluster_id),
            Target::ServerBackup { .. } => None,
        }
    }
}

/// What happens to the runs a schedule missed while no server ran it (downtime, every replica
/// stopped), found when one runs again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MissedRun {
    /// They are recorded as `missed` and not run; the schedule goes on at its next time.
    #[default]
    Skip,
    /// One run for the latest of them (`catch_up: true`), the others recorded as `missed`.
    RunOnce,
}

/// What happens at a run time while the schedule's previous run still runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Concurrency {
    /// The run is not started and is recorded as `skipped`.
    #[default]
    Forbid,
    /// The run starts anyway.
    Allow,
}

/// `POST /api/v1/schedules` and `PUT /api/v1/schedules/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewSchedule {
    /// Unique name: letters, digits, blanks, `-`, `_`, `.`; 100 at most.
    pub name: String,
    /// Five cron fields: minute hour day-of-month month day-of-week (`*/5 * * * *`,
    /// `30 2 * * MON-FRI`, `@daily`), read in `timezone` ([`crate::schedules::timetable`]).
    pub cron: String,
    /// IANA time zone name (default `UTC`): run times are wall times there, DST included.
    #[serde(default = "utc")]
    pub timezone: String,
    /// What it runs.
    pub target: Target,
    /// Runs missed while no server ran the schedule (default `skip`).
    #[serde(default)]
    pub missed: MissedRun,
    /// A run time while the previous run still runs (default `forbid`).
    #[serde(default)]
    pub concurrency: Concurrency,
    /// Runs at all (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn utc() -> String {
    "UTC".into()
}

fn yes() -> bool {
    true
}

impl NewSchedule {
    /// Checks the fields and reads the timetable. The message names the field (`name: ...`,
    /// `cron: ...`, `timezone: ...`, `target.job: ...`).
    pub fn check(&self) -> Result<Timetable, String> {
        let name_ok = !self.name.trim().is_empty()
            && self.name.chars().count() <= 100
            && self.name.chars().all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.'));
        if !name_ok {
            return Err(format!("name: {:?} must be 1 to 100 letters, digits, blanks, '-', '_' or '.'", self.name));
        }
        let message = |e: crate::Error| match e {
            crate::Error::Invalid { message, .. } => message,
            other => other.to_string(),
        };
        match &self.target {
            Target::Job { job, .. } => {
                job.spec.validate().map_err(|e| format!("target.job: {}", message(e)))?;
                job.spec.timeout(job.timeout).map_err(|e| format!("target.job: {}", message(e)))?;
            }
            Target::ServerBackup { destination, retention } => {
                if !(1..=1000).contains(retention) {
                    return Err("target.retention: 1 to 1000 backups".into());
                }
                match crate::backup::Destination::parse(destination) {
                    Ok(crate::backup::Destination::Directory(dir)) if !dir.is_absolute() => {
                        return Err(format!("target.destination: {destination:?} is not an absolute folder or s3://BUCKET/PREFIX"));
                    }
                    Ok(_) => {}
                    Err(e) => return Err(format!("target.destination: {e}")),
                }
            }
        }
        Timetable::new(&self.cron, &self.timezone)
    }
}

/// A stored schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Schedule {
    /// Random id below 2^53.
    pub id: i64,
    /// The schedule as given.
    #[serde(flatten)]
    pub schedule: NewSchedule,
    /// When it runs next (RFC 3339, UTC); `null` while disabled.
    #[serde(with = "crate::clock::serde_rfc3339_opt")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub next_run_at: Option<i64>,
    /// Who created it.
    pub created_by: String,
    /// When (RFC 3339).
    #[serde(with = "crate::clock::serde_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: i64,
    /// Last change (RFC 3339).
    #[serde(with = "crate::clock::serde_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: i64,
}

/// How a run ended, or that it still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Started; its target has not finished.
    Running,
    /// The target finished well.
    Succeeded,
    /// The target could not start or finished badly (`detail` says why).
    Failed,
    /// Not started: the previous run still ran (concurrency `forbid`).
    Skipped,
    /// Run times no server ran (downtime; missed-run policy): one row for the span.
    Missed,
}

impl Outcome {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Running => "running",
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
            Outcome::Missed => "missed",
        }
    }

    /// Reads a stored word.
    pub fn parse(word: &str) -> Option<Outcome> {
        [Outcome::Running, Outcome::Succeeded, Outcome::Failed, Outcome::Skipped, Outcome::Missed].into_iter().find(|o| o.as_str() == word)
    }
}

/// One run of a schedule (its history, newest first in `GET /api/v1/schedules/{id}/runs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScheduleRun {
    /// Random id below 2^53.
    pub id: i64,
    /// The schedule.
    pub schedule_id: i64,
    /// The run time this run is for (RFC 3339); for `missed`, the first time missed.
    #[serde(with = "crate::clock::serde_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub scheduled_for: i64,
    /// When it started (RFC 3339); `null` for `skipped` and `missed`.
    #[serde(with = "crate::clock::serde_rfc3339_opt")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub started_at: Option<i64>,
    /// When it finished (RFC 3339); `null` while running.
    #[serde(with = "crate::clock::serde_rfc3339_opt")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub finished_at: Option<i64>,
    /// `running`, `succeeded`, `failed`, `skipped` or `missed`.
    pub outcome: Outcome,
    /// A run for a time missed while no server ran (missed-run policy `run_once`).
    pub catch_up: bool,
    /// What it created (`{"job_id": 12}`), once started.
    pub created: Option<serde_json::Value>,
    /// Why it failed or was skipped, how many times were missed, or the target's summary.
    pub detail: String,
    /// The server replica that claimed the run time.
    pub replica: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(value: serde_json::Value) -> Result<NewSchedule, String> {
        let new: NewSchedule = serde_json::from_value(value).map_err(|e| e.to_string())?;
        new.check().map(|_| new)
    }

    #[test]
    fn schedules_are_read_with_defaults_and_checked() {
        let ok = schedule(serde_json::json!({"name": "nightly diag", "cron": "0 3 * * *",
            "target": {"type": "job", "cluster_id": 7, "job": {"kind": "diagnostics"}}}))
        .unwrap();
        assert_eq!((ok.timezone.as_str(), ok.missed, ok.concurrency, ok.enabled), ("UTC", MissedRun::Skip, Concurrency::Forbid, true));
        assert_eq!(ok.target.cluster_id(), Some(7));
        let backup = schedule(serde_json::json!({"name": "backup", "cron": "@daily", "target": {"type": "server_backup", "destination": "s3://bucket/fleet"}})).unwrap();
        assert_eq!(backup.target, Target::ServerBackup { destination: "s3://bucket/fleet".into(), retention: 7 });
        assert_eq!(backup.target.cluster_id(), None);
        let text = serde_json::to_value(&ok).unwrap();
        assert_eq!(text["missed"], "skip");
        assert_eq!(text["concurrency"], "forbid");
        for (bad, words) in [
            (serde_json::json!({"name": "", "cron": "* * * * *", "target": {"type": "job", "cluster_id": 1, "job": {"kind": "validate"}}}), "name:"),
            (serde_json::json!({"name": "x", "cron": "* * * *", "target": {"type": "job", "cluster_id": 1, "job": {"kind": "validate"}}}), "cron:"),
            (serde_json::json!({"name": "x", "cron": "* * * * *", "timezone": "Europe/Atlantis", "target": {"type": "job", "cluster_id": 1, "job": {"kind": "validate"}}}), "timezone:"),
            (serde_json::json!({"name": "x", "cron": "* * * * *", "target": {"type": "job", "cluster_id": 1, "job": {}}}), "kind"),
            (serde_json::json!({"name": "x", "cron": "* * * * *", "target": {"type": "job", "cluster_id": 1, "job": {"kind": "diagnostics", "timeout": 0}}}), "target.job:"),
            (serde_json::json!({"name": "x", "cron": "* * * * *", "target": {"type": "job", "cluster_id": 1, "job": {"kind": "shell"}}}), "unknown variant"),
            (serde_json::json!({"name": "x", "cron": "* * * * *", "target": {"type": "server_backup", "destination": "backups"}}), "target.destination:"),
            (serde_json::json!({"name": "x", "cron": "* * * * *", "target": {"type": "server_backup", "destination": "s3://"}}), "target.destination:"),
            (serde_json::json!({"name": "x", "cron": "* * * * *", "target": {"type": "server_backup", "destination": "/var/backups/fleet", "retention": 0}}), "target.retention:"),
            (serde_json::json!({"name": "x", "cron": "* * * * *", "missed": "later", "target": {"type": "job", "cluster_id": 1, "job": {"kind": "validate"}}}), "unknown variant"),
            (serde_json::json!({"name": "x", "cron": "* * * * *", "target": {"type": "shell", "command": "rm"}}), "unknown variant"),
        ] {
            let error = schedule(bad.clone()).unwrap_err();
            assert!(error.contains(words), "{bad}: {error}");
        }
    }
}
