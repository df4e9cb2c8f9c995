//! Parsed configurations, kept for reuse: versions are immutable, so the `Document` of a text
//! is a pure function of its sha256 and a read never needs to parse the same version twice.
//!
//! ```text
//! (sha256, text) --DocumentCache::get_or_parse--> hit:  Arc<Parsed>  (no parse)
//!                                                  miss: parse -> insert -> Arc<Parsed>
//! Arc<Parsed> --edited(ops)--> Document (a copy: the cached one is never changed)
//! ```
//!
//! Why a cache of its own and not a crate (`lru`, `quick_cache`): it holds a handful of large
//! entries (a 20,000-backend version is ~19 MB of text and ~8 times that parsed), so a
//! linear scan for the least recently used entry costs nothing next to one parse, and the bound
//! has to be in bytes of configuration, not in entries. A few dozen lines keep it obvious.
//!
//! The bound: the texts of the cached documents add up to at most `max_text_bytes` and there
//! are at most `max_entries` of them; the least recently used go first. The entry just used is
//! always kept, even alone over the bound, so the version being read is parsed once however
//! large it is.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use haproxy_model::{Diagnostic, Document};

use crate::error::{Error, Result};
use crate::ops::{apply_ops, EditOp};

/// A text and what `haproxy_parse::parse` made of it.
#[derive(Debug)]
pub struct Parsed {
    document: Document,
    diagnostics: Vec<Diagnostic>,
    text_len: usize,
}

impl Parsed {
    /// Parses `text`.
    pub fn parse(text: &str) -> Parsed {
        let parsed = haproxy_parse::parse(text);
        Parsed { document: parsed.document, diagnostics: parsed.diagnostics, text_len: text.len() }
    }

    /// The lossless document (line numbers are those of the text).
    pub fn document(&self) -> &Document {
        &self.document
    }

    /// What the parser reported (syntax errors and warnings).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// True when the text has syntax errors.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// A copy of the document with `ops` applied. The text must have parsed without errors,
    /// else [`Error::Invalid`] with its diagnostics; an op that does not apply fails as in
    /// [`apply_ops`].
    pub fn edited(&self, ops: &[EditOp]) -> Result<Document> {
        if self.has_errors() {
            return Err(Error::Invalid {
                message: "the base configuration does not parse".into(),
                diagnostics: self.diagnostics.clone(),
            });
        }
        let mut document = self.document.clone();
        apply_ops(&mut document, ops)?;
        Ok(document)
    }
}

/// A bounded, least-recently-used cache of [`Parsed`] texts keyed by their sha256 (see the
/// module docs). Shared between threads; cheap to query.
#[derive(Debug)]
pub struct DocumentCache {
    max_text_bytes: usize,
    max_entries: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<String, Entry>,
    text_bytes: usize,
    clock: u64,
    hits: u64,
    misses: u64,
}

#[derive(Debug)]
struct Entry {
    parsed: Arc<Parsed>,
    used: u64,
}

/// How often the cache answered without parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that parsed.
    pub misses: u64,
    /// Documents held now.
    pub entries: usize,
    /// Bytes of text behind the documents held now.
    pub text_bytes: usize,
}

impl DocumentCache {
    /// The store's default: 64 MiB of configuration text, at most 64 documents. A parsed
    /// document takes about 8 times its text (an 18.6 MB, 20,000-backend version parses into
    /// ~150 MB), so this holds such a version, a transaction's candidate of it and one more
    /// (~450 MB at worst); a stage-then-read loop on it never evicts the base it edits.
    pub const DEFAULT_TEXT_BYTES: usize = 64 << 20;
    /// See [`DocumentCache::DEFAULT_TEXT_BYTES`].
    pub const DEFAULT_ENTRIES: usize = 64;

    /// A cache holding at most `max_entries` documents whose texts add up to `max_text_bytes`.
    pub fn new(max_text_bytes: usize, max_entries: usize) -> DocumentCache {
        DocumentCache { max_text_bytes, max_entries: max_entries.max(1), state: Mutex::new(State::default()) }
    }

