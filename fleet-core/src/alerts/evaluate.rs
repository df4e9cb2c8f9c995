//! The pure part of alerting: what a rule finds in a snapshot of the fleet at one moment. The
//! store keeps state between evaluations (pending, firing, resolved); this only says which
//! subjects match now, each with a stable key (the subject) and a summary for people.

use crate::model::{Agent, ApplyOutcome};
use crate::runtime::RuntimeSummary;

use super::rule::{Condition, NewAlertRule};

/// An event a rule can notify once: a VIP transition or a DNS failover move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetEvent {
    /// Unique per event (`vip:<transition id>`, `failover:<event id>`).
    pub key: String,
    /// When it happened, Unix ms.
    pub at: i64,
    /// The clusters it concerns: a VIP's cluster; for a pool's DNS failover, every cluster of
    /// the pool (the record serves them all), so a rule limited to one cluster hears of the
    /// failovers of the pool holding that cluster.
    pub cluster_ids: Vec<i64>,
    /// `vip_moved` or `dns_failover`.
    pub kind: &'static str,
    /// What happened.
    pub summary: String,
}

/// What the evaluation looks at.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot<'a> {
    /// Unix ms.
    pub now: i64,
    /// Every agent with its last heartbeat's facts.
    pub agents: &'a [Agent],
    /// Certificates: name and `not_after` (Unix ms).
    pub certificates: &'a [(String, i64)],
    /// Recent events.
    pub events: &'a [FleetEvent],
}

/// One subject a rule matches now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Stable while the condition lasts (`agent:12`, `server:12:app/s1`, `certificate:www`).
    pub key: String,
    /// For people: `agent node-a (cluster 7) is offline: last heartbeat 42 s ago`.
    pub summary: String,
}

/// Offline: no heartbeat within 3 of the agent's heartbeat intervals, the rule of
/// [`crate::monitor::node_state`] (the interval the agent reported, `heartbeat_ms`); how long
/// it has been silent.
fn offline(agent: &Agent, now: i64) -> Option<i64> {
    match crate::monitor::node_state(agent.last_seen_at, agent.heartbeat_ms, now) {
        crate::monitor::NodeState::Online => None,
        crate::monitor::NodeState::Offline => Some(now - agent.last_seen_at.unwrap_or(agent.created_at)),
    }
}

fn runtime(agent: &Agent) -> Option<RuntimeSummary> {
    serde_json::from_value(agent.facts.get("runtime")?.clone()).ok()
}

fn who(agent: &Agent) -> String {
    format!("agent {} (cluster {})", agent.name, agent.cluster_id)
}

