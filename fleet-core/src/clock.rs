//! Time and randomness are injected (STYLE 9): versions, expiries and tokens take a [`Clock`] and
//! a [`Random`], so tests run with a [`ManualClock`] and a [`SeededRandom`] and are deterministic.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

/// Wall-clock time as Unix milliseconds (what the store writes in every `*_at` column).
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// A clock that only moves when told to.
#[derive(Debug, Default)]
pub struct ManualClock {
    now: AtomicI64,
}

impl ManualClock {
    /// A clock stopped at `now_ms`.
    pub fn new(now_ms: i64) -> Self {
        ManualClock { now: AtomicI64::new(now_ms) }
    }

    /// Moves the clock forward by `ms`.
    pub fn advance(&self, ms: i64) {
        self.now.fetch_add(ms, Ordering::SeqCst);
    }

    /// Sets the clock.
    pub fn set(&self, now_ms: i64) {
        self.now.store(now_ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }
}

/// A source of random bytes: salts, secrets, tokens and row ids.
pub trait Random: Send + Sync + std::fmt::Debug {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]) -> Result<()>;
}

/// The operating system's random source.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<()> {
        getrandom::getrandom(buf).map_err(|e| Error::Crypto(format!("system random source failed: {e}")))
    }
}

/// A deterministic generator (splitmix64) for tests. Not for production secrets.
#[derive(Debug, Default)]
pub struct SeededRandom {
    state: AtomicU64,
}

impl SeededRandom {
    /// A generator starting at `seed`.
    pub fn new(seed: u64) -> Self {
        SeededRandom { state: AtomicU64::new(seed) }
    }

    fn next_u64(&self) -> u64 {
        let mut z = self.state.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::SeqCst).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Random for SeededRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<()> {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

/// A random positive id below 2^53 (exact in JSON numbers and JavaScript).
pub fn random_id(random: &dyn Random) -> Result<i64> {
    let mut buf = [0u8; 8];
    random.fill(&mut buf)?;
    let id = u64::from_le_bytes(buf) & ((1u64 << 53) - 1);
    // Zero is reserved for "none"; fold it onto 1.
    Ok(i64::try_from(id.max(1)).unwrap_or(1))
}

/// Unix ms as RFC 3339 in UTC with milliseconds (`2026-12-01T12:00:00.000Z`), the form the API
/// gives times in; a time outside years 0..=9999 is given as the number.
#[cfg(feature = "store")]
pub fn rfc3339(ms: i64) -> String {
    let formatted = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok().and_then(|t| {
        let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
        t.format(&format).ok()
    });
    formatted.unwrap_or_else(|| ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_random_is_deterministic_and_ids_are_in_range() {
        let a = SeededRandom::new(7);
        let b = SeededRandom::new(7);
        let ids_a: Vec<i64> = (0..100).map(|_| random_id(&a).unwrap()).collect();
        let ids_b: Vec<i64> = (0..100).map(|_| random_id(&b).unwrap()).collect();
        assert_eq!(ids_a, ids_b);
        assert!(ids_a.iter().all(|&id| id > 0 && id < (1 << 53)));
        let unique: std::collections::HashSet<_> = ids_a.iter().collect();
        assert_eq!(unique.len(), ids_a.len());
    }

    #[cfg(feature = "store")]
    #[test]
    fn times_are_given_in_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_796_126_400_123), "2026-12-01T12:00:00.123Z");
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(1_000);
        assert_eq!(clock.now_ms(), 1_000);
        clock.advance(500);
        assert_eq!(clock.now_ms(), 1_500);
        clock.set(42);
        assert_eq!(clock.now_ms(), 42);
    }
}
