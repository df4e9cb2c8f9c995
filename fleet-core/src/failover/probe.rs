//! The agent's own HTTP probe of one frontend (issue 15): with DNS failover a member is healthy
//! only while its agent can fetch a page through the node's own HAProxy, so a node whose HAProxy
//! runs but serves errors (a broken backend, a bad certificate) is not pointed at.
//!
//! ```text
//! pool failover settings `probe` {frontend, path, host, expect_status, timeout_ms}
//!   -> heartbeat answer (the server tells each member's agent what to probe)
//!   -> agent: target(config files it runs, frontend, its environment)   the first TCP bind
//!      -> GET http(s)://host/path connected to that address -> ProbeReport
//!   -> next heartbeat: facts.failover_probe -> health (a report that fails: unhealthy)
//! ```
//!
//! The frontend's address is read on the node because only the node knows its environment
//! (`bind "${NODE_ADDR}:443"`). A wildcard bind (`*`, `0.0.0.0`, `::`, no host) is probed on
//! loopback. TLS binds are probed over HTTPS without verifying the certificate: the probe asks
//! whether this node serves, not whether its certificate is trusted (the certificate status
//! covers that).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use haproxy_model::{Address, Document, Host, PortSpec, Side};
use serde::{Deserialize, Serialize};

/// `probe` of a pool's failover settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Probe {
    /// The frontend (or `listen` section) to probe: its first TCP `bind`.
    pub frontend: String,
    /// The request path (default `/`).
    #[serde(default = "root")]
    pub path: String,
    /// The `Host` header and TLS server name; absent: the failover hostname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The status that passes; absent: any 2xx or 3xx.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_status: Option<u16>,
    /// How long the whole request may take, ms, 100..=10000 (default 2000).
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
}

fn root() -> String {
    "/".into()
}

fn default_timeout() -> u64 {
    2_000
}

impl Probe {
    /// Checks the fields: a frontend name, an absolute path without blanks, a status
    /// 100..=599, the timeout 100..=10000 ms. The message names the field.
    pub fn check(&self) -> Result<(), String> {
        if self.frontend.is_empty() || self.frontend.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("probe.frontend: {:?} is not a section name", self.frontend));
        }
        if !self.path.starts_with('/') || self.path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("probe.path: {:?} must start with / and hold no blanks", self.path));
        }
        if let Some(host) = &self.host {
            if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control() || c == '/') {
                return Err(format!("probe.host: {host:?} is not a host name"));
            }
        }
        if self.expect_status.is_some_and(|s| !(100..=599).contains(&s)) {
            return Err("probe.expect_status: 100 to 599".into());
        }
        if !(100..=10_000).contains(&self.timeout_ms) {
            return Err("probe.timeout_ms: 100 to 10000".into());
        }
        Ok(())
    }

    /// True when `status` passes.
    pub fn passes(&self, status: u16) -> bool {
        match self.expect_status {
            Some(expected) => status == expected,
            None => (200..400).contains(&status),
        }
    }
}

/// What an agent found, sent in its heartbeat's facts as `failover_probe`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProbeReport {
    /// The probe it ran (the server counts a report only for its current probe).
    pub probe: Probe,
    /// Passed.
    pub ok: bool,
    /// The URL fetched and the address connected to (`https://www.example.com/ via
    /// 127.0.0.1:443`), when the frontend had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The status answered, when there was an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why it failed, or `ok`.
    pub detail: String,
    /// How long it took, ms.
    pub elapsed_ms: u64,
}

/// Where to send a probe: an address and whether the bind terminates TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeTarget {
    /// The address to connect to.
    pub addr: SocketAddr,
    /// The bind has `ssl`: speak HTTPS.
    pub tls: bool,
}

