//! TSIG keys (RFC 8945): the shared secret an RFC 2136 server checks updates against, as BIND's
//! `tsig-keygen` prints it (`key "NAME" { algorithm hmac-sha256; secret "BASE64"; };`).

use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hickory_proto::dnssec::rdata::tsig::TsigAlgorithm as WireAlgorithm;
use hickory_proto::dnssec::tsig::TSigner;
use hickory_proto::rr::Name;
use serde::{Deserialize, Serialize};

use super::DnsError;

/// How far the server's clock may be from ours, seconds (RFC 8945 §10 recommends 300).
const FUDGE_SECONDS: u16 = 300;

/// The MAC algorithms accepted: the HMAC-SHA2 family RFC 8945 §6 lists as mandatory or
/// recommended. HMAC-MD5 and HMAC-SHA1 are left out on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub enum TsigAlgorithm {
    /// `hmac-sha256` (RFC 8945's mandatory algorithm; `tsig-keygen`'s default).
    #[serde(rename = "hmac-sha256")]
    HmacSha256,
    /// `hmac-sha384`.
    #[serde(rename = "hmac-sha384")]
    HmacSha384,
    /// `hmac-sha512`.
    #[serde(rename = "hmac-sha512")]
    HmacSha512,
}

impl TsigAlgorithm {
    /// The name on the wire and in BIND's configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            TsigAlgorithm::HmacSha256 => "hmac-sha256",
            TsigAlgorithm::HmacSha384 => "hmac-sha384",
            TsigAlgorithm::HmacSha512 => "hmac-sha512",
        }
    }

    fn wire(self) -> WireAlgorithm {
        match self {
            TsigAlgorithm::HmacSha256 => WireAlgorithm::HmacSha256,
            TsigAlgorithm::HmacSha384 => WireAlgorithm::HmacSha384,
            TsigAlgorithm::HmacSha512 => WireAlgorithm::HmacSha512,
        }
    }
}

impl std::str::FromStr for TsigAlgorithm {
    type Err = DnsError;

    fn from_str(text: &str) -> Result<Self, DnsError> {
        match text.trim_end_matches('.').to_ascii_lowercase().as_str() {
            "hmac-sha256" => Ok(TsigAlgorithm::HmacSha256),
            "hmac-sha384" => Ok(TsigAlgorithm::HmacSha384),
            "hmac-sha512" => Ok(TsigAlgorithm::HmacSha512),
            _ => Err(DnsError::Invalid(format!(
                "tsig algorithm {text:?}: expected hmac-sha256, hmac-sha384 or hmac-sha512"
            ))),
        }
    }
}

impl fmt::Display for TsigAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A TSIG key: its name (as the server's `key` statement names it), algorithm and secret.
/// `Debug` never shows the secret.
#[derive(Clone)]
pub struct TsigKey {
    name: Name,
    algorithm: TsigAlgorithm,
    secret: Vec<u8>,
}

impl fmt::Debug for TsigKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TsigKey").field("name", &self.name.to_ascii()).field("algorithm", &self.algorithm).finish_non_exhaustive()
    }
}

impl TsigKey {
    /// The key `name` (a domain name such as `fleet-update` or `fleet.example.com`), with
    /// `algorithm`, and `secret_base64` as `tsig-keygen` prints it. Errors: a bad name, an empty
    /// secret or one that is not base64 (RFC 4648), shorter than 16 bytes (RFC 8945 §6 asks
    /// for at least half the hash length).
    pub fn new(name: &str, algorithm: TsigAlgorithm, secret_base64: &str) -> Result<TsigKey, DnsError> {
        let mut wire_name =
            Name::from_ascii(name.trim()).map_err(|e| DnsError::Invalid(format!("tsig key name {name:?}: {e}")))?;
        if name.trim().is_empty() {
            return Err(DnsError::Invalid("tsig key name is empty".into()));
        }
        wire_name.set_fqdn(true);
        let secret = BASE64
            .decode(secret_base64.trim())
            .map_err(|_| DnsError::Invalid("tsig secret is not base64 (as tsig-keygen prints it)".into()))?;
        if secret.len() < 16 {
            return Err(DnsError::Invalid(format!("tsig secret has {} bytes: at least 16 are needed", secret.len())));
        }
        Ok(TsigKey { name: wire_name, algorithm, secret })
    }

    /// The key's name, absolute (`fleet-update.`).
    pub fn name(&self) -> String {
        self.name.to_ascii()
    }

    /// Its algorithm.
    pub fn algorithm(&self) -> TsigAlgorithm {
        self.algorithm
    }

    /// The signer hickory finalises messages with.
    pub(super) fn signer(&self) -> Result<TSigner, DnsError> {
        TSigner::new(self.secret.clone(), self.algorithm.wire(), self.name.clone(), FUDGE_SECONDS)
            .map_err(|e| DnsError::Invalid(format!("tsig key {}: {e}", self.name)))
    }
}

/// What a TSIG error code (RFC 8945 §3, the Error field of a server's TSIG record) means.
pub(super) fn error_name(code: u16) -> String {
    match code {
        16 => "BADSIG: the server's secret or algorithm for this key differs".into(),
        17 => "BADKEY: the server does not know this key name and algorithm".into(),
        18 => "BADTIME: the clocks differ by more than the fudge".into(),
        22 => "BADTRUNC: truncated MAC refused".into(),
        other => format!("error {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_as_tsig_keygen_prints_them() {
        let key = TsigKey::new("fleet-update", "hmac-sha256".parse().unwrap(), "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ==").unwrap();
        assert_eq!(key.name(), "fleet-update.");
        assert!(!format!("{key:?}").contains("c2Vj"));
        assert!(TsigKey::new("k", TsigAlgorithm::HmacSha256, "not base64!").is_err());
        assert!(TsigKey::new("k", TsigAlgorithm::HmacSha256, "c2hvcnQ=").is_err());
        assert!(TsigKey::new("", TsigAlgorithm::HmacSha256, "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ==").is_err());
        assert!("hmac-md5".parse::<TsigAlgorithm>().is_err());
        assert_eq!("HMAC-SHA512.".parse::<TsigAlgorithm>().unwrap(), TsigAlgorithm::HmacSha512);
    }
}
