//! Test stores: a SQLite file in a temp dir, or a fresh database on the test PostgreSQL server.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use fleet_core::{ManualClock, SeededRandom, Store, StoreOptions};
use sqlx::{Connection, Executor};

/// The start of every test clock: 2026-01-01T00:00:00Z.
pub(crate) const T0: i64 = 1_767_225_600_000;

/// A store plus what keeps its database alive, and its clock.
pub(crate) struct Harness {
    pub(crate) store: Store,
    pub(crate) clock: Arc<ManualClock>,
    /// The URL, to open a second store (a second replica) on the same database.
    pub(crate) url: String,
    _dir: Option<TempDir>,
}

impl Harness {
    /// Another store on the same database, with its own pool and random seed (another replica).
    pub(crate) async fn replica(&self, seed: u64) -> Store {
        Store::open(&self.url, options(self.clock.clone(), seed)).await.unwrap()
    }
}

/// Which database a suite variant runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Db {
    Sqlite,
    Postgres,
}

pub(crate) fn options(clock: Arc<ManualClock>, seed: u64) -> StoreOptions {
    StoreOptions { clock, random: Arc::new(SeededRandom::new(seed)), ..StoreOptions::default() }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{}_{}_{}", std::process::id(), nanos % 1_000_000_000, COUNTER.fetch_add(1, Ordering::SeqCst))
}

/// A directory removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!("fleet-core-test-{}", unique_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub(crate) fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A store on `db`, or `None` (after printing why) when PostgreSQL is not configured.
pub(crate) async fn harness(db: Db) -> Option<Harness> {
    let clock = Arc::new(ManualClock::new(T0));
    match db {
        Db::Sqlite => {
            let dir = TempDir::new();
            let url = format!("sqlite://{}", dir.0.join("fleet.db").display());
            let store = Store::open(&url, options(clock.clone(), 1)).await.unwrap();
            Some(Harness { store, clock, url, _dir: Some(dir) })
        }
        Db::Postgres => {
            let Ok(base) = std::env::var("FLEET_TEST_POSTGRES_URL") else {
                eprintln!("FLEET_TEST_POSTGRES_URL is not set: skipping the PostgreSQL variant (./scripts/test sets it)");
                return None;
            };
            let name = format!("fleet_test_{}", unique_suffix());
            let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
            admin.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
            admin.close().await.unwrap();
            let url = match base.rfind('/') {
                Some(slash) if slash > "postgres://".len() => format!("{}/{name}", &base[..slash]),
                _ => format!("{base}/{name}"),
            };
            let store = Store::open(&url, options(clock.clone(), 1)).await.unwrap();
            Some(Harness { store, clock, url, _dir: None })
        }
    }
}

/// Declares each listed `async fn name(h: Harness)` as two tests, `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! store_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let h = $crate::support::harness($crate::support::Db::Sqlite).await.unwrap();
                    super::$name(h).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(h) = $crate::support::harness($crate::support::Db::Postgres).await else { return };
                    super::$name(h).await;
                }
            )*
        }
    };
}

pub(crate) use fleet_tests::corpus_dir;

pub(crate) use fleet_tests::cases_dir;

/// A small configuration with comments, odd spacing, tabs and CRLF-free LF endings.
/// A heartbeat that carries only `facts` and the interval (the rest keeps what is stored).
pub(crate) fn beat(facts: Option<serde_json::Value>, heartbeat_seconds: Option<u64>) -> fleet_core::wire::Heartbeat {
    fleet_core::wire::Heartbeat { facts, heartbeat_seconds, ..Default::default() }
}

pub(crate) const SAMPLE: &str = "\
# managed by hand, keep comments
global
    daemon
    maxconn 4096   # raised in 2024

defaults
    mode http
    timeout connect 5s
    timeout client  30s
    timeout server  30s

frontend web
    bind :80
    acl is_api path_beg /api
    http-request deny if { src 10.0.0.0/8 }   # block internal
    use_backend api if is_api
    default_backend app

# the application servers
backend app
    balance roundrobin
    server app1 10.0.0.1:8080   check weight 10   # primary
\tserver app2 10.0.0.2:8080 check
    # app3 retired

backend api
    server api1 10.0.1.1:9000 check
";
