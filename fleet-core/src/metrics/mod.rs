//! Fleet-level Prometheus series: what the store knows about clusters, agents, their latest
//! heartbeats' runtime summaries, certificates, DNS failover and VIPs, turned into families of the
//! text exposition format (version 0.0.4). The server's `/metrics` route only appends this text
//! to its own request counters.
//!
//! ```text
//! Store::fleet_snapshot()  (5 queries, whatever the number of agents)
//!   -> FleetSnapshot { clusters, agents (facts.runtime parsed), certificates, failover, vips }
//!   -> render(snapshot, MetricsOptions { max_servers })  -> exposition text
//! ```
//!
//! Runtime figures come from **online** agents only (a stale heartbeat is not how a node is
//! doing now) and are aggregated per cluster: a server's series sum (sessions) or count
//! (agents per state) over the cluster's online agents. Label cardinality is bounded: at most
//! `max_servers` `(cluster, backend, server)` keys are exported, in name order, and
//! `fleet_metrics_servers_dropped` says how many were left out.
//!
//! Traffic (`*_http_requests_total`, `*_bytes_in_total`, `*_bytes_out_total`,
//! `*_http_responses_total{code="4xx"|"5xx"}`, per frontend/backend and per server) is the sum
//! of the online agents' HAProxy counters as their latest heartbeat carried them: counters that
//! restart at 0 when a node's HAProxy reloads or an agent goes offline, which Prometheus'
//! `rate()` reads as a counter reset. Rates are `rate(...[1m])` on the scraping side.

use std::collections::BTreeMap;
use std::fmt::{Display, Write};

use crate::model::ApplyOutcome;
use crate::runtime::{RuntimeSummary, Traffic};

/// The default of `fleet serve --metrics-max-servers`.
pub const DEFAULT_MAX_SERVERS: usize = 10_000;

/// The interval assumed for an agent whose heartbeat interval is unknown (fleet-agent's default
/// `--heartbeat-seconds 5`), in ms.
pub const DEFAULT_HEARTBEAT_MS: i64 = crate::monitor::DEFAULT_HEARTBEAT_MS;

/// Every apply outcome, so each cluster exports all of them (0 included: an alert on
/// `rejected > 0` needs the series to exist).
const OUTCOMES: [ApplyOutcome; 6] = [
    ApplyOutcome::Applied,
    ApplyOutcome::AppliedRuntime,
    ApplyOutcome::Rejected,
    ApplyOutcome::ReloadFailed,
    ApplyOutcome::NodeError,
    ApplyOutcome::RefusedByNodePolicy,
];

/// Whether an agent is online at `now_ms`: heard from within 3 of its heartbeat intervals
/// (`heartbeat_ms`, unknown: [`DEFAULT_HEARTBEAT_MS`]). The one place `/metrics` decides it.
pub fn agent_online(last_seen_at: Option<i64>, heartbeat_ms: Option<i64>, now_ms: i64) -> bool {
    crate::monitor::node_state(last_seen_at, heartbeat_ms, now_ms) == crate::monitor::NodeState::Online
}

/// True when an `Authorization` header value is `Bearer <token>`: the SHA-256 digests of the
/// presented and expected tokens are compared in constant time, so neither the content nor the
/// length of the token leaks through timing.
pub fn bearer_matches(authorization: Option<&str>, token: &str) -> bool {
    use sha2::{Digest, Sha256};
    let presented = authorization.and_then(|h| h.strip_prefix("Bearer ")).unwrap_or("");
    let (a, b) = (Sha256::digest(presented.as_bytes()), Sha256::digest(token.as_bytes()));
    let differ = a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // An absent header never matches, whatever the token.
    authorization.is_some() && differ == 0
}

/// A cluster: its name and desired version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterFacts {
    /// The cluster's name.
    pub name: String,
    /// The version its agents should run.
    pub desired_version: Option<i64>,
}

/// An agent as `/metrics` needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentFacts {
    /// Its cluster's name.
    pub cluster: String,
    /// Its name.
    pub name: String,
    /// Last heartbeat or report, Unix ms.
    pub last_seen_at: Option<i64>,
    /// Its heartbeat interval in ms, when known.
    pub heartbeat_ms: Option<i64>,
    /// The version it runs.
    pub applied_version: Option<i64>,
    /// How its last apply went.
    pub last_outcome: Option<ApplyOutcome>,
    /// The runtime summary of its latest heartbeat (facts `runtime`).
    pub runtime: Option<RuntimeSummary>,
}

