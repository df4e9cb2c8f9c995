//! `fleet release keygen|sign|list`: the release key, signed agent binaries (the format is
//! [`fleet_core::release`]'s), and what a server offers for upgrades.
//!
//! ```text
//! fleet release keygen --out release.key        -> release.key (0600), prints ed25519:...
//! fleet release sign --key release.key BINARY   -> BINARY.sig (version from `BINARY --version`)
//! fleet release list [--server URL]             -> GET /api/v1/releases
//! ```

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use fleet_core::release::{self, Release, SigningKey, SIGNATURE_SUFFIX};

use super::client::table::{print_json, print_table};
use super::client::Conn;

/// `fleet release ...`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Make a release signing key (Ed25519): the private key goes to `--out` (mode 0600, kept
    /// off the server), the public key is printed for `fleet serve --release-public-key`.
    Keygen {
        /// The private key file to create (refused when it exists).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Sign an agent binary: writes `BINARY.sig` (its version, platform and SHA-256, signed).
    Sign {
        /// The private key file of `fleet release keygen`.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The release version (default: what `BINARY --version` prints, which also checks that
        /// it starts).
        #[arg(long = "release-version", value_name = "VERSION")]
        version: Option<String>,
        /// The platform it runs on (default: this machine's, like x86_64-linux).
        #[arg(long, value_name = "PLATFORM")]
        platform: Option<String>,
        /// The agent binary.
        binary: PathBuf,
    },
    /// The releases the server offers for upgrades, and the files it refuses to offer.
    List {
        #[command(flatten)]
        conn: Conn,
    },
}

pub(crate) fn run(command: Command) -> ExitCode {
    let done = match command {
        Command::Keygen { out } => keygen(&out),
        Command::Sign { key, version, platform, binary } => sign(&key, version, platform, &binary),
        Command::List { conn } => return list(&conn),
    };
    match done {
        Ok(line) => {
            super::serve::say(&line);
            ExitCode::SUCCESS
        }
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "fleet: error: {error}");
            ExitCode::from(2)
        }
    }
}

fn keygen(out: &Path) -> Result<String, String> {
    let (key, pem) = SigningKey::generate().map_err(|e| e.to_string())?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
        .map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    file.write_all(pem.as_bytes()).and_then(|()| file.sync_all()).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    Ok(key.public_key().to_string())
}

/// What `BINARY --version` says its version is (`fleet-agent 0.2.0` -> `0.2.0`).
fn binary_version(binary: &Path) -> Result<String, String> {
    let output = std::process::Command::new(binary)
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run {} --version: {e}", binary.display()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let version = text.split_whitespace().nth(1).filter(|_| output.status.success() && text.starts_with("fleet-agent "));
    version.map(str::to_string).ok_or_else(|| {
        format!("{} --version did not print `fleet-agent VERSION` ({}): give --release-version", binary.display(), output.status)
    })
}

fn sign(key: &Path, version: Option<String>, platform: Option<String>, binary: &Path) -> Result<String, String> {
    let pem = std::fs::read_to_string(key).map_err(|e| format!("cannot read {}: {e}", key.display()))?;
    let key = SigningKey::from_pem(&pem).map_err(|e| format!("{}: {e}", key.display()))?;
    let version = match version {
        Some(version) => version,
        None => binary_version(binary)?,
    };
    let platform = platform.unwrap_or_else(release::platform);
    let bytes = std::fs::read(binary).map_err(|e| format!("cannot read {}: {e}", binary.display()))?;
    let release = Release::of(&bytes, &version, &platform).map_err(|e| e.to_string())?;
    let signature = key.sign(&release);
    let mut out = binary.as_os_str().to_owned();
    out.push(SIGNATURE_SUFFIX);
    let out = PathBuf::from(out);
    std::fs::write(&out, signature.render()).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    Ok(format!(
        "signed {} as release {version} for {platform} (sha256 {}) with {}: {}",
        binary.display(),
        release.sha256,
        key.public_key(),
        out.display()
    ))
}

fn list(conn: &Conn) -> ExitCode {
    let listed = conn.connect().and_then(|api| api.get("/api/v1/releases"));
    let catalog = match listed {
        Ok(catalog) => catalog,
        Err(error) => return super::client::report(&error),
    };
    if conn.json() {
        print_json(&catalog);
        return ExitCode::SUCCESS;
    }
    let text = |v: &serde_json::Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    let rows: Vec<Vec<String>> = catalog["releases"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let verified = match r["verified"].as_bool() {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "-",
            };
            vec![text(&r["version"]), text(&r["platform"]), text(&r["file"]), r["size"].to_string(), text(&r["sha256"]), verified.into()]
        })
        .collect();
    print_table(&["VERSION", "PLATFORM", "FILE", "SIZE", "SHA256", "VERIFIED"], &rows);
    for refused in catalog["refused"].as_array().into_iter().flatten() {
        let _ = writeln!(std::io::stderr(), "not offered: {}: {}", text(&refused["file"]), text(&refused["reason"]));
    }
    ExitCode::SUCCESS
}
