//! The failover decision: pure, with the time passed in, so flapping, split health, a pool with
//! every member down and a member coming back are unit-tested without waiting.
//!
//! ```text
//! (policy, state: active + last move, members' health as of `now`) -> decide ->
//!   Stay                       the active member is healthy (and no fail-back is due),
//!                              or automatic failover is off
//!   Hold { until }             a move is due but the last one was less than `hold` ago
//!   AllDown                    no healthy member with an address: the record keeps pointing
//!                              at the active member (never at nothing) and an alert is due
//!   Move { to, reason }        to the first healthy member in pool order (or back to the
//!                              preferred member when fail-back is due)
//! ```
//!
//! Health is decided by the caller from what it measured (a heartbeat within the detection
//! window, HAProxy running, the optional probe) and given with the time it last changed, so
//! "healthy for N s" (fail-back) is a comparison here, not a timer.

/// When the record goes back to the preferred member once it is healthy again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Failback {
    /// Never by itself: an operator moves it back (activate).
    #[default]
    Never,
    /// When the preferred member has been healthy for `seconds` (and the hold time allows).
    WhenHealthyFor {
        /// Seconds of continuous health.
        seconds: u64,
    },
}

/// The rules a pool's failover follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Automatic failover on; off: only manual moves.
    pub automatic: bool,
    /// Minimum time between two moves, ms (anti-flap).
    pub hold_ms: i64,
    /// Going back to the preferred member.
    pub failback: Failback,
}

/// One member as the caller measured it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The agent's name.
    pub agent: String,
    /// Healthy now.
    pub healthy: bool,
    /// When `healthy` last changed, Unix ms (its first measurement when it never changed).
    pub since: i64,
    /// Whether it has an address the record can point at.
    pub addressable: bool,
}

/// Where a pool stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// The member the record points at.
    pub active: Option<String>,
    /// The member an operator made active last (fail-back goes there), if any.
    pub preferred: Option<String>,
    /// When the record last moved, Unix ms.
    pub last_move_at: Option<i64>,
}

/// What a decider remembers of a pool between its ticks (never stored: a replica taking a
/// pool over starts afresh, measuring health from the members' last heartbeats).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memory {
    /// Each member's health and since when (Unix ms) it has held it.
    pub health: std::collections::BTreeMap<String, (bool, i64)>,
    /// The all-down error was recorded (once per episode).
    pub alerted: bool,
    /// The hold note was recorded (once per episode).
    pub held: bool,
    /// The records as read from the provider (`A 198.51.100.1`, one entry per record type,
    /// values sorted) or last re-published, when known ...
    pub published: Option<Vec<String>>,
    /// ... as of the move stored at this time (Unix ms): any later move, by this decider or by
    /// hand, makes them unknown again.
    pub published_as_of: Option<i64>,
    /// The last error re-publishing the active member's changed address (recorded once).
    pub sync_error: Option<String>,
}

/// What to do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nothing.
    Stay,
    /// A move is due but the hold time since the last one has not passed.
    Hold {
        /// The member it would move to.
        to: String,
        /// When the hold ends, Unix ms.
        until: i64,
    },
    /// No healthy, addressable member: keep the record as it is and alert.
    AllDown,
    /// Point the record at `to`.
    Move {
        /// The new active member.
        to: String,
        /// Why, lowercase.
        reason: String,
    },
}