/// A certificate's notAfter in one cluster it is deployed to (`cluster` empty: nowhere).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateExpiry {
    /// The certificate's name.
    pub certificate: String,
    /// The cluster's name, or empty.
    pub cluster: String,
    /// notAfter, Unix ms.
    pub not_after: i64,
}

/// A VIP and the agents holding it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipHolders {
    /// The VIP's cluster.
    pub cluster: String,
    /// The VIP's name.
    pub vip: String,
    /// Agent names holding it (several: split brain; none: nobody).
    pub holders: Vec<String>,
}

/// Everything the fleet families are made of, read at `now_ms`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FleetSnapshot {
    /// When it was read, Unix ms.
    pub now_ms: i64,
    /// Every cluster, by name.
    pub clusters: Vec<ClusterFacts>,
    /// Every agent, by cluster and name.
    pub agents: Vec<AgentFacts>,
    /// Every certificate deployment.
    pub certificates: Vec<CertificateExpiry>,
    /// `(pool, active member)` of every pool with DNS failover and an active member.
    pub failover_active: Vec<(String, String)>,
    /// Every VIP with its holders.
    pub vips: Vec<VipHolders>,
}

/// Settings of the fleet families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsOptions {
    /// At most this many `(cluster, backend, server)` keys are exported.
    pub max_servers: usize,
}

impl Default for MetricsOptions {
    fn default() -> Self {
        MetricsOptions { max_servers: DEFAULT_MAX_SERVERS }
    }
}

/// Every family [`render`] writes (also when it has no sample), for tests and dashboards.
pub const FAMILIES: &[&str] = &[
    "fleet_agents",
    "fleet_agent_up",
    "fleet_agent_last_seen_timestamp_seconds",
    "fleet_agent_applied_version",
    "fleet_cluster_desired_version",
    "fleet_cluster_agents_converged",
    "fleet_cluster_apply_outcome_agents",
    "fleet_node_current_connections",
    "fleet_node_session_rate",
    "fleet_node_request_rate",
    "fleet_node_uptime_seconds",
    "fleet_proxy_status",
    "fleet_proxy_current_sessions",
    "fleet_proxy_sessions_total",
    "fleet_proxy_http_requests_total",
    "fleet_proxy_bytes_in_total",
    "fleet_proxy_bytes_out_total",
    "fleet_proxy_http_responses_total",
    "fleet_server_status",
    "fleet_server_up",
    "fleet_server_current_sessions",
    "fleet_server_weight",
    "fleet_server_http_requests_total",
    "fleet_server_bytes_in_total",
    "fleet_server_bytes_out_total",
    "fleet_server_http_responses_total",
    "fleet_metrics_servers_exported",
    "fleet_metrics_servers_dropped",
    "fleet_certificate_expiry_timestamp_seconds",
    "fleet_certificate_expiry_seconds",
    "fleet_dns_failover_active",
    "fleet_vip_holders",
    "fleet_vip_holder",
];

/// A label value escaped for the exposition format: `\` `"` and newline.
pub fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Writes families in the text format.
struct Writer {
    out: String,
}

