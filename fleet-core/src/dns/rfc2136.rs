//! RFC 2136 dynamic update signed with TSIG (RFC 8945): the provider for BIND, Knot, PowerDNS
//! (with `dnsupdate=yes`), Windows DNS and most self-hosted primaries.
//!
//! ```text
//! replace(set): UPDATE zone=Z  [delete RRset name/type (class ANY)] [add each record (class IN)]
//! delete:       UPDATE zone=Z  [delete RRset name/type]
//!               signed with TSIG -> TCP -> answer: rcode, then the answer's own TSIG verified
//! read:         QUERY name/type -> answer section
//! ```
//!
//! Both changes of a replace travel in one message, which the server applies atomically in
//! order (RFC 2136 §3.4.2), so a reader never sees the name without records in between.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode, UpdateMessage};
use hickory_proto::rr::{DNSClass, Name, RData, Record};
use hickory_proto::serialize::binary::BinEncodable;

use super::record::{RecordSet, RecordType};
use super::tsig::{error_name, TsigKey};
use super::{wire, DnsError, DnsFuture, DnsProvider};
use crate::clock::{Clock, OsRandom, Random, SystemClock};

/// How long one exchange with the server may take unless set otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A zone on a primary server that accepts TSIG-signed dynamic updates.
#[derive(Debug, Clone)]
pub struct Rfc2136 {
    server: SocketAddr,
    zone: Name,
    /// `zone` as text (`example.com.`), what [`DnsProvider::zone`] lends.
    zone_text: String,
    key: TsigKey,
    timeout: Duration,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
}

impl Rfc2136 {
    /// The zone `zone` (`example.com`) on `server` (the primary, `192.0.2.53:53`), changed with
    /// `key`. Error: a zone that is not a domain name.
    pub fn new(server: SocketAddr, zone: &str, key: TsigKey) -> Result<Rfc2136, DnsError> {
        let zone = absolute(zone, "zone")?;
        Ok(Rfc2136 {
            server,
            zone_text: zone.to_ascii(),
            zone,
            key,
            timeout: DEFAULT_TIMEOUT,
            clock: Arc::new(SystemClock),
            random: Arc::new(OsRandom),
        })
    }

    /// The same provider with another time limit per exchange.
    pub fn with_timeout(mut self, timeout: Duration) -> Rfc2136 {
        self.timeout = timeout;
        self
    }

    /// The same provider with another clock (the TSIG time signed) and random source (ids).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>, random: Arc<dyn Random>) -> Rfc2136 {
        self.clock = clock;
        self.random = random;
        self
    }

    /// The primary server.
    pub fn server(&self) -> SocketAddr {
        self.server
    }

    /// `name` as an absolute name inside the zone, or `Invalid`.
    fn owner(&self, name: &str) -> Result<Name, DnsError> {
        let owner = absolute(name, "name")?;
        if !self.zone.zone_of(&owner) {
            return Err(DnsError::Invalid(format!("{} is not in zone {}", owner, self.zone)));
        }
        Ok(owner)
    }

    fn message_id(&self) -> Result<u16, DnsError> {
        let mut id = [0u8; 2];
        self.random.fill(&mut id).map_err(|e| DnsError::Invalid(format!("random source failed: {e}")))?;
        Ok(u16::from_be_bytes(id))
    }

    /// Sends one UPDATE holding `updates`, signed, and checks the answer.
    async fn update(&self, updates: Vec<Record>) -> Result<(), DnsError> {
        self.update_with(Vec::new(), updates).await
    }

    /// Sends one UPDATE with `prerequisites` (RFC 2136 §2.4) and `updates`, signed, and checks
    /// the answer.
    async fn update_with(&self, prerequisites: Vec<Record>, updates: Vec<Record>) -> Result<(), DnsError> {
        let mut message = Message::new();
        message.set_id(self.message_id()?).set_message_type(MessageType::Query).set_op_code(OpCode::Update);
        let mut zone = Query::query(self.zone.clone(), hickory_proto::rr::RecordType::SOA);
        zone.set_query_class(DNSClass::IN);
        message.add_zone(zone);
        for prerequisite in prerequisites {
            message.add_pre_requisite(prerequisite);
        }
        message.add_updates(updates);
        let now = u32::try_from(self.clock.now_ms().max(0) / 1000).unwrap_or(u32::MAX);
        let signer = self.key.signer()?;
        let mut verifier = message
            .finalize(&signer, now)
            .map_err(|e| DnsError::Invalid(format!("cannot sign the update: {e}")))?;
        let request = message.to_vec().map_err(|e| DnsError::Invalid(format!("cannot encode the update: {e}")))?;
        let answer = wire::exchange(self.server, &request, self.timeout).await?;
        let parsed = self.parse(&answer, message.id())?;
        if parsed.response_code() != ResponseCode::NoError {
            return Err(DnsError::Refused {
                server: self.server,
                what: "update",
                rcode: rcode_name(parsed.response_code()),
                tsig: tsig_error(&parsed).map(error_name),
            });
        }
        // An unsigned or wrongly signed success did not come from the holder of the key.
        match verifier.as_mut() {
            Some(verify) => verify(&answer).map(|_| ()).map_err(|e| DnsError::BadAnswer {
                server: self.server,
                reason: format!("its TSIG does not verify with key {}: {e}", self.key.name()),
            }),
            None => Ok(()),
        }
    }

    fn parse(&self, answer: &[u8], id: u16) -> Result<Message, DnsError> {
        let parsed = Message::from_vec(answer).map_err(|e| DnsError::BadAnswer { server: self.server, reason: e.to_string() })?;
        if parsed.id() != id {
            return Err(DnsError::BadAnswer { server: self.server, reason: format!("id {} answers another query than {id}", parsed.id()) });
        }
        Ok(parsed)
    }
}