/// What `rule` matches in `snapshot`, in a stable order.
pub fn findings(rule: &NewAlertRule, snapshot: &Snapshot<'_>) -> Vec<Finding> {
    let now = snapshot.now;
    let agents = snapshot.agents.iter().filter(|a| rule.cluster_id.is_none_or(|c| c == a.cluster_id));
    let mut found = Vec::new();
    match &rule.condition {
        Condition::AgentOffline => {
            for agent in agents {
                if let Some(silent) = offline(agent, now) {
                    found.push(Finding { key: format!("agent:{}", agent.id), summary: format!("{} is offline: no heartbeat for {} s", who(agent), silent / 1000) });
                }
            }
        }
        Condition::ApplyFailed => {
            for agent in agents {
                let failed = matches!(agent.last_outcome, Some(ApplyOutcome::Rejected | ApplyOutcome::ReloadFailed | ApplyOutcome::NodeError | ApplyOutcome::RefusedByNodePolicy));
                if let (true, Some(outcome)) = (failed, &agent.last_outcome) {
                    let error = agent.last_error.as_deref().unwrap_or("").lines().next().unwrap_or("");
                    found.push(Finding { key: format!("agent:{}", agent.id), summary: format!("{}: last apply {}: {error}", who(agent), outcome.as_str()) });
                }
            }
        }
        Condition::Drift => {
            for agent in agents {
                if let Some(drift) = &agent.drift {
                    let paths: Vec<&str> = drift.files.iter().map(|f| f.path.as_str()).collect();
                    found.push(Finding { key: format!("agent:{}", agent.id), summary: format!("{} drifted: {} differ from what it applied", who(agent), paths.join(", ")) });
                }
            }
        }
        Condition::BackendDown | Condition::ServerDown => {
            for agent in agents.filter(|a| offline(a, now).is_none()) {
                let Some(summary) = runtime(agent) else { continue };
                if rule.condition == Condition::BackendDown {
                    for (name, proxy) in &summary.proxies {
                        if proxy.status.eq_ignore_ascii_case("DOWN") {
                            found.push(Finding { key: format!("backend:{}:{name}", agent.id), summary: format!("{}: backend {name} has no server up", who(agent)) });
                        }
                    }
                } else {
                    for (name, server) in &summary.servers {
                        if server.status.to_ascii_uppercase().starts_with("DOWN") {
                            found.push(Finding { key: format!("server:{}:{name}", agent.id), summary: format!("{}: server {name} is {}", who(agent), server.status) });
                        }
                    }
                }
            }
        }
        Condition::CertificateExpiring { days } => {
            let horizon = now + i64::from(*days) * 86_400_000;
            for (name, not_after) in snapshot.certificates {
                if *not_after <= horizon {
                    let left = (not_after - now) / 86_400_000;
                    let when = if *not_after <= now { "has expired".to_string() } else { format!("expires in {left} days") };
                    found.push(Finding { key: format!("certificate:{name}"), summary: format!("certificate {name} {when}") });
                }
            }
        }
        Condition::VipMoved | Condition::DnsFailover => {
            let kind = if rule.condition == Condition::VipMoved { "vip_moved" } else { "dns_failover" };
            for event in snapshot.events.iter().filter(|e| e.kind == kind) {
                if rule.cluster_id.is_none_or(|c| event.cluster_ids.contains(&c)) {
                    found.push(Finding { key: event.key.clone(), summary: event.summary.clone() });
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{ProxySummary, ServerSummary};

    fn agent(id: i64, last_seen_at: Option<i64>) -> Agent {
        Agent {
            id,
            cluster_id: 1,
            name: format!("n{id}"),
            hostname: String::new(),
            facts: serde_json::json!({}),
            last_seen_at,
            state: crate::monitor::NodeState::Offline,
            heartbeat_ms: Some(1_000),
            drift: None,
            applied_version: None,
            last_outcome: None,
            last_error: None,
            last_diagnostics: Vec::new(),
            keepalived: None,
            interfaces: Vec::new(),
            created_at: 0,
        }
    }

    fn rule(condition: Condition) -> NewAlertRule {
        NewAlertRule { name: "r".into(), condition, cluster_id: None, for_seconds: 0, channels: Vec::new(), enabled: true }
    }

    fn keys(rule: &NewAlertRule, snapshot: &Snapshot<'_>) -> Vec<String> {
        findings(rule, snapshot).into_iter().map(|f| f.key).collect()
    }

    #[test]
    fn offline_is_three_heartbeat_intervals_without_a_heartbeat() {
        let agents = [agent(1, Some(10_000)), agent(2, Some(6_000)), agent(3, None)];
        let snapshot = Snapshot { now: 10_000 + 3_000, agents: &agents, certificates: &[], events: &[] };
        assert_eq!(keys(&rule(Condition::AgentOffline), &snapshot), ["agent:2", "agent:3"]);
        let mut other = rule(Condition::AgentOffline);
        other.cluster_id = Some(2);
        assert!(keys(&other, &snapshot).is_empty(), "another cluster's rule");
    }

    #[test]
    fn failed_applies_down_servers_and_backends_and_expiring_certificates() {
        let mut failed = agent(1, Some(1_000));
        failed.last_outcome = Some(ApplyOutcome::Rejected);
        failed.last_error = Some("[ALERT] parsing error\nmore".into());
        let mut summary = RuntimeSummary::default();
        summary.proxies.insert("app".into(), ProxySummary { status: "DOWN".into(), ..Default::default() });
        summary.proxies.insert("web".into(), ProxySummary { status: "UP".into(), ..Default::default() });
        summary.servers.insert("app/s1".into(), ServerSummary { status: "DOWN 1/2".into(), ..Default::default() });
        summary.servers.insert("web/s1".into(), ServerSummary { status: "UP".into(), ..Default::default() });
        failed.facts["runtime"] = serde_json::to_value(&summary).unwrap();
        let mut silent = failed.clone();
        silent.id = 2;
        silent.last_seen_at = Some(-60_000);
        let agents = [failed, silent];
        let certificates = [("www".to_string(), 10 * 86_400_000), ("old".to_string(), -1), ("far".to_string(), 100 * 86_400_000)];
        let snapshot = Snapshot { now: 1_000, agents: &agents, certificates: &certificates, events: &[] };
        let applied = findings(&rule(Condition::ApplyFailed), &snapshot);
        assert_eq!(applied[0].summary, "agent n1 (cluster 1): last apply rejected: [ALERT] parsing error");
        assert_eq!(keys(&rule(Condition::BackendDown), &snapshot), ["backend:1:app"], "only online nodes");
        assert_eq!(keys(&rule(Condition::ServerDown), &snapshot), ["server:1:app/s1"]);
        let mut drifted = agent(3, Some(1_000));
        drifted.drift = Some(crate::monitor::Drift { files: vec![crate::monitor::DriftFile { path: "haproxy.cfg".into(), diff: "-a\n+b\n".into() }], since: 500 });
        let drifting = [drifted];
        let drift = findings(&rule(Condition::Drift), &Snapshot { now: 1_000, agents: &drifting, certificates: &[], events: &[] });
        assert_eq!(drift, [Finding { key: "agent:3".into(), summary: "agent n3 (cluster 1) drifted: haproxy.cfg differ from what it applied".into() }]);
        let expiring = findings(&rule(Condition::CertificateExpiring { days: 14 }), &snapshot);
        assert_eq!(expiring.iter().map(|f| f.summary.as_str()).collect::<Vec<_>>(), ["certificate www expires in 9 days", "certificate old has expired"]);
    }

    #[test]
    fn events_reach_the_rules_of_every_cluster_they_concern() {
        let event = |key: &str, kind: &'static str, cluster_ids: Vec<i64>| FleetEvent { key: key.into(), at: 0, cluster_ids, kind, summary: key.into() };
        // A pool with clusters 1 and 2 failed over; a VIP of cluster 3 moved.
        let events = [event("failover:1", "dns_failover", vec![1, 2]), event("vip:1", "vip_moved", vec![3])];
        let snapshot = Snapshot { now: 0, agents: &[], certificates: &[], events: &events };
        let scoped = |condition: Condition, cluster_id: Option<i64>| NewAlertRule { cluster_id, ..rule(condition) };
        assert_eq!(keys(&scoped(Condition::DnsFailover, None), &snapshot), ["failover:1"]);
        assert_eq!(keys(&scoped(Condition::DnsFailover, Some(2)), &snapshot), ["failover:1"], "a cluster of the pool");
        assert!(keys(&scoped(Condition::DnsFailover, Some(3)), &snapshot).is_empty(), "a cluster of another pool");
        assert_eq!(keys(&scoped(Condition::VipMoved, Some(3)), &snapshot), ["vip:1"]);
        assert!(keys(&scoped(Condition::VipMoved, Some(1)), &snapshot).is_empty());
    }
}
