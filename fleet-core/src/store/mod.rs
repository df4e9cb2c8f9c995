//! Storage on sqlx's `Any` driver: one code path and one schema (`migrations/`) for SQLite and
//! PostgreSQL.
//!
//! Why `Any` and not an enum over two pools: every query here binds and reads only `i64`,
//! `String` and NULLs (times are Unix milliseconds, JSON is TEXT), which `Any` supports on both
//! databases; both accept `$N` placeholders (sqlx-sqlite maps them); migrations run through `Any`;
//! and write transactions can still differ where they must (`BEGIN IMMEDIATE` on SQLite via
//! `begin_with`). An enum over `SqlitePool`/`PgPool` would have duplicated every query function.
//! The two differ on purpose in two more places, both for speed at 10,000 agents: statements of
//! many rows ([`rows`]: `VALUES` lists of `?` on SQLite, one JSON parameter on PostgreSQL) and
//! the room PostgreSQL's pages keep for updates ([`fillfactor`]).
//!
//! Concurrency is enforced by the database, not by this process: the primary key
//! `(cluster_id, number)` of `config_versions` lets exactly one of several concurrent commits on
//! the same base insert the next number, and state changes of transactions are conditional
//! updates (`... WHERE state = 'open'`). Two stores on one PostgreSQL database (two server
//! replicas) therefore never corrupt each other.

mod access;
mod accounts;
mod acme;
mod agent_admin;
mod agent_tokens;
mod agents;
pub(crate) mod audit;
mod auth;
mod basic;
pub(crate) mod bundles;
mod certificates;
mod check;
mod diff_cache;
mod drift;
mod clusters;
mod dns_providers;
mod durability;
mod fillfactor;
mod alerts;
mod events;
mod failover;
mod enrol;
mod keepalived_adopt;
mod lifecycle;
mod limits;
mod login;
mod maps;
mod metrics;
mod mfa;
mod notify;
mod answers;
mod batch;
mod heartbeats;
mod renewals;
mod reports;
mod rule_hits;
mod rules;
mod rollouts;
mod rows;
mod runtime;
mod schedules;
mod secrets;
mod served;
mod stats;
mod transactions;
mod vips;

pub use bundles::BundleStorage;
pub use access::{AdminBootstrap, TextAt, ADMIN_USERNAME};
pub use accounts::{SecuritySettings, UserChange};
pub use certificates::{Deployed, ExpiryWarning, NewCertificate, Replaced, Rollout};
pub use acme::{OrderUpdate, MAX_ORDER_NAMES};
pub use agents::MAX_ENROLMENT_TTL_MS;
pub use stats::{Compacted, StatsQuery, MAX_QUERY_SERIES, MAX_SAMPLE_ROWS};
pub use auth::{MAX_API_TOKEN_TTL_MS, MIN_PASSWORD_LEN};
pub use login::{Credentials, SignIn};
pub use mfa::MfaEnrolment;
pub use enrol::{EnrolmentRequest, InstallSource, IssuedEnrolment};
pub use notify::{DesiredWatch, DESIRED_CHANNEL};
pub use rollouts::{Control, MAX_LISTED_ROLLOUTS};
pub use secrets::StoredSecret;
pub use transactions::Preview;
pub use audit::AuditFilter;
pub(crate) use audit::Audit;
pub use check::{CandidateCheck, HaproxyVerdict};
pub use vips::VipChange;
pub use rules::RuleChange;
pub use failover::FailoverTick;
pub use alerts::{Alert, AlertNotice};
pub use events::FleetEvent;
mod versions;

pub(crate) use durability::disk_full;
pub(crate) use durability::DATABASE_MODE;

use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};

use crate::candidate;
use crate::clock::{random_id, Clock, OsRandom, Random, SystemClock};
use crate::documents::DocumentCache;
use crate::haproxy_check::{CheckError, HaproxyChecker};
use crate::secrets::Keyring;
use crate::error::{Error, Result};

/// The database behind a [`Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// A SQLite file in WAL mode.
    Sqlite,
    /// A PostgreSQL database, possibly shared by several server replicas.
    Postgres,
}

/// How to open a [`Store`].
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// The clock every `*_at` column and expiry reads.
    pub clock: Arc<dyn Clock>,
    /// The source of ids, salts and tokens.
    pub random: Arc<dyn Random>,
    /// Pool size (SQLite serialises writers anyway; readers run in parallel in WAL mode).
    pub max_connections: u32,
    /// How long SQLite waits for a writer lock, and how long the pool waits for a connection.
    pub busy_timeout: Duration,
    /// The real `haproxy -c` the gate consults when the offline check finds errors
    /// (`fleet serve --haproxy-bin`): its verdict decides ([`crate::candidate`]).
    pub haproxy: Option<HaproxyChecker>,
    /// Open transactions per user, ops per transaction ([`crate::limits`]).
    pub limits: crate::limits::Limits,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            clock: Arc::new(SystemClock),
            random: Arc::new(OsRandom),
            max_connections: 8,
            busy_timeout: Duration::from_secs(10),
            haproxy: None,
            limits: crate::limits::Limits::default(),
        }
    }
}

