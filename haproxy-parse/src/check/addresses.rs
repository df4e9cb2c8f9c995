//! Addresses and ports of `bind`, `server`, `server-template`, `log` and `source`, checked
//! the way HAProxy 2.6's `str2sa_range()` reads them (configuration.txt §5.1 "bind", §4.2
//! "server"; behaviours tried with `haproxy -c`):
//! - `bind` needs a port; it may be a range `a-b` (a <= b); port 0 is refused;
//! - `server` ports are optional, may be offsets (`+N` / `-N`), never ranges; 0 is allowed;
//! - `log` and `source` take neither ranges nor offsets;
//! - a literal IPv4 address (digits and dots) must parse like `inet_aton`, a bracketed or
//!   bare IPv6 address must parse; host names are left to resolution (`-dr`);
//! - `udp@` and other datagram addresses are refused on `bind`.
//!
//! Unix sockets, abstract sockets and inherited file descriptors are not checked.

use std::net::Ipv6Addr;

use haproxy_model::{Diagnostic, Line, SectionKind};

use super::{error, is_dynamic, Context};

/// How one keyword lets ports be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PortPolicy {
    required: bool,
    ranges: bool,
    offsets: bool,
    zero: bool,
    datagram: bool,
}

const BIND: PortPolicy = PortPolicy { required: true, ranges: true, offsets: false, zero: false, datagram: false };
const SERVER: PortPolicy = PortPolicy { required: false, ranges: false, offsets: true, zero: true, datagram: false };
const LOG: PortPolicy = PortPolicy { required: false, ranges: false, offsets: false, zero: true, datagram: true };

/// Address prefixes HAProxy knows (configuration.txt §11 "Address formats").
const STREAM_PREFIXES: &[&str] = &["ipv4", "ipv6", "tcp", "tcp4", "tcp6"];
const DATAGRAM_PREFIXES: &[&str] = &["udp", "udp4", "udp6"];
/// Prefixes whose rest is not a host and port.
const OTHER_PREFIXES: &[&str] = &["unix", "abns", "fd", "sockpair", "uxst", "uxdg", "quic4", "quic6", "ring"];

/// Runs the address checks.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for info in &context.sections {
        let kind = info.section.kind();
        let proxy_like = kind.is_proxy() || *kind == SectionKind::Defaults;
        if !(proxy_like || *kind == SectionKind::Global) {
            continue;
        }
        for line in Context::statements(info.section) {
            let keyword = line.keyword().unwrap_or_default();
            match &*keyword {
                "bind" if proxy_like => {
                    if let Some(list) = line.value(1) {
                        for address in list.split(',') {
                            check_address(line, 1, address, BIND, out);
                        }
                    }
                }
                "server" if proxy_like => address_at(line, 2, SERVER, out),
                "server-template" if proxy_like => address_at(line, 3, SERVER, out),
                "source" if proxy_like => address_at(line, 1, LOG, out),
                "log" => {
                    let target = line.value(1).unwrap_or_default();
                    if !matches!(&*target, "global" | "stdout" | "stderr") {
                        address_at(line, 1, LOG, out);
                    }
                }
                _ => {}
            }
        }
    }
}

fn address_at(line: &Line, index: usize, policy: PortPolicy, out: &mut Vec<Diagnostic>) {
    if let Some(address) = line.value(index) {
        check_address(line, index, &address, policy, out);
    }
}

/// Checks one address (one element of a `bind` list) written in word `index`.
fn check_address(line: &Line, index: usize, address: &str, policy: PortPolicy, out: &mut Vec<Diagnostic>) {
    if let Some(message) = problem(address, policy) {
        out.push(error(line, index, message));
    }
}

/// What is wrong with `address` under `policy`, if anything.
fn problem(address: &str, policy: PortPolicy) -> Option<String> {
    if is_dynamic(address) || address.starts_with('/') {
        return None;
    }
    let mut rest = address;
    if let Some((prefix, after)) = address.split_once('@') {
        if OTHER_PREFIXES.contains(&prefix) {
            return None;
        }
        if DATAGRAM_PREFIXES.contains(&prefix) {
            if !policy.datagram {
                return Some(format!("datagram address '{address}' is not acceptable here"));
            }
        } else if !STREAM_PREFIXES.contains(&prefix) {
            return Some(format!("unknown address prefix '{prefix}@' in '{address}'"));
        }
        rest = after;
    }
    let (host, port) = match split_host_port(rest) {
        Ok(parts) => parts,
        Err(message) => return Some(format!("{message} in '{address}'")),
    };
    if let Some(message) = host_problem(host) {
        return Some(format!("{message} in '{address}'"));
    }
    port_problem(port, policy).map(|m| format!("{m} in '{address}'"))
}