impl DnsProvider for Rfc2136 {
    fn zone(&self) -> &str {
        &self.zone_text
    }

    fn replace<'a>(&'a self, rrset: &'a RecordSet) -> DnsFuture<'a, ()> {
        Box::pin(async move {
            let owner = self.owner(&rrset.name)?;
            let records = rrset.records(&owner)?;
            let mut updates = vec![delete_rrset(owner, rrset.record_type)];
            updates.extend(records);
            self.update(updates).await
        })
    }

    fn delete<'a>(&'a self, name: &'a str, record_type: RecordType) -> DnsFuture<'a, ()> {
        Box::pin(async move {
            let owner = self.owner(name)?;
            self.update(vec![delete_rrset(owner, record_type)]).await
        })
    }

    fn read<'a>(&'a self, name: &'a str, record_type: RecordType) -> DnsFuture<'a, Option<RecordSet>> {
        Box::pin(async move {
            let owner = self.owner(name)?;
            query(self.server, &owner, record_type, self.message_id()?, self.timeout).await
        })
    }

    fn authorities(&self) -> DnsFuture<'_, Vec<SocketAddr>> {
        Box::pin(async move { super::authorities(self.server, &self.zone_text, self.timeout).await })
    }

    /// The apex SOA asked of the primary (the zone is served there), then a signed UPDATE whose
    /// only content is the prerequisite "the apex SOA exists" (RFC 2136 §2.4.1): it changes
    /// nothing, and the server checks the key and its update policy on it.
    fn check(&self) -> DnsFuture<'_, String> {
        Box::pin(async move {
            let answer = query_raw(self.server, &self.zone, hickory_proto::rr::RecordType::SOA, self.message_id()?, self.timeout).await?;
            let serial = answer.answers().iter().find_map(|r| match r.data() {
                RData::SOA(soa) if r.name() == &self.zone => Some(soa.serial()),
                _ => None,
            });
            let Some(serial) = serial else {
                return Err(DnsError::Refused {
                    server: self.server,
                    what: "query",
                    rcode: format!("no SOA for {} (the server does not hold this zone)", self.zone),
                    tsig: None,
                });
            };
            let mut exists = Record::update0(self.zone.clone(), 0, hickory_proto::rr::RecordType::SOA);
            exists.set_dns_class(DNSClass::ANY);
            self.update_with(vec![exists], Vec::new()).await?;
            Ok(format!("zone {} (SOA serial {serial}) on {}; an empty update signed with key {} is accepted", self.zone, self.server, self.key.name()))
        })
    }
}

