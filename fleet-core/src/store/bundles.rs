//! Bundle storage: the files of each version, their contents as content-defined chunks shared
//! by every version and cluster (schema and rationale in `migrations/0005_bundles.sql`).
//!
//! ```text
//! write: Bundle -> each file but the first config -> blob (chunk list) -> chunks (once each)
//!                                   holds a private key: blob (sealed, no chunks) -> sealed_secrets
//!        -> version_files rows (position, path, kind, mode, sha256, size)
//! read:  version_files + config_versions.text -> Bundle (each blob opened or re-assembled,
//!        then re-hashed)
//! ```
//!
//! Why files holding a private key are sealed rather than chunked: a certificate's key is sealed
//! in the certificate store, and deploying it into a bundle (`certs/site.pem`, certificate and
//! key) must not leave a plain copy beside it. The sealed bytes are a `sealed_secrets` row named
//! `blob/<sha256>` for the purpose `blob:<sha256>`, so the start-time check opens them, `fleet
//! secrets rotate` reseals them with every other secret, and one blob's sealed value cannot be
//! swapped in for another's. Such files are small and rarely shared between versions, so they
//! lose little by not being chunked. The ring is the store's ([`Store::use_keyring`]); without
//! one, writing such a file or reading a sealed one is an error, never a plain fallback.

use std::collections::{HashMap, HashSet};

use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use sqlx::Row;

use super::{Store, Tx};
use crate::bundle::{chunks, Bundle, BundleFile, BundlePath, FileInfo};
use crate::error::{Error, Result};
use crate::secret::sha256_hex;
use crate::secrets::{Keyring, Purpose, Sealed};

/// The `sealed_secrets` name of a sealed blob's bytes.
fn blob_secret_name(sha256: &str) -> String {
    format!("blob/{sha256}")
}

/// What a blob's bytes are sealed for: its own sha256, so a sealed value cannot stand in for
/// another blob's.
fn blob_purpose(sha256: &str) -> Purpose {
    Purpose::new("blob", sha256)
}

/// Stores the sealed bytes of blob `sha256` as the secret `blob/<sha256>` and its `blobs` row
/// marked sealed, with no chunks.
async fn insert_sealed_blob(tx: &mut Tx, sha256: &str, size: usize, sealed: &Sealed, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO sealed_secrets (name, purpose, public, sealed, created_at, updated_at) VALUES ($1, $2, NULL, $3, $4, $4) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(blob_secret_name(sha256))
    .bind(blob_purpose(sha256).as_str())
    .bind(sealed.as_str())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO blobs (sha256, size, chunks, sealed) VALUES ($1, $2, $3, 1) \
         ON CONFLICT (sha256) DO UPDATE SET chunks = EXCLUDED.chunks, sealed = 1",
    )
    .bind(sha256)
    .bind(size as i64)
    .bind(Vec::<u8>::new())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The content of a plain blob (its `blobs` row read as `row`), re-assembled from its chunks
/// and checked against its sha256.
async fn chunked_blob_on(conn: &mut AnyConnection, sha256: &str, row: &AnyRow) -> Result<Vec<u8>> {
    let list: Vec<u8> = row.try_get("chunks")?;
    let size: i64 = row.try_get("size")?;
    let hashes = chunks::hashes(&list).ok_or_else(|| Error::Corrupt(format!("blob {sha256}: bad chunk list")))?;
    let mut content = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    let mut cache: HashMap<[u8; 32], Vec<u8>> = HashMap::new();
    for hash in hashes {
        if let std::collections::hash_map::Entry::Vacant(slot) = cache.entry(hash) {
            let row = sqlx::query("SELECT content FROM chunks WHERE sha256 = $1")
                .bind(hex::encode(hash))
                .fetch_optional(&mut *conn)
                .await?
                .ok_or_else(|| Error::Corrupt(format!("blob {sha256}: chunk {} is missing", hex::encode(hash))))?;
            slot.insert(row.try_get("content")?);
        }
        content.extend_from_slice(&cache[&hash]);
    }
    if sha256_hex(&content) != sha256 {
        return Err(Error::Corrupt(format!("blob {sha256}: content does not match its sha256")));
    }
    Ok(content)
}

