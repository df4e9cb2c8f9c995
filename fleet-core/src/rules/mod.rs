//! Traffic rules (issue 21): typed protections compiled into a cluster's configuration.
//!
//! ```text
//! Rule {name, kind + its fields, frontends ([] = every frontend/listen), priority, enabled, dry_run}
//!   -> spec::Rule::validate            (clear errors, before anything is rendered)
//!   -> render::frontend_lines          (per frontend: acl / track-sc / set-var / deny lines, by priority)
//!   -> place::with_rules(bundle)       (a generated region in each frontend, before its first
//!                                       http-request / use_backend / default_backend line; stick
//!                                       tables as `backend fleet_rl_<rule>` at the end of the
//!                                       first config file; lists as files under fleet-rules/)
//!   -> store: a new version like any other edit (gate, haproxy -c), applied as usual
//! entries of a list (ip_allow/ip_deny CIDRs, geo countries): only the list file changes, so the
//!   agent's runtime plan (apply::runtime_plan) sends prepare/add/commit acl: no reload
//! ```
//!
//! Why generated regions with comment markers: the operator sees what the rules produce, the rest
//! of the text stays byte for byte, a change rewrites only the regions, and with no rule left the
//! text is the operator's again, byte for byte ([`place::without_rules`]).
//!
//! Why before the first `http-request` line: HAProxy 2.6 runs `http-request` rules in the order
//! they are written (configuration.txt §4.2 "http-request"), so a protection placed after an
//! operator's `http-request return` or `redirect` would never run; `use_backend` and
//! `default_backend` are evaluated after every `http-request` rule, wherever they are written.

pub mod geo;
pub mod hits;
pub mod place;
pub mod render;
pub mod spec;

pub use geo::{csv_to_map, GeoError};
pub use hits::{NodeHits, RuleHits};
pub use place::{with_rules, without_rules, GENERATED_DIR};
pub use spec::{
    BodySizeLimit, Custom, Geo, HeaderAction, HeaderFilter, IpList, MatchKind, MethodAllow, PathFilter, PathMatch, RateLimit, Rule,
    RuleKind, UserAgentBlock,
};

/// The header a dry-run rule adds to a request it would have denied (its value: the rule's name).
pub const DRY_RUN_HEADER: &str = "X-Fleet-Rule-Dry-Run";
/// The transaction variable holding the name of the last rule that matched (for `log-format`:
/// `%[var(txn.fleet_rule)]`).
pub const RULE_VARIABLE: &str = "txn.fleet_rule";
