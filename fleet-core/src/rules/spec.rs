//! The rule kinds as an operator writes them (`{"name","kind","frontends":[...], ...kind fields}`)
//! and their validation: everything a rule needs is checked here, so rendering never meets a
//! value it cannot write (names, CIDRs, countries, header names, methods, statuses).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The statuses `http-request deny deny_status` takes (it implies `default-errorfiles`, which
/// HAProxy 2.6 knows for these codes only: configuration.txt §4.2 "http-request return").
pub const DENY_STATUSES: [u16; 15] = [200, 400, 403, 404, 405, 408, 410, 413, 425, 429, 500, 501, 502, 503, 504];
/// The most rules a cluster holds.
pub const MAX_RULES: usize = 200;
/// The most entries a list rule (CIDRs, countries) holds.
pub const MAX_ENTRIES: usize = 100_000;
/// The most values written inline on one rule line (methods, patterns, bypass CIDRs): HAProxy
/// reads at most 64 words a line.
pub const MAX_INLINE: usize = 40;

/// One traffic rule of a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rule {
    /// Unique in the cluster: 1 to 48 of `A-Z a-z 0-9 _ -` (it names ACLs, a stick table and files).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_-]{1,48}$"))]
    pub name: String,
    /// The kind and its fields.
    #[serde(flatten)]
    pub kind: RuleKind,
    /// The frontends (or listen sections) it applies to; empty: every one of the cluster.
    #[serde(default)]
    pub frontends: Vec<String>,
    /// Lower runs first (ties by name); 100 when not given.
    #[serde(default = "default_priority")]
    pub priority: i32,
    /// A disabled rule is kept but renders nothing.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Instead of denying, add the header `X-Fleet-Rule-Dry-Run: <name>` to the request.
    #[serde(default)]
    pub dry_run: bool,
}

fn default_priority() -> i32 {
    100
}
fn default_true() -> bool {
    true
}
fn status_403() -> u16 {
    403
}
fn status_405() -> u16 {
    405
}
fn status_413() -> u16 {
    413
}
fn status_429() -> u16 {
    429
}
fn default_geo_map() -> String {
    "geo/countries.map".to_string()
}

/// What a rule does, by kind (`"kind": "rate_limit"` and the kind's fields beside it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RuleKind {
    /// Requests per period per key, counted in a stick table of its own.
    RateLimit(RateLimit),
    /// Only these sources pass.
    IpAllow(IpList),
    /// These sources are denied.
    IpDeny(IpList),
    /// Sources whose country (from the geo map) is listed are denied.
    GeoBlock(Geo),
    /// Only sources whose country is listed pass.
    GeoAllow(Geo),
    /// A header matching a pattern is denied or redirected.
    HeaderFilter(HeaderFilter),
    /// Paths matching are denied.
    PathFilter(PathFilter),
    /// Only these methods pass.
    MethodAllow(MethodAllow),
    /// Bodies above a size are denied.
    BodySizeLimit(BodySizeLimit),
    /// User agents containing a pattern are denied.
    UserAgentBlock(UserAgentBlock),
    /// Raw frontend lines, checked like any config line.
    Custom(Custom),
}

/// `rate_limit`: `{"limit":10,"period_seconds":10,"deny_status":429}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RateLimit {
    /// Requests allowed per period and key; the next one is denied.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1000000))]
    pub limit: u32,
    /// The period, in seconds.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 86400))]
    pub period_seconds: u32,
    /// The status of a denied request (429 when not given).
    #[serde(default = "status_429")]
    pub deny_status: u16,
    /// Count per value of this request header instead of per source address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// Count per value of this cookie instead of per source address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie: Option<String>,
    /// Hold a denied request for `timeout tarpit` before answering (`http-request tarpit`).
    #[serde(default)]
    pub tarpit: bool,
    /// Sources (CIDRs) never counted nor denied.
    #[serde(default)]
    pub bypass: Vec<String>,
}

/// `ip_allow` / `ip_deny`: `{"entries":["CIDR",...]}` (IPv4 and IPv6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IpList {
    /// Addresses or CIDRs.
    #[serde(default)]
    pub entries: Vec<String>,
    /// The status of a denied request (403 when not given).
    #[serde(default = "status_403")]
    pub deny_status: u16,
}

