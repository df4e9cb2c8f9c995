//! DNS providers: the one interface ACME DNS-01 (`_acme-challenge` TXT records) and DNS failover
//! (the failover hostname's A/AAAA records) change DNS through, and the check that a change has
//! reached every authoritative server.
//!
//! ```text
//! stored provider (store: dns_providers + sealed secret) --open with the key ring-->
//!   Box<dyn DnsProvider>  (Rfc2136, PowerDns, Cloudflare)
//!     replace(RecordSet)          the RRset holds exactly these values (RFC 2136: one UPDATE;
//!                                 PowerDNS: one PATCH REPLACE; Cloudflare: per-record calls)
//!     delete(name, type)          the RRset is gone
//!     read(name, type)            what the provider's server (or API) holds
//!     authorities()               DNS servers the propagation check asks (empty: none reachable)
//!     check()                     "test connection": the zone is there and the credentials work
//! Propagation::wait(servers, RecordSet)  every server answers exactly the expected values, or
//!                                        DnsError::NotPropagated after the timeout
//! Propagation::confirm(provider, RecordSet)  the same over authorities(), or over the
//!                                        provider's own read-back when it names no server
//! test_connection(provider) -> ConnectionTest {ok, detail, elapsed_ms}
//! ```
//!
//! Why one trait for both users: a provider is configured once (server, zone, credentials) and
//! both ACME and failover only ever need "make this RRset be exactly these values", "remove it"
//! and "what is there now". Replacing a whole RRset, never appending, keeps a retried update
//! idempotent: a second try after a lost answer leaves the same records as the first.
//!
//! Names are absolute (`_acme-challenge.example.com`, a final dot optional) and must lie inside
//! the provider's zone; TXT values are text (split into 255-byte character-strings on the wire),
//! A and AAAA values are addresses.

mod api;
mod cloudflare;
mod powerdns;
mod propagation;
mod record;
mod rfc2136;
mod settings;
mod tsig;
mod wire;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

pub use cloudflare::{Cloudflare, CLOUDFLARE_API};
pub use powerdns::PowerDns;
pub use propagation::{authorities, Propagation};
pub use record::{RecordSet, RecordType};
pub use rfc2136::Rfc2136;
pub use settings::{open, DnsProviderInfo, DnsProviderSettings, NewDnsProvider};
pub use tsig::{TsigAlgorithm, TsigKey};

/// What a provider call returns: a boxed future, so providers chosen at run time by their kind
/// share one `dyn DnsProvider`.
pub type DnsFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, DnsError>> + Send + 'a>>;

/// A DNS zone the fleet may change. Implementations: [`Rfc2136`], [`PowerDns`], [`Cloudflare`].
pub trait DnsProvider: Send + Sync + std::fmt::Debug {
    /// The zone this provider changes (`example.com.`, absolute).
    fn zone(&self) -> &str;

    /// Makes the RRset `rrset.name`/`rrset.record_type` hold exactly `rrset.values` with
    /// `rrset.ttl`, in one atomic change. Errors: [`DnsError::Invalid`] for a name outside the
    /// zone or a bad value (nothing sent), [`DnsError::Refused`] (nothing changed), transport
    /// errors (the change may or may not have happened: retry, it is idempotent).
    fn replace<'a>(&'a self, rrset: &'a RecordSet) -> DnsFuture<'a, ()>;

    /// Removes the RRset `name`/`record_type` (no error when it does not exist).
    fn delete<'a>(&'a self, name: &'a str, record_type: RecordType) -> DnsFuture<'a, ()>;

    /// The RRset `name`/`record_type` as the provider's server holds it, `None` when empty.
    fn read<'a>(&'a self, name: &'a str, record_type: RecordType) -> DnsFuture<'a, Option<RecordSet>>;

    /// The servers the propagation check must see the change on: the zone's authoritative name
    /// servers (NS), always including the provider's own server ([`Rfc2136`]: its primary;
    /// [`PowerDns`]: its configured `dns_server` listener).
    ///
    /// An empty list means the provider has no DNS server the fleet can ask ([`Cloudflare`]:
    /// its anycast name servers answer for many zones and are not ours to probe, and a test
    /// stand-in has none). [`Propagation::confirm`] then trusts the provider's API instead: it
    /// polls [`DnsProvider::read`] until the API reads back exactly the expected values. That
    /// is weaker than asking every authority (the API may answer before its edge does), and is
    /// said so in the result of [`Propagation::confirm`] rather than skipped silently.
    fn authorities(&self) -> DnsFuture<'_, Vec<SocketAddr>>;

    /// "Test connection": one read that proves the zone exists on the provider and the
    /// credentials are accepted (RFC 2136: the zone apex SOA asked of the primary, and an
    /// update that changes nothing signed with the key; PowerDNS: `GET` of the zone with the API
    /// key; Cloudflare: the zone looked up by name with the token). Returns what was seen
    /// (`SOA serial 42 from 192.0.2.53:53`). Errors: [`DnsError::Refused`] /
    /// [`DnsError::ApiRefused`] naming a bad key or an unknown zone, [`DnsError::Unreachable`] /
    /// [`DnsError::ApiUnreachable`].
    fn check(&self) -> DnsFuture<'_, String>;
}

