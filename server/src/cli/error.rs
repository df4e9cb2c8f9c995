//! The errors that stop a command before it can judge a configuration: bad usage, I/O, input
//! that is not UTF-8, a checker that cannot run. They all exit with status 2, so that scripts
//! can tell "the tool failed" from "the configuration has problems" (status 1).

use std::path::PathBuf;

/// Why a command could not do its job.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    /// The input is not UTF-8 text.
    #[error("{path}: not UTF-8: invalid byte sequence at byte offset {offset} (line {line})")]
    NotUtf8 { path: String, offset: usize, line: usize },
    /// The arguments make no sense together.
    #[error("{0}")]
    Usage(String),
    /// The external checker could not be started or was killed.
    #[error("cannot run {bin}: {reason}")]
    Checker { bin: PathBuf, reason: String },
    /// `haproxy -c` gave no verdict (could not start, killed, timed out).
    #[error(transparent)]
    Haproxy(#[from] fleet_core::haproxy_check::CheckError),
    /// Writing to standard output failed (a closed pipe, a full disk).
    #[error("cannot write to standard output: {0}")]
    Stdout(std::io::Error),
}