/// The decision for `state` with `members` (in pool order) at `now` (Unix ms).
pub fn decide(policy: &Policy, state: &State, members: &[Member], now: i64) -> Decision {
    if !policy.automatic {
        return Decision::Stay;
    }
    let ready = |m: &&Member| m.healthy && m.addressable;
    let active = state.active.as_deref().and_then(|a| members.iter().find(|m| m.agent == a));
    let wanted = match active {
        Some(current) if current.healthy && current.addressable => {
            // Fail-back: the preferred member, healthy long enough, while another is active.
            let back = match (policy.failback, state.preferred.as_deref()) {
                (Failback::WhenHealthyFor { seconds }, Some(preferred)) if preferred != current.agent => members
                    .iter()
                    .filter(ready)
                    .find(|m| m.agent == preferred && now - m.since >= i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX)),
                _ => None,
            };
            match back {
                Some(preferred) => (preferred.agent.clone(), format!("fail-back to {} (healthy again)", preferred.agent)),
                None => return Decision::Stay,
            }
        }
        _ => {
            let Some(next) = members.iter().filter(ready).find(|m| Some(m.agent.as_str()) != state.active.as_deref()) else {
                return Decision::AllDown;
            };
            let why = match (state.active.as_deref(), active) {
                (None, _) => "no active member".to_string(),
                (Some(name), None) => format!("{name} is no longer a member"),
                (Some(name), Some(m)) if !m.addressable => format!("{name} has no address"),
                (Some(name), Some(_)) => format!("{name} is unhealthy"),
            };
            (next.agent.clone(), format!("{why}: {} is healthy", next.agent))
        }
    };
    let (to, reason) = wanted;
    match state.last_move_at {
        Some(last) if now < last.saturating_add(policy.hold_ms) => Decision::Hold { to, until: last + policy.hold_ms },
        _ => Decision::Move { to, reason },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOLD: i64 = 60_000;

    fn policy(failback: Failback) -> Policy {
        Policy { automatic: true, hold_ms: HOLD, failback }
    }

    fn member(agent: &str, healthy: bool, since: i64) -> Member {
        Member { agent: agent.into(), healthy, since, addressable: true }
    }

    fn state(active: &str, last_move_at: Option<i64>) -> State {
        State { active: Some(active.into()), preferred: Some("a".into()), last_move_at }
    }

    fn moved_to(d: &Decision) -> Option<&str> {
        match d {
            Decision::Move { to, .. } => Some(to),
            _ => None,
        }
    }

    #[test]
    fn a_healthy_active_member_stays() {
        let members = [member("a", true, 0), member("b", true, 0)];
        assert_eq!(decide(&policy(Failback::Never), &state("a", None), &members, 1_000), Decision::Stay);
    }

    #[test]
    fn an_unhealthy_active_member_moves_to_the_first_ready_standby() {
        let members = [member("a", false, 5_000), Member { addressable: false, ..member("b", true, 0) }, member("c", true, 0)];
        let d = decide(&policy(Failback::Never), &state("a", None), &members, 10_000);
        assert_eq!(moved_to(&d), Some("c"), "b has no address to point at");
        match d {
            Decision::Move { reason, .. } => assert_eq!(reason, "a is unhealthy: c is healthy"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn all_members_down_keeps_the_record() {
        let members = [member("a", false, 0), member("b", false, 0)];
        assert_eq!(decide(&policy(Failback::Never), &state("a", None), &members, 1_000), Decision::AllDown);
        assert_eq!(decide(&policy(Failback::Never), &State { active: None, preferred: None, last_move_at: None }, &members, 1_000), Decision::AllDown);
    }

    #[test]
    fn flapping_within_the_hold_time_moves_at_most_once() {
        let p = policy(Failback::WhenHealthyFor { seconds: 0 });
        let mut s = state("a", None);
        let mut moves = 0;
        // a and b alternate health every 5 s for two minutes.
        for step in 0..24 {
            let now = 100_000 + step * 5_000;
            let a_up = step % 2 == 1;
            let members = [member("a", a_up, now), member("b", !a_up, now)];
            if let Decision::Move { to, .. } = decide(&p, &s, &members, now) {
                moves += 1;
                s.active = Some(to);
                s.last_move_at = Some(now);
            }
            if now < 100_000 + HOLD {
                assert!(moves <= 1, "step {step}: {moves} moves within the hold time");
            }
        }
        assert!(moves <= 3, "{moves} moves in 120 s with a 60 s hold");
    }

    #[test]
    fn a_held_move_names_when_it_may_happen() {
        let members = [member("a", false, 0), member("b", true, 0)];
        let d = decide(&policy(Failback::Never), &state("a", Some(10_000)), &members, 20_000);
        assert_eq!(d, Decision::Hold { to: "b".into(), until: 10_000 + HOLD });
        assert_eq!(moved_to(&decide(&policy(Failback::Never), &state("a", Some(10_000)), &members, 10_000 + HOLD)), Some("b"));
    }

    #[test]
    fn a_member_coming_back_is_taken_back_only_with_failback() {
        // b is active after a failed; a is healthy again since t = 100 s.
        let members = [member("a", true, 100_000), member("b", true, 0)];
        let s = State { active: Some("b".into()), preferred: Some("a".into()), last_move_at: Some(0) };
        assert_eq!(decide(&policy(Failback::Never), &s, &members, 500_000), Decision::Stay);
        let p = policy(Failback::WhenHealthyFor { seconds: 30 });
        assert_eq!(decide(&p, &s, &members, 120_000), Decision::Stay, "healthy for 20 s only");
        assert_eq!(moved_to(&decide(&p, &s, &members, 130_000)), Some("a"));
    }

    #[test]
    fn manual_only_pools_never_move_by_themselves() {
        let members = [member("a", false, 0), member("b", true, 0)];
        let p = Policy { automatic: false, ..policy(Failback::Never) };
        assert_eq!(decide(&p, &state("a", None), &members, 1_000), Decision::Stay);
    }

    #[test]
    fn split_health_follows_the_active_member_only() {
        // The active member is healthy while a standby is not: nothing to do.
        let members = [member("a", true, 0), member("b", false, 0)];
        assert_eq!(decide(&policy(Failback::Never), &state("a", None), &members, 1_000), Decision::Stay);
        // The active member left the pool: the first ready one takes over.
        let members = [member("b", false, 0), member("c", true, 0)];
        let d = decide(&policy(Failback::Never), &state("a", None), &members, 1_000);
        assert_eq!(d, Decision::Move { to: "c".into(), reason: "a is no longer a member: c is healthy".into() });
    }
}
