//! Diffs between versions, kept: versions never change, so the diff of two bundles (known by
//! their digests) is computed once. A 340,000-line configuration takes about 2 s to diff; the web
//! UI's diff page and the API's `/diff` then answer from here in microseconds. A few recent
//! diffs are kept, least recently used out first; a diff's size is bounded by what changed.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crate::bundle::BundleDiff;

/// How many diffs are kept.
const CAPACITY: usize = 16;

/// Recent diffs by `(old digest, new digest, old label, new label)`.
#[derive(Debug, Default)]
pub(crate) struct DiffCache {
    entries: Mutex<VecDeque<(String, Arc<BundleDiff>)>>,
}

impl DiffCache {
    /// The diff under `key`, if kept (and now the most recently used).
    pub(crate) fn get(&self, key: &str) -> Option<Arc<BundleDiff>> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let at = entries.iter().position(|(k, _)| k == key)?;
        let entry = entries.remove(at)?;
        let diff = entry.1.clone();
        entries.push_front(entry);
        Some(diff)
    }

    /// Keeps `diff` under `key`.
    pub(crate) fn insert(&self, key: String, diff: Arc<BundleDiff>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|(k, _)| *k != key);
        entries.push_front((key, diff));
        entries.truncate(CAPACITY);
    }
}
