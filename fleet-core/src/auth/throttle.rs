//! Login throttling: failures are counted per *key* (a username skeleton, a source network), and
//! after a few of them each further attempt must wait, twice as long each time, up to a cap.
//!
//! ```text
//! failures:  1 .. free   free+1   free+2   free+3 ...        (reset after `window_ms` without a failure)
//! blocked:   0           base     2 base   4 base ... max_delay
//! ```
//!
//! An attempt while blocked is refused before the password is checked (HTTP 429 with
//! `Retry-After`) and does not count as a failure, so a lockout always ends when it said it
//! would: guessing gets slow for the attacker while the real user waits at most `max_delay_ms`.
//! Unknown usernames are throttled exactly like known ones (no enumeration by behaviour).
//!
//! Keys: `user:<sha256 of the skeleton>` (fixed length whatever was typed) and `net:<address>`
//! with IPv6 sources grouped by /64 (one host usually owns a whole /64). The per-network policy
//! allows more free failures than the per-user one: many people may share one NAT.

use std::net::IpAddr;

use crate::auth::usernames::skeleton;
use crate::secret::sha256_hex;

/// How many failures are free and how long the waits grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures before the first wait.
    pub free_failures: i64,
    /// The first wait, in ms.
    pub base_delay_ms: i64,
    /// The longest wait, in ms (the lockout).
    pub max_delay_ms: i64,
    /// Failures are forgotten after this long without one, in ms.
    pub window_ms: i64,
}

/// Per username: 5 free failures, then 1 s, 2 s, 4 s ... up to 15 minutes; forgotten after an
/// hour without a failure (longer than the longest wait, so the waits keep their cap).
pub const PER_USER: ThrottlePolicy =
    ThrottlePolicy { free_failures: 5, base_delay_ms: 1_000, max_delay_ms: 15 * 60_000, window_ms: 60 * 60_000 };

/// Per source network: 20 free failures, then the same waits.
pub const PER_NETWORK: ThrottlePolicy = ThrottlePolicy { free_failures: 20, ..PER_USER };

/// The throttle key of a username (any text: unknown names are throttled too).
pub fn user_key(username: &str) -> String {
    format!("user:{}", &sha256_hex(skeleton(username).as_bytes())[..32])
}

/// The throttle key of a source address: IPv4 as is, IPv6 by its /64.
pub fn network_key(source: IpAddr) -> String {
    let source = match source {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    match source {
        IpAddr::V4(v4) => format!("net:{v4}"),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("net:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// The failures recorded under one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Failures {
    /// How many, in the current window.
    pub count: i64,
    /// When the last one happened (ms).
    pub last_at: i64,
    /// No attempt before this time (ms); 0 when not blocked.
    pub blocked_until: i64,
}

impl Failures {
    /// The milliseconds to wait before an attempt at `now`, if any.
    pub fn wait_ms(&self, now: i64) -> Option<i64> {
        (self.blocked_until > now).then(|| self.blocked_until - now)
    }

    /// True when the window has passed since the last failure: the count starts again.
    pub fn expired(&self, now: i64, policy: &ThrottlePolicy) -> bool {
        now.saturating_sub(self.last_at) >= policy.window_ms && self.wait_ms(now).is_none()
    }

    /// The record after one more failure at `now`.
    pub fn failed(self, now: i64, policy: &ThrottlePolicy) -> Failures {
        let count = if self.expired(now, policy) { 1 } else { self.count.saturating_add(1) };
        let over = count - policy.free_failures;
        let blocked_until = if over > 0 {
            let shift = u32::try_from(over - 1).unwrap_or(u32::MAX).min(40);
            let delay = policy.base_delay_ms.saturating_mul(1_i64 << shift).min(policy.max_delay_ms);
            now.saturating_add(delay)
        } else {
            0
        };
        Failures { count, last_at: now, blocked_until }
    }
}

/// Whole seconds for a `Retry-After` header: never 0 while a wait remains.
pub fn retry_after_secs(wait_ms: i64) -> u64 {
    u64::try_from(wait_ms.max(0)).unwrap_or(0).div_ceil(1000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_after_the_free_failures_up_to_the_cap() {
        let mut f = Failures::default();
        let mut now = 1_000_000;
        let mut waits = Vec::new();
        for _ in 0..20 {
            f = f.failed(now, &PER_USER);
            waits.push(f.wait_ms(now).unwrap_or(0));
            now = f.blocked_until.max(now) + 1;
        }
        assert_eq!(&waits[..9], &[0, 0, 0, 0, 0, 1_000, 2_000, 4_000, 8_000]);
        assert_eq!(*waits.last().unwrap(), PER_USER.max_delay_ms);
    }

    #[test]
    fn the_count_restarts_after_a_quiet_window() {
        let mut f = Failures::default();
        for _ in 0..7 {
            f = f.failed(0, &PER_USER);
        }
        assert_eq!(f.wait_ms(0), Some(2_000));
        let later = PER_USER.window_ms + 1;
        assert!(f.expired(later, &PER_USER));
        assert_eq!(f.failed(later, &PER_USER).count, 1);
    }

    #[test]
    fn keys_are_bounded_and_group_networks() {
        assert_eq!(user_key("ADMIN"), user_key("admın"));
        assert_eq!(user_key(&"x".repeat(100_000)).len(), 5 + 32);
        assert_eq!(network_key("2001:db8:1:2:aaaa::1".parse().unwrap()), "net:2001:db8:1:2::/64");
        assert_eq!(network_key("::ffff:192.0.2.7".parse().unwrap()), "net:192.0.2.7");
        assert_eq!(retry_after_secs(1), 1);
        assert_eq!(retry_after_secs(1_001), 2);
    }
}
