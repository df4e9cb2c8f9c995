//! Has a change reached every authoritative server? Asked before an ACME CA is told to validate
//! (a CA that queries a secondary still serving the old zone fails the challenge, and the order
//! with it) and after a failover move (to report when the new address is served everywhere).
//!
//! ```text
//! authorities(primary, zone): NS of the zone, asked of the primary
//!   -> each name server's addresses: the answer's glue, else A/AAAA asked of the primary,
//!      else the system resolver -> port 53 (the primary's own address keeps its port)
//!   -> [primary, ns addresses...] without duplicates
//! Propagation::wait(servers, expected): every `interval`, ask each server still behind
//!   (not recursive, over TCP) until each answers exactly the expected values -> Ok,
//!   or `timeout` passes -> NotPropagated naming each server behind and what it answered
//! ```
//!
//! Asking the authoritative servers directly, never a resolver, is the point: a resolver's
//! cache says nothing about what the CA's resolver will be told, and may hold a stale NXDOMAIN
//! for the whole negative TTL.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_proto::rr::{RData, RecordType as WireType};

use super::record::RecordSet;
use super::rfc2136::{absolute, query, query_raw};
use super::{DnsError, DnsProvider};
use crate::clock::{OsRandom, Random};

/// The port name servers listen on (RFC 1035 §4.2).
const DNS_PORT: u16 = 53;

/// How long to wait for a change to reach every authoritative server, and how often to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Propagation {
    /// Give up after the first round of questions that ends this long after the start (a
    /// round's questions are not cut short, so the last answers are real ones).
    pub timeout: Duration,
    /// Pause between two rounds of questions.
    pub interval: Duration,
    /// Time limit of one question to one server.
    pub query_timeout: Duration,
}

impl Default for Propagation {
    /// Two minutes, asking every two seconds, five seconds per question: secondaries fed by
    /// NOTIFY follow within seconds; two minutes covers a missed NOTIFY's first SOA refresh
    /// retry on most setups without holding an ACME order for long.
    fn default() -> Self {
        Propagation { timeout: Duration::from_secs(120), interval: Duration::from_secs(2), query_timeout: Duration::from_secs(5) }
    }
}

impl Propagation {
    /// Waits until every server in `servers` answers `expected.name`/`expected.record_type`
    /// with exactly `expected`'s values (order and address spelling aside). Errors:
    /// [`DnsError::NotPropagated`] after `timeout`, naming each server still behind and what it
    /// last answered (a value list, `nothing`, or why it could not be asked).
    pub async fn wait(&self, servers: &[SocketAddr], expected: &RecordSet) -> Result<(), DnsError> {
        let name = absolute(&expected.name, "name")?;
        let want = expected.value_set();
        let started = tokio::time::Instant::now();
        let deadline = started + self.timeout;
        let mut behind: BTreeMap<SocketAddr, String> = servers.iter().map(|s| (*s, "not asked yet".to_string())).collect();
        loop {
            for (server, last) in behind.iter_mut() {
                *last = match query(*server, &name, expected.record_type, message_id(), self.query_timeout).await {
                    Ok(Some(found)) if found.value_set() == want => String::new(),
                    Ok(Some(found)) => format!("{:?}", found.value_set()),
                    Ok(None) => "nothing".into(),
                    Err(e) => e.to_string(),
                };
            }
            behind.retain(|_, last| !last.is_empty());
            if behind.is_empty() {
                return Ok(());
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(DnsError::NotPropagated {
                    name: expected.name.clone(),
                    record_type: expected.record_type,
                    waited_ms: u64::try_from(now.duration_since(started).as_millis()).unwrap_or(u64::MAX),
                    pending: behind.iter().map(|(server, last)| format!("{server}: {last}")).collect(),
                });
            }
            tokio::time::sleep(self.interval.min(deadline - now)).await;
        }
    }
}