/// `geo_block` / `geo_allow`: ISO 3166-1 alpha-2 countries looked up in a map file of the bundle
/// (`CIDR COUNTRY` lines; [`crate::rules::csv_to_map`] converts the DB-IP country CSV).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Geo {
    /// Country codes (`FR`, `US`); `--` names sources the map does not know.
    #[serde(default)]
    pub entries: Vec<String>,
    /// The map file in the bundle (`geo/countries.map` when not given).
    #[serde(default = "default_geo_map")]
    pub map: String,
    /// The status of a denied request (403 when not given).
    #[serde(default = "status_403")]
    pub deny_status: u16,
}

/// How a header value or path is matched (HAProxy's `-m` methods, configuration.txt §7.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// The whole value (`-m str`).
    Exact,
    /// Starts with (`-m beg`).
    Prefix,
    /// Ends with (`-m end`).
    Suffix,
    /// Contains (`-m sub`).
    Substring,
    /// A regular expression (`-m reg`).
    Regex,
    /// The header is present, whatever its value (`-m found`).
    Present,
}

impl MatchKind {
    pub(crate) fn flag(self) -> &'static str {
        match self {
            MatchKind::Exact => "str",
            MatchKind::Prefix => "beg",
            MatchKind::Suffix => "end",
            MatchKind::Substring => "sub",
            MatchKind::Regex => "reg",
            MatchKind::Present => "found",
        }
    }
}

/// What a header filter does to a matching request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HeaderAction {
    /// `http-request deny`.
    #[default]
    Deny,
    /// `http-request redirect location <location>`.
    Redirect,
}

/// `header_filter`: `{"header":"X-Debug","match":"present"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeaderFilter {
    /// The header's name.
    pub header: String,
    /// How its value is matched.
    #[serde(rename = "match")]
    pub match_kind: MatchKind,
    /// The pattern (not for `present`).
    #[serde(default)]
    pub pattern: String,
    /// Deny (default) or redirect.
    #[serde(default)]
    pub action: HeaderAction,
    /// Where `redirect` sends the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The status of a denied request (403 when not given).
    #[serde(default = "status_403")]
    pub deny_status: u16,
}

/// How a path filter matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PathMatch {
    /// The path starts with a pattern (`path_beg`).
    Prefix,
    /// The path matches a regular expression (`path_reg`).
    Regex,
    /// The whole path (`path`).
    Exact,
}

/// `path_filter`: `{"match":"prefix","patterns":["/admin"]}` denies matching paths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PathFilter {
    /// How the patterns match.
    #[serde(rename = "match")]
    pub match_kind: PathMatch,
    /// One or more patterns.
    pub patterns: Vec<String>,
    /// The status of a denied request (403 when not given).
    #[serde(default = "status_403")]
    pub deny_status: u16,
}

/// `method_allow`: `{"methods":["GET","HEAD"]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MethodAllow {
    /// The methods that pass (HTTP tokens, upper case by convention).
    pub methods: Vec<String>,
    /// The status of a denied request (405 when not given).
    #[serde(default = "status_405")]
    pub deny_status: u16,
}

/// `body_size_limit`: `{"max_bytes":1048576}`: a `Content-Length` above it is denied, and so is a
/// body that grows above it within the first second (`wait-for-body`, for chunked requests).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BodySizeLimit {
    /// The largest body allowed, in bytes.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub max_bytes: u64,
    /// The status of a denied request (413 when not given).
    #[serde(default = "status_413")]
    pub deny_status: u16,
}

/// `user_agent_block`: `{"patterns":["sqlmap","nikto"]}`: substrings, case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserAgentBlock {
    /// Substrings of `User-Agent` that are denied.
    pub patterns: Vec<String>,
    /// The status of a denied request (403 when not given).
    #[serde(default = "status_403")]
    pub deny_status: u16,
}

/// `custom`: `{"lines":["http-request deny if { path /x }"]}`: frontend lines written as they are,
/// inside the rule's region; the whole configuration then passes the gate (`haproxy -c`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Custom {
    /// One statement each.
    pub lines: Vec<String>,
}

/// An invalid rule: `rule NAME: why`.
fn bad(rule: &str, why: impl std::fmt::Display) -> Error {
    Error::invalid(format!("rule {rule}: {why}"))
}

/// A rule or proxy name usable in ACL names, a backend name and a file name.
pub fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 48 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(Error::invalid(format!("rule name {name:?}: 1 to 48 of A-Z a-z 0-9 _ -")));
    }
    Ok(())
}

