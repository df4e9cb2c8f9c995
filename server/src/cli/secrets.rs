//! `fleet secrets rotate`: a new master key, every sealed secret resealed under it
//! (`Store::rotate_master_key`: the key file holds both keys until the one transaction that
//! reseals the rows has committed, so a stop half-way loses nothing).
//!
//! Servers read sealed secrets at start: restart them after a rotation (a running server keeps
//! the key ring it started with).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use fleet_core::secrets::{KeyFile, KEY_FILE_NAME};
use fleet_core::{Store, StoreOptions};

/// `fleet secrets ...`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Replace the master key and reseal every stored secret under the new one; the old key
    /// opens none of them afterwards. Restart the servers after it.
    Rotate(Args),
}

/// Where the database and the key file are, as `fleet serve` was told.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Data directory of `fleet serve` (the SQLite database and the default key file).
    #[arg(long, default_value = "fleet-data")]
    data: PathBuf,
    /// Database URL instead of the SQLite file.
    #[arg(long)]
    database: Option<String>,
    /// The master key file (default `<data>/secret.key`).
    #[arg(long, value_name = "FILE")]
    secret_key_file: Option<PathBuf>,
}

pub(crate) fn run(command: Command) -> ExitCode {
    let Command::Rotate(args) = command;
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
        .and_then(|runtime| runtime.block_on(rotate(args)));
    match result {
        Ok(line) => {
            super::serve::say(&line);
            ExitCode::SUCCESS
        }
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "fleet: error: {error}");
            ExitCode::from(1)
        }
    }
}

async fn rotate(args: Args) -> Result<String, String> {
    let url = match &args.database {
        Some(url) => url.clone(),
        None => {
            let path = args.data.join("fleet.db");
            if !path.is_file() {
                return Err(format!("no database at {} (give --data or --database)", path.display()));
            }
            format!("sqlite://{}", path.display())
        }
    };
    let file = KeyFile::new(args.secret_key_file.unwrap_or_else(|| args.data.join(KEY_FILE_NAME)));
    let store = Store::open(&url, StoreOptions::default()).await.map_err(|e| e.to_string())?;
    let rotated = store.rotate_master_key(&file).await;
    store.close().await;
    let (ring, count) = rotated.map_err(|e| e.to_string())?;
    Ok(format!("resealed {count} secret(s) under key {} in {}; restart the servers", ring.primary().id(), file.path().display()))
}