/// `[v6]:port`, `host:port`, `:port`, `host`.
fn split_host_port(text: &str) -> Result<(&str, Option<&str>), String> {
    if let Some(inner) = text.strip_prefix('[') {
        let Some((host, after)) = inner.split_once(']') else {
            return Err(format!("invalid address '{text}' (unclosed '[')"));
        };
        return match after {
            "" => Ok((host, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err(format!("invalid text '{after}' after ']'")),
            },
        };
    }
    Ok(match text.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (text, None),
    })
}

fn host_problem(host: &str) -> Option<String> {
    if host.is_empty() || host == "*" {
        return None;
    }
    if host.contains(':') {
        return host.parse::<Ipv6Addr>().is_err().then(|| format!("invalid IPv6 address '{host}'"));
    }
    if host.chars().all(|c| c.is_ascii_digit() || c == '.') && !inet_aton(host) {
        return Some(format!("invalid IPv4 address '{host}'"));
    }
    None
}

/// `inet_aton` on decimal parts: `a`, `a.b`, `a.b.c`, `a.b.c.d`, the last part filling the
/// remaining bytes.
fn inet_aton(text: &str) -> bool {
    let parts: Vec<&str> = text.split('.').collect();
    if parts.is_empty() || parts.len() > 4 || parts.iter().any(|p| p.is_empty() || p.len() > 10) {
        return false;
    }
    let Ok(numbers) = parts.iter().map(|p| p.parse::<u64>()).collect::<Result<Vec<u64>, _>>() else {
        return false;
    };
    let last_bits = 32 - 8 * (numbers.len() as u32 - 1);
    let (last, leading) = numbers.split_last().unwrap_or((&0, &[]));
    leading.iter().all(|n| *n <= 255) && *last < (1u64 << last_bits)
}

fn port_problem(port: Option<&str>, policy: PortPolicy) -> Option<String> {
    let Some(port) = port else {
        return policy.required.then(|| "missing port".to_string());
    };
    if port.is_empty() {
        return policy.required.then(|| "missing port".to_string());
    }
    if let Some(offset) = port.strip_prefix('+').or_else(|| port.strip_prefix('-')) {
        if !policy.offsets {
            return Some("port offset not permitted here".to_string());
        }
        return number_problem(offset, true).err();
    }
    if let Some((low, high)) = port.split_once('-') {
        if !policy.ranges {
            return Some("port range not permitted here".to_string());
        }
        let low = match number_problem(low, policy.zero) {
            Ok(n) => n,
            Err(m) => return Some(m),
        };
        let high = match number_problem(high, policy.zero) {
            Ok(n) => n,
            Err(m) => return Some(m),
        };
        return (low > high).then(|| format!("invalid port range '{port}'"));
    }
    number_problem(port, policy.zero).err()
}

/// A port number 1..=65535 (0 too when `zero`).
fn number_problem(text: &str, zero: bool) -> Result<u32, String> {
    if let Some(bad) = text.chars().find(|c| !c.is_ascii_digit()) {
        return Err(format!("invalid character '{bad}' in port number '{text}'"));
    }
    match text.parse::<u32>() {
        Ok(n) if n <= 65535 && (zero || n > 0) => Ok(n),
        _ => Err(format!("invalid port '{text}'")),
    }
}

#[cfg(test)]
mod tests {
    use super::{problem, BIND, LOG, SERVER};

    #[test]
    fn bind_addresses() {
        for ok in [":80", "*:80", "1.2.3.4:80", "[::1]:80", "::1:80", ":::80", ":80-90", "ipv4@:80", "unix@/s", "/s", "1.2.3:80", "localhost:80", "fd@${FD}", ":65535"] {
            assert_eq!(problem(ok, BIND), None, "{ok}");
        }
        for bad in [":0", ":70000", ":90-80", "1.2.3.4", ":", "1.2.3.400:80", "[::1:80", "[fe80::zz]:80", ":-1", ":abc", "udp@:80", "foo@:80", "256.1.1.1:80", ":::0-11", ":::65016-"] {
            assert!(problem(bad, BIND).is_some(), "{bad}");
        }
    }

    #[test]
    fn server_and_log_addresses() {
        for ok in ["1.2.3.4:0", "1.2.3.4", "1.2.3.4:+10", "1.2.3.4:-10", ":", "[::1]:80", "host:80"] {
            assert_eq!(problem(ok, SERVER), None, "{ok}");
        }
        for bad in ["1.2.3.4:70000", "1.2.3.4:80-90", "1.2.3.4:abc", "1.2.3.400:80"] {
            assert!(problem(bad, SERVER).is_some(), "{bad}");
        }
        assert!(problem("127.0.0.1:10001-10010", LOG).is_some());
        assert!(problem("127.0.0.1:+1", LOG).is_some());
        assert_eq!(problem("udp@127.0.0.1:514", LOG), None);
        assert_eq!(problem("127.0.0.1", LOG), None);
    }
}
