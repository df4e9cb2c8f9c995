//! A member's health as the server measures it (issue 15): a heartbeat within the detection
//! window, HAProxy running on the node, and the agent's own probe of the chosen frontend passing
//! when the pool asks for one ([`super::probe`]). Unknown is not healthy: a member never heard
//! from is not a target. A member that has not reported the pool's current probe yet (an agent
//! without probes, or the probe just configured) is judged on the rest: an unmeasured probe is
//! not a failure, so configuring a probe never moves the record by itself.

/// What the server knows of one member at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Observation {
    /// The member's last heartbeat, Unix ms.
    pub last_heartbeat_at: Option<i64>,
    /// HAProxy runs on the node, as its last heartbeat said.
    pub haproxy_running: Option<bool>,
    /// The agent's probe of the pool's current probe, as its last heartbeat said; `None`: not
    /// asked, or not reported yet.
    pub probe_ok: Option<bool>,
}

/// Healthy at `now`: a heartbeat less than `window_ms` old, HAProxy running, and the probe not
/// failing.
pub fn healthy(observation: &Observation, window_ms: i64, now: i64) -> bool {
    let fresh = observation.last_heartbeat_at.is_some_and(|at| now - at < window_ms);
    let running = observation.haproxy_running == Some(true);
    fresh && running && observation.probe_ok != Some(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_needs_a_fresh_heartbeat_a_running_haproxy_and_no_failing_probe() {
        let good = Observation { last_heartbeat_at: Some(100_000), haproxy_running: Some(true), probe_ok: None };
        assert!(healthy(&good, 30_000, 120_000));
        assert!(!healthy(&good, 30_000, 130_000), "the window passed without a heartbeat");
        assert!(!healthy(&Observation { haproxy_running: Some(false), ..good }, 30_000, 120_000));
        assert!(!healthy(&Observation { probe_ok: Some(false), ..good }, 30_000, 120_000), "the probe fails");
        assert!(healthy(&Observation { probe_ok: Some(true), ..good }, 30_000, 120_000));
        assert!(!healthy(&Observation::default(), 30_000, 0), "never heard from");
    }
}