impl Writer {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (label, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{label}=\"{}\"", escape_label(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }
}

/// A server's HAProxy status as a label: `UP 1/3` -> `up`, `no check` -> `no_check`,
/// `MAINT (via b/s)` -> `maint`, empty -> `unknown`.
pub fn status_label(status: &str) -> String {
    let word = match status.trim() {
        "" => return "unknown".into(),
        s if s.eq_ignore_ascii_case("no check") => return "no_check".into(),
        s => s.split([' ', '(']).next().unwrap_or(s),
    };
    word.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect()
}

/// True when a server with this status takes new traffic: `UP` (also `UP n/m` while checks
/// fail but have not yet taken it down) or `no check`.
pub fn server_is_up(status: &str) -> bool {
    let s = status.trim();
    s == "UP" || s.starts_with("UP ") || s.eq_ignore_ascii_case("no check")
}

/// One figure of a node's runtime summary.
type NodeFigure = fn(&RuntimeSummary) -> Option<i64>;

/// One server's figures over a cluster's online agents.
#[derive(Default)]
struct ServerAggregate {
    states: BTreeMap<String, i64>,
    all_up: bool,
    sessions: i64,
    weight: i64,
    traffic: Traffic,
}

/// One counter of a row's traffic.
type TrafficFigure = fn(&Traffic) -> i64;

/// Adds `more` to `sum`, counter by counter.
fn add(sum: &mut Traffic, more: &Traffic) {
    sum.requests += more.requests;
    sum.bytes_in += more.bytes_in;
    sum.bytes_out += more.bytes_out;
    sum.responses_4xx += more.responses_4xx;
    sum.responses_5xx += more.responses_5xx;
}

/// The traffic families of one kind of row (`fleet_proxy` or `fleet_server`): each family's
/// name, help and figure; the responses family has a `code` label.
fn traffic_families<'a, K>(w: &mut Writer, prefix: &str, what: &str, rows: &[(Vec<(&'a str, &'a str)>, K)], traffic: impl Fn(&K) -> &Traffic) {
    let figures: [(&str, &str, TrafficFigure); 3] = [
        ("http_requests_total", "HTTP requests (a server: the HTTP responses it gave) since each HAProxy started", |t| t.requests),
        ("bytes_in_total", "Bytes received from clients since each HAProxy started", |t| t.bytes_in),
        ("bytes_out_total", "Bytes sent to clients since each HAProxy started", |t| t.bytes_out),
    ];
    for (suffix, help, get) in figures {
        let name = format!("{prefix}_{suffix}");
        w.family(&name, "counter", &format!("{help}, per {what}, summed over the cluster's online agents."));
        for (labels, row) in rows {
            w.sample(&name, labels, get(traffic(row)));
        }
    }
    let name = format!("{prefix}_http_responses_total");
    w.family(&name, "counter", &format!("HTTP responses by class (4xx, 5xx) since each HAProxy started, per {what}, summed over the cluster's online agents."));
    for (labels, row) in rows {
        for (code, value) in [("4xx", traffic(row).responses_4xx), ("5xx", traffic(row).responses_5xx)] {
            let mut labels = labels.clone();
            labels.push(("code", code));
            w.sample(&name, &labels, value);
        }
    }
}

/// One proxy's figures over a cluster's online agents.
#[derive(Default)]
struct ProxyAggregate {
    states: BTreeMap<String, i64>,
    sessions: i64,
    total: i64,
    traffic: Traffic,
}