/// Asks `server` for `name`/`record_type` (not recursive) and returns the RRset it answers,
/// `None` for no data or no such name. Used by [`Rfc2136::read`] and the propagation check.
pub(super) async fn query(
    server: SocketAddr,
    name: &Name,
    record_type: RecordType,
    id: u16,
    timeout: Duration,
) -> Result<Option<RecordSet>, DnsError> {
    let answer = query_raw(server, name, record_type.wire(), id, timeout).await?;
    Ok(RecordSet::from_answer(&name.to_ascii(), record_type, answer.answers()))
}

/// Asks `server` for `name`/`record_type` and returns the whole answer (NOERROR or NXDOMAIN).
pub(super) async fn query_raw(
    server: SocketAddr,
    name: &Name,
    record_type: hickory_proto::rr::RecordType,
    id: u16,
    timeout: Duration,
) -> Result<Message, DnsError> {
    let mut message = Message::new();
    message.set_id(id).set_message_type(MessageType::Query).set_op_code(OpCode::Query).set_recursion_desired(false);
    message.add_query(Query::query(name.clone(), record_type));
    let request = message.to_vec().map_err(|e| DnsError::Invalid(format!("cannot encode the query: {e}")))?;
    let answer = wire::exchange(server, &request, timeout).await?;
    let parsed = Message::from_vec(&answer).map_err(|e| DnsError::BadAnswer { server, reason: e.to_string() })?;
    if parsed.id() != id {
        return Err(DnsError::BadAnswer { server, reason: format!("id {} answers another query than {id}", parsed.id()) });
    }
    match parsed.response_code() {
        ResponseCode::NoError | ResponseCode::NXDomain => Ok(parsed),
        other => Err(DnsError::Refused { server, what: "query", rcode: rcode_name(other), tsig: None }),
    }
}

/// The update record that deletes the RRset `owner`/`record_type` (RFC 2136 §2.5.2: class ANY,
/// TTL 0, no data).
fn delete_rrset(owner: Name, record_type: RecordType) -> Record {
    let mut record = Record::update0(owner, 0, record_type.wire());
    record.set_dns_class(DNSClass::ANY);
    record
}

/// `text` as an absolute domain name, or `Invalid` naming `what` it is.
pub(super) fn absolute(text: &str, what: &str) -> Result<Name, DnsError> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed == "." {
        return Err(DnsError::Invalid(format!("{what} is empty")));
    }
    let mut name = Name::from_ascii(trimmed).map_err(|e| DnsError::Invalid(format!("{what} {text:?}: {e}")))?;
    name.set_fqdn(true);
    Ok(name)
}

/// The mnemonic of a response code (RFC 1035 §4.1.1, RFC 2136 §2.2).
fn rcode_name(code: ResponseCode) -> String {
    match u16::from(code) {
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        6 => "YXDOMAIN".into(),
        7 => "YXRRSET".into(),
        8 => "NXRRSET".into(),
        9 => "NOTAUTH".into(),
        10 => "NOTZONE".into(),
        other => format!("rcode {other}"),
    }
}

/// The Error field of the answer's TSIG record, when it carries one that is not 0.
///
/// hickory's `TSIG` keeps the field private, so it is read from the record's wire form
/// (RFC 8945 §4.2): algorithm name, time signed (6), fudge (2), MAC size (2), MAC, original
/// id (2), error (2), other length (2), other data.
fn tsig_error(answer: &Message) -> Option<u16> {
    let tsig = answer.signature().iter().find_map(|record| match record.data() {
        RData::DNSSEC(DNSSECRData::TSIG(tsig)) => Some(tsig),
        _ => None,
    })?;
    let bytes = tsig.to_bytes().ok()?;
    let mut at = 0usize;
    loop {
        let label = usize::from(*bytes.get(at)?);
        at += 1;
        if label == 0 {
            break;
        }
        at += label;
    }
    at += 6 + 2;
    let mac_len = usize::from(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]));
    at += 2 + mac_len + 2;
    let error = u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]);
    (error != 0).then_some(error)
}
