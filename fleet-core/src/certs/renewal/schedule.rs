//! When to renew one certificate: a pure decision on its validity period, the CA's suggested
//! window (ACME Renewal Information, RFC 9773) when there is one, the previous pick, the clock
//! and a random source. No I/O.
//!
//! - With ARI: a uniformly random instant inside `suggestedWindow` (RFC 9773 §4.2), so the CA's
//!   load spreads over the window; the pick is kept while the window stays the same and drawn
//!   again only when the CA moves it (a CA that revokes early moves the window into the past).
//! - Without ARI: when a third of the lifetime is left (90-day certificates at 30 days left,
//!   6-day certificates at 2 days left, like Let's Encrypt's own advice for short-lived ones).
//! - A window that has already ended means "renew now".

use serde::{Deserialize, Serialize};

use crate::clock::Random;

/// A certificate's validity period, Unix ms (`notBefore`, `notAfter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Lifetime {
    /// `notBefore`, Unix ms.
    pub not_before_ms: i64,
    /// `notAfter`, Unix ms.
    pub not_after_ms: i64,
}

/// A renewal window `[start_ms, end_ms]`, Unix ms (RFC 9773 `suggestedWindow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Window {
    /// The earliest instant to renew, Unix ms.
    pub start_ms: i64,
    /// The instant after which renewal is overdue, Unix ms.
    pub end_ms: i64,
}

/// Where the window of a [`RenewalPlan`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum WindowSource {
    /// The CA's ARI `suggestedWindow`.
    Ari,
    /// A third of the lifetime left (no ARI).
    Lifetime,
}

impl WindowSource {
    /// The stored form: `ari` or `lifetime`.
    pub fn as_str(self) -> &'static str {
        match self {
            WindowSource::Ari => "ari",
            WindowSource::Lifetime => "lifetime",
        }
    }

    /// Reads the stored form back.
    pub fn parse(text: &str) -> Option<WindowSource> {
        match text {
            "ari" => Some(WindowSource::Ari),
            "lifetime" => Some(WindowSource::Lifetime),
            _ => None,
        }
    }
}

/// The decided renewal instant and the window it was drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RenewalPlan {
    /// Renew at or after this instant, Unix ms.
    pub renew_at_ms: i64,
    /// The window `renew_at_ms` was picked in.
    pub window: Window,
    /// Where the window came from.
    pub source: WindowSource,
}

impl RenewalPlan {
    /// Whether renewal is due at `now_ms`.
    pub fn is_due(&self, now_ms: i64) -> bool {
        self.renew_at_ms <= now_ms
    }
}

/// The window without ARI: the instant a third of the lifetime is left (a zero-width window).
/// A certificate whose `notAfter` is not after `notBefore` is renewed at `notBefore`.
pub fn lifetime_window(lifetime: Lifetime) -> Window {
    let span = lifetime.not_after_ms.saturating_sub(lifetime.not_before_ms).max(0);
    let at = lifetime.not_after_ms.saturating_sub(span / 3).max(lifetime.not_before_ms.min(lifetime.not_after_ms));
    Window { start_ms: at, end_ms: at }
}

/// Decides the renewal instant (RFC 9773 §4.2).
///
/// `ari` is the CA's current suggested window, if it offers one; a window whose end is before
/// its start is ignored, as the RFC says to treat it as invalid. `previous` is the plan stored
/// for this certificate: its pick is kept when the window is unchanged, so repeated ARI polls do
/// not re-roll the instant. A window that ended before `now_ms` gives `now_ms`.
pub fn plan(
    lifetime: Lifetime,
    ari: Option<Window>,
    previous: Option<&RenewalPlan>,
    now_ms: i64,
    random: &dyn Random,
) -> RenewalPlan {
    let (window, source) = match ari.filter(|w| w.end_ms >= w.start_ms) {
        Some(window) => (window, WindowSource::Ari),
        None => (lifetime_window(lifetime), WindowSource::Lifetime),
    };
    if let Some(previous) = previous.filter(|p| p.window == window && p.source == source) {
        return *previous;
    }
    let renew_at_ms = if window.end_ms < now_ms { now_ms } else { uniform_in(window, random) };
    RenewalPlan { renew_at_ms, window, source }
}

