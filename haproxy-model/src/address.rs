//! Socket addresses as HAProxy reads them in `bind`, `server`, `peer`, `nameserver` and `log`
//! (configuration.txt §4.2 "bind" and "server", `str2sa_range()` in HAProxy's `tools.c`):
//!
//! ```text
//! [<prefix>@]<host>[:<port>]        prefix: ipv4 ipv6 udp udp4 udp6 unix abns fd sockpair quic4 ...
//! <host>  = "" | "*" | IPv4 | "[" IPv6 "]" | IPv6 | hostname | /path
//! <port>  = N | N-M (bind ranges) | +N | -N (server offsets)
//! ```
//!
//! The port is always what follows the *last* colon, so a bare IPv6 address needs brackets or
//! a trailing colon (`::1:` or `[::1]`): HAProxy reads `::1` as host `:` and port `1`. We follow
//! it, and report such a host as an error instead of resolving it.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

/// Why an address was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    /// Nothing to parse.
    #[error("empty address")]
    Empty,
    /// The port part is not a number, a range or an offset.
    #[error("invalid port '{0}'")]
    BadPort(String),
    /// A port range whose low bound is above its high bound.
    #[error("invalid port range '{0}' (low bound above high bound)")]
    BadRange(String),
    /// A host made of colons that is not an IPv6 address.
    #[error("invalid address '{0}': an IPv6 address needs brackets or a trailing ':' (the port is after the last colon)")]
    AmbiguousIpv6(String),
    /// `[` without `]` or the reverse.
    #[error("unbalanced brackets in address '{0}'")]
    Brackets(String),
    /// An IPv4 or IPv6 address that is not well formed where the prefix demands one.
    #[error("invalid {family} address '{host}'")]
    BadIp {
        /// `ipv4` or `ipv6`.
        family: &'static str,
        /// The host as written.
        host: String,
    },
    /// An inet listener without a port.
    #[error("missing port in bind address '{0}'")]
    MissingPort(String),
    /// `+N`/`-N` where only plain ports are allowed.
    #[error("port offset not permitted here in '{0}'")]
    OffsetNotAllowed(String),
    /// `N-M` where only single ports are allowed.
    #[error("port range not permitted here in '{0}'")]
    RangeNotAllowed(String),
}

/// The host part of an address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
pub enum Host {
    /// No host, or `*`: every address.
    Any,
    /// A literal IPv4 address.
    Ipv4(Ipv4Addr),
    /// A literal IPv6 address (written with or without brackets).
    Ipv6(Ipv6Addr),
    /// A name to resolve, or text holding environment references.
    Name(String),
    /// A UNIX socket path (`/run/x.sock`, `unix@x`, `abns@x`).
    Path(String),
    /// A file descriptor number (`fd@3`, `sockpair@4`).
    Fd(String),
}

impl Host {
    /// Parses a host alone (no port): an IP address (IPv6 with or without brackets), `*`, a
    /// name, or a `/path`.
    pub fn parse(text: &str) -> Result<Host, AddressError> {
        if text.starts_with('/') {
            return Ok(Host::Path(text.into()));
        }
        parse_host(text, None)
    }
}

/// The port part of an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
pub enum PortSpec {
    /// One port.
    Single(u16),
    /// `low-high`, both included (bind only).
    Range(u16, u16),
    /// `+N` or `-N`: added to the client's destination port (server only).
    Offset(i32),
}

impl fmt::Display for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortSpec::Single(p) => write!(f, "{p}"),
            PortSpec::Range(lo, hi) => write!(f, "{lo}-{hi}"),
            PortSpec::Offset(o) if *o >= 0 => write!(f, "+{o}"),
            PortSpec::Offset(o) => write!(f, "{o}"),
        }
    }
}

/// One socket address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Address {
    /// The family prefix without its `@` (`ipv4`, `unix`, `fd`, ...), as written.
    pub prefix: Option<String>,
    /// The host.
    pub host: Host,
    /// The port, when there is one.
    pub port: Option<PortSpec>,
}

/// Prefixes after which the rest is a path, not `host:port`.
const PATH_PREFIXES: &[&str] = &["unix", "abns", "uxst", "uxdg", "abnsz"];
/// Prefixes after which the rest names something else (`rhttp@<backend>/<server>`).
const REFERENCE_PREFIXES: &[&str] = &["rhttp"];
/// Prefixes after which the rest is a file descriptor.
const FD_PREFIXES: &[&str] = &["fd", "sockpair"];

impl Address {
    /// An address from its parts.
    pub fn new(host: Host, port: Option<PortSpec>) -> Self {
        Address { prefix: None, host, port }
    }