/// An address or CIDR (IPv4 or IPv6), normalised as written (`10.0.0.0/8`, `::1`).
pub fn check_cidr(entry: &str) -> std::result::Result<(), String> {
    let (address, len) = match entry.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (entry, None),
    };
    let ip: IpAddr = address.parse().map_err(|_| format!("{entry:?} is not an IPv4 or IPv6 address or CIDR"))?;
    if let Some(len) = len {
        let max = if ip.is_ipv4() { 32 } else { 128 };
        match len.parse::<u8>() {
            Ok(n) if n <= max && !len.starts_with('+') => {}
            _ => return Err(format!("{entry:?}: the prefix length must be 0 to {max}")),
        }
    }
    Ok(())
}

/// A country code: two ASCII capitals, or `--` (unknown).
fn check_country(code: &str) -> std::result::Result<(), String> {
    if code == "--" || (code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())) {
        Ok(())
    } else {
        Err(format!("{code:?} is not an ISO 3166-1 alpha-2 country code (two capitals) or --"))
    }
}

/// An HTTP token (RFC 9110 §5.6.2): header names, cookie names, methods.
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A value written into a config word: one line, no NUL.
fn check_word(rule: &str, what: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(bad(rule, format!("{what} is empty")));
    }
    if value.contains(['\n', '\r', '\0']) {
        return Err(bad(rule, format!("{what} {value:?} holds a line break or NUL")));
    }
    Ok(())
}

fn check_status(rule: &str, status: u16) -> Result<()> {
    if DENY_STATUSES.contains(&status) {
        Ok(())
    } else {
        Err(bad(rule, format!("deny_status {status}: HAProxy 2.6 answers one of {DENY_STATUSES:?}")))
    }
}

fn check_inline(rule: &str, what: &str, values: &[String]) -> Result<()> {
    if values.is_empty() {
        return Err(bad(rule, format!("{what}: give at least one")));
    }
    if values.len() > MAX_INLINE {
        return Err(bad(rule, format!("{what}: at most {MAX_INLINE} (they share one config line)")));
    }
    values.iter().try_for_each(|v| check_word(rule, what, v))
}

