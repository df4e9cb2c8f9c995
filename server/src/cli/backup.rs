//! `fleet backup create|restore`: server backups ([`fleet_core::backup`]).
//!
//! ```text
//! create --data DIR [--database URL] FILE|s3://BUCKET/KEY   the database `fleet serve` uses, while it runs
//! create --server URL FILE|s3://BUCKET/KEY                  GET /api/v1/system/backup as an admin
//! create --data DIR --keep N FOLDER|s3://BUCKET/PREFIX      fleet-backup-<UTC time>.tar, the newest N kept
//! restore --data DIR [--database URL] FILE|s3://BUCKET/KEY  the server stopped; checks the key after
//! ```
//!
//! Exit codes: 0 done; 1 refused (damaged, newer schema, server running) or restored but the
//! key file does not open the sealed secrets; 2 usage or I/O error.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use fleet_core::backup::{self, BackupError, CreateOptions, Database, KeyCheck, Manifest, RestoreTarget, S3Location};
use fleet_core::secrets::{KeyFile, KEY_FILE_NAME};
use fleet_core::{Store, StoreOptions};

use super::client::{self, Conn};

/// `fleet backup ...`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Write a consistent backup of the whole server state to FILE (or s3://BUCKET/KEY), from
    /// the database of `fleet serve --data DIR` (it may keep running) or through the API
    /// (`--server URL`, as an admin). Sealed secrets stay sealed; the key file is left out
    /// unless --with-key: keep `<data>/secret.key` apart, you need it to restore.
    Create(CreateArgs),
    /// Replace the server state with a backup's (the server must be stopped). Refuses a damaged
    /// backup or one from a newer fleet; the old SQLite file is kept as fleet.db.pre-restore-*.
    Restore(RestoreArgs),
}

/// Where `fleet serve` keeps its state, as it was told.
#[derive(Debug, clap::Args)]
pub(crate) struct DataArgs {
    /// Data directory of `fleet serve` (the SQLite database and the default key file).
    #[arg(long, default_value = "fleet-data")]
    data: PathBuf,
    /// The database URL `fleet serve --database` uses (PostgreSQL) instead of the SQLite file.
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// The master key file (default `<data>/secret.key`).
    #[arg(long, value_name = "FILE")]
    secret_key_file: Option<PathBuf>,
}

impl DataArgs {
    fn key_file(&self) -> KeyFile {
        KeyFile::new(self.secret_key_file.clone().unwrap_or_else(|| self.data.join(KEY_FILE_NAME)))
    }
}

/// `fleet backup create`.
#[derive(Debug, clap::Args)]
pub(crate) struct CreateArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Also put the master key file into the backup (whoever holds the backup can then open
    /// every sealed secret). Not with --server: the API never hands the key out.
    #[arg(long)]
    with_key: bool,
    /// Scheduled-backup style: FILE is a folder or s3://BUCKET/PREFIX, the backup is written
    /// there as fleet-backup-<UTC time>.tar and only the newest N such backups are kept.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    keep: Option<u32>,
    #[command(flatten)]
    conn: Conn,
    /// The backup file to write (replaced only once complete), or s3://BUCKET/KEY (credentials
    /// and endpoint from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL,
    /// AWS_ALLOW_HTTP).
    file: String,
}

/// `fleet backup restore`.
#[derive(Debug, clap::Args)]
pub(crate) struct RestoreArgs {
    #[command(flatten)]
    data: DataArgs,
    /// The backup file, or s3://BUCKET/KEY.
    file: String,
}

/// Why a backup command failed, with its exit code.
struct Failure {
    message: String,
    code: u8,
}

impl From<BackupError> for Failure {
    fn from(error: BackupError) -> Failure {
        let code = match error {
            BackupError::Io { .. } | BackupError::Invalid(_) | BackupError::ObjectStore(_) => 2,
            _ => 1,
        };
        Failure { message: error.to_string(), code }
    }
}

impl From<client::ClientError> for Failure {
    fn from(error: client::ClientError) -> Failure {
        let code = if matches!(error, client::ClientError::Api { .. }) { 1 } else { 2 };
        Failure { message: error.to_string(), code }
    }
}

fn usage(message: impl Into<String>) -> Failure {
    Failure { message: message.into(), code: 2 }
}