/// The fleet's persistent state. Cheap to clone: one reference count ([`Shared`]), as every
/// request clones it, often more than once, on every core.
#[derive(Debug, Clone)]
pub struct Store {
    shared: Arc<Shared>,
}

/// What every clone of a [`Store`] shares.
#[derive(Debug)]
struct Shared {
    pool: AnyPool,
    backend: Backend,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
    haproxy: Option<Arc<HaproxyChecker>>,
    /// Parsed versions by sha256 (see [`crate::documents`]).
    documents: DocumentCache,
    /// Diffs between versions ([`diff_cache`]).
    diffs: diff_cache::DiffCache,
    /// The queue of the writer of agents' heartbeats and apply reports ([`batch`]).
    agent_writes: batch::Batcher<batch::AgentWrite>,
    /// The queue of agent token lookups ([`agent_tokens`]).
    token_lookups: batch::Batcher<agent_tokens::TokenLookup>,
    limits: crate::limits::Limits,
    /// The key ring that seals bundle files holding a private key ([`Store::use_keyring`]);
    /// replaced, not only set once, because a rotation changes it.
    keyring: std::sync::RwLock<Option<Arc<Keyring>>>,
    /// The event stream's sender ([`Store::subscribe_events`]).
    events: tokio::sync::broadcast::Sender<Arc<events::FleetEvent>>,
    /// Bumped whenever a job or a cancel is queued, so waiting jobs long-polls of this process
    /// look at once ([`crate::jobs`]); other replicas' long-polls look every 250 ms.
    jobs_wake: tokio::sync::watch::Sender<u64>,
}

pub(crate) type Tx = sqlx::Transaction<'static, sqlx::Any>;

