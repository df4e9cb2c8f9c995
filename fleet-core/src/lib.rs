//! The HAProxy Fleet domain.
//!
//! ```text
//! text -> haproxy_parse -> Document -> typed edit ops -> candidate -> check -> new version
//!                                                        \-> diff against any version
//! ```
//!
//! - [`ops`]: typed edit ops ([`EditOp`]) applied in order to the lossless document; an edit
//!   changes only the lines it must, so a version keeps every byte the operator wrote.
//! - [`candidate`]: the text a change produces, and the gate it must pass: the offline check,
//!   overruled by the real `haproxy -c` ([`haproxy_check`]) where one is configured.
//! - [`haproxy_check`]: runs `haproxy -c` and reads its output back into located diagnostics
//!   (used by the server's gate, `fleet config check` and the agent).
//! - [`documents`]: parsed versions cached by sha256, so reads, stages and commits do not parse
//!   an immutable version twice.
//! - [`Store`] (feature `store`, sqlx on SQLite or PostgreSQL): pools, clusters, the chain of
//!   immutable config versions, transactions with optimistic concurrency (begin at the latest
//!   version, a commit after another commit won fails with [`Error::Outdated`], enforced by the
//!   database so several server replicas never corrupt each other), users, sessions and tokens
//!   (stored hashed), enrolments, agents, apply state and the audit log, which every state change
//!   writes in the same database transaction.
//! - [`metrics`]: the fleet's Prometheus families (agents by state, versions, apply outcomes,
//!   runtime per server, certificate expiry, DNS failover, VIPs) from one store snapshot.
//! - [`release`] (feature `release`): signed agent releases (Ed25519 over the binary's sha256,
//!   version and platform) and the trial an upgraded agent runs under until it heartbeats.
//! - [`rules`]: traffic rules (WAF): typed protections rendered into generated frontend regions.
//! - [`maps`]: map files' entries read as HAProxy loads them and edited line by line (a version
//!   agents take through the runtime API, no reload).
//! - [`rollouts`]: staged applies (canary, batches, soak, halt or rollback), persisted and
//!   driven by every server replica; which version each agent is told.
//! - [`clock`]: time and randomness are injected so tests are deterministic.

#[cfg(feature = "store")]
pub mod alerts;
pub mod apply;
pub mod auth;
pub mod backoff;
#[cfg(feature = "store")]
pub mod backup;
pub mod bundle;
pub mod candidate;
#[cfg(feature = "store")]
pub mod certs;
pub mod clock;
pub mod convergence;
pub mod dataplane;
pub mod diff;
#[cfg(feature = "store")]
pub mod dns;
pub mod failover;
pub mod documents;
mod error;
pub mod fingerprint;
pub mod haproxy_check;
pub mod install;
pub mod jobs;
pub mod limits;
pub mod metrics;
mod line_diff;
pub mod maps;
mod model;
pub mod monitor;
#[cfg(feature = "store")]
pub mod notify;
pub mod ops;
pub mod rbac;
pub mod read;
pub mod rollouts;
#[cfg(feature = "release")]
pub mod release;
pub mod runtime;
#[cfg(feature = "store")]
pub mod schedules;
pub mod secret;
pub mod secrets;
#[cfg(feature = "store")]
mod store;
pub mod rules;
pub mod vip;
pub mod wire;

pub use clock::{Clock, ManualClock, OsRandom, Random, SeededRandom, SystemClock};
pub use error::{with_causes, Error, Result};
pub use model::{
    Actor, Agent, AgentPrincipal, AgentReport, ApiToken, ApplyOutcome, AuditEntry, Cluster, ClusterSettings, ClusterStatus, Committed,
    ConfigVersion, Enrolment, Pool, ReloadMode, Role, Transaction, TransactionState, User, VersionInfo,
};
pub use ops::{EditOp, SectionRef};
#[cfg(feature = "store")]
pub use store::{AuditFilter, CandidateCheck, HaproxyVerdict};
#[cfg(feature = "store")]
pub use store::{Backend, BundleStorage, EnrolmentRequest, InstallSource, IssuedEnrolment, Preview, Store, StoreOptions, MIN_PASSWORD_LEN};
#[cfg(feature = "store")]
pub use store::{Control, MAX_LISTED_ROLLOUTS};
#[cfg(feature = "store")]
pub use store::{AdminBootstrap, DesiredWatch, StoredSecret, TextAt, ADMIN_USERNAME, DESIRED_CHANNEL};
#[cfg(feature = "store")]
pub use store::{Deployed, ExpiryWarning, NewCertificate, Replaced, Rollout};
#[cfg(feature = "store")]
pub use store::{OrderUpdate, MAX_ORDER_NAMES};
#[cfg(feature = "store")]
pub use store::{Alert, AlertNotice, FailoverTick, FleetEvent, RuleChange, VipChange};
#[cfg(feature = "store")]
pub use store::{Compacted, StatsQuery, MAX_QUERY_SERIES, MAX_SAMPLE_ROWS};
pub use model::PoolRole;
#[cfg(feature = "store")]
pub use store::{Credentials, MfaEnrolment, SecuritySettings, SignIn, UserChange, MAX_API_TOKEN_TTL_MS, MAX_ENROLMENT_TTL_MS};
