//! DNS providers: the one interface ACME DNS-01 (`_acme-challenge` TXT records) and DNS failover
//! (the failover hostname's A/AAAA records) change DNS through, and the check that a change has
//! reached every authoritative server.
//!
//! ```text
//! stored provider (store: dns_providers + sealed TSIG secret) --open with the key ring-->
//!   Box<dyn DnsProvider>  (Rfc2136 today; PowerDNS, Cloudflare later)
//!     replace(RecordSet)          one UPDATE: delete the RRset, add the new records (atomic)
//!     delete(name, type)          one UPDATE: delete the RRset
//!     read(name, type)            a query to the provider's server
//!     authorities()               the zone's name servers, for the propagation check
//! Propagation::wait(servers, RecordSet)  every server answers exactly the expected values, or
//!                                        DnsError::NotPropagated after the timeout
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

mod propagation;
mod record;
mod rfc2136;
mod settings;
mod tsig;
mod wire;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

pub use propagation::{authorities, Propagation};
pub use record::{RecordSet, RecordType};
pub use rfc2136::Rfc2136;
pub use settings::{open, DnsProviderInfo, DnsProviderSettings, NewDnsProvider};
pub use tsig::{TsigAlgorithm, TsigKey};

/// What a provider call returns: a boxed future, so providers chosen at run time by their kind
/// share one `dyn DnsProvider`.
pub type DnsFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, DnsError>> + Send + 'a>>;

/// A DNS zone the fleet may change. Implementations: [`Rfc2136`].
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
    /// servers (NS), always including the provider's own server.
    fn authorities(&self) -> DnsFuture<'_, Vec<SocketAddr>>;
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