impl Rule {
    /// Checks every field: `invalid: rule NAME: why`.
    pub fn validate(&self) -> Result<()> {
        check_name(&self.name)?;
        let n = self.name.as_str();
        for frontend in &self.frontends {
            haproxy_model::check_name("frontend", frontend).map_err(|e| bad(n, e))?;
        }
        match &self.kind {
            RuleKind::RateLimit(r) => {
                if r.limit == 0 || r.limit > 1_000_000 {
                    return Err(bad(n, "limit must be 1 to 1000000 requests"));
                }
                if r.period_seconds == 0 || r.period_seconds > 86_400 {
                    return Err(bad(n, "period_seconds must be 1 to 86400"));
                }
                check_status(n, r.deny_status)?;
                if r.header.is_some() && r.cookie.is_some() {
                    return Err(bad(n, "count per header or per cookie, not both"));
                }
                for key in r.header.iter().chain(&r.cookie) {
                    if !is_token(key) {
                        return Err(bad(n, format!("{key:?} is not a header or cookie name")));
                    }
                }
                if r.bypass.len() > MAX_INLINE {
                    return Err(bad(n, format!("bypass: at most {MAX_INLINE} CIDRs")));
                }
                r.bypass.iter().try_for_each(|c| check_cidr(c).map_err(|e| bad(n, format!("bypass: {e}"))))?;
            }
            RuleKind::IpAllow(l) | RuleKind::IpDeny(l) => {
                check_status(n, l.deny_status)?;
                check_entries(&self.kind, n, &l.entries)?;
            }
            RuleKind::GeoBlock(g) | RuleKind::GeoAllow(g) => {
                check_status(n, g.deny_status)?;
                crate::bundle::BundlePath::new(&g.map).map_err(|e| bad(n, format!("map {:?}: {e}", g.map)))?;
                if g.map.starts_with(&format!("{}/", super::GENERATED_DIR)) {
                    return Err(bad(n, format!("map {:?}: {}/ holds the rules' own files", g.map, super::GENERATED_DIR)));
                }
                check_entries(&self.kind, n, &g.entries)?;
            }
            RuleKind::HeaderFilter(h) => {
                if !is_token(&h.header) {
                    return Err(bad(n, format!("{:?} is not a header name", h.header)));
                }
                if h.match_kind != MatchKind::Present {
                    check_word(n, "pattern", &h.pattern)?;
                }
                match (h.action, &h.location) {
                    (HeaderAction::Redirect, Some(l)) => check_word(n, "location", l)?,
                    (HeaderAction::Redirect, None) => return Err(bad(n, "a redirect needs a location")),
                    (HeaderAction::Deny, _) => check_status(n, h.deny_status)?,
                }
            }
            RuleKind::PathFilter(p) => {
                check_status(n, p.deny_status)?;
                check_inline(n, "patterns", &p.patterns)?;
            }
            RuleKind::MethodAllow(m) => {
                check_status(n, m.deny_status)?;
                check_inline(n, "methods", &m.methods)?;
                if let Some(bad_method) = m.methods.iter().find(|m| !is_token(m)) {
                    return Err(bad(n, format!("{bad_method:?} is not an HTTP method")));
                }
            }
            RuleKind::BodySizeLimit(b) => {
                check_status(n, b.deny_status)?;
                if b.max_bytes > i64::MAX as u64 {
                    return Err(bad(n, "max_bytes is too large"));
                }
            }
            RuleKind::UserAgentBlock(u) => {
                check_status(n, u.deny_status)?;
                check_inline(n, "patterns", &u.patterns)?;
            }
            RuleKind::Custom(c) => {
                if c.lines.is_empty() {
                    return Err(bad(n, "lines: give at least one"));
                }
                for (i, line) in c.lines.iter().enumerate() {
                    let parsed = haproxy_parse::parse_line(line).map_err(|d| {
                        bad(n, format!("line {}: {}", i + 1, d.first().map(|d| d.message.clone()).unwrap_or_default()))
                    })?;
                    let keyword = parsed.keyword().unwrap_or_default().to_string();
                    if keyword.is_empty() {
                        return Err(bad(n, format!("line {}: not a statement", i + 1)));
                    }
                    if haproxy_model::SectionKind::from_keyword(&keyword).is_some() || keyword.starts_with('.') {
                        return Err(bad(n, format!("line {}: {keyword:?} would leave the frontend: only frontend lines", i + 1)));
                    }
                }
            }
        }
        Ok(())
    }

    /// The list a rule keeps in a file of the bundle (CIDRs or countries), if it is a list kind.
    pub fn entries(&self) -> Option<&[String]> {
        match &self.kind {
            RuleKind::IpAllow(l) | RuleKind::IpDeny(l) => Some(&l.entries),
            RuleKind::GeoBlock(g) | RuleKind::GeoAllow(g) => Some(&g.entries),
            _ => None,
        }
    }

    /// The rule with `add` added to its list and `remove` taken out (duplicates ignored, order
    /// kept); refused for kinds without a list and for invalid entries.
    pub fn with_entries(&self, add: &[String], remove: &[String]) -> Result<Rule> {
        let mut rule = self.clone();
        let list = match &mut rule.kind {
            RuleKind::IpAllow(l) | RuleKind::IpDeny(l) => &mut l.entries,
            RuleKind::GeoBlock(g) | RuleKind::GeoAllow(g) => &mut g.entries,
            _ => return Err(bad(&self.name, "only ip_allow, ip_deny, geo_block and geo_allow rules have entries")),
        };
        list.retain(|e| !remove.contains(e));
        for entry in add {
            if !list.contains(entry) {
                list.push(entry.clone());
            }
        }
        rule.validate()?;
        Ok(rule)
    }

    /// The kind's name as in JSON (`rate_limit`).
    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            RuleKind::RateLimit(_) => "rate_limit",
            RuleKind::IpAllow(_) => "ip_allow",
            RuleKind::IpDeny(_) => "ip_deny",
            RuleKind::GeoBlock(_) => "geo_block",
            RuleKind::GeoAllow(_) => "geo_allow",
            RuleKind::HeaderFilter(_) => "header_filter",
            RuleKind::PathFilter(_) => "path_filter",
            RuleKind::MethodAllow(_) => "method_allow",
            RuleKind::BodySizeLimit(_) => "body_size_limit",
            RuleKind::UserAgentBlock(_) => "user_agent_block",
            RuleKind::Custom(_) => "custom",
        }
    }

    /// Whether the rule applies to frontend `name`.
    pub fn applies_to(&self, name: &str) -> bool {
        self.enabled && (self.frontends.is_empty() || self.frontends.iter().any(|f| f == name))
    }
}