/// The store's bundle storage ([`Store::bundle_storage`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BundleStorage {
    /// Distinct chunks.
    pub chunks: i64,
    /// Their contents, in bytes.
    pub chunk_bytes: i64,
    /// Distinct file contents (blobs).
    pub blobs: i64,
    /// Their chunk lists (32 bytes per chunk), in bytes.
    pub list_bytes: i64,
    /// Blobs sealed because they hold a private key (counted in `blobs`, their bytes in no
    /// chunk: they are `sealed_secrets` rows).
    pub sealed_blobs: i64,
}

pub(crate) fn info_from_row(row: &AnyRow) -> Result<FileInfo> {
    let path: String = row.try_get("path")?;
    let kind: String = row.try_get("kind")?;
    let mode: i64 = row.try_get("mode")?;
    let size: i64 = row.try_get("size")?;
    Ok(FileInfo {
        path: BundlePath::new(&path).map_err(|e| Error::Corrupt(format!("stored path: {e}")))?,
        kind: kind.parse().map_err(|e| Error::Corrupt(format!("stored kind: {e}")))?,
        mode: u32::try_from(mode).map_err(|_| Error::Corrupt(format!("stored mode {mode}")))?,
        size: u64::try_from(size).map_err(|_| Error::Corrupt(format!("stored size {size}")))?,
        sha256: row.try_get("sha256")?,
    })
}