    /// The parsed text whose sha256 is `key`, parsing `text()` only when it is not cached.
    /// `text` is called without the cache's lock held, so a slow parse does not block other
    /// readers; two threads missing the same key at once may both parse it (the result is the
    /// same, one of them is kept).
    pub fn get_or_parse(&self, key: &str, text: impl FnOnce() -> String) -> Arc<Parsed> {
        if let Some(parsed) = self.get(key) {
            return parsed;
        }
        let parsed = Arc::new(Parsed::parse(&text()));
        self.insert(key, parsed.clone());
        parsed
    }

    /// The parsed text whose sha256 is `key`, if cached (counts a hit or a miss).
    pub fn get(&self, key: &str) -> Option<Arc<Parsed>> {
        let mut state = self.lock();
        state.clock += 1;
        let now = state.clock;
        match state.entries.get_mut(key) {
            Some(entry) => {
                entry.used = now;
                let parsed = entry.parsed.clone();
                state.hits += 1;
                Some(parsed)
            }
            None => {
                state.misses += 1;
                None
            }
        }
    }

    /// Caches `parsed` under `key`, evicting the least recently used entries over the bound.
    pub fn insert(&self, key: &str, parsed: Arc<Parsed>) {
        let mut state = self.lock();
        state.clock += 1;
        let used = state.clock;
        let added = parsed.text_len;
        if let Some(old) = state.entries.insert(key.to_string(), Entry { parsed, used }) {
            state.text_bytes -= old.parsed.text_len;
        }
        state.text_bytes += added;
        while state.entries.len() > 1
            && (state.text_bytes > self.max_text_bytes || state.entries.len() > self.max_entries)
        {
            let oldest = state.entries.iter().min_by_key(|(_, e)| e.used).map(|(k, _)| k.clone());
            match oldest.and_then(|k| state.entries.remove(&k)) {
                Some(gone) => state.text_bytes -= gone.parsed.text_len,
                None => break,
            }
        }
    }

    /// Hits, misses and what is held now.
    pub fn stats(&self) -> CacheStats {
        let state = self.lock();
        CacheStats { hits: state.hits, misses: state.misses, entries: state.entries.len(), text_bytes: state.text_bytes }
    }

    /// The state, even after a panic elsewhere poisoned the lock: every update above leaves it
    /// consistent before anything that could panic.
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Default for DocumentCache {
    fn default() -> Self {
        DocumentCache::new(DocumentCache::DEFAULT_TEXT_BYTES, DocumentCache::DEFAULT_ENTRIES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_once_per_key() {
        let cache = DocumentCache::default();
        let mut parses = 0;
        for _ in 0..3 {
            let parsed = cache.get_or_parse("k", || {
                parses += 1;
                "backend b\n    server s1 10.0.0.1:80\n".to_string()
            });
            assert_eq!(parsed.document().sections().len(), 1);
        }
        assert_eq!(parses, 1);
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses, stats.entries), (2, 1, 1));
    }

    #[test]
    fn evicts_the_least_recently_used_over_the_bound() {
        let cache = DocumentCache::new(100, 2);
        let text = |n: usize| format!("backend b{n}\n");
        cache.get_or_parse("a", || text(1));
        cache.get_or_parse("b", || text(2));
        cache.get_or_parse("a", || text(1)); // a is now more recent than b
        cache.get_or_parse("c", || text(3));
        assert!(cache.get("a").is_some());
        assert!(cache.get("b").is_none(), "b was the least recently used");
        assert!(cache.get("c").is_some());

        // By bytes: an entry over the bound on its own is still kept, alone.
        let big = "#".repeat(500);
        cache.get_or_parse("big", || big.clone());
        let stats = cache.stats();
        assert_eq!((stats.entries, stats.text_bytes), (1, 500));
        assert!(cache.get("big").is_some());
    }

    #[test]
    fn edits_a_copy_and_refuses_a_base_that_does_not_parse() {
        let parsed = Parsed::parse("backend b\n    server s1 10.0.0.1:80\n");
        let op = EditOp::DeleteServer { backend: "b".into(), name: "s1".into() };
        let edited = parsed.edited(&[op]).unwrap();
        assert_eq!(haproxy_render::lossless(&edited), "backend b\n");
        assert_eq!(haproxy_render::lossless(parsed.document()), "backend b\n    server s1 10.0.0.1:80\n");
        let broken = Parsed::parse("backend b\n    server s1 \"10.0.0.1:80\n");
        assert!(matches!(broken.edited(&[]), Err(Error::Invalid { .. })), "{:?}", broken.diagnostics());
    }
}
