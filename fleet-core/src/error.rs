//! The crate's one error type. The server maps each variant to an HTTP status (404, 409, 422,
//! 401, 403, 500), so variants are about what went wrong for the caller, not where.

use haproxy_model::Diagnostic;

/// Everything a fleet-core operation can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The named thing does not exist (`cluster 7`, `transaction 12`, `backend app`).
    #[error("{0} not found")]
    NotFound(String),
    /// The request clashes with existing state (a duplicate name, a closed transaction).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The base version is no longer the latest: another commit won.
    #[error("version {base} is outdated: the latest version is {latest}")]
    Outdated {
        /// The version the change was based on.
        base: i64,
        /// The latest version when the change was refused.
        latest: i64,
    },
    /// The input is invalid; `diagnostics` locate configuration problems when there are any.
    #[error("invalid: {message}")]
    Invalid {
        /// What is wrong, lowercase.
        message: String,
        /// Configuration diagnostics (errors first, then warnings), possibly empty.
        diagnostics: Vec<Diagnostic>,
    },
    /// A request body that breaks its resource's schema (a required field missing, a value
    /// outside its enum or pattern): the Data Plane API surface answers 422 for it, as
    /// upstream's does, where it answers 400 for a body it cannot apply ([`Error::Invalid`]).
    #[error("malformed: {0}")]
    Malformed(String),
    /// Missing, wrong or expired credentials.
    #[error("unauthorized")]
    Unauthorized,
    /// An agent token that was revoked by a decommission or a forced delete of its cluster:
    /// what the node should do (stop HAProxy or not) before its agent exits. The server answers
    /// 410 Gone.
    #[error("agent {} was decommissioned by {} ({})", .0.agent, .0.by, .0.reason)]
    Decommissioned(Box<crate::wire::Decommission>),
    /// Valid credentials that do not allow this action.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The database failed.
    #[cfg(feature = "store")]
    #[error("storage error: {0}")]
    Storage(sqlx::Error),
    /// The database's disk is full (SQLite `SQLITE_FULL`, PostgreSQL class 53 `disk_full`,
    /// `ENOSPC`): nothing was written, and writes succeed again once space is freed, without a
    /// restart. Holds the database's own words.
    #[error("storage full: {0}")]
    StorageFull(String),
    /// The database file or its folder cannot be used (missing folder, read-only file system,
    /// permissions): found when the store opens, with the operating system's reason.
    #[error("database file {path}: {reason}")]
    DatabaseFile {
        /// The file or folder at fault.
        path: String,
        /// Why, as the operating system said it.
        reason: String,
    },
    /// The caller holds as many of something as a limit allows (open transactions, waiting
    /// long-polls: [`crate::limits`]); the message names the limit and its flag.
    #[error("{0}")]
    TooMany(String),
    /// The request is larger than a limit allows (ops in one transaction: [`crate::limits`]);
    /// the message names the limit and its flag.
    #[error("{0}")]
    TooLarge(String),
    /// Embedded migrations failed.
    #[cfg(feature = "store")]
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// Something stored could not be decoded (corrupt JSON, unknown enum value).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// A password could not be hashed, or the system random source failed.
    #[error("crypto error: {0}")]
    Crypto(String),
    /// Too many failed logins for this username or source: try again after `retry_after_ms`.
    #[error("too many failed logins: retry in {} s", crate::auth::throttle::retry_after_secs(*retry_after_ms))]
    Throttled {
        /// How long to wait, in ms.
        retry_after_ms: i64,
    },
}

#[cfg(feature = "store")]
impl From<sqlx::Error> for Error {
    /// Every database error enters here, so a full disk is recognised wherever it happens.
    fn from(error: sqlx::Error) -> Self {
        match crate::store::disk_full(&error) {
            Some(words) => Error::StorageFull(words),
            None => Error::Storage(error),
        }
    }
}

impl From<crate::bundle::BundleError> for Error {
    fn from(error: crate::bundle::BundleError) -> Self {
        Error::invalid(error.to_string())
    }
}

impl From<crate::bundle::PathError> for Error {
    fn from(error: crate::bundle::PathError) -> Self {
        Error::invalid(error.to_string())
    }
}

impl Error {
    /// An [`Error::Invalid`] without diagnostics.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::Invalid { message: message.into(), diagnostics: Vec::new() }
    }

    /// An [`Error::NotFound`] for `what`.
    pub fn not_found(what: impl Into<String>) -> Self {
        Error::NotFound(what.into())
    }
}

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error and its causes, `: `-joined (`error sending request: connection refused`): HTTP
/// clients' own message names only the request, not why it failed (refused, TLS, timeout).
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}
