//! The trial of an upgraded agent: the old process writes a [`Trial`] (a small JSON file in the
//! agent's state directory) before it swaps its binary and re-executes; whatever process starts
//! next reads it and [`Trial::step`] says what to do.
//!
//! ```text
//! old agent: verified + smoke-tested -> write Trial{phase: trial, deadline} -> swap -> exec new
//! new agent at start: step(now) -> Wait(left) -> first heartbeat accepted -> commit (file removed)
//!                                             -> deadline passes first -> RollBack
//!                               -> RollBack (deadline already past: restarted during the trial)
//! RollBack: previous binary renamed back over `binary`, phase = rolled_back, exec `binary`
//!           with the first process's arguments -> that process reads Report and says so
//! ```
//! The deadline is wall-clock time written in the file, so it survives the exec, a crash and a
//! restart by systemd. The rolled-back process runs with the arguments the upgrade started
//! from (`args`), not those of the process that gave up, which may differ (a wrapper).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How long a new agent has to get a heartbeat through before it is rolled back.
pub const DEFAULT_TRIAL: Duration = Duration::from_secs(30);
/// The trial file's name in the agent's state directory.
pub const TRIAL_FILE: &str = "upgrade-trial.json";

/// Where an upgrade stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    /// The new binary runs (or is about to) and must heartbeat before the deadline.
    Trial,
    /// The previous binary was put back; `reason` says why.
    RolledBack {
        /// Why the new binary was given up.
        reason: String,
    },
}

/// An upgrade in progress, as written to [`TRIAL_FILE`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trial {
    /// The release version being tried.
    pub version: String,
    /// SHA-256 of the binary before the upgrade (lowercase hex).
    pub from_sha256: String,
    /// SHA-256 of the new binary (lowercase hex).
    pub to_sha256: String,
    /// The binary's path (what is swapped and re-executed).
    pub binary: String,
    /// Where the previous binary is kept (`<binary>.previous`).
    pub previous: String,
    /// The arguments the agent ran with, program name excluded: a rollback runs them again.
    pub args: Vec<String>,
    /// Unix milliseconds by which the new binary must have heartbeaten.
    pub deadline_ms: i64,
    /// The job that asked for the upgrade, when one did (its result is reported by the process
    /// that learns the outcome).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<i64>,
    /// Where it stands.
    #[serde(flatten)]
    pub phase: Phase,
}

/// What a starting agent does about a [`Trial`] it finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Run, and commit at the first accepted heartbeat; roll back if none within this time.
    Wait(Duration),
    /// Put the previous binary back and run it now (the deadline passed).
    RollBack,
    /// The previous binary runs again after a rollback: report it, then forget the trial.
    Report(String),
}

impl Trial {
    /// What to do at `now_ms` (Unix milliseconds).
    pub fn step(&self, now_ms: i64) -> Step {
        match &self.phase {
            Phase::RolledBack { reason } => Step::Report(reason.clone()),
            Phase::Trial if now_ms >= self.deadline_ms => Step::RollBack,
            Phase::Trial => Step::Wait(Duration::from_millis(u64::try_from(self.deadline_ms - now_ms).unwrap_or(0))),
        }
    }

    /// The same trial, given up for `reason`.
    pub fn rolled_back(&self, reason: &str) -> Trial {
        Trial { phase: Phase::RolledBack { reason: reason.to_string() }, ..self.clone() }
    }

    /// The message of a failed upgrade after the rollback, for the log and the job's output.
    pub fn failure(&self, reason: &str) -> String {
        format!(
            "upgrade to {} (sha256 {}) rolled back to the previous binary (sha256 {}): {reason}",
            self.version, self.to_sha256, self.from_sha256
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial() -> Trial {
        Trial {
            version: "0.2.0".into(),
            from_sha256: "aa".into(),
            to_sha256: "bb".into(),
            binary: "/usr/local/bin/fleet-agent".into(),
            previous: "/usr/local/bin/fleet-agent.previous".into(),
            args: vec!["--server".into(), "https://fleet:8443".into()],
            deadline_ms: 30_000,
            job: Some(7),
            phase: Phase::Trial,
        }
    }

    #[test]
    fn a_trial_waits_until_its_deadline_then_rolls_back() {
        assert_eq!(trial().step(0), Step::Wait(Duration::from_secs(30)));
        assert_eq!(trial().step(29_999), Step::Wait(Duration::from_millis(1)));
        assert_eq!(trial().step(30_000), Step::RollBack);
        assert_eq!(trial().step(1_000_000), Step::RollBack, "restarted long after: no second chance");
    }

    #[test]
    fn a_rolled_back_trial_is_reported_whatever_the_time() {
        let back = trial().rolled_back("no heartbeat within 30 s");
        assert_eq!(back.step(0), Step::Report("no heartbeat within 30 s".into()));
        assert_eq!(back.step(i64::MAX), Step::Report("no heartbeat within 30 s".into()));
        assert!(back.failure("x").starts_with("upgrade to 0.2.0 (sha256 bb) rolled back to the previous binary (sha256 aa): x"));
    }

    #[test]
    fn the_file_is_plain_json_and_reads_back() {
        let back = trial().rolled_back("why");
        let json = serde_json::to_value(&back).unwrap_or_default();
        assert_eq!(json["phase"], "rolled_back");
        assert_eq!(json["reason"], "why");
        assert_eq!(json["job"], 7);
        let read: Trial = serde_json::from_value(json).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(read, back);
        let plain = serde_json::to_value(trial()).unwrap_or_default();
        assert_eq!(plain["phase"], "trial");
        assert!(serde_json::from_value::<Trial>(plain).is_ok());
    }
}
