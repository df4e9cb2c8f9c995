//! Retry delays for an agent that cannot reach its server: exponential with "full jitter"
//! (a random delay between half and all of the exponential step), so a fleet of agents that lost
//! the server at the same moment does not come back at the same moment.

use std::time::Duration;

use crate::clock::Random;

/// Exponential backoff with jitter; the randomness is injected (STYLE 9).
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    /// Delays start near `base` and double up to `max`.
    pub fn new(base: Duration, max: Duration) -> Backoff {
        Backoff { base, max: max.max(base), failures: 0 }
    }

    /// The same backoff after `failures` consecutive failures already (a state kept elsewhere,
    /// e.g. a certificate's failed renewals stored in the database).
    pub fn with_failures(mut self, failures: u32) -> Backoff {
        self.failures = failures;
        self
    }

    /// The delay before the next attempt after one more failure.
    pub fn next_delay(&mut self, random: &dyn Random) -> Duration {
        let step = self.base.saturating_mul(1u32 << self.failures.min(20)).min(self.max);
        self.failures = self.failures.saturating_add(1);
        let mut bytes = [0u8; 8];
        // A failing random source only loses the jitter, never the retry.
        let fraction = match random.fill(&mut bytes) {
            Ok(()) => (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64,
            Err(_) => 1.0,
        };
        step.mul_f64(0.5 + fraction / 2.0)
    }

    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Back to the first delay after a success.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SeededRandom;

    #[test]
    fn delays_grow_to_the_cap_with_jitter() {
        let random = SeededRandom::new(7);
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        let delays: Vec<Duration> = (0..10).map(|_| backoff.next_delay(&random)).collect();
        for (i, delay) in delays.iter().enumerate() {
            let step = Duration::from_millis(100 * (1 << i)).min(Duration::from_secs(5));
            assert!(*delay >= step / 2 && *delay <= step, "delay {i} = {delay:?}, step {step:?}");
        }
        let distinct: std::collections::HashSet<_> = delays.iter().collect();
        assert!(distinct.len() > 5, "jitter makes delays differ: {delays:?}");
        assert_eq!(backoff.failures(), 10);
        backoff.reset();
        assert!(backoff.next_delay(&random) <= Duration::from_millis(100));
    }
}