impl Store {
    /// Writes the files of version `number` inside `tx`: every file's content but the first
    /// config's (which is the version's text) as a blob, each blob once: a file holding a
    /// private key sealed with the store's ring (an [`Error::Crypto`] when it has none), any
    /// other as chunks, each chunk once.
    pub(crate) async fn insert_files(&self, tx: &mut Tx, cluster_id: i64, number: i64, bundle: &Bundle) -> Result<()> {
        for (position, file) in bundle.files().iter().enumerate() {
            let info = file.info();
            if position > 0 {
                self.insert_blob(tx, file, &info.sha256).await?;
            }
            sqlx::query(
                "INSERT INTO version_files (cluster_id, number, position, path, kind, mode, sha256, size) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(cluster_id)
            .bind(number)
            .bind(position as i64)
            .bind(info.path.as_str())
            .bind(info.kind.as_str())
            .bind(i64::from(info.mode))
            .bind(&info.sha256)
            .bind(info.size as i64)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    pub(crate) async fn insert_blob(&self, tx: &mut Tx, file: &BundleFile, sha256: &str) -> Result<()> {
        let ring = match file.holds_private_key() {
            true => Some(self.ring().ok_or_else(|| {
                Error::Crypto(format!("{} holds a private key and this store has no key ring to seal it", file.path))
            })?),
            false => None,
        };
        let known = sqlx::query("SELECT 1 AS known FROM blobs WHERE sha256 = $1").bind(sha256).fetch_optional(&mut **tx).await?;
        if known.is_some() {
            return Ok(());
        }
        let content = &file.content;
        if let Some(ring) = ring {
            let sealed = ring.seal(&blob_purpose(sha256), content, self.random())?;
            insert_sealed_blob(tx, sha256, content.len(), &sealed, self.now()).await?;
            return Ok(());
        }
        let pieces = chunks::split(content);
        for chunk in &pieces {
            sqlx::query("INSERT INTO chunks (sha256, size, content) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING")
                .bind(hex::encode(chunk.sha256))
                .bind(chunk.bytes.len() as i64)
                .bind(chunk.bytes.to_vec())
                .execute(&mut **tx)
                .await?;
        }
        sqlx::query("INSERT INTO blobs (sha256, size, chunks, sealed) VALUES ($1, $2, $3, 0) ON CONFLICT (sha256) DO NOTHING")
            .bind(sha256)
            .bind(content.len() as i64)
            .bind(chunks::list(&pieces))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// The content of the blob of file `info`: opened with the store's ring when sealed,
    /// else re-assembled from its chunks; either way checked against its sha256.
    pub(crate) async fn blob_on(&self, conn: &mut AnyConnection, info: &FileInfo) -> Result<Vec<u8>> {
        let sha256 = info.sha256.as_str();
        let row = sqlx::query("SELECT size, chunks, sealed FROM blobs WHERE sha256 = $1")
            .bind(sha256)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| Error::Corrupt(format!("blob {sha256} is missing")))?;
        if row.try_get::<Option<i64>, _>("sealed")? != Some(1) {
            return chunked_blob_on(conn, sha256, &row).await;
        }
        let ring = self
            .ring()
            .ok_or_else(|| Error::Crypto(format!("{} is sealed and this store has no key ring to open it", info.path)))?;
        let sealed: String = sqlx::query("SELECT sealed FROM sealed_secrets WHERE name = $1")
            .bind(blob_secret_name(sha256))
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| Error::Corrupt(format!("blob {sha256} is sealed but its secret is missing")))?
            .try_get("sealed")?;
        let content = ring.open(&blob_purpose(sha256), &Sealed::parse(&sealed)?)?;
        if sha256_hex(&content) != sha256 {
            return Err(Error::Corrupt(format!("blob {sha256}: content does not match its sha256")));
        }
        Ok(content)
    }

    /// The listing of version `number`: path, kind, mode, size and sha256 of every file, in
    /// bundle order.
    pub async fn files(&self, cluster_id: i64, number: i64) -> Result<Vec<FileInfo>> {
        let rows = sqlx::query(
            "SELECT path, kind, mode, sha256, size FROM version_files WHERE cluster_id = $1 AND number = $2 ORDER BY position",
        )
        .bind(cluster_id)
        .bind(number)
        .fetch_all(self.pool())
        .await?;
        if rows.is_empty() {
            self.version(cluster_id, number).await?;
            return Err(Error::Corrupt(format!("version {number} of cluster {cluster_id} lists no files")));
        }
        rows.iter().map(info_from_row).collect()
    }

    /// The whole bundle of version `number` (number 0: an empty first config file).
    pub async fn bundle(&self, cluster_id: i64, number: i64) -> Result<Bundle> {
        let mut conn = self.pool().acquire().await?;
        self.bundle_on(&mut conn, cluster_id, number).await
    }

    /// The newest version of the cluster whose bundle has `digest` (what an agent sends as
    /// `known`), `None` when no version has it: the base of a delta push.
    pub async fn version_with_digest(&self, cluster_id: i64, digest: &str) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT number FROM config_versions WHERE cluster_id = $1 AND digest = $2 ORDER BY number DESC LIMIT 1")
            .bind(cluster_id)
            .bind(digest.to_ascii_lowercase())
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|row| row.try_get("number")).transpose()?)
    }

    async fn bundle_on(&self, conn: &mut AnyConnection, cluster_id: i64, number: i64) -> Result<Bundle> {
        if number == 0 {
            let row = sqlx::query("SELECT settings FROM clusters WHERE id = $1")
                .bind(cluster_id)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or_else(|| Error::not_found(format!("cluster {cluster_id}")))?;
            let settings: crate::model::ClusterSettings = super::json_column(&row, "settings")?;
            return Ok(Bundle::single(settings.config_name(), ""));
        }
        let text: String = sqlx::query("SELECT text FROM config_versions WHERE cluster_id = $1 AND number = $2")
            .bind(cluster_id)
            .bind(number)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| Error::not_found(format!("version {number} of cluster {cluster_id}")))?
            .try_get("text")?;
        let rows = sqlx::query(
            "SELECT path, kind, mode, sha256, size FROM version_files WHERE cluster_id = $1 AND number = $2 ORDER BY position",
        )
        .bind(cluster_id)
        .bind(number)
        .fetch_all(&mut *conn)
        .await?;
        if rows.is_empty() {
            return Err(Error::Corrupt(format!("version {number} of cluster {cluster_id} lists no files")));
        }
        let mut files = Vec::with_capacity(rows.len());
        let mut text = Some(text);
        for row in &rows {
            let info = info_from_row(row)?;
            let content = match text.take() {
                Some(text) => text.into_bytes(),
                None => self.blob_on(conn, &info).await?,
            };
            files.push(BundleFile { path: info.path, kind: info.kind, mode: info.mode, content });
        }
        Bundle::new(files).map_err(|e| Error::Corrupt(format!("version {number} of cluster {cluster_id}: {e}")))
    }

    /// The listing of version `number` inside `tx`.
    pub(crate) async fn listing_in(&self, tx: &mut Tx, cluster_id: i64, number: i64) -> Result<Vec<FileInfo>> {
        let rows = sqlx::query(
            "SELECT path, kind, mode, sha256, size FROM version_files WHERE cluster_id = $1 AND number = $2 ORDER BY position",
        )
        .bind(cluster_id)
        .bind(number)
        .fetch_all(&mut **tx)
        .await?;
        rows.iter().map(info_from_row).collect()
    }

    /// True when versions `a` and `b` hold the same files besides their first config file.
    pub(crate) async fn same_other_files(&self, tx: &mut Tx, cluster_id: i64, a: i64, b: i64) -> Result<bool> {
        let a = self.listing_in(tx, cluster_id, a).await?;
        let b = self.listing_in(tx, cluster_id, b).await?;
        Ok(a.get(1..) == b.get(1..) && a.first().map(|f| (&f.path, f.mode)) == b.first().map(|f| (&f.path, f.mode)))
    }

    /// A config file of version `number` parsed, from the document cache by its sha256, read
    /// inside `tx` only on a miss.
    pub(crate) async fn file_document_in(
        &self,
        tx: &mut Tx,
        cluster_id: i64,
        number: i64,
        info: &FileInfo,
    ) -> Result<std::sync::Arc<crate::documents::Parsed>> {
        let load = async {
            let first: String = sqlx::query("SELECT path FROM version_files WHERE cluster_id = $1 AND number = $2 AND position = 0")
                .bind(cluster_id)
                .bind(number)
                .fetch_one(&mut **tx)
                .await?
                .try_get("path")?;
            let bytes = if first == info.path.as_str() {
                let row = sqlx::query("SELECT text FROM config_versions WHERE cluster_id = $1 AND number = $2")
                    .bind(cluster_id)
                    .bind(number)
                    .fetch_one(&mut **tx)
                    .await?;
                row.try_get::<String, _>("text")?.into_bytes()
            } else {
                self.blob_on(tx, info).await?
            };
            String::from_utf8(bytes).map_err(|_| Error::Corrupt(format!("config file {} is not UTF-8", info.path)))
        };
        self.cached_document(info.sha256.clone(), load).await
    }

    /// One file of version `number`.
    pub async fn file(&self, cluster_id: i64, number: i64, path: &BundlePath) -> Result<BundleFile> {
        self.bundle(cluster_id, number)
            .await?
            .file(path)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("file {path} in version {number} of cluster {cluster_id}")))
    }

    /// Gives every version made before bundles its one-file listing and digest: its text as
    /// the cluster's config file (`config_path` relative to the managed directory). Runs once
    /// at open; a no-op when every version has its files.
    pub(crate) async fn backfill_bundles(&self) -> Result<()> {
        let rows = sqlx::query(
            "SELECT v.cluster_id, v.number, v.sha256, LENGTH(v.text) AS size, c.settings FROM config_versions v \
             JOIN clusters c ON c.id = v.cluster_id WHERE v.digest IS NULL",
        )
        .fetch_all(self.pool())
        .await?;
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.write_tx().await?;
        for row in &rows {
            let settings: crate::model::ClusterSettings = super::json_column(row, "settings")?;
            let size: i64 = row.try_get("size")?;
            let info = FileInfo {
                path: settings.config_name(),
                kind: crate::bundle::FileKind::Config,
                mode: crate::bundle::DEFAULT_MODE,
                size: u64::try_from(size).unwrap_or(0),
                sha256: row.try_get("sha256")?,
            };
            let (cluster_id, number): (i64, i64) = (row.try_get("cluster_id")?, row.try_get("number")?);
            sqlx::query(
                "INSERT INTO version_files (cluster_id, number, position, path, kind, mode, sha256, size) \
                 VALUES ($1, $2, 0, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            )
            .bind(cluster_id)
            .bind(number)
            .bind(info.path.as_str())
            .bind(info.kind.as_str())
            .bind(i64::from(info.mode))
            .bind(&info.sha256)
            .bind(size)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE config_versions SET digest = $1 WHERE cluster_id = $2 AND number = $3")
                .bind(crate::bundle::digest_of([&info]))
                .bind(cluster_id)
                .bind(number)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Seals the blobs written before sealing existed (`blobs.sealed` NULL) whose content holds
    /// a private key, and deletes the chunks no blob uses any more, in one transaction; marks the
    /// other such blobs plain. Runs when the ring is loaded ([`Store::keyring`]); a no-op once
    /// every blob is marked. Returns how many blobs it sealed.
    ///
    /// On PostgreSQL the transaction first locks `chunks` and `blobs` against writers: a version
    /// written meanwhile by another replica could otherwise reference a chunk deleted here.
    pub(super) async fn seal_plain_blobs(&self, ring: &Keyring) -> Result<usize> {
        let unmarked = sqlx::query("SELECT 1 AS unmarked FROM blobs WHERE sealed IS NULL LIMIT 1").fetch_optional(self.pool()).await?;
        if unmarked.is_none() {
            return Ok(0);
        }
        let mut tx = self.write_tx().await?;
        if self.backend() == super::Backend::Postgres {
            sqlx::query("LOCK TABLE chunks, blobs IN EXCLUSIVE MODE").execute(&mut *tx).await?;
        }
        let rows = sqlx::query("SELECT sha256, size, chunks FROM blobs WHERE sealed IS NULL").fetch_all(&mut *tx).await?;
        let mut released: HashSet<[u8; 32]> = HashSet::new();
        let mut count = 0;
        for row in &rows {
            let sha256: String = row.try_get("sha256")?;
            let content = chunked_blob_on(&mut tx, &sha256, row).await?;
            if !crate::bundle::holds_private_key(&content) {
                sqlx::query("UPDATE blobs SET sealed = 0 WHERE sha256 = $1").bind(&sha256).execute(&mut *tx).await?;
                continue;
            }
            let sealed = ring.seal(&blob_purpose(&sha256), &content, self.random())?;
            insert_sealed_blob(&mut tx, &sha256, content.len(), &sealed, self.now()).await?;
            let list: Vec<u8> = row.try_get("chunks")?;
            released.extend(chunks::hashes(&list).into_iter().flatten());
            count += 1;
        }
        if !released.is_empty() {
            for row in sqlx::query("SELECT chunks FROM blobs").fetch_all(&mut *tx).await? {
                let list: Vec<u8> = row.try_get("chunks")?;
                for hash in chunks::hashes(&list).into_iter().flatten() {
                    released.remove(&hash);
                }
            }
            for hash in &released {
                sqlx::query("DELETE FROM chunks WHERE sha256 = $1").bind(hex::encode(hash)).execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(count)
    }

    /// Bytes the bundle storage holds: chunk contents plus chunk lists (what the storage
    /// benchmark reports).
    pub async fn bundle_storage_bytes(&self) -> Result<i64> {
        let usage = self.bundle_storage().await?;
        Ok(usage.chunk_bytes + usage.list_bytes)
    }

    /// What the bundle storage holds, shared by every cluster: chunks and their bytes, blobs
    /// (one per distinct file content) and the bytes of their chunk lists. The first config
    /// file of each version is stored as the version's text, outside these figures.
    pub async fn bundle_storage(&self) -> Result<BundleStorage> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM chunks) AS chunks, \
             (SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM chunks) AS chunked, \
             (SELECT COUNT(*) FROM blobs) AS blobs, \
             (SELECT CAST(COALESCE(SUM(LENGTH(chunks)), 0) AS BIGINT) FROM blobs) AS lists, \
             (SELECT COUNT(*) FROM blobs WHERE sealed = 1) AS sealed",
        )
        .fetch_one(self.pool())
        .await?;
        Ok(BundleStorage {
            chunks: row.try_get("chunks")?,
            chunk_bytes: row.try_get("chunked")?,
            blobs: row.try_get("blobs")?,
            list_bytes: row.try_get("lists")?,
            sealed_blobs: row.try_get("sealed")?,
        })
    }
}