    /// Parses one address, allowing every port form; see [`Address::parse_bind_list`] and
    /// [`Address::parse_server`] for the forms each keyword accepts.
    pub fn parse(text: &str) -> Result<Address, AddressError> {
        if text.is_empty() {
            return Err(AddressError::Empty);
        }
        let (prefix, rest) = split_prefix(text);
        let lower = prefix.map(str::to_ascii_lowercase);
        if let Some(p) = lower.as_deref() {
            if PATH_PREFIXES.contains(&p) {
                return Ok(Address { prefix: prefix.map(Into::into), host: Host::Path(rest.into()), port: None });
            }
            if REFERENCE_PREFIXES.contains(&p) {
                return Ok(Address { prefix: prefix.map(Into::into), host: Host::Name(rest.into()), port: None });
            }
            if FD_PREFIXES.contains(&p) {
                return Ok(Address { prefix: prefix.map(Into::into), host: Host::Fd(rest.into()), port: None });
            }
        }
        if prefix.is_none() && rest.starts_with('/') {
            return Ok(Address { prefix: None, host: Host::Path(rest.into()), port: None });
        }
        // The port follows the last ':' unless a ']' comes after it.
        let (host_text, port_text) = match rest.rfind([':', ']']) {
            Some(i) if rest.as_bytes()[i] == b':' => (&rest[..i], Some(&rest[i + 1..])),
            _ => (rest, None),
        };
        let port = match port_text {
            Some(p) => parse_port(p)?,
            None => None,
        };
        let host = parse_host(host_text, lower.as_deref()).map_err(|e| match e {
            AddressError::AmbiguousIpv6(_) => AddressError::AmbiguousIpv6(rest.into()),
            other => other,
        })?;
        Ok(Address { prefix: prefix.map(Into::into), host, port })
    }

    /// Parses a `bind` address list: comma-separated, inet ones need a port, ranges allowed.
    pub fn parse_bind_list(text: &str) -> Result<Vec<Address>, AddressError> {
        text.split(',')
            .map(|part| {
                let address = Address::parse(part)?;
                match address.port {
                    Some(PortSpec::Offset(_)) => Err(AddressError::OffsetNotAllowed(part.into())),
                    None if address.is_inet() && !address.has_env_ref() && !address.is_reference() => {
                        Err(AddressError::MissingPort(part.into()))
                    }
                    _ => Ok(address),
                }
            })
            .collect()
    }

    /// Parses a `server` address: port optional, offsets allowed, ranges not.
    pub fn parse_server(text: &str) -> Result<Address, AddressError> {
        let address = Address::parse(text)?;
        if let Some(PortSpec::Range(..)) = address.port {
            return Err(AddressError::RangeNotAllowed(text.into()));
        }
        Ok(address)
    }

    /// True for IPv4, IPv6, name or wildcard hosts (not paths, not file descriptors).
    pub fn is_inet(&self) -> bool {
        !matches!(self.host, Host::Path(_) | Host::Fd(_))
    }

    /// True for prefixes whose rest names an object rather than a socket (`rhttp@be/srv`).
    pub fn is_reference(&self) -> bool {
        self.prefix.as_deref().is_some_and(|p| REFERENCE_PREFIXES.contains(&p.to_ascii_lowercase().as_str()))
    }

