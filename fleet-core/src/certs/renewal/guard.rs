//! What stops renewal from hurting: exponential backoff after a failed order, and a runaway
//! guard that refuses a name's next order once it had `max_orders_per_day` in 24 hours (a loop
//! that renews the same certificate again and again would otherwise burn the CA's rate limits,
//! Let's Encrypt's 5 duplicate certificates per week among them). Pure decisions.

use std::time::Duration;

use crate::backoff::Backoff;
use crate::clock::Random;

/// 24 hours in ms: the runaway guard's sliding window.
pub const GUARD_WINDOW_MS: i64 = 24 * 3600 * 1000;

/// How the renewal scheduler behaves. Durations in the units their names say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewalPolicy {
    /// Orders allowed per name in any 24 hours; the next one is refused (default 5).
    pub max_orders_per_day: u32,
    /// First delay after a failed renewal (default 5 minutes); doubles per failure.
    pub backoff_base: Duration,
    /// Longest delay between failed attempts (default 6 hours).
    pub backoff_max: Duration,
    /// How long a renewal lease lives without being renewed (default 10 minutes): a replica that
    /// crashed mid-order loses its names after this long.
    pub lease_ttl: Duration,
    /// How often a live holder extends its lease (default a third of `lease_ttl`).
    pub lease_refresh: Duration,
}

impl Default for RenewalPolicy {
    fn default() -> Self {
        RenewalPolicy {
            max_orders_per_day: 5,
            backoff_base: Duration::from_secs(5 * 60),
            backoff_max: Duration::from_secs(6 * 3600),
            lease_ttl: Duration::from_secs(10 * 60),
            lease_refresh: Duration::from_secs(200),
        }
    }
}

/// Why the guard refused an order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "renewal of {name} refused: {count} orders in the last 24 hours reached the limit of {max} \
     (raise --acme-max-orders-per-day or fix the cause in the audit log)"
)]
pub struct RunawayGuard {
    /// The name that reached the limit.
    pub name: String,
    /// Orders for it in the last 24 hours.
    pub count: u32,
    /// The limit.
    pub max: u32,
}

impl From<RunawayGuard> for crate::Error {
    fn from(guard: RunawayGuard) -> Self {
        crate::Error::TooMany(guard.to_string())
    }
}

/// Admits an order for names that had `orders_last_day` orders each in the last 24 hours
/// (`(name, count)` pairs), or names the first one at the limit.
pub fn admit(orders_last_day: &[(String, u32)], policy: &RenewalPolicy) -> Result<(), RunawayGuard> {
    match orders_last_day.iter().find(|(_, count)| *count >= policy.max_orders_per_day) {
        Some((name, count)) => Err(RunawayGuard { name: name.clone(), count: *count, max: policy.max_orders_per_day }),
        None => Ok(()),
    }
}

/// The delay before the next attempt once `failures` attempts failed in a row (>= 1): the
/// fleet's backoff (half to all of `base * 2^(failures-1)`, capped at `backoff_max`).
pub fn retry_delay(failures: u32, policy: &RenewalPolicy, random: &dyn Random) -> Duration {
    Backoff::new(policy.backoff_base, policy.backoff_max)
        .with_failures(failures.saturating_sub(1))
        .next_delay(random)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SeededRandom;

    #[test]
    fn the_guard_refuses_the_order_after_the_limit() {
        let policy = RenewalPolicy { max_orders_per_day: 3, ..RenewalPolicy::default() };
        assert!(admit(&[("a.example".into(), 2), ("b.example".into(), 0)], &policy).is_ok());
        let refused = admit(&[("a.example".into(), 1), ("b.example".into(), 3)], &policy).unwrap_err();
        assert_eq!(refused, RunawayGuard { name: "b.example".into(), count: 3, max: 3 });
        assert!(refused.to_string().starts_with("renewal of b.example refused: 3 orders"));
    }

    #[test]
    fn failures_back_off_exponentially_up_to_the_cap() {
        let random = SeededRandom::new(5);
        let policy = RenewalPolicy::default();
        let base = policy.backoff_base;
        for failures in 1..12u32 {
            let step = base.saturating_mul(1 << (failures - 1)).min(policy.backoff_max);
            let delay = retry_delay(failures, &policy, &random);
            assert!(delay >= step / 2 && delay <= step, "failure {failures}: {delay:?} vs step {step:?}");
        }
        assert!(retry_delay(40, &policy, &random) <= policy.backoff_max);
    }
}
