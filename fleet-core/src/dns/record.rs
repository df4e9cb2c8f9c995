//! RRsets as the fleet writes them (A and AAAA for failover, TXT for ACME), and their wire form.

use std::collections::BTreeSet;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::rr::rdata::{A, AAAA, TXT};
use hickory_proto::rr::{Name, RData, Record};
use serde::{Deserialize, Serialize};

use super::DnsError;

/// The record types the fleet writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RecordType {
    /// An IPv4 address (RFC 1035 §3.4.1).
    A,
    /// An IPv6 address (RFC 3596).
    #[serde(rename = "AAAA")]
    Aaaa,
    /// Text (RFC 1035 §3.3.14): ACME DNS-01's `_acme-challenge` values (RFC 8555 §8.4).
    #[serde(rename = "TXT")]
    Txt,
}

impl RecordType {
    pub(super) fn wire(self) -> hickory_proto::rr::RecordType {
        match self {
            RecordType::A => hickory_proto::rr::RecordType::A,
            RecordType::Aaaa => hickory_proto::rr::RecordType::AAAA,
            RecordType::Txt => hickory_proto::rr::RecordType::TXT,
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Txt => "TXT",
        })
    }
}

impl std::str::FromStr for RecordType {
    type Err = DnsError;

    fn from_str(text: &str) -> Result<Self, DnsError> {
        match text.to_ascii_uppercase().as_str() {
            "A" => Ok(RecordType::A),
            "AAAA" => Ok(RecordType::Aaaa),
            "TXT" => Ok(RecordType::Txt),
            _ => Err(DnsError::Invalid(format!("record type {text:?}: expected A, AAAA or TXT"))),
        }
    }
}

/// One RRset: every record of one name and type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordSet {
    /// The owner name, absolute (`_acme-challenge.example.com`; a final dot is optional).
    pub name: String,
    /// Its type.
    pub record_type: RecordType,
    /// Time to live, seconds.
    pub ttl: u32,
    /// The values: addresses for A/AAAA, texts for TXT. Order does not matter.
    pub values: Vec<String>,
}

impl RecordSet {
    /// A TXT RRset (ACME DNS-01 uses a TTL of 60 s or less, so a retry is not held up by caches).
    pub fn txt(name: &str, ttl: u32, values: impl IntoIterator<Item = String>) -> RecordSet {
        RecordSet { name: name.into(), record_type: RecordType::Txt, ttl, values: values.into_iter().collect() }
    }

    /// The values as a set, for comparing answers regardless of order and duplicates.
    pub fn value_set(&self) -> BTreeSet<String> {
        self.values.iter().map(|v| canonical_value(self.record_type, v)).collect()
    }

    /// The wire records, each checked: `Invalid` for an empty set, a bad address, a TXT value
    /// that is not text.
    pub(super) fn records(&self, name: &Name) -> Result<Vec<Record>, DnsError> {
        if self.values.is_empty() {
            return Err(DnsError::Invalid(format!("{} {}: no values (delete the RRset instead)", self.name, self.record_type)));
        }
        self.values.iter().map(|value| Ok(Record::from_rdata(name.clone(), self.ttl, rdata(self.record_type, value)?))).collect()
    }

    /// The RRset of `record_type` in `records` (an answer section), `None` when there is none.
    pub(super) fn from_answer(name: &str, record_type: RecordType, records: &[Record]) -> Option<RecordSet> {
        let matching: Vec<&Record> = records.iter().filter(|r| r.record_type() == record_type.wire()).collect();
        let values: Vec<String> = matching.iter().filter_map(|r| value(r.data())).collect();
        let ttl = matching.iter().map(|r| r.ttl()).min()?;
        (!values.is_empty()).then(|| RecordSet { name: name.into(), record_type, ttl, values })
    }
}

/// The wire data of one value.
fn rdata(record_type: RecordType, value: &str) -> Result<RData, DnsError> {
    let bad = |what: &str| DnsError::Invalid(format!("{record_type} value {value:?}: {what}"));
    Ok(match record_type {
        RecordType::A => RData::A(A::from(value.parse::<Ipv4Addr>().map_err(|_| bad("not an IPv4 address"))?)),
        RecordType::Aaaa => RData::AAAA(AAAA::from(value.parse::<Ipv6Addr>().map_err(|_| bad("not an IPv6 address"))?)),
        RecordType::Txt => {
            if value.chars().any(char::is_control) {
                return Err(bad("control characters"));
            }
            // A character-string holds at most 255 bytes (RFC 1035 §3.3); longer texts are
            // several strings of one record, which readers join (RFC 7208 §3.3 does the same).
            RData::TXT(TXT::new(chunks(value, 255)))
        }
    })
}

/// `text` cut into pieces of at most `max` bytes, never inside a character.
fn chunks(text: &str, max: usize) -> Vec<String> {
    let mut out = vec![String::new()];
    for c in text.chars() {
        if out.last().is_some_and(|s| s.len() + c.len_utf8() > max) {
            out.push(String::new());
        }
        if let Some(last) = out.last_mut() {
            last.push(c);
        }
    }
    out
}

/// The text of one answer record, `None` for types the fleet does not write.
fn value(data: &RData) -> Option<String> {
    match data {
        RData::A(a) => Some(a.0.to_string()),
        RData::AAAA(aaaa) => Some(aaaa.0.to_string()),
        RData::TXT(txt) => Some(txt.txt_data().iter().map(|s| String::from_utf8_lossy(s)).collect()),
        _ => None,
    }
}

/// One spelling per value: addresses as Rust prints them (`::1` for `0:0::1`), texts as given.
fn canonical_value(record_type: RecordType, value: &str) -> String {
    match record_type {
        RecordType::A => value.parse::<Ipv4Addr>().map(|a| a.to_string()).unwrap_or_else(|_| value.into()),
        RecordType::Aaaa => value.parse::<Ipv6Addr>().map(|a| a.to_string()).unwrap_or_else(|_| value.into()),
        RecordType::Txt => value.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_txt_is_split_into_character_strings() {
        let text = "é".repeat(200);
        let parts = chunks(&text, 255);
        assert!(parts.iter().all(|p| p.len() <= 255));
        assert_eq!(parts.concat(), text);
        assert_eq!(chunks("short", 255), vec!["short".to_string()]);
    }

    #[test]
    fn bad_values_are_refused_before_anything_is_sent() {
        let name = Name::from_ascii("a.example.").unwrap();
        let set = |t, v: &str| RecordSet { name: "a.example".into(), record_type: t, ttl: 60, values: vec![v.into()] };
        assert!(set(RecordType::A, "192.0.2.1").records(&name).is_ok());
        assert!(set(RecordType::A, "2001:db8::1").records(&name).is_err());
        assert!(set(RecordType::Aaaa, "192.0.2.1").records(&name).is_err());
        assert!(set(RecordType::Txt, "a\nb").records(&name).is_err());
        let empty = RecordSet { values: vec![], ..set(RecordType::Txt, "x") };
        assert!(empty.records(&name).is_err());
    }

    #[test]
    fn value_sets_ignore_order_and_spelling() {
        let a = RecordSet { name: "h".into(), record_type: RecordType::Aaaa, ttl: 1, values: vec!["0:0::1".into(), "2001:db8::2".into()] };
        let b = RecordSet { values: vec!["2001:db8::2".into(), "::1".into()], ..a.clone() };
        assert_eq!(a.value_set(), b.value_set());
    }
}