pub(crate) fn run(command: Command) -> ExitCode {
    let result = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| usage(format!("cannot start the async runtime: {e}")))
        .and_then(|runtime| {
            runtime.block_on(async {
                match command {
                    Command::Create(args) => create(args).await,
                    Command::Restore(args) => restore(args).await,
                }
            })
        });
    match result {
        Ok(lines) => {
            for line in lines {
                super::serve::say(&line);
            }
            ExitCode::SUCCESS
        }
        Err(failure) => {
            let _ = writeln!(std::io::stderr(), "fleet: error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

/// The database URL `fleet serve` with these arguments uses.
fn database_url(data: &DataArgs) -> String {
    match &data.database {
        Some(url) => url.clone(),
        None => format!("sqlite://{}", data.data.join("fleet.db").display()),
    }
}

/// A private scratch file beside `near` (or in the temporary folder).
fn scratch_file(near: Option<&Path>, what: &str) -> PathBuf {
    let dir = near.and_then(Path::parent).filter(|p| !p.as_os_str().is_empty()).map_or_else(std::env::temp_dir, Path::to_path_buf);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    dir.join(format!(".fleet-{what}-{}-{nanos}.tar", std::process::id()))
}

fn describe(manifest: &Manifest, bytes: u64) -> String {
    format!(
        "{} rows in {} tables, schema {}, {} bytes ({} sealed key id(s): {})",
        manifest.total_rows(),
        manifest.tables.len(),
        manifest.schema_version,
        bytes,
        manifest.sealed_key_ids.len(),
        if manifest.sealed_key_ids.is_empty() { "-".to_string() } else { manifest.sealed_key_ids.join(", ") }
    )
}

async fn create(args: CreateArgs) -> Result<Vec<String>, Failure> {
    let started = Instant::now();
    if let Some(keep) = args.keep {
        if args.conn.server.is_some() || args.with_key {
            return Err(usage("--keep works with --data, without --with-key"));
        }
        let destination = backup::Destination::parse(&args.file)?;
        let db = Database::connect(&database_url(&args.data)).await?;
        let stored = backup::scheduled(&db, &destination, keep as usize).await;
        db.close().await;
        let stored = stored?;
        let mut lines = vec![format!(
            "backed up {} to {} in {} ms",
            describe(&stored.manifest, stored.bytes),
            stored.location,
            started.elapsed().as_millis()
        )];
        if !stored.pruned.is_empty() {
            lines.push(format!("removed {} older backup(s): {}", stored.pruned.len(), stored.pruned.join(", ")));
        }
        return Ok(lines);
    }
    let s3 = S3Location::parse(&args.file).transpose()?;
    let local = match &s3 {
        Some(_) => scratch_file(None, "backup"),
        None => PathBuf::from(&args.file),
    };
    let manifest = if args.conn.server.is_some() {
        if args.with_key {
            return Err(usage("--with-key needs --data: the API never hands the master key out"));
        }
        let conn = args.conn.clone();
        let partial = scratch_file(Some(&local), "download");
        let into = local.clone();
        let fetched = tokio::task::spawn_blocking(move || -> Result<(), Failure> {
            // The blocking client runs its own runtime: made and used off this one.
            let api = conn.connect()?;
            let mut response = api.stream("/system/backup")?;
            let mut file = std::fs::File::create(&partial).map_err(|e| usage(format!("{}: {e}", partial.display())))?;
            std::io::copy(&mut response, &mut file).map_err(|e| usage(format!("download: {e}")))?;
            file.sync_all().map_err(|e| usage(format!("{}: {e}", partial.display())))?;
            std::fs::rename(&partial, &into).map_err(|e| usage(format!("{}: {e}", into.display())))
        })
        .await
        .map_err(|e| usage(format!("download: {e}")))?;
        fetched?;
        let file = std::fs::File::open(&local).map_err(|e| usage(format!("{}: {e}", local.display())))?;
        backup::read_manifest(file)?
    } else {
        let db = Database::connect(&database_url(&args.data)).await?;
        let options = CreateOptions { key_file: args.with_key.then(|| args.data.key_file().path().to_path_buf()), scratch: None };
        let written = backup::create_file(&db, &local, &options).await;
        db.close().await;
        written?
    };
    let bytes = std::fs::metadata(&local).map(|m| m.len()).unwrap_or(0);
    let target = match &s3 {
        Some(location) => {
            let uploaded = backup::upload(&local, location).await;
            let _ = std::fs::remove_file(&local);
            uploaded?;
            location.to_string()
        }
        None => local.display().to_string(),
    };
    let mut lines = vec![format!("backed up {} to {target} in {} ms", describe(&manifest, bytes), started.elapsed().as_millis())];
    if !manifest.sealed_key_ids.is_empty() && !manifest.includes_key {
        lines.push("the master key is not in the backup: keep the key file (secret.key) apart, a restore needs it".into());
    }
    Ok(lines)
}

async fn restore(args: RestoreArgs) -> Result<Vec<String>, Failure> {
    let started = Instant::now();
    let (file, scratch) = match S3Location::parse(&args.file).transpose()? {
        Some(location) => {
            let path = scratch_file(None, "restore");
            if let Err(e) = backup::download(&location, &path).await {
                let _ = std::fs::remove_file(&path);
                return Err(e.into());
            }
            (path.clone(), Some(path))
        }
        None => (PathBuf::from(&args.file), None),
    };
    let target = match &args.data.database {
        Some(url) => RestoreTarget::Postgres(url.clone()),
        None => {
            std::fs::create_dir_all(&args.data.data).map_err(|e| usage(format!("{}: {e}", args.data.data.display())))?;
            RestoreTarget::Sqlite(args.data.data.join("fleet.db"))
        }
    };
    let restored = match std::fs::File::open(&file) {
        Ok(reader) => backup::restore(std::io::BufReader::new(reader), &target).await.map_err(Failure::from),
        Err(e) => Err(usage(format!("{}: {e}", file.display()))),
    };
    if let Some(path) = scratch {
        let _ = std::fs::remove_file(path);
    }
    let restored = restored?;
    let mut lines = vec![format!(
        "restored {} from {} in {} ms",
        describe(&restored.manifest, std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0)),
        args.file,
        started.elapsed().as_millis()
    )];
    if let Some(previous) = &restored.previous {
        lines.push(format!("the replaced database is kept as {}", previous.display()));
    }
    let key_file = args.data.key_file();
    if let Some(key) = &restored.key {
        if key_file.path().exists() {
            if std::fs::read(key_file.path()).ok().as_deref() != Some(key.as_slice()) {
                lines.push(format!("the backup holds a key file; {} exists and was left as it is", key_file.path().display()));
            }
        } else {
            use std::os::unix::fs::OpenOptionsExt;
            let mut out = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(key_file.path())
                .map_err(|e| usage(format!("{}: {e}", key_file.path().display())))?;
            out.write_all(key).and_then(|()| out.sync_all()).map_err(|e| usage(format!("{}: {e}", key_file.path().display())))?;
            lines.push(format!("wrote the backup's key file to {}", key_file.path().display()));
        }
    }
    let store = Store::open(&database_url(&args.data), StoreOptions::default()).await.map_err(|e| Failure { message: e.to_string(), code: 1 })?;
    let check = backup::check_key(&store, &key_file, &restored.manifest.sealed_key_ids).await;
    store.close().await;
    match check? {
        KeyCheck::NothingSealed => lines.push("no sealed secrets: any key file will do".into()),
        KeyCheck::Opens(n) => lines.push(format!("the key file {} opens all {n} sealed secret(s)", key_file.path().display())),
        KeyCheck::Missing { path, key_ids } => {
            for line in &lines {
                super::serve::say(line);
            }
            return Err(Failure {
                message: format!(
                    "restored, but the key file {} is missing: the sealed secrets need key {}; put that key file there before `fleet serve` (a new key cannot open them)",
                    path.display(),
                    key_ids.join(", ")
                ),
                code: 1,
            });
        }
        KeyCheck::Fails(reason) => {
            for line in &lines {
                super::serve::say(line);
            }
            return Err(Failure {
                message: format!(
                    "restored, but the key file {} does not open the sealed secrets ({reason}): put the backup's key file there before `fleet serve`",
                    key_file.path().display()
                ),
                code: 1,
            });
        }
        _ => {}
    }
    Ok(lines)
}