/// The fleet families of `snapshot` (see the module docs).
pub fn render(snapshot: &FleetSnapshot, options: &MetricsOptions) -> String {
    let now = snapshot.now_ms;
    let mut w = Writer { out: String::with_capacity(64 * 1024) };
    let online: Vec<bool> = snapshot.agents.iter().map(|a| agent_online(a.last_seen_at, a.heartbeat_ms, now)).collect();

    // Agents by state, per cluster (both states, 0 included).
    w.family("fleet_agents", "gauge", "Agents per cluster by state: online when heard from within 3 heartbeat intervals.");
    let mut by_cluster: BTreeMap<&str, (i64, i64)> = snapshot.clusters.iter().map(|c| (c.name.as_str(), (0, 0))).collect();
    for (agent, up) in snapshot.agents.iter().zip(&online) {
        let entry = by_cluster.entry(&agent.cluster).or_default();
        if *up {
            entry.0 += 1;
        } else {
            entry.1 += 1;
        }
    }
    for (cluster, (up, down)) in &by_cluster {
        w.sample("fleet_agents", &[("cluster", cluster), ("state", "online")], up);
        w.sample("fleet_agents", &[("cluster", cluster), ("state", "offline")], down);
    }
    w.family("fleet_agent_up", "gauge", "1 when the agent is online, 0 when offline.");
    for (agent, up) in snapshot.agents.iter().zip(&online) {
        w.sample("fleet_agent_up", &[("cluster", &agent.cluster), ("agent", &agent.name)], i64::from(*up));
    }
    w.family("fleet_agent_last_seen_timestamp_seconds", "gauge", "Unix time of the agent's last heartbeat or report.");
    for agent in &snapshot.agents {
        if let Some(at) = agent.last_seen_at {
            w.sample("fleet_agent_last_seen_timestamp_seconds", &[("cluster", &agent.cluster), ("agent", &agent.name)], at.div_euclid(1000));
        }
    }
    w.family("fleet_agent_applied_version", "gauge", "The configuration version the agent runs.");
    for agent in &snapshot.agents {
        if let Some(version) = agent.applied_version {
            w.sample("fleet_agent_applied_version", &[("cluster", &agent.cluster), ("agent", &agent.name)], version);
        }
    }

    // Versions and outcomes per cluster.
    w.family("fleet_cluster_desired_version", "gauge", "The configuration version the cluster's agents should run.");
    for cluster in &snapshot.clusters {
        if let Some(version) = cluster.desired_version {
            w.sample("fleet_cluster_desired_version", &[("cluster", &cluster.name)], version);
        }
    }
    w.family("fleet_cluster_agents_converged", "gauge", "Agents of the cluster running its desired version.");
    for cluster in &snapshot.clusters {
        let converged = snapshot
            .agents
            .iter()
            .filter(|a| a.cluster == cluster.name && a.applied_version.is_some() && a.applied_version == cluster.desired_version)
            .count();
        w.sample("fleet_cluster_agents_converged", &[("cluster", &cluster.name)], converged);
    }
    w.family("fleet_cluster_apply_outcome_agents", "gauge", "Agents of the cluster by the outcome of their last apply.");
    for cluster in &snapshot.clusters {
        for outcome in OUTCOMES {
            let count = snapshot.agents.iter().filter(|a| a.cluster == cluster.name && a.last_outcome == Some(outcome)).count();
            w.sample("fleet_cluster_apply_outcome_agents", &[("cluster", &cluster.name), ("outcome", outcome.as_str())], count);
        }
    }

    // Runtime: per node, then aggregated per cluster over online agents.
    let live: Vec<(&AgentFacts, &RuntimeSummary)> =
        snapshot.agents.iter().zip(&online).filter(|(_, up)| **up).filter_map(|(a, _)| a.runtime.as_ref().map(|r| (a, r))).collect();
    let node_families: [(&str, &str, NodeFigure); 4] = [
        ("fleet_node_current_connections", "Current connections of the node's HAProxy (show info CurrConns).", |r| r.current_connections),
        ("fleet_node_session_rate", "Sessions per second of the node's HAProxy (show info SessRate).", |r| r.session_rate),
        ("fleet_node_request_rate", "HTTP requests per second over the node's frontends (show stat req_rate).", |r| r.request_rate),
        ("fleet_node_uptime_seconds", "Seconds since the node's HAProxy worker started.", |r| r.uptime_sec),
    ];
    for (name, help, get) in node_families {
        w.family(name, "gauge", help);
        for (agent, runtime) in &live {
            if let Some(value) = get(runtime) {
                w.sample(name, &[("cluster", &agent.cluster), ("agent", &agent.name)], value);
            }
        }
    }

    let mut proxies: BTreeMap<(&str, &str, &str), ProxyAggregate> = BTreeMap::new();
    let mut servers: BTreeMap<(&str, &str, &str), ServerAggregate> = BTreeMap::new();
    for (agent, runtime) in &live {
        for (key, proxy) in &runtime.proxies {
            let (name, kind) = key.rsplit_once('/').unwrap_or((key.as_str(), ""));
            let entry = proxies.entry((agent.cluster.as_str(), name, kind)).or_default();
            *entry.states.entry(status_label(&proxy.status)).or_default() += 1;
            entry.sessions += proxy.sessions;
            entry.total += proxy.total_sessions;
            add(&mut entry.traffic, &proxy.traffic);
        }
        for (key, server) in &runtime.servers {
            let (backend, name) = key.split_once('/').unwrap_or(("", key.as_str()));
            let entry = servers.entry((agent.cluster.as_str(), backend, name)).or_insert_with(|| ServerAggregate { all_up: true, ..Default::default() });
            *entry.states.entry(status_label(&server.status)).or_default() += 1;
            entry.all_up &= server_is_up(&server.status);
            entry.sessions += server.sessions;
            entry.weight += server.weight;
            add(&mut entry.traffic, &server.traffic);
        }
    }
    w.family("fleet_proxy_status", "gauge", "Online agents of the cluster reporting the frontend or backend in this state.");
    for ((cluster, proxy, kind), p) in &proxies {
        for (state, count) in &p.states {
            w.sample("fleet_proxy_status", &[("cluster", cluster), ("proxy", proxy), ("type", kind), ("state", state)], count);
        }
    }
    w.family("fleet_proxy_current_sessions", "gauge", "Current sessions of the frontend or backend, summed over the cluster's online agents.");
    for ((cluster, proxy, kind), p) in &proxies {
        w.sample("fleet_proxy_current_sessions", &[("cluster", cluster), ("proxy", proxy), ("type", kind)], p.sessions);
    }
    w.family("fleet_proxy_sessions_total", "counter", "Sessions since each HAProxy started (stot), summed over the cluster's online agents.");
    for ((cluster, proxy, kind), p) in &proxies {
        w.sample("fleet_proxy_sessions_total", &[("cluster", cluster), ("proxy", proxy), ("type", kind)], p.total);
    }
    let rows: Vec<_> = proxies.iter().map(|((cluster, proxy, kind), p)| (vec![("cluster", *cluster), ("proxy", *proxy), ("type", *kind)], p)).collect();
    traffic_families(&mut w, "fleet_proxy", "frontend or backend", &rows, |p| &p.traffic);

    let dropped = servers.len().saturating_sub(options.max_servers);
    let kept: Vec<_> = servers.iter().take(options.max_servers).collect();
    w.family("fleet_server_status", "gauge", "Online agents of the cluster reporting the server in this state (up, down, drain, maint, no_check ...).");
    for ((cluster, backend, server), s) in &kept {
        for (state, count) in &s.states {
            w.sample("fleet_server_status", &[("cluster", cluster), ("backend", backend), ("server", server), ("state", state)], count);
        }
    }
    w.family("fleet_server_up", "gauge", "1 when every online agent of the cluster reports the server UP (or no check), else 0.");
    for ((cluster, backend, server), s) in &kept {
        w.sample("fleet_server_up", &[("cluster", cluster), ("backend", backend), ("server", server)], i64::from(s.all_up));
    }
    w.family("fleet_server_current_sessions", "gauge", "Current sessions of the server, summed over the cluster's online agents.");
    for ((cluster, backend, server), s) in &kept {
        w.sample("fleet_server_current_sessions", &[("cluster", cluster), ("backend", backend), ("server", server)], s.sessions);
    }
    w.family("fleet_server_weight", "gauge", "Effective weight of the server, summed over the cluster's online agents.");
    for ((cluster, backend, server), s) in &kept {
        w.sample("fleet_server_weight", &[("cluster", cluster), ("backend", backend), ("server", server)], s.weight);
    }
    let rows: Vec<_> = kept.iter().map(|((cluster, backend, server), s)| (vec![("cluster", *cluster), ("backend", *backend), ("server", *server)], *s)).collect();
    traffic_families(&mut w, "fleet_server", "server", &rows, |s| &s.traffic);
    w.family("fleet_metrics_servers_exported", "gauge", "Servers (cluster, backend, server) exported in the fleet_server_* families.");
    w.sample("fleet_metrics_servers_exported", &[], kept.len());
    w.family("fleet_metrics_servers_dropped", "gauge", "Servers left out of the fleet_server_* families by fleet serve --metrics-max-servers.");
    w.sample("fleet_metrics_servers_dropped", &[], dropped);

    // Certificates.
    w.family("fleet_certificate_expiry_timestamp_seconds", "gauge", "The notAfter of each stored certificate, per cluster it is deployed to.");
    for c in &snapshot.certificates {
        w.sample("fleet_certificate_expiry_timestamp_seconds", &[("certificate", &c.certificate), ("cluster", &c.cluster)], c.not_after.div_euclid(1000));
    }
    w.family("fleet_certificate_expiry_seconds", "gauge", "Seconds until each stored certificate's notAfter (negative: expired).");
    for c in &snapshot.certificates {
        w.sample("fleet_certificate_expiry_seconds", &[("certificate", &c.certificate), ("cluster", &c.cluster)], (c.not_after - now).div_euclid(1000));
    }

    // DNS failover and VIPs.
    w.family("fleet_dns_failover_active", "gauge", "1 for the member a DNS failover pool's record points at.");
    for (pool, member) in &snapshot.failover_active {
        w.sample("fleet_dns_failover_active", &[("pool", pool), ("member", member)], 1);
    }
    w.family("fleet_vip_holders", "gauge", "Agents holding the VIP now (1 is healthy; 0 nobody, more than 1 split brain).");
    for vip in &snapshot.vips {
        w.sample("fleet_vip_holders", &[("cluster", &vip.cluster), ("vip", &vip.vip)], vip.holders.len());
    }
    w.family("fleet_vip_holder", "gauge", "1 for each agent holding the VIP now.");
    for vip in &snapshot.vips {
        for holder in &vip.holders {
            w.sample("fleet_vip_holder", &[("cluster", &vip.cluster), ("vip", &vip.vip), ("agent", holder)], 1);
        }
    }
    w.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{ProxySummary, ServerSummary};

    const NOW: i64 = 1_800_000_000_000;

    fn runtime(servers: &[(&str, &str, i64)]) -> RuntimeSummary {
        RuntimeSummary {
            current_connections: Some(7),
            request_rate: Some(3),
            proxies: [(
                "web/frontend".to_string(),
                ProxySummary { status: "OPEN".into(), sessions: 2, total_sessions: 40, traffic: Traffic { requests: 100, bytes_in: 1_000, bytes_out: 9_000, responses_4xx: 3, responses_5xx: 1 } },
            )]
            .into(),
            servers: servers
                .iter()
                .map(|(k, s, n)| {
                    let traffic = Traffic { requests: 10 * n, bytes_in: 100 * n, bytes_out: 1_000 * n, responses_4xx: *n, responses_5xx: 1 };
                    (k.to_string(), ServerSummary { status: s.to_string(), weight: 1, sessions: *n, traffic })
                })
                .collect(),
            ..RuntimeSummary::default()
        }
    }

    fn agent(name: &str, seen_ago_ms: i64, runtime: Option<RuntimeSummary>) -> AgentFacts {
        AgentFacts {
            cluster: "edge".into(),
            name: name.into(),
            last_seen_at: Some(NOW - seen_ago_ms),
            heartbeat_ms: None,
            applied_version: Some(2),
            last_outcome: Some(ApplyOutcome::Applied),
            runtime,
        }
    }

    fn snapshot() -> FleetSnapshot {
        FleetSnapshot {
            now_ms: NOW,
            clusters: vec![ClusterFacts { name: "edge".into(), desired_version: Some(3) }],
            agents: vec![
                agent("n1", 1_000, Some(runtime(&[("app/s1", "UP", 4), ("app/s2", "DOWN", 0)]))),
                agent("n2", 2_000, Some(runtime(&[("app/s1", "UP 1/3", 1), ("app/s2", "UP", 2)]))),
                // Offline: its stale runtime is left out.
                agent("n3", 60_000, Some(runtime(&[("app/s1", "DOWN", 100), ("zzz/s9", "UP", 1)]))),
            ],
            certificates: vec![CertificateExpiry { certificate: "w\"w\\w\n".into(), cluster: "edge".into(), not_after: NOW + 86_400_999 }],
            failover_active: vec![("pool-a".into(), "n1".into())],
            vips: vec![VipHolders { cluster: "edge".into(), vip: "v1".into(), holders: vec!["n2".into()] }],
        }
    }

    #[test]
    fn agents_versions_and_outcomes() {
        let text = render(&snapshot(), &MetricsOptions::default());
        for line in [
            "fleet_agents{cluster=\"edge\",state=\"online\"} 2\n",
            "fleet_agents{cluster=\"edge\",state=\"offline\"} 1\n",
            "fleet_agent_up{cluster=\"edge\",agent=\"n3\"} 0\n",
            "fleet_cluster_desired_version{cluster=\"edge\"} 3\n",
            "fleet_cluster_agents_converged{cluster=\"edge\"} 0\n",
            "fleet_cluster_apply_outcome_agents{cluster=\"edge\",outcome=\"applied\"} 3\n",
            "fleet_cluster_apply_outcome_agents{cluster=\"edge\",outcome=\"rejected\"} 0\n",
            "fleet_agent_last_seen_timestamp_seconds{cluster=\"edge\",agent=\"n1\"} 1799999999\n",
        ] {
            assert!(text.contains(line), "{line} missing in\n{text}");
        }
    }

    #[test]
    fn servers_aggregate_over_online_agents() {
        let text = render(&snapshot(), &MetricsOptions::default());
        for line in [
            "fleet_server_status{cluster=\"edge\",backend=\"app\",server=\"s1\",state=\"up\"} 2\n",
            "fleet_server_status{cluster=\"edge\",backend=\"app\",server=\"s2\",state=\"down\"} 1\n",
            "fleet_server_up{cluster=\"edge\",backend=\"app\",server=\"s1\"} 1\n",
            "fleet_server_up{cluster=\"edge\",backend=\"app\",server=\"s2\"} 0\n",
            "fleet_server_current_sessions{cluster=\"edge\",backend=\"app\",server=\"s1\"} 5\n",
            "fleet_proxy_sessions_total{cluster=\"edge\",proxy=\"web\",type=\"frontend\"} 80\n",
            "fleet_proxy_status{cluster=\"edge\",proxy=\"web\",type=\"frontend\",state=\"open\"} 2\n",
            "fleet_node_current_connections{cluster=\"edge\",agent=\"n2\"} 7\n",
            "fleet_metrics_servers_dropped 0\n",
            // Traffic counters: n1's and n2's summed, the offline n3's left out.
            "fleet_proxy_http_requests_total{cluster=\"edge\",proxy=\"web\",type=\"frontend\"} 200\n",
            "fleet_proxy_bytes_out_total{cluster=\"edge\",proxy=\"web\",type=\"frontend\"} 18000\n",
            "fleet_proxy_http_responses_total{cluster=\"edge\",proxy=\"web\",type=\"frontend\",code=\"5xx\"} 2\n",
            "fleet_server_http_requests_total{cluster=\"edge\",backend=\"app\",server=\"s1\"} 50\n",
            "fleet_server_bytes_in_total{cluster=\"edge\",backend=\"app\",server=\"s1\"} 500\n",
            "fleet_server_bytes_out_total{cluster=\"edge\",backend=\"app\",server=\"s2\"} 2000\n",
            "fleet_server_http_responses_total{cluster=\"edge\",backend=\"app\",server=\"s1\",code=\"4xx\"} 5\n",
            "fleet_server_http_responses_total{cluster=\"edge\",backend=\"app\",server=\"s1\",code=\"5xx\"} 2\n",
        ] {
            assert!(text.contains(line), "{line} missing in\n{text}");
        }
        assert!(!text.contains("zzz"), "an offline agent's servers are not exported");
        assert!(!text.contains("agent=\"n3\"} 7"), "nor its node figures");
    }

    #[test]
    fn the_server_cap_drops_and_says_so() {
        let text = render(&snapshot(), &MetricsOptions { max_servers: 1 });
        assert!(text.contains("fleet_metrics_servers_exported 1\n"), "{text}");
        assert!(text.contains("fleet_metrics_servers_dropped 1\n"), "{text}");
        assert!(text.contains("server=\"s1\""));
        assert!(!text.contains("server=\"s2\""), "no family of a dropped server, traffic included");
    }

    #[test]
    fn certificates_failover_vips_and_escaping() {
        let text = render(&snapshot(), &MetricsOptions::default());
        assert!(text.contains("fleet_certificate_expiry_seconds{certificate=\"w\\\"w\\\\w\\n\",cluster=\"edge\"} 86400\n"), "{text}");
        assert!(text.contains("fleet_dns_failover_active{pool=\"pool-a\",member=\"n1\"} 1\n"));
        assert!(text.contains("fleet_vip_holders{cluster=\"edge\",vip=\"v1\"} 1\n"));
        assert!(text.contains("fleet_vip_holder{cluster=\"edge\",vip=\"v1\",agent=\"n2\"} 1\n"));
        for family in FAMILIES {
            assert!(text.contains(&format!("# TYPE {family} ")), "{family} not rendered");
        }
        assert_eq!(text.matches("# TYPE ").count(), FAMILIES.len(), "FAMILIES lists every rendered family");
    }

    #[test]
    fn bearer_tokens_compare_whole() {
        assert!(bearer_matches(Some("Bearer s3cret"), "s3cret"));
        assert!(!bearer_matches(Some("Bearer s3cre"), "s3cret"));
        assert!(!bearer_matches(Some("Bearer s3cretx"), "s3cret"));
        assert!(!bearer_matches(Some("s3cret"), "s3cret"));
        assert!(!bearer_matches(Some("Basic s3cret"), "s3cret"));
        assert!(!bearer_matches(None, "s3cret"));
    }

    #[test]
    fn online_is_three_intervals() {
        assert!(agent_online(Some(NOW - 15_000), None, NOW));
        assert!(!agent_online(Some(NOW - 15_001), None, NOW));
        assert!(agent_online(Some(NOW - 29_000), Some(10_000), NOW));
        assert!(!agent_online(None, None, NOW));
        assert_eq!(status_label("UP 1/3"), "up");
        assert_eq!(status_label("no check"), "no_check");
        assert_eq!(status_label("MAINT (via app/s1)"), "maint");
        assert!(server_is_up("no check") && server_is_up("UP 2/3") && !server_is_up("DOWN") && !server_is_up("DRAIN"));
    }
}