impl Store {
    /// Opens (creating a SQLite file if needed) and migrates the database at `url`:
    /// `sqlite:/path/fleet.db`, `sqlite://relative.db` or `postgres://user@host:port/db`.
    pub async fn open(url: &str, options: StoreOptions) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if url.starts_with("sqlite:") {
            durability::prepare_sqlite(url)?;
            let url = if url.contains("mode=") {
                url.to_string()
            } else if url.contains('?') {
                format!("{url}&mode=rwc")
            } else {
                format!("{url}?mode=rwc")
            };
            (Backend::Sqlite, url)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            (Backend::Postgres, url.to_string())
        } else {
            return Err(Error::invalid(format!(
                "unsupported database url {:?}: expected sqlite:PATH or postgres://...",
                redact(url)
            )));
        };
        let busy_ms = options.busy_timeout.as_millis();
        let pool = AnyPoolOptions::new()
            .max_connections(options.max_connections.max(2))
            .acquire_timeout(options.busy_timeout.max(Duration::from_secs(1)) * 3)
            // A SQLite connection does not break while idle, and the ping sqlx sends before
            // handing one out is a hop to its thread and back: as costly as a small query.
            .test_before_acquire(!matches!(backend, Backend::Sqlite))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if conn.backend_name().eq_ignore_ascii_case("sqlite") {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute(format!("PRAGMA busy_timeout = {busy_ms}").as_str()).await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        // FULL: a commit is on disk, WAL included, before it is acknowledged,
                        // so an acknowledged version survives power loss (NORMAL may lose the
                        // last commits of the WAL).
                        conn.execute("PRAGMA synchronous = FULL").await?;
                    }
                    Ok(())
                })
            })
            .after_release(|conn, _meta| Box::pin(durability::fit_for_reuse(conn)))
            .connect(&url)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        fillfactor::apply(&pool, backend).await?;
        let haproxy = options.haproxy.map(Arc::new);
        let store = Store { shared: Arc::new(Shared {
            pool,
            backend,
            clock: options.clock,
            random: options.random,
            haproxy,
            documents: DocumentCache::default(),
            diffs: diff_cache::DiffCache::default(),
            agent_writes: batch::Batcher::default(),
            token_lookups: batch::Batcher::default(),
            limits: options.limits,
            keyring: std::sync::RwLock::default(),
            events: tokio::sync::broadcast::channel(events::CAPACITY).0,
            jobs_wake: tokio::sync::watch::Sender::new(0),
        }) };
        store.backfill_bundles().await?;
        store.backfill_username_keys().await?;
        Ok(store)
    }

    /// Opens a SQLite database file, creating it (and its folder) when missing.
    pub async fn open_sqlite(path: &std::path::Path, options: StoreOptions) -> Result<Store> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(sqlx::Error::Io)?;
        }
        Store::open(&format!("sqlite://{}", path.display()), options).await
    }

    /// Which database this store uses.
    pub fn backend(&self) -> Backend {
        self.shared.backend
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.shared.pool.close().await;
    }

    /// The store's clock, in Unix ms (a manual clock in tests): what "online" and "ago" are
    /// measured against.
    pub fn now(&self) -> i64 {
        self.shared.clock.now_ms()
    }

    /// The store's clock (a backup's `created_at`).
    pub(crate) fn clock(&self) -> Arc<dyn Clock> {
        self.shared.clock.clone()
    }

    pub(crate) fn new_id(&self) -> Result<i64> {
        random_id(self.shared.random.as_ref())
    }

    pub(crate) fn random(&self) -> &dyn Random {
        self.shared.random.as_ref()
    }

    /// Gives this store (and every clone of it) the key ring that seals bundle files holding a
    /// private key and opens them again. [`Store::keyring`] calls it with the ring it loads (how
    /// the server gets one); library users and tests that write such files call it themselves.
    /// Without a ring, writing such a file or reading a sealed one is an [`Error::Crypto`].
    pub fn use_keyring(&self, ring: Keyring) {
        *self.shared.keyring.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(ring));
    }

    /// The ring given with [`Store::use_keyring`], if any.
    pub(crate) fn ring(&self) -> Option<Arc<Keyring>> {
        self.shared.keyring.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Begins a transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`, waiting up to the busy timeout) so it can never fail later on lock
    /// upgrade; on PostgreSQL conflicts surface as unique violations or conditional updates.
    pub(crate) async fn write_tx(&self) -> Result<Tx> {
        let begin = match self.shared.backend {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        Ok(self.shared.pool.begin_with(begin).await?)
    }

    /// Bumped whenever a job or a cancel is queued ([`crate::jobs`]).
    pub(crate) fn jobs_wake(&self) -> &tokio::sync::watch::Sender<u64> {
        &self.shared.jobs_wake
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.shared.pool
    }

    /// The candidate gate on a whole bundle, with the cluster's settings (managed directory,
    /// files the nodes provide): [`candidate::check_bundle`] (its config files as one
    /// configuration, and the files they reference), then, when it finds errors and a
    /// `haproxy -c` is configured, HAProxy's verdict on the bundle materialised in a private
    /// folder ([`candidate::haproxy_check_bundle`], on a blocking thread).
    pub(crate) async fn gate_bundle(
        &self,
        bundle: &crate::bundle::Bundle,
        settings: &crate::model::ClusterSettings,
    ) -> Result<Vec<haproxy_model::Diagnostic>> {
        let offline = candidate::check_bundle(bundle, settings);
        let checker = match &self.shared.haproxy {
            Some(checker) if offline.iter().any(haproxy_model::Diagnostic::is_error) => checker.clone(),
            _ => return candidate::decide(offline, None),
        };
        let (bundle, settings) = (bundle.clone(), settings.clone());
        let bin = checker.bin().to_path_buf();
        let verdict = tokio::task::spawn_blocking(move || candidate::haproxy_check_bundle(&bundle, &settings, &checker))
            .await
            .unwrap_or_else(|e| Err(CheckError::Interrupted { bin, reason: e.to_string() }));
        candidate::decide(offline, Some(verdict))
    }
}

/// Hides a password in a database URL before it goes into a message.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme + 3], &userinfo[..colon], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Maps a unique violation to [`Error::Conflict`] with `message`, other errors to storage errors.
pub(crate) fn unique_to_conflict(error: sqlx::Error, message: impl FnOnce() -> String) -> Error {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::Conflict(message()),
        _ => Error::from(error),
    }
}

/// True when `error` is a unique (or primary key) violation.
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Reads a JSON TEXT column.
pub(crate) fn json_column<T: serde::de::DeserializeOwned>(row: &AnyRow, column: &str) -> Result<T> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|e| Error::Corrupt(format!("column {column}: {e}")))
}

/// Serialises a value for a JSON TEXT column.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Corrupt(format!("cannot encode JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn urls_lose_their_password_in_messages() {
        assert_eq!(redact("postgres://u:secret@h:5/db"), "postgres://u:***@h:5/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("mysql:x"), "mysql:x");
    }
}
