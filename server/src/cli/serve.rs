//! `fleet serve`: opens the database, creates the first admin when there is none, then serves
//! the HTTP API until SIGTERM or SIGINT, draining requests for at most the grace period.
//!
//! Everything that can be wrong with the arguments, the database or the master key is found
//! before the port is bound; a second signal during the drain is not needed (the grace timer
//! ends it). With `--tls-*` the same application is served over rustls (HTTP/2 and HTTP/1.1);
//! plain HTTP on an address other than loopback is served with a warning.

use std::future::{Future, IntoFuture};
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::ValueEnum;
use fleet_core::certs::acme::driver::{AcmeDriver, DriverOptions};
use fleet_core::alerts::evaluator::Evaluator;
use fleet_core::failover::decider::Decider;
use fleet_core::schedules::targets::Targets;
use fleet_core::schedules::Engine;
use fleet_core::certs::renewal::{RenewalPolicy, RenewalScheduler};
use fleet_core::haproxy_check::HaproxyChecker;
use fleet_core::secrets::{KeyFile, KEY_FILE_NAME};
use fleet_core::{AdminBootstrap, DesiredWatch, Store, StoreOptions, ADMIN_USERNAME};
use tokio::sync::watch;

use super::tls::{self, TlsArgs};
use crate::http::{app, metrics::Metrics, AgentFile, AppState, Shared};

/// Arguments of `fleet serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Address to listen on (`127.0.0.1:0` picks a free port; the chosen one is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Data directory: the SQLite database is `<data>/fleet.db`.
    #[arg(long, default_value = "fleet-data")]
    data: PathBuf,
    /// Database URL instead of the SQLite file (`postgres://user@host/db` for several replicas).
    #[arg(long)]
    database: Option<String>,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// The URL agents reach this server at, for enrolment install commands (default: from the
    /// request's Host header).
    #[arg(long)]
    public_url: Option<String>,
    /// Seconds to let running requests finish after SIGTERM/SIGINT.
    #[arg(long, default_value_t = 10)]
    grace_seconds: u64,
    /// Seconds every agent of a cluster has to run an ACME challenge before the order fails.
    #[arg(long, default_value_t = 120)]
    acme_agents_timeout_seconds: u64,
    /// Seconds between two passes of the certificate renewal scheduler (ARI windows, due
    /// certificates, ACME orders for them).
    #[arg(long, default_value_t = 60)]
    renewal_interval_seconds: u64,
    /// ACME orders allowed per name in any 24 hours before the renewal scheduler refuses the
    /// next one (a runaway guard: a loop would otherwise burn the CA's rate limits).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    acme_max_orders_per_day: u32,
    /// Lifetime of a login session, in seconds.
    #[arg(long, default_value_t = 12 * 3600)]
    session_ttl_seconds: u64,
    /// How long a Data Plane API write waits for every node to run the new version before it
    /// answers 202 with a reload id (`/dataplane/...`), in seconds.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=300))]
    dataplane_wait_seconds: u64,
    /// Default lifetime of an enrolment secret, in seconds.
    #[arg(long, default_value_t = 24 * 3600)]
    enrolment_ttl_seconds: u64,
    /// The `haproxy` binary the configuration gate consults when the offline check finds errors:
    /// its `haproxy -c` verdict decides (accepted: the version is created and the offline errors
    /// are returned as warnings; rejected: 422 with HAProxy's diagnostics).
    #[arg(long, value_name = "PATH")]
    haproxy_bin: Option<PathBuf>,
    /// An extra argument for the gate's `haproxy -c` (repeat for several), e.g.
    /// `--haproxy-arg=-dr` when the server cannot resolve the nodes' server names.
    #[arg(long = "haproxy-arg", value_name = "ARG", allow_hyphen_values = true, requires = "haproxy_bin")]
    haproxy_args: Vec<String>,
    /// Also run a local fleet-agent (process mode) on a `demo` cluster with a loopback config,
    /// where haproxy is installed.
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_self_signed"])]
    demo: bool,
    /// The master key that seals the secrets the server reads back (default
    /// `<data>/secret.key`): created mode 0600 at first start; a wrong or missing key while
    /// sealed secrets exist stops the server instead of making a new one.
    #[arg(long, value_name = "FILE")]
    secret_key_file: Option<PathBuf>,
    /// At most this many servers (cluster, backend, server) in the `/metrics` fleet_server_*
    /// families; the rest are counted in `fleet_metrics_servers_dropped`.
    #[arg(long, value_name = "N", default_value_t = fleet_core::metrics::DEFAULT_MAX_SERVERS)]
    metrics_max_servers: usize,
    /// Ask `/metrics` for `Authorization: Bearer TOKEN` (401 without it); default: open.
    #[arg(long, value_name = "TOKEN", conflicts_with = "metrics_token_file")]
    metrics_token: Option<String>,
    /// The `/metrics` bearer token read from a file (surrounding blanks and newlines dropped),
    /// so it does not show in the process list.
    #[arg(long, value_name = "PATH")]
    metrics_token_file: Option<PathBuf>,
    /// The fleet-agent binary handed out at `/install/fleet-agent` for the install script at
    /// `/install/agent.sh` (default: /usr/lib/fleet/fleet-agent, where the `fleet` package puts
    /// it, else the `fleet-agent` beside this program; neither: no script install).
    #[arg(long, value_name = "PATH")]
    agent_binary: Option<PathBuf>,
    /// A folder of signed agent releases offered to `upgrade-agent` jobs: each binary beside
    /// its `.sig` from `fleet release sign` (read when asked: drop a release in, no restart).
    /// Unsigned binaries are never offered.
    #[arg(long, value_name = "DIR")]
    releases: Option<PathBuf>,
    /// The release public key (`ed25519:...` from `fleet release keygen`): every enrolment
    /// answer carries it and the agent pins it; agents enrolled without one refuse upgrades.
    #[arg(long, value_name = "ed25519:BASE64", value_parser = release_key)]
    release_public_key: Option<fleet_core::release::PublicKey>,
    #[command(flatten)]
    tls: TlsArgs,
    #[command(flatten)]
    limits: super::limits::LimitArgs,
    #[command(flatten)]
    alerts: super::alerts::AlertArgs,
}

