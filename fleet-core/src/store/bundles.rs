//! Bundle storage: the files of each version, their contents as content-defined chunks shared
//! by every version and cluster (schema and rationale in `migrations/0005_bundles.sql`).
//!
//! ```text
//! write: Bundle -> each file but the first config -> blob (chunk list) -> chunks (once each)
//!        -> version_files rows (position, path, kind, mode, sha256, size)
//! read:  version_files + config_versions.text -> Bundle (each blob re-hashed on read)
//! ```

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use sqlx::Row;

use super::{Store, Tx};
use crate::bundle::{chunks, Bundle, BundleFile, BundlePath, FileInfo};
use crate::error::{Error, Result};
use crate::secret::sha256_hex;

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
}

fn info_from_row(row: &AnyRow) -> Result<FileInfo> {
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
    /// config's (which is the version's text) as a blob of chunks, each chunk and blob once.
    pub(crate) async fn insert_files(&self, tx: &mut Tx, cluster_id: i64, number: i64, bundle: &Bundle) -> Result<()> {
        for (position, file) in bundle.files().iter().enumerate() {
            let info = file.info();
            if position > 0 {
                self.insert_blob(tx, &info.sha256, &file.content).await?;
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

    async fn insert_blob(&self, tx: &mut Tx, sha256: &str, content: &[u8]) -> Result<()> {
        let known = sqlx::query("SELECT 1 AS known FROM blobs WHERE sha256 = $1").bind(sha256).fetch_optional(&mut **tx).await?;
        if known.is_some() {
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
        sqlx::query("INSERT INTO blobs (sha256, size, chunks) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING")
            .bind(sha256)
            .bind(content.len() as i64)
            .bind(chunks::list(&pieces))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// The content of a blob, re-assembled from its chunks and checked against its sha256.
    async fn blob_on(conn: &mut AnyConnection, sha256: &str) -> Result<Vec<u8>> {
        let row = sqlx::query("SELECT size, chunks FROM blobs WHERE sha256 = $1")
            .bind(sha256)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| Error::Corrupt(format!("blob {sha256} is missing")))?;
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
                None => Self::blob_on(conn, &info.sha256).await?,
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
                Self::blob_on(tx, &info.sha256).await?
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
             (SELECT CAST(COALESCE(SUM(LENGTH(chunks)), 0) AS BIGINT) FROM blobs) AS lists",
        )
        .fetch_one(self.pool())
        .await?;
        Ok(BundleStorage {
            chunks: row.try_get("chunks")?,
            chunk_bytes: row.try_get("chunked")?,
            blobs: row.try_get("blobs")?,
            list_bytes: row.try_get("lists")?,
        })
    }
}
