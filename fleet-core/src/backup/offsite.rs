//! Where scheduled backups go (a folder, or S3-compatible object storage) and how many are kept.
//!
//! ```text
//! scheduled(db, dest, keep) -> fleet-backup-20261201T214500123Z.tar written (folder: renamed
//!   into place once synced; S3: one multipart upload) -> the oldest beyond `keep` deleted
//! S3: s3://BUCKET/PREFIX, credentials and endpoint from AWS_ACCESS_KEY_ID,
//!     AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL, AWS_ALLOW_HTTP (object_store's names)
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::dump::{create_file, CreateOptions, Database};
use super::format::Manifest;
use super::{BackupError, Result};

/// The file name prefix of scheduled backups (what [`prune`] counts).
const PREFIX: &str = "fleet-backup-";
const SUFFIX: &str = ".tar";

/// An object (or an object prefix) in an S3-compatible bucket: `s3://BUCKET/KEY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket.
    pub bucket: String,
    /// The object key (a file), or the prefix scheduled backups go under (a folder); no leading
    /// slash, may be empty.
    pub key: String,
}

impl S3Location {
    /// Reads `s3://BUCKET/KEY`; `None` for text not starting with `s3://`. Errors: no bucket.
    pub fn parse(text: &str) -> Option<Result<S3Location>> {
        let rest = text.strip_prefix("s3://")?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Some(Err(BackupError::Invalid(format!("{text}: no bucket (s3://BUCKET/KEY)"))));
        }
        Some(Ok(S3Location { bucket: bucket.into(), key: key.trim_matches('/').into() }))
    }

    /// The bucket's client, configured from the environment (AWS_* variables).
    fn store(&self) -> Result<Arc<dyn ObjectStore>> {
        let store = AmazonS3Builder::from_env().with_bucket_name(&self.bucket).build().map_err(object_error)?;
        Ok(Arc::new(store))
    }

    fn path(&self) -> ObjectPath {
        ObjectPath::from(self.key.as_str())
    }
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

fn object_error(error: object_store::Error) -> BackupError {
    BackupError::ObjectStore(error.to_string())
}

/// Where scheduled backups are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A local folder (created when missing).
    Directory(PathBuf),
    /// A bucket and prefix of S3-compatible object storage.
    S3(S3Location),
}

impl Destination {
    /// `s3://BUCKET/PREFIX` or a folder path. Errors: an `s3://` URL without a bucket.
    pub fn parse(text: &str) -> Result<Destination> {
        match S3Location::parse(text) {
            Some(location) => Ok(Destination::S3(location?)),
            None if text.is_empty() => Err(BackupError::Invalid("empty backup destination".into())),
            None => Ok(Destination::Directory(PathBuf::from(text))),
        }
    }
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Destination::Directory(dir) => write!(f, "{}", dir.display()),
            Destination::S3(location) => location.fmt(f),
        }
    }
}

/// What [`scheduled`] stored.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Where the backup is: a file path or `s3://bucket/key`.
    pub location: String,
    /// Its manifest.
    pub manifest: Manifest,
    /// Its size, bytes.
    pub bytes: u64,
    /// The older backups deleted to keep `retention` (names).
    pub pruned: Vec<String>,
}

/// `fleet-backup-YYYYMMDDTHHMMSSmmmZ.tar` for Unix ms `at` (UTC): names sort by time.
fn backup_name(at: i64) -> String {
    let secs = at.div_euclid(1000);
    let ms = at.rem_euclid(1000);
    let (date, time) = match time::OffsetDateTime::from_unix_timestamp(secs) {
        Ok(t) => (
            format!("{:04}{:02}{:02}", t.year(), u8::from(t.month()), t.day()),
            format!("{:02}{:02}{:02}", t.hour(), t.minute(), t.second()),
        ),
        Err(_) => ("00000000".into(), "000000".into()),
    };
    format!("{PREFIX}{date}T{time}{ms:03}Z{SUFFIX}")
}

/// A scheduled server backup: writes a backup of `db` to `destination` as
/// `fleet-backup-<UTC time>.tar`, then keeps the newest `retention` backups there ([`prune`]).
/// Without the key file (keep it apart). Errors: `retention` of 0 ([`BackupError::Invalid`]),
/// the database, the folder, object storage.
pub async fn scheduled(db: &Database, destination: &Destination, retention: usize) -> Result<Stored> {
    if retention == 0 {
        return Err(BackupError::Invalid("retention must keep at least one backup".into()));
    }
    let name = backup_name(db.now());
    let (location, manifest, bytes) = match destination {
        Destination::Directory(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| BackupError::io(dir.display(), e))?;
            let path = dir.join(&name);
            let manifest = create_file(db, &path, &CreateOptions::default()).await?;
            let bytes = std::fs::metadata(&path).map_err(|e| BackupError::io(path.display(), e))?.len();
            (path.display().to_string(), manifest, bytes)
        }
        Destination::S3(prefix) => {
            let scratch = std::env::temp_dir().join(format!(".{name}.{}", std::process::id()));
            let manifest = create_file(db, &scratch, &CreateOptions::default()).await;
            let object = S3Location { bucket: prefix.bucket.clone(), key: join_key(&prefix.key, &name) };
            let uploaded = match manifest {
                Ok(manifest) => upload(&scratch, &object).await.map(|bytes| (manifest, bytes)),
                Err(e) => Err(e),
            };
            let _ = std::fs::remove_file(&scratch);
            let (manifest, bytes) = uploaded?;
            (object.to_string(), manifest, bytes)
        }
    };
    let pruned = prune(destination, retention).await?;
    Ok(Stored { location, manifest, bytes, pruned })
}