    /// True when the host holds an environment reference HAProxy expands at load time.
    pub fn has_env_ref(&self) -> bool {
        matches!(&self.host, Host::Name(n) if n.contains('$'))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(prefix) = &self.prefix {
            write!(f, "{prefix}@")?;
        }
        match &self.host {
            Host::Any if self.port.is_none() => f.write_str("*")?,
            Host::Any => {}
            Host::Ipv4(ip) => write!(f, "{ip}")?,
            Host::Ipv6(ip) => write!(f, "[{ip}]")?,
            Host::Name(name) | Host::Path(name) | Host::Fd(name) => f.write_str(name)?,
        }
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

/// Splits `prefix@rest` when the part before `@` looks like a family prefix.
fn split_prefix(text: &str) -> (Option<&str>, &str) {
    match text.split_once('@') {
        Some((prefix, rest))
            if !prefix.is_empty() && prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-') =>
        {
            (Some(prefix), rest)
        }
        _ => (None, text),
    }
}

/// `N`, `N-M`, `+N`, `-N`, or empty (no port).
fn parse_port(text: &str) -> Result<Option<PortSpec>, AddressError> {
    let bad = || AddressError::BadPort(text.to_string());
    if text.is_empty() {
        return Ok(None);
    }
    if text.contains('$') {
        // An environment reference: HAProxy expands it, we cannot know the port.
        return Ok(None);
    }
    let number = |s: &str| -> Result<u16, AddressError> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse().map_err(|_| bad())
    };
    if let Some(offset) = text.strip_prefix('+') {
        return Ok(Some(PortSpec::Offset(i32::from(number(offset)?))));
    }
    if let Some(offset) = text.strip_prefix('-') {
        return Ok(Some(PortSpec::Offset(-i32::from(number(offset)?))));
    }
    match text.split_once('-') {
        Some((lo, hi)) => {
            let (lo, hi) = (number(lo)?, number(hi)?);
            if lo > hi {
                return Err(AddressError::BadRange(text.to_string()));
            }
            Ok(Some(PortSpec::Range(lo, hi)))
        }
        None => Ok(Some(PortSpec::Single(number(text)?))),
    }
}

fn parse_host(text: &str, prefix: Option<&str>) -> Result<Host, AddressError> {
    let bracketed = text.starts_with('[') || text.ends_with(']');
    let inner = if bracketed {
        text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).ok_or_else(|| AddressError::Brackets(text.into()))?
    } else {
        text
    };
    if inner.is_empty() || inner == "*" {
        return Ok(Host::Any);
    }
    if inner.contains('$') {
        return Ok(Host::Name(inner.into()));
    }
    if let Ok(ip) = inner.parse::<Ipv4Addr>() {
        if matches!(prefix, Some("ipv6" | "udp6" | "tcp6" | "quic6")) {
            return Err(AddressError::BadIp { family: "ipv6", host: text.into() });
        }
        return Ok(Host::Ipv4(ip));
    }
    if let Ok(ip) = inner.parse::<Ipv6Addr>() {
        if matches!(prefix, Some("ipv4" | "udp4" | "tcp4" | "quic4")) {
            return Err(AddressError::BadIp { family: "ipv4", host: text.into() });
        }
        return Ok(Host::Ipv6(ip));
    }
    if inner.contains(':') || bracketed {
        return Err(AddressError::AmbiguousIpv6(text.into()));
    }
    Ok(Host::Name(inner.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> Host {
        Host::Ipv4(s.parse().unwrap())
    }

    fn v6(s: &str) -> Host {
        Host::Ipv6(s.parse().unwrap())
    }

    #[test]
    fn reads_inet_forms() {
        let a = Address::parse("10.0.0.1:80").unwrap();
        assert_eq!((a.host, a.port), (v4("10.0.0.1"), Some(PortSpec::Single(80))));
        let a = Address::parse("[::1]:8443").unwrap();
        assert_eq!((a.host, a.port), (v6("::1"), Some(PortSpec::Single(8443))));
        let a = Address::parse("::1:80").unwrap();
        assert_eq!((a.host, a.port), (v6("::1"), Some(PortSpec::Single(80))));
        let a = Address::parse("::1:").unwrap();
        assert_eq!((a.host, a.port), (v6("::1"), None));
        let a = Address::parse("[fe80::1]").unwrap();
        assert_eq!((a.host, a.port), (v6("fe80::1"), None));
        let a = Address::parse("*:80").unwrap();
        assert_eq!((a.host, a.port), (Host::Any, Some(PortSpec::Single(80))));
        let a = Address::parse(":80").unwrap();
        assert_eq!((a.host, a.port), (Host::Any, Some(PortSpec::Single(80))));
        let a = Address::parse("app.example.com").unwrap();
        assert_eq!((a.host, a.port), (Host::Name("app.example.com".into()), None));
        let a = Address::parse("ipv6@:::8080").unwrap();
        assert_eq!((a.prefix.as_deref(), a.host, a.port), (Some("ipv6"), v6("::"), Some(PortSpec::Single(8080))));
    }

    #[test]
    fn reads_ports_ranges_and_offsets() {
        assert_eq!(Address::parse(":80-90").unwrap().port, Some(PortSpec::Range(80, 90)));
        assert_eq!(Address::parse("1.2.3.4:+10").unwrap().port, Some(PortSpec::Offset(10)));
        assert_eq!(Address::parse("[::1]:-5").unwrap().port, Some(PortSpec::Offset(-5)));
        assert_eq!(Address::parse("h:x").unwrap_err(), AddressError::BadPort("x".into()));
        assert_eq!(Address::parse("h:70000").unwrap_err(), AddressError::BadPort("70000".into()));
        assert_eq!(Address::parse("h:90-80").unwrap_err(), AddressError::BadRange("90-80".into()));
    }

    #[test]
    fn reads_prefixes_paths_and_fds() {
        let a = Address::parse("unix@/run/haproxy.sock").unwrap();
        assert_eq!((a.prefix.as_deref(), a.host), (Some("unix"), Host::Path("/run/haproxy.sock".into())));
        assert_eq!(Address::parse("/var/run/a.sock").unwrap().host, Host::Path("/var/run/a.sock".into()));
        assert_eq!(Address::parse("abns@name:x").unwrap().host, Host::Path("name:x".into()));
        assert_eq!(Address::parse("fd@3").unwrap().host, Host::Fd("3".into()));
        assert_eq!(Address::parse("sockpair@${FD}").unwrap().host, Host::Fd("${FD}".into()));
        assert_eq!(Address::parse("quic4@:443").unwrap().prefix.as_deref(), Some("quic4"));
    }

    #[test]
    fn follows_haproxy_on_bare_ipv6() {
        // HAProxy 2.6 says "could not resolve address ':'" for `server s ::1`.
        assert_eq!(Address::parse("::1"), Err(AddressError::AmbiguousIpv6("::1".into())));
        assert!(matches!(Address::parse("fe80::1"), Err(AddressError::AmbiguousIpv6(_))));
        assert!(matches!(Address::parse("[::1:80"), Err(AddressError::Brackets(_))));
        assert!(matches!(Address::parse("ipv4@::1:80"), Err(AddressError::BadIp { family: "ipv4", .. })));
    }

    #[test]
    fn bind_lists_and_server_rules() {
        let list = Address::parse_bind_list(":80,[::]:443,unix@/x").unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list[1].host, v6("::"));
        assert!(matches!(Address::parse_bind_list("10.0.0.1"), Err(AddressError::MissingPort(_))));
        assert!(matches!(Address::parse_bind_list(":+1"), Err(AddressError::OffsetNotAllowed(_))));
        assert!(Address::parse_bind_list("${ADDR}").is_ok());
        let reverse = Address::parse_bind_list("rhttp@be/srv").unwrap();
        assert_eq!((reverse[0].host.clone(), reverse[0].is_reference()), (Host::Name("be/srv".into()), true));
        assert!(matches!(Address::parse_server("1.2.3.4:80-90"), Err(AddressError::RangeNotAllowed(_))));
        assert_eq!(Address::parse_server("srv.local").unwrap().port, None);
    }

    #[test]
    fn renders_back_to_an_equivalent_address() {
        for text in ["10.0.0.1:80", "[::1]:8443", ":80", "*", "unix@/x", "fd@3", "h:+1", "[::1]", "ipv4@1.2.3.4:1-9"] {
            let a = Address::parse(text).unwrap();
            assert_eq!(Address::parse(&a.to_string()).unwrap(), a, "{text} -> {a}");
        }
        assert_eq!(Address::parse("::1:80").unwrap().to_string(), "[::1]:80");
    }

    mod props {
        use proptest::prelude::*;

        use super::super::*;

        fn address() -> impl Strategy<Value = Address> {
            let port = prop_oneof![
                any::<u16>().prop_map(PortSpec::Single),
                (any::<u16>(), any::<u16>()).prop_map(|(a, b)| PortSpec::Range(a.min(b), a.max(b))),
                (-65535i32..=65535).prop_map(PortSpec::Offset),
            ];
            let inet = prop_oneof![
                (prop::option::of(Just("ipv4".to_string())), any::<[u8; 4]>())
                    .prop_map(|(p, ip)| (p, Host::Ipv4(ip.into()))),
                (prop::option::of(Just("ipv6".to_string())), any::<[u16; 8]>())
                    .prop_map(|(p, ip)| (p, Host::Ipv6(ip.into()))),
                "[a-z][a-z0-9.-]{0,12}".prop_map(|n| (None, Host::Name(n))),
                Just((None, Host::Any)),
            ];
            prop_oneof![
                3 => (inet, prop::option::of(port)).prop_map(|((prefix, host), port)| Address { prefix, host, port }),
                1 => "/[a-z0-9/._-]{0,12}".prop_map(|p| Address { prefix: None, host: Host::Path(p), port: None }),
                1 => "[a-z0-9/._:-]{1,12}".prop_map(|p| Address { prefix: Some("unix".into()), host: Host::Path(p), port: None }),
                1 => "[0-9]{1,3}".prop_map(|p| Address { prefix: Some("fd".into()), host: Host::Fd(p), port: None }),
            ]
        }

        proptest! {
            #[test]
            fn display_parses_back(address in address()) {
                let text = address.to_string();
                prop_assert_eq!(Address::parse(&text), Ok(address), "{}", text);
            }

            #[test]
            fn parse_never_panics(text in "\\PC{0,24}") {
                let _ = Address::parse(&text);
                let _ = Address::parse_bind_list(&text);
            }
        }
    }
}
