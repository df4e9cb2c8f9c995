//! Content-defined chunks: how file contents are split for storage.
//!
//! FastCDC (Xia et al., 2020) cuts where a rolling hash of the content matches, so an edit moves
//! at most the one or two cut points around it: a one-line change in a 5 MB map leaves every
//! other chunk as it was, and the store keeps only the changed chunks. Cut points depend only on
//! the bytes, so the same content always gives the same chunks.

use sha2::{Digest, Sha256};

/// No chunk is smaller, except a whole file that is.
pub const MIN_CHUNK: usize = 16 << 10;
/// The size chunks tend to.
pub const AVG_CHUNK: usize = 64 << 10;
/// No chunk is larger.
pub const MAX_CHUNK: usize = 256 << 10;

/// One chunk of a content: its SHA-256 and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk<'a> {
    /// Raw SHA-256 of `bytes`.
    pub sha256: [u8; 32],
    /// The bytes.
    pub bytes: &'a [u8],
}

/// `content` cut into content-defined chunks, in order; none for empty content.
pub fn split(content: &[u8]) -> Vec<Chunk<'_>> {
    if content.len() <= MIN_CHUNK {
        return if content.is_empty() { Vec::new() } else { vec![chunk(content)] };
    }
    fastcdc::v2020::FastCDC::new(content, MIN_CHUNK as u32, AVG_CHUNK as u32, MAX_CHUNK as u32)
        .map(|c| chunk(&content[c.offset..c.offset + c.length]))
        .collect()
}

fn chunk(bytes: &[u8]) -> Chunk<'_> {
    Chunk { sha256: Sha256::digest(bytes).into(), bytes }
}

/// The chunk list stored for a content: the raw hashes one after another.
pub fn list(chunks: &[Chunk<'_>]) -> Vec<u8> {
    chunks.iter().flat_map(|c| c.sha256).collect()
}

/// What storing `content` adds to a store already holding the chunks in `known`, in bytes: the
/// chunks not in `known` (added to it) and the content's chunk list. The least any version
/// carrying `content` can add: the storage benchmark's and tests' measure of "the changed blobs".
pub fn added_bytes(content: &[u8], known: &mut std::collections::HashSet<[u8; 32]>) -> u64 {
    let pieces = split(content);
    let fresh: u64 = pieces.iter().filter(|c| known.insert(c.sha256)).map(|c| c.bytes.len() as u64).sum();
    fresh + 32 * pieces.len() as u64
}

/// The hashes of a stored chunk list; `None` when its length is not a multiple of 32.
pub fn hashes(list: &[u8]) -> Option<Vec<[u8; 32]>> {
    if !list.len().is_multiple_of(32) {
        return None;
    }
    Some(list.chunks_exact(32).map(|h| h.try_into().unwrap_or([0; 32])).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(lines: usize) -> Vec<u8> {
        (0..lines).map(|i| format!("host{i}.example.com backend_{}\n", i % 97)).collect::<String>().into_bytes()
    }

    #[test]
    fn chunks_reassemble_and_stay_within_bounds() {
        let content = map(200_000);
        let chunks = split(&content);
        assert_eq!(chunks.iter().flat_map(|c| c.bytes.iter().copied()).collect::<Vec<_>>(), content);
        assert!(chunks.iter().all(|c| c.bytes.len() <= MAX_CHUNK));
        assert!(chunks[..chunks.len() - 1].iter().all(|c| c.bytes.len() >= MIN_CHUNK));
        assert_eq!(hashes(&list(&chunks)).map(|h| h.len()), Some(chunks.len()));
    }

    #[test]
    fn a_one_line_change_touches_few_chunks() {
        let before = map(200_000);
        let mut after = before.clone();
        let at = after.len() / 2;
        after.splice(at..at, b"inserted.example.com backend_x\n".iter().copied());
        let old: std::collections::HashSet<_> = split(&before).into_iter().map(|c| c.sha256).collect();
        let new = split(&after);
        let changed = new.iter().filter(|c| !old.contains(&c.sha256)).count();
        assert!(changed <= 2, "{changed} of {} chunks changed", new.len());
    }

    #[test]
    fn small_and_empty_contents() {
        assert!(split(b"").is_empty());
        assert_eq!(split(b"abc").len(), 1);
        assert_eq!(hashes(&[0; 31]), None);
    }
}