fn check_entries(kind: &RuleKind, rule: &str, entries: &[String]) -> Result<()> {
    if entries.len() > MAX_ENTRIES {
        return Err(bad(rule, format!("entries: at most {MAX_ENTRIES}")));
    }
    let geo = matches!(kind, RuleKind::GeoAllow(_) | RuleKind::GeoBlock(_));
    for entry in entries {
        let checked = if geo { check_country(entry) } else { check_cidr(entry) };
        checked.map_err(|e| bad(rule, format!("entries: {e}")))?;
    }
    Ok(())
}

/// Rules in the order HAProxy should run them: priority, then name.
pub fn ordered(rules: &[Rule]) -> Vec<&Rule> {
    let mut out: Vec<&Rule> = rules.iter().collect();
    out.sort_by(|a, b| a.priority.cmp(&b.priority).then_with(|| a.name.cmp(&b.name)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(value: serde_json::Value) -> Rule {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn the_pinned_json_forms_read() {
        let r = rule(json!({"name":"api","kind":"rate_limit","frontends":["fe"],"limit":10,"period_seconds":10,"deny_status":429}));
        assert_eq!(r.priority, 100);
        assert!(r.enabled && !r.dry_run);
        assert!(matches!(&r.kind, RuleKind::RateLimit(RateLimit { limit: 10, period_seconds: 10, deny_status: 429, .. })));
        r.validate().unwrap();
        let d = rule(json!({"name":"bad-ips","kind":"ip_deny","entries":["127.0.0.2","2001:db8::/32"]}));
        d.validate().unwrap();
        assert_eq!(d.entries().unwrap().len(), 2);
        let back = serde_json::to_value(&d).unwrap();
        assert_eq!(back["kind"], "ip_deny");
        assert_eq!(back["entries"], json!(["127.0.0.2", "2001:db8::/32"]));
    }

    #[test]
    fn errors_name_the_rule_and_the_field() {
        let cases = [
            (json!({"name":"a b","kind":"custom","lines":["x"]}), "rule name"),
            (json!({"name":"r","kind":"rate_limit","limit":0,"period_seconds":10}), "limit must be"),
            (json!({"name":"r","kind":"rate_limit","limit":1,"period_seconds":10,"deny_status":418}), "deny_status 418"),
            (json!({"name":"r","kind":"ip_deny","entries":["10.0.0.0/33"]}), "prefix length"),
            (json!({"name":"r","kind":"ip_deny","entries":["example.com"]}), "not an IPv4"),
            (json!({"name":"r","kind":"geo_block","entries":["fr"]}), "alpha-2"),
            (json!({"name":"r","kind":"header_filter","header":"X Y","match":"exact","pattern":"a"}), "header name"),
            (json!({"name":"r","kind":"header_filter","header":"X","match":"exact","pattern":"a","action":"redirect"}), "location"),
            (json!({"name":"r","kind":"method_allow","methods":["GE T"]}), "HTTP method"),
            (json!({"name":"r","kind":"path_filter","match":"prefix","patterns":[]}), "at least one"),
            (json!({"name":"r","kind":"custom","lines":["backend x"]}), "leave the frontend"),
            (json!({"name":"r","kind":"custom","lines":["a\nb"]}), "line 1"),
        ];
        for (value, expected) in cases {
            let err = rule(value.clone()).validate().unwrap_err().to_string();
            assert!(err.contains(expected), "{value}: {err}");
        }
    }

    #[test]
    fn entries_are_added_and_removed() {
        let r = rule(json!({"name":"d","kind":"ip_deny","entries":["127.0.0.2"]}));
        let r2 = r.with_entries(&["127.0.0.3".into(), "127.0.0.2".into()], &[]).unwrap();
        assert_eq!(r2.entries().unwrap(), ["127.0.0.2", "127.0.0.3"]);
        let r3 = r2.with_entries(&[], &["127.0.0.2".into()]).unwrap();
        assert_eq!(r3.entries().unwrap(), ["127.0.0.3"]);
        assert!(r.with_entries(&["nope".into()], &[]).is_err());
        let m = rule(json!({"name":"m","kind":"method_allow","methods":["GET"]}));
        assert!(m.with_entries(&["x".into()], &[]).unwrap_err().to_string().contains("have entries"));
    }
}