fn join_key(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}/{name}")
    }
}

/// Deletes the oldest scheduled backups (`fleet-backup-*.tar`) of `destination` beyond the
/// newest `keep`; other files are never touched. Returns the names deleted, oldest first.
pub async fn prune(destination: &Destination, keep: usize) -> Result<Vec<String>> {
    let is_backup = |name: &str| name.starts_with(PREFIX) && name.ends_with(SUFFIX);
    match destination {
        Destination::Directory(dir) => {
            let mut names = Vec::new();
            for entry in std::fs::read_dir(dir).map_err(|e| BackupError::io(dir.display(), e))? {
                let entry = entry.map_err(|e| BackupError::io(dir.display(), e))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if is_backup(&name) && entry.file_type().map(|t| t.is_file()).unwrap_or(false) {
                    names.push(name);
                }
            }
            names.sort();
            let excess = names.len().saturating_sub(keep);
            let gone: Vec<String> = names.into_iter().take(excess).collect();
            for name in &gone {
                let path = dir.join(name);
                std::fs::remove_file(&path).map_err(|e| BackupError::io(path.display(), e))?;
            }
            Ok(gone)
        }
        Destination::S3(prefix) => {
            let store = prefix.store()?;
            let root = (!prefix.key.is_empty()).then(|| prefix.path());
            let listed: Vec<_> = store.list(root.as_ref()).try_collect().await.map_err(object_error)?;
            let mut names: Vec<(String, ObjectPath)> = listed
                .into_iter()
                .filter_map(|meta| {
                    let name = meta.location.filename()?.to_string();
                    let direct = meta.location.as_ref() == join_key(&prefix.key, &name);
                    (direct && is_backup(&name)).then_some((name, meta.location))
                })
                .collect();
            names.sort();
            let excess = names.len().saturating_sub(keep);
            let mut gone = Vec::new();
            for (name, path) in names.into_iter().take(excess) {
                store.delete(&path).await.map_err(object_error)?;
                gone.push(name);
            }
            Ok(gone)
        }
    }
}

/// Uploads the file `from` to the object `to` (multipart for large files); returns its size.
pub async fn upload(from: &Path, to: &S3Location) -> Result<u64> {
    let store = to.store()?;
    let mut file = tokio::fs::File::open(from).await.map_err(|e| BackupError::io(from.display(), e))?;
    let mut writer = object_store::buffered::BufWriter::new(store, to.path());
    let mut buffer = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buffer).await.map_err(|e| BackupError::io(from.display(), e))?;
        if n == 0 {
            break;
        }
        writer.write_all(&buffer[..n]).await.map_err(|e| BackupError::ObjectStore(format!("{to}: {e}")))?;
        total += n as u64;
    }
    if let Err(e) = writer.shutdown().await {
        let _ = writer.abort().await;
        return Err(BackupError::ObjectStore(format!("{to}: {e}")));
    }
    Ok(total)
}

/// Downloads the object `from` into the file `to` (created mode 0600); returns its size.
pub async fn download(from: &S3Location, to: &Path) -> Result<u64> {
    use std::os::unix::fs::OpenOptionsExt;
    let store = from.store()?;
    let got = store.get(&from.path()).await.map_err(object_error)?;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(to)
        .map_err(|e| BackupError::io(to.display(), e))?;
    let mut file = tokio::fs::File::from_std(file);
    let mut stream = got.into_stream();
    let mut total = 0u64;
    while let Some(chunk) = stream.try_next().await.map_err(object_error)? {
        file.write_all(&chunk).await.map_err(|e| BackupError::io(to.display(), e))?;
        total += chunk.len() as u64;
    }
    file.sync_all().await.map_err(|e| BackupError::io(to.display(), e))?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::{backup_name, Destination, S3Location};

    #[test]
    fn names_sort_by_time() {
        assert_eq!(backup_name(1_764_625_500_123), "fleet-backup-20251201T214500123Z.tar");
        assert!(backup_name(1_764_625_500_123) < backup_name(1_764_625_500_124));
    }

    #[test]
    fn destinations_read_s3_urls_and_folders() {
        assert_eq!(
            Destination::parse("s3://b/x/y/").unwrap(),
            Destination::S3(S3Location { bucket: "b".into(), key: "x/y".into() })
        );
        assert_eq!(Destination::parse("/var/backups").unwrap(), Destination::Directory("/var/backups".into()));
        assert!(Destination::parse("s3:///x").is_err());
    }
}