/// The first TCP listener of frontend (or `listen`) `frontend` in the configuration files
/// `documents` (in load order), with environment references expanded by `env` as HAProxy
/// does (configuration.txt §2.3). Errors, in words: no such frontend, or no bind with an IP
/// address or wildcard and a port (UNIX sockets, names and `fd@` are skipped).
pub fn target(documents: &[&Document], frontend: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<ProbeTarget, String> {
    let proxy = documents.iter().find_map(|d| d.proxy(Side::Frontend, frontend)).ok_or_else(|| format!("no frontend {frontend} in the running configuration"))?;
    let mut skipped = Vec::new();
    for bind in proxy.binds() {
        let Some(word) = bind.line().words().get(1) else { continue };
        let text = haproxy_model::expand(word.raw(), env).map_err(|e| format!("bind {}: {e}", word.raw()))?;
        let addresses = match Address::parse_bind_list(&text) {
            Ok(addresses) => addresses,
            Err(e) => {
                skipped.push(format!("{text}: {e}"));
                continue;
            }
        };
        for address in addresses {
            match socket_addr(&address) {
                Some(addr) => return Ok(ProbeTarget { addr, tls: bind.is_ssl() }),
                None => skipped.push(text.clone()),
            }
        }
    }
    Err(if skipped.is_empty() {
        format!("frontend {frontend} has no bind")
    } else {
        format!("frontend {frontend} has no TCP bind with an address and a port to probe ({})", skipped.join(", "))
    })
}

/// The address to connect to for a bind address: wildcards on loopback; `None` for what is not
/// an IP listener with a port.
fn socket_addr(address: &Address) -> Option<SocketAddr> {
    let stream = address.prefix.as_deref().is_none_or(|p| matches!(p.to_ascii_lowercase().as_str(), "ipv4" | "ipv6" | "tcp" | "tcp4" | "tcp6"));
    let port = match address.port? {
        PortSpec::Single(port) | PortSpec::Range(port, _) => port,
        PortSpec::Offset(_) => return None,
    };
    let ip = match &address.host {
        Host::Any => IpAddr::V4(Ipv4Addr::LOCALHOST),
        Host::Ipv4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        Host::Ipv6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        Host::Ipv4(ip) => IpAddr::V4(*ip),
        Host::Ipv6(ip) => IpAddr::V6(*ip),
        Host::Name(_) | Host::Path(_) | Host::Fd(_) => return None,
    };
    (stream && port != 0).then_some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(text: &str) -> Document {
        crate::documents::Parsed::parse(text).document().clone()
    }

    fn env(name: &str) -> Option<String> {
        (name == "NODE_ADDR").then(|| "192.0.2.7".to_string())
    }

    #[test]
    fn the_first_tcp_bind_is_probed_wildcards_on_loopback() {
        let a = document("frontend other\n    bind :81\n");
        let b = document(
            "frontend www\n    bind /run/haproxy/www.sock\n    bind \"${NODE_ADDR}:443\" ssl crt /etc/haproxy/site.pem\n    bind :80\n\
             listen stats\n    bind *:8404\nfrontend six\n    bind [::]:8080\nfrontend none\n    bind unix@/run/x.sock\n",
        );
        let both = [&a, &b];
        assert_eq!(target(&both, "www", &env), Ok(ProbeTarget { addr: "192.0.2.7:443".parse().unwrap(), tls: true }));
        assert_eq!(target(&both, "other", &env).unwrap().addr, "127.0.0.1:81".parse().unwrap(), "found in the first file");
        assert_eq!(target(&both, "stats", &env).unwrap().addr, "127.0.0.1:8404".parse().unwrap(), "listen sections too");
        assert_eq!(target(&both, "six", &env).unwrap().addr, "[::1]:8080".parse().unwrap());
        assert!(target(&both, "none", &env).unwrap_err().contains("no TCP bind"));
        assert!(target(&both, "absent", &env).unwrap_err().contains("no frontend absent"));
        let unset = document("frontend www\n    bind \"${UNSET-127.0.0.2}:8443\"\n");
        assert_eq!(target(&[&unset], "www", &env).unwrap().addr, "127.0.0.2:8443".parse().unwrap());
    }

    #[test]
    fn probes_are_checked_and_statuses_matched() {
        let probe: Probe = serde_json::from_value(serde_json::json!({"frontend": "www"})).unwrap();
        assert_eq!((probe.path.as_str(), probe.timeout_ms), ("/", 2_000));
        assert!(probe.check().is_ok());
        assert!(probe.passes(200) && probe.passes(302) && !probe.passes(404) && !probe.passes(503));
        let exact = Probe { expect_status: Some(204), ..probe.clone() };
        assert!(exact.passes(204) && !exact.passes(200));
        for bad in [
            Probe { path: "health".into(), ..probe.clone() },
            Probe { frontend: "a b".into(), ..probe.clone() },
            Probe { timeout_ms: 50, ..probe.clone() },
            Probe { expect_status: Some(99), ..probe.clone() },
            Probe { host: Some("a/b".into()), ..probe.clone() },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
        assert!(serde_json::from_value::<Probe>(serde_json::json!({"frontend": "www", "url": "x"})).is_err(), "unknown fields are refused");
    }
}