impl Propagation {
    /// Waits until `expected` is served, and says how that was seen: on every server
    /// `provider.authorities()` names ([`Propagation::wait`]: `"every authoritative server
    /// (2)"`), or, when the provider names none (Cloudflare: no DNS server of its is ours to
    /// ask), until the provider's own API reads back exactly the expected values
    /// (`"the provider's API read-back (no DNS server to ask)"`), with the same timeout and
    /// interval. Errors: [`DnsError::NotPropagated`] after the timeout (the servers or the API
    /// behind, and what they answered); the authorities' lookup failing.
    pub async fn confirm(&self, provider: &dyn DnsProvider, expected: &RecordSet) -> Result<String, DnsError> {
        let servers = provider.authorities().await?;
        if !servers.is_empty() {
            self.wait(&servers, expected).await?;
            return Ok(format!("every authoritative server ({})", servers.len()));
        }
        let want = expected.value_set();
        let started = tokio::time::Instant::now();
        let deadline = started + self.timeout;
        loop {
            let last = match provider.read(&expected.name, expected.record_type).await {
                Ok(Some(found)) if found.value_set() == want => return Ok("the provider's API read-back (no DNS server to ask)".into()),
                Ok(Some(found)) => format!("{:?}", found.value_set()),
                Ok(None) => "nothing".into(),
                Err(e) => e.to_string(),
            };
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(DnsError::NotPropagated {
                    name: expected.name.clone(),
                    record_type: expected.record_type,
                    waited_ms: u64::try_from(now.duration_since(started).as_millis()).unwrap_or(u64::MAX),
                    pending: vec![format!("the provider's API (zone {}): {last}", provider.zone())],
                });
            }
            tokio::time::sleep(self.interval.min(deadline - now)).await;
        }
    }
}

/// The servers authoritative for `zone`, asked of `primary` (the provider's server, always
/// first in the list): the addresses of every NS target on port 53, except that the primary's
/// own address keeps the primary's port. Errors: the NS question fails. A name server with no
/// address anywhere is left out: it cannot be checked, and no CA's resolver can ask it either.
pub async fn authorities(primary: SocketAddr, zone: &str, timeout: Duration) -> Result<Vec<SocketAddr>, DnsError> {
    let zone = absolute(zone, "zone")?;
    let answer = query_raw(primary, &zone, WireType::NS, message_id(), timeout).await?;
    let targets: Vec<_> = answer
        .answers()
        .iter()
        .filter_map(|record| match record.data() {
            RData::NS(ns) => Some(ns.0.clone()),
            _ => None,
        })
        .collect();
    let mut servers = vec![primary];
    for target in targets {
        let glue: Vec<IpAddr> = answer.additionals().iter().filter(|r| r.name() == &target).filter_map(|r| address(r.data())).collect();
        let mut ips = glue;
        if ips.is_empty() {
            for wire_type in [WireType::A, WireType::AAAA] {
                if let Ok(found) = query_raw(primary, &target, wire_type, message_id(), timeout).await {
                    ips.extend(found.answers().iter().filter_map(|r| address(r.data())));
                }
            }
        }
        if ips.is_empty() {
            if let Ok(found) = tokio::net::lookup_host((target.to_ascii().trim_end_matches('.'), DNS_PORT)).await {
                ips.extend(found.map(|a| a.ip()));
            }
        }
        for ip in ips {
            let server = if ip == primary.ip() { primary } else { SocketAddr::new(ip, DNS_PORT) };
            if !servers.contains(&server) {
                servers.push(server);
            }
        }
    }
    Ok(servers)
}

fn address(data: &RData) -> Option<IpAddr> {
    match data {
        RData::A(a) => Some(IpAddr::V4(a.0)),
        RData::AAAA(aaaa) => Some(IpAddr::V6(aaaa.0)),
        _ => None,
    }
}

/// A fresh message id (RFC 5452 §4.3: unpredictable, so an off-path answer cannot match).
fn message_id() -> u16 {
    let mut id = [0u8; 2];
    // The OS source failing leaves id 0: the answer is still matched, merely predictable.
    let _ = OsRandom.fill(&mut id);
    u16::from_be_bytes(id)
}
