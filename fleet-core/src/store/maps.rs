//! Map files' entries of a cluster (see [`crate::maps`]): read from the latest version, changed
//! as a new version whose only change is the map file.
//!
//! ```text
//! edit_map: latest bundle -> maps::map_text -> maps::edit -> same file, new bytes
//!   -> change_latest (the gate, retried on a concurrent commit: the edits are made again on
//!      the new latest) -> agents apply it through the runtime API (apply::runtime_plan:
//!      prepare/add/commit map), no reload; the file on every node is the new one
//! ```

use serde_json::json;

use super::versions::Made;
use super::Store;
use crate::bundle::{BundleFile, BundlePath};
use crate::error::{Error, Result};
use crate::maps::{self, MapEdit, MapEntry, MapFile};
use crate::model::{Actor, Committed};

impl Store {
    /// The map files of the cluster's latest version (none before its first version) and that
    /// version's number. 404 for an unknown cluster.
    pub async fn map_files(&self, cluster_id: i64) -> Result<(i64, Vec<MapFile>)> {
        let settings = self.cluster(cluster_id).await?.settings;
        let latest = self.latest_version(cluster_id).await?.map_or(0, |v| v.info.number);
        if latest == 0 {
            return Ok((0, Vec::new()));
        }
        Ok((latest, maps::map_files(&self.bundle(cluster_id, latest).await?, &settings)))
    }

    /// The entries of map file `path` in the latest version, in file order. 404 for an unknown
    /// cluster or map file.
    pub async fn map_entries(&self, cluster_id: i64, path: &BundlePath) -> Result<Vec<MapEntry>> {
        let settings = self.cluster(cluster_id).await?.settings;
        let latest = self.latest_version(cluster_id).await?.map_or(0, |v| v.info.number);
        let bundle = self.bundle(cluster_id, latest).await?;
        Ok(maps::entries(maps::map_text(&bundle, &settings, path)?))
    }

    /// Makes `edits` to map file `path` of the latest version ([`maps::edit`]): one new version
    /// whose only change is that file, which agents take through HAProxy's runtime API without a
    /// reload. `None` when the edits change nothing (no version). Errors: 404 for no such map
    /// file or a missing key, 409 for a key added twice, 422 for an entry a map line cannot
    /// carry or a version the gate refuses.
    pub async fn edit_map(&self, actor: Actor<'_>, cluster_id: i64, path: &BundlePath, edits: &[MapEdit], message: &str) -> Result<Option<Committed>> {
        let settings = self.cluster(cluster_id).await?.settings;
        let latest = self.latest_version(cluster_id).await?.map_or(0, |v| v.info.number);
        let bundle = self.bundle(cluster_id, latest).await?;
        let before = maps::map_text(&bundle, &settings, path)?;
        if maps::edit(before, edits)? == before {
            return Ok(None);
        }
        let details = json!({"path": path, "edits": edits.len()});
        let made = Made::new("map.edit", message, details);
        let change = |latest: &crate::bundle::Bundle| {
            let text = maps::map_text(latest, &settings, path)?;
            let edited = maps::edit(text, edits)?;
            let file = latest.file(path).ok_or_else(|| Error::not_found(format!("map file {path}")))?;
            latest.with_file(BundleFile { content: edited.into_bytes(), ..file.clone() }).map_err(Error::from)
        };
        self.change_latest(actor, cluster_id, made, change).await.map(Some)
    }
}