/// A uniformly random instant in `[start_ms, end_ms]`. A failing random source falls back to the
/// window's start (renewing early is safe; renewing late is not).
fn uniform_in(window: Window, random: &dyn Random) -> i64 {
    let span = u128::try_from(window.end_ms.saturating_sub(window.start_ms)).unwrap_or(0);
    let mut bytes = [0u8; 8];
    if random.fill(&mut bytes).is_err() {
        return window.start_ms;
    }
    // Multiply-shift maps 64 random bits onto [0, span] without modulo bias worth the name.
    let offset = (u128::from(u64::from_le_bytes(bytes)) * (span + 1)) >> 64;
    window.start_ms.saturating_add(i64::try_from(offset).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SeededRandom;

    const DAY: i64 = 86_400_000;
    const T0: i64 = 1_767_225_600_000;

    fn life(days: i64) -> Lifetime {
        Lifetime { not_before_ms: T0, not_after_ms: T0 + days * DAY }
    }

    #[test]
    fn without_ari_a_third_of_the_lifetime_is_left() {
        let random = SeededRandom::new(1);
        let ninety = plan(life(90), None, None, T0, &random);
        assert_eq!(ninety.renew_at_ms, T0 + 60 * DAY, "90-day certificates renew at 30 days left");
        assert_eq!(ninety.source, WindowSource::Lifetime);
        let six = plan(life(6), None, None, T0, &random);
        assert_eq!(six.renew_at_ms, T0 + 4 * DAY, "6-day certificates renew at 2 days left");
        assert!(!six.is_due(T0 + 4 * DAY - 1));
        assert!(six.is_due(T0 + 4 * DAY));
    }

    #[test]
    fn ari_picks_uniformly_inside_the_window_and_keeps_the_pick() {
        let random = SeededRandom::new(9);
        let window = Window { start_ms: T0 + 50 * DAY, end_ms: T0 + 52 * DAY };
        let picks: Vec<i64> = (0..500).map(|_| plan(life(90), Some(window), None, T0, &random).renew_at_ms).collect();
        assert!(picks.iter().all(|&p| p >= window.start_ms && p <= window.end_ms));
        // Uniform: each half of the window gets a fair share of 500 picks.
        let first_half = picks.iter().filter(|&&p| p < window.start_ms + DAY).count();
        assert!((175..=325).contains(&first_half), "{first_half} of 500 in the first half");
        let first = plan(life(90), Some(window), None, T0, &random);
        assert_eq!(first.source, WindowSource::Ari);
        let again = plan(life(90), Some(window), Some(&first), T0 + DAY, &random);
        assert_eq!(again, first, "an unchanged window keeps its pick");
        let moved = Window { start_ms: T0 + 10 * DAY, end_ms: T0 + 11 * DAY };
        let repicked = plan(life(90), Some(moved), Some(&first), T0 + DAY, &random);
        assert!(repicked.renew_at_ms >= moved.start_ms && repicked.renew_at_ms <= moved.end_ms);
    }

    #[test]
    fn a_past_window_renews_now_and_an_inverted_one_is_ignored() {
        let random = SeededRandom::new(3);
        let past = Window { start_ms: T0 - 2 * DAY, end_ms: T0 - DAY };
        let now = plan(life(90), Some(past), None, T0, &random);
        assert_eq!(now.renew_at_ms, T0);
        assert!(now.is_due(T0));
        let inverted = Window { start_ms: T0 + 5 * DAY, end_ms: T0 + 4 * DAY };
        assert_eq!(plan(life(90), Some(inverted), None, T0, &random).source, WindowSource::Lifetime);
    }
}