/// The answer of `POST /api/v1/dns-providers/{id}/test`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConnectionTest {
    /// True when the zone was found and the credentials accepted.
    pub ok: bool,
    /// What was seen (`SOA serial 7 from 127.0.0.1:5300`), or why it failed in plain words
    /// (`the API key is refused (HTTP 401)`, `zone example.com. does not exist on ...`,
    /// `... unreachable: connection refused`).
    pub detail: String,
    /// How long the check took, milliseconds.
    pub elapsed_ms: u64,
}

/// Runs [`DnsProvider::check`] and reports it as a [`ConnectionTest`]; a failure is an answer
/// (`ok: false`), not an error.
pub async fn test_connection(provider: &dyn DnsProvider) -> ConnectionTest {
    let started = std::time::Instant::now();
    let result = provider.check().await;
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match result {
        Ok(detail) => ConnectionTest { ok: true, detail, elapsed_ms },
        Err(e) => ConnectionTest { ok: false, detail: e.to_string(), elapsed_ms },
    }
}

/// True when `name` lies inside `zone` (both absolute or relative to the root, a final dot
/// optional, case-insensitive): `_acme-challenge.www.example.com` is in `example.com`.
/// False for a name that is not a DNS name.
pub fn in_zone(name: &str, zone: &str) -> bool {
    match (rfc2136::absolute(name, "name"), rfc2136::absolute(zone, "zone")) {
        (Ok(name), Ok(zone)) => zone.zone_of(&name),
        _ => false,
    }
}

/// Why a DNS change, query or check failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DnsError {
    /// Bad input, found before anything was sent (a name outside the zone, a bad address, an
    /// unknown TSIG algorithm, a secret that is not base64).
    #[error("{0}")]
    Invalid(String),
    /// The server answered with an error: nothing was changed. `tsig` names the TSIG error
    /// (`BADKEY`: the server does not know the key name; `BADSIG`: wrong secret or algorithm;
    /// `BADTIME`: the clocks differ by more than the fudge) when the server gave one.
    #[error("{server} refused the {what}: {rcode}{}", tsig.as_ref().map(|t| format!(" (TSIG {t})")).unwrap_or_default())]
    Refused {
        /// The server asked.
        server: SocketAddr,
        /// `update` or `query`.
        what: &'static str,
        /// The DNS response code (`NOTAUTH`, `REFUSED`, `NOTZONE` ...).
        rcode: String,
        /// The TSIG error with what it means, when the answer carried one.
        tsig: Option<String>,
    },
    /// The server could not be reached or did not answer in time.
    #[error("{server} unreachable: {reason}")]
    Unreachable {
        /// The server asked.
        server: SocketAddr,
        /// The operating system's words, or `no answer within N ms`.
        reason: String,
    },
    /// The answer could not be read or did not authenticate (its TSIG does not verify: someone
    /// else answered, or the key differs).
    #[error("bad answer from {server}: {reason}")]
    BadAnswer {
        /// The server asked.
        server: SocketAddr,
        /// What is wrong with it.
        reason: String,
    },
    /// An HTTP API (PowerDNS, Cloudflare) answered with an error: nothing was changed.
    /// `reason` says it in words first (`the API key is refused`, `zone example.com. does not
    /// exist`), then the API's own message.
    #[error("{api} refused the {what}: {reason} (HTTP {status})")]
    ApiRefused {
        /// The API asked (its base URL).
        api: String,
        /// `read`, `change` or `zone lookup`.
        what: &'static str,
        /// The HTTP status.
        status: u16,
        /// Why, in words, then the API's message.
        reason: String,
    },
    /// An HTTP API could not be reached or did not answer in time.
    #[error("{api} unreachable: {reason}")]
    ApiUnreachable {
        /// The API asked (its base URL).
        api: String,
        /// The transport's words, or `no answer within N ms`.
        reason: String,
    },
    /// An HTTP API answered success with a body that cannot be read.
    #[error("bad answer from {api}: {reason}")]
    ApiBadAnswer {
        /// The API asked.
        api: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Some authoritative servers did not serve the expected record before the timeout.
    #[error("{name} {record_type} not on every authoritative server after {waited_ms} ms: {}", pending.join("; "))]
    NotPropagated {
        /// The record's name.
        name: String,
        /// Its type.
        record_type: RecordType,
        /// How long the check waited.
        waited_ms: u64,
        /// `server: what it answered` for each server still behind.
        pending: Vec<String>,
    },
}

impl From<DnsError> for crate::Error {
    /// Bad input is the caller's ([`crate::Error::Invalid`]); a DNS server's refusal or silence
    /// is reported with its words as a conflict with the outside world.
    fn from(error: DnsError) -> Self {
        match error {
            DnsError::Invalid(message) => crate::Error::invalid(message),
            other => crate::Error::Conflict(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_in_zones() {
        assert!(super::in_zone("_acme-challenge.www.example.com", "example.com."));
        assert!(super::in_zone("Example.COM.", "example.com"));
        assert!(!super::in_zone("example.org", "example.com"));
        assert!(!super::in_zone("badexample.com", "example.com"));
    }
}
