//! Rule hits measured on a node: what HAProxy 2.6 can truly count per rule.
//!
//! ```text
//! agent: running configuration text -> rate_limits()      [(rule, limit)] from the rendered acl lines
//!        per rule: `show table fleet_rl_<rule>`  -> from_show_table() -> RuleHits {tracked, over_limit, max_rate}
//!        -> Heartbeat.rule_hits -> server: Store::heartbeat (the latest per agent per rule)
//! API:   GET /api/v1/clusters/{id}/rules/{name}/hits -> [NodeHits] (each node's figures, when measured)
//! ```
//!
//! Why only rate limits: a rate limit's own stick table (`backend fleet_rl_<rule>`) holds one
//! entry per tracked key with its `http_req_rate(<period>)`, read on the runtime socket
//! (management.txt "show table"). The other kinds (ip lists, geo, header, path, method, body
//! size, user agent) have no per-rule counter in HAProxy 2.6 that costs no sticky counter:
//! `sc-inc-gpc0`/`sc-inc-gpc` increment a *tracked* counter (configuration.txt §4.2
//! "http-request sc-inc-gpc0"), so counting them would take one of the three `track-sc` slots
//! per rule that rate limits need. Their denials show only in the frontend's `dreq` / `hrsp_4xx`
//! counters (`show stat`, the stats history), not per rule.

use serde::{Deserialize, Serialize};

use super::render::table_name;

/// One rate-limit rule's table on one node, at the time it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleHits {
    /// The rule's name.
    pub rule: String,
    /// Keys (sources, header or cookie values) in the table now: seen within the period.
    pub tracked: u64,
    /// Keys whose request rate over the period is above the rule's limit now (their next
    /// request is denied, or marked in dry run).
    pub over_limit: u64,
    /// The highest request rate of a key over the period (requests per period).
    pub max_rate: u64,
}

/// A node's latest figures for one rule, as the server keeps them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeHits {
    /// The agent's name.
    pub agent: String,
    /// When the server received the reading (the agent's heartbeat), in Unix ms.
    pub measured_at: i64,
    /// The figures.
    #[serde(flatten)]
    pub hits: RuleHits,
}

/// The rate-limit rules rendered into a configuration text, with their limits: each
/// `acl fleet_rule_<rule> sc_http_req_rate(<n>) gt <limit>` line [`super::render`] writes.
pub fn rate_limits(config: &str) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = Vec::new();
    for line in config.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let ["acl", acl, fetch, "gt", limit] = words.as_slice() {
            let (Some(rule), Ok(limit)) = (acl.strip_prefix("fleet_rule_"), limit.parse::<u64>()) else { continue };
            if fetch.starts_with("sc_http_req_rate(") && !out.iter().any(|(r, _)| r == rule) {
                out.push((rule.to_string(), limit));
            }
        }
    }
    out
}

/// The runtime command that lists a rule's table.
pub fn show_table_command(rule: &str) -> String {
    format!("show table {}", table_name(rule))
}

/// A rule's figures from the answer to `show table fleet_rl_<rule>`: a header
/// `# table: NAME, type: T, size:S, used:N` and one line per entry ending in
/// `http_req_rate(<ms>)=<rate>`. An entry without a rate counts as tracked at rate 0.
pub fn from_show_table(rule: &str, limit: u64, answer: &str) -> RuleHits {
    let mut hits = RuleHits { rule: rule.to_string(), tracked: 0, over_limit: 0, max_rate: 0 };
    for line in answer.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        if !line.contains(" key=") {
            continue;
        }
        hits.tracked += 1;
        let rate = line
            .split_whitespace()
            .filter(|w| w.starts_with("http_req_rate("))
            .find_map(|w| w.rsplit_once('=').and_then(|(_, v)| v.parse::<u64>().ok()))
            .unwrap_or(0);
        hits.max_rate = hits.max_rate.max(rate);
        if rate > limit {
            hits.over_limit += 1;
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_come_from_the_rendered_acls() {
        let text = "frontend fe\n    acl fleet_rule_rl sc_http_req_rate(0) gt 10\n    acl fleet_rule_ua req.hdr(user-agent) -m sub x\n    acl other sc_http_req_rate(1) gt 3\n";
        assert_eq!(rate_limits(text), vec![("rl".to_string(), 10)]);
    }

    #[test]
    fn a_table_counts_keys_over_the_limit() {
        let answer = "# table: fleet_rl_rl, type: ipv6, size:102400, used:3\n\
            0x55d4b5e0c6d0: key=::ffff:127.0.0.1 use=0 exp=9995 http_req_rate(10000)=11\n\
            0x55d4b5e0c6e0: key=::ffff:127.0.0.2 use=0 exp=9000 http_req_rate(10000)=10\n\
            0x55d4b5e0c6f0: key=::1 use=0 exp=9000 shard=0 http_req_rate(10000)=2\n\n";
        assert_eq!(from_show_table("rl", 10, answer), RuleHits { rule: "rl".into(), tracked: 3, over_limit: 1, max_rate: 11 });
        assert_eq!(from_show_table("rl", 10, "# table: fleet_rl_rl, type: ipv6, size:102400, used:0\n").tracked, 0);
    }
}