impl Args {
    /// The `/metrics` settings, with the token from `--metrics-token` or its file.
    fn metrics(&self) -> Result<Metrics, ServeError> {
        let token = match (&self.metrics_token, &self.metrics_token_file) {
            (Some(token), _) => Some(token.clone()),
            (None, Some(path)) => Some(
                std::fs::read_to_string(path)
                    .map_err(|source| ServeError::MetricsToken { path: path.display().to_string(), source })?
                    .trim()
                    .to_string(),
            ),
            (None, None) => None,
        };
        if token.as_deref() == Some("") {
            return Err(ServeError::EmptyMetricsToken);
        }
        let options = fleet_core::metrics::MetricsOptions { max_servers: self.metrics_max_servers };
        Ok(Metrics::new(token, options))
    }
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Why `fleet serve` stopped with an error.
#[derive(Debug, thiserror::Error)]
enum ServeError {
    #[error("cannot create data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("{0}")]
    Store(#[from] fleet_core::Error),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("server failed: {0}")]
    Serve(std::io::Error),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("{0}")]
    Demo(String),
    #[error("--haproxy-bin: {0}")]
    Haproxy(#[from] fleet_core::haproxy_check::CheckError),
    #[error("{0}")]
    Tls(#[from] tls::TlsError),
    #[error("--smtp-url: {0}")]
    Smtp(#[from] fleet_core::notify::MailError),
    #[error("cannot read --metrics-token-file {path}: {source}")]
    MetricsToken { path: String, source: std::io::Error },
    #[error("the metrics token is empty")]
    EmptyMetricsToken,
    #[error("cannot read --agent-binary {path}: {source}")]
    AgentBinary { path: String, source: std::io::Error },
}

/// `--release-public-key`'s parser: fleet-core's, with its message.
fn release_key(text: &str) -> Result<fleet_core::release::PublicKey, String> {
    text.parse().map_err(|e: fleet_core::release::ReleaseError| e.to_string())
}

/// Where the package puts the agent binary the server hands out.
const PACKAGED_AGENT: &str = "/usr/lib/fleet/fleet-agent";

/// The agent binary to hand out: `--agent-binary` (which must be readable), else the packaged one,
/// else the one beside this program, else none.
async fn agent_file(asked: Option<&Path>) -> Result<Option<Arc<AgentFile>>, ServeError> {
    if let Some(path) = asked {
        let file = AgentFile::load(path)
            .await
            .map_err(|source| ServeError::AgentBinary { path: path.display().to_string(), source })?;
        return Ok(Some(file));
    }
    let beside = std::env::current_exe().ok().and_then(|exe| exe.parent().map(|dir| dir.join("fleet-agent")));
    for candidate in std::iter::once(PathBuf::from(PACKAGED_AGENT)).chain(beside) {
        if candidate.is_file() {
            if let Ok(file) = AgentFile::load(&candidate).await {
                tracing::info!(path = %candidate.display(), sha256 = %file.download.sha256, "handing out this agent at /install/fleet-agent");
                return Ok(Some(file));
            }
        }
    }
    Ok(None)
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    // A second initialisation (tests) keeps the first subscriber.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Writes one line to stdout (ignoring a closed stdout rather than panicking like `println!`).
pub(super) fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Turns transparent huge pages off for this process. mimalloc advises them for its arenas,
/// and a huge page is resident whole (2 MiB) however little of it is in use: at 10,000 agents
/// the server's peak RSS was 885 MiB with them and 711 MiB without (what
/// `MIMALLOC_ALLOW_THP=0` does at start). A kernel that refuses keeps them: only memory is lost.
fn huge_pages_off() {
    if let Err(error) = rustix::thread::disable_transparent_huge_pages(true) {
        tracing::debug!(%error, "transparent huge pages stay on");
    }
}

pub(crate) fn run(args: Args) -> ExitCode {
    init_logs(args.log_format);
    huge_pages_off();
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)
        .and_then(|runtime| runtime.block_on(serve(args)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "fleet serve stopped");
            let _ = writeln!(std::io::stderr(), "fleet: error: {error}");
            ExitCode::from(1)
        }
    }
}

async fn serve(args: Args) -> Result<(), ServeError> {
    let mailer = args.alerts.mailer()?;
    let metrics = Arc::new(args.metrics()?);
    let url = match &args.database {
        Some(url) => url.clone(),
        None => {
            std::fs::create_dir_all(&args.data)
                .map_err(|source| ServeError::DataDir { path: args.data.display().to_string(), source })?;
            format!("sqlite://{}", args.data.join("fleet.db").display())
        }
    };
    let haproxy = match &args.haproxy_bin {
        Some(bin) => {
            // A wrong path is found now, not at the first import that needs HAProxy's verdict.
            let checker = HaproxyChecker::new(bin).with_args(args.haproxy_args.iter().cloned());
            let version = checker.version()?;
            tracing::info!(%version, "the configuration gate defers to haproxy -c");
            Some(checker)
        }
        None => None,
    };
    let store = Store::open(&url, StoreOptions { haproxy, limits: args.limits.store(), ..StoreOptions::default() }).await?;
    let password = std::env::var("FLEET_ADMIN_PASSWORD").ok().filter(|p| !p.is_empty());
    match store.bootstrap_admin(password.as_deref()).await? {
        AdminBootstrap::Existing => {}
        AdminBootstrap::Created => {
            say(&format!("created user {ADMIN_USERNAME} with the password in FLEET_ADMIN_PASSWORD"));
        }
        AdminBootstrap::Generated(password) => {
            say(&format!("created user {ADMIN_USERNAME} with password {password} (shown once: change it or keep it safe)"));
        }
    }
    let key_file = KeyFile::new(args.secret_key_file.clone().unwrap_or_else(|| args.data.join(KEY_FILE_NAME)));
    let ring = store.keyring(&key_file).await?;
    let tls = tls::setup(&args.tls, &store, &ring, &args.data, args.listen, args.public_url.as_deref()).await?;
    let desired = Arc::new(DesiredWatch::start(store.clone(), &url).await?);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let demo_desired = desired.clone();
    let keyring = Arc::new(ring.clone());
    let acme_options = DriverOptions { agents_timeout: Duration::from_secs(args.acme_agents_timeout_seconds), ..DriverOptions::default() };
    let acme = AcmeDriver::new(store.clone(), desired.clone(), keyring.clone(), acme_options);
    // Rollouts: every replica steps the running ones twice a second; a revision compare-and-set
    // in the database makes each step happen once.
    tokio::spawn(fleet_core::rollouts::Driver::new(store.clone(), desired.clone()).run_until(Duration::from_millis(500), shutdown_rx.clone()));
    let agent_file = agent_file(args.agent_binary.as_deref()).await?;
    let state = AppState::new(Shared {
        store: store.clone(),
        desired,
        metrics,
        public_url: args.public_url.clone(),
        https: tls.is_some(),
        ca_fingerprint: tls.as_ref().and_then(|tls| tls.ca),
        shutdown: shutdown_rx.clone(),
        session_ttl: Duration::from_secs(args.session_ttl_seconds),
        dataplane_wait: Duration::from_secs(args.dataplane_wait_seconds),
        enrolment_ttl: Duration::from_secs(args.enrolment_ttl_seconds),
        body_limits: args.limits.bodies(),
        poll_slots: fleet_core::limits::PollSlots::new(args.limits.long_polls_per_agent()),
        keyring,
        acme: acme.clone(),
        agent_file,
        releases: Arc::new(crate::http::Releases { dir: args.releases.clone(), key: args.release_public_key }),
    });
    tokio::spawn(watch_certificate_expiry(store.clone(), shutdown_rx.clone()));
    tokio::spawn(compact_stats(store.clone(), shutdown_rx.clone()));
    let renewal_starter = acme.clone();
    tokio::spawn(acme.run(shutdown_rx.clone()));
    let listener = listen(args.listen).map_err(|source| ServeError::Bind { addr: args.listen, source })?;
    let local = listener.local_addr().map_err(|source| ServeError::Bind { addr: args.listen, source })?;
    let policy = RenewalPolicy { max_orders_per_day: args.acme_max_orders_per_day, ..RenewalPolicy::default() };
    let renewal = RenewalScheduler::new(store.clone(), Arc::new(renewal_starter), policy, replica_name(local));
    tokio::spawn(renewal.run_until(Duration::from_secs(args.renewal_interval_seconds.max(1)), shutdown_rx.clone()));
    let decider = Decider::new(store.clone(), state.keyring.clone(), replica_name(local), Duration::from_secs(1), Duration::from_secs(10));
    tokio::spawn(decider.run(shutdown_rx.clone()));
    tokio::spawn(Evaluator::new(store.clone(), mailer, args.alerts.interval()).run(shutdown_rx.clone()));
    // Schedules: every replica ticks each second; the database claim runs each time once.
    let scheduler = Engine::new(store.clone(), Arc::new(Targets::new(store.clone())), replica_name(local));
    tokio::spawn(scheduler.run_until(Duration::from_secs(1), shutdown_rx.clone()));
    tokio::spawn(store.clone().feed_events(Duration::from_millis(500), shutdown_rx.clone()));
    if tls.is_none() && !local.ip().is_loopback() {
        let warning = format!(
            "serving plain HTTP on {local}: passwords, tokens and enrolment secrets cross the network \
             unencrypted; use --tls-cert/--tls-key or --tls-self-signed"
        );
        tracing::warn!("{warning}");
        let _ = writeln!(std::io::stderr(), "fleet: warning: {warning}");
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    say(&format!("listening on {scheme}://{local}"));
    tracing::info!(%local, backend = ?store.backend(), "serving");
    let demo = if args.demo {
        super::demo::start(&store, &demo_desired, &args.data, local).await.map_err(ServeError::Demo)?
    } else {
        None
    };

    let mut stopping = shutdown_rx;
    let stopped = async move {
        let _ = stopping.wait_for(|s| *s).await;
    };
    let service = app(state).into_make_service_with_connect_info::<SocketAddr>();
    let server: Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> = match tls {
        None => Box::pin(IntoFuture::into_future(axum::serve(listener, service).with_graceful_shutdown(stopped))),
        Some(tls) => {
            // axum-server takes a std listener; the handle starts its drain on shutdown.
            let listener = listener.into_std().map_err(|source| ServeError::Bind { addr: local, source })?;
            let handle = axum_server::Handle::new();
            let draining = handle.clone();
            tokio::spawn(async move {
                stopped.await;
                draining.graceful_shutdown(None);
            });
            let config = axum_server::tls_rustls::RustlsConfig::from_config(tls.config);
            let server = axum_server::from_tcp_rustls(listener, config)
                .map_err(|source| ServeError::Bind { addr: local, source })?
                .handle(handle);
            Box::pin(server.serve(service))
        }
    };
    let grace = Duration::from_secs(args.grace_seconds);
    let drained = tokio::select! {
        result = server => Some(result),
        () = async {
            signal().await;
            tracing::info!(grace_seconds = grace.as_secs(), "shutting down");
            let _ = shutdown_tx.send(true);
            tokio::time::sleep(grace).await;
        } => None,
    };
    if let Some(demo) = demo {
        demo.stop().await;
    }
    match drained {
        Some(result) => result.map_err(ServeError::Serve)?,
        None => tracing::warn!("grace period over: dropping the remaining connections"),
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// How this replica names itself in renewal leases: host, listen address and process id, so
/// two replicas never take each other's leases for their own.
fn replica_name(listen: SocketAddr) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    format!("{}@{listen}#{}", host.trim(), std::process::id())
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
async fn signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// Every hour (and at start): certificates that reached an expiry threshold (30, 14, 7 days,
/// expired) get their audit entry, once per threshold and revision across replicas
/// (`Store::expiry_warnings`), and a warning in the log.
/// Rolls the stats history up and applies its retention (`fleet_core::monitor::stats`) once a
/// minute; replicas may all do it (it is idempotent).
async fn compact_stats(store: Store, mut shutdown: watch::Receiver<bool>) {
    loop {
        match store.compact_stats().await {
            Ok(done) => tracing::debug!(rolled = done.rolled, raw_deleted = done.raw_deleted, rollup_deleted = done.rollup_deleted, "stats compacted"),
            Err(error) => tracing::warn!(%error, "stats compaction failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

async fn watch_certificate_expiry(store: Store, mut shutdown: watch::Receiver<bool>) {
    loop {
        match store.expiry_warnings().await {
            Ok(warnings) => {
                for warning in warnings {
                    tracing::warn!(certificate = %warning.name, days_left = warning.days_left, "{}", warning.message);
                }
            }
            Err(error) => tracing::warn!(%error, "certificate expiry check failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// The listening socket's backlog, capped by the kernel at `net.core.somaxconn` (4,096 on
/// current kernels). A fleet's agents connect together (an apply answers every long-poll and
/// brings every report, a restarted server sees every agent come back), and with tokio's
/// default of 1,024 the SYNs beyond it were dropped and retried after 1, 3 and 7 s: at 10,000
/// agents some heartbeats waited long enough to count their agents offline.
const LISTEN_BACKLOG: u32 = 65_535;

/// Binds `addr` (with `SO_REUSEADDR`, as tokio's own bind) and listens with [`LISTEN_BACKLOG`].
fn listen(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

#[cfg(test)]
mod tests {
    /// `fleet serve` runs without transparent huge pages (`THP_enabled` of proc(5)'s status).
    #[test]
    fn the_server_turns_transparent_huge_pages_off() {
        super::huge_pages_off();
        assert!(rustix::thread::transparent_huge_pages_are_disabled().unwrap());
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        if let Some(line) = status.lines().find(|l| l.starts_with("THP_enabled:")) {
            assert_eq!(line.split_whitespace().nth(1), Some("0"), "{line}");
        }
    }

    /// The API socket's backlog is the kernel's limit, not tokio's 1,024 (`ss` shows a
    /// listening socket's backlog as its Send-Q).
    #[tokio::test]
    async fn the_listening_socket_takes_the_kernels_backlog() {
        let listener = super::listen("127.0.0.1:0".parse().unwrap()).unwrap();
        let port = listener.local_addr().unwrap().port();
        let somaxconn: u32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn").unwrap().trim().parse().unwrap();
        let Ok(out) = std::process::Command::new("ss").args(["-Hltn", &format!("sport = :{port}")]).output() else { return };
        let line = String::from_utf8_lossy(&out.stdout).to_string();
        let backlog: u32 = line.split_whitespace().nth(2).unwrap_or_else(|| panic!("ss: {line:?}")).parse().unwrap();
        assert_eq!(backlog, somaxconn.min(super::LISTEN_BACKLOG), "{line}");
        assert!(backlog > 1024 || somaxconn <= 1024, "{line}");
    }
}
