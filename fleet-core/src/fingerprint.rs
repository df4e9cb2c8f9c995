//! Certificate fingerprints as agents pin them: `sha256:` and the SHA-256 of the certificate's
//! DER in hex (64 digits; `openssl x509 -noout -fingerprint -sha256` prints the same bytes with
//! colons, which are accepted too).
//!
//! ```text
//! fleet serve --tls-self-signed --CaFingerprint::of_der(CA)--> install command `--ca-fingerprint sha256:...`
//! fleet-agent --ca-fingerprint ----parse----> accepts the server only when its chain holds that certificate
//! ```

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// The SHA-256 fingerprint of one certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CaFingerprint([u8; 32]);

/// Why a fingerprint did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FingerprintError {
    /// Not `sha256:` followed by 64 hex digits (colons allowed between pairs).
    #[error("expected sha256: and 64 hex digits, got {0:?}")]
    Malformed(String),
}

impl CaFingerprint {
    /// The fingerprint of a certificate in DER.
    pub fn of_der(der: &[u8]) -> CaFingerprint {
        CaFingerprint(Sha256::digest(der).into())
    }

    /// True when `der` is the certificate this fingerprint names.
    pub fn matches(&self, der: &[u8]) -> bool {
        *self == CaFingerprint::of_der(der)
    }
}

impl fmt::Display for CaFingerprint {
    /// `sha256:` and 64 lowercase hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", hex::encode(self.0))
    }
}

impl FromStr for CaFingerprint {
    type Err = FingerprintError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let malformed = || FingerprintError::Malformed(text.chars().take(120).collect());
        let digits = text.strip_prefix("sha256:").or_else(|| text.strip_prefix("SHA256:")).ok_or_else(malformed)?;
        let digits: String = digits.chars().filter(|c| *c != ':').collect();
        let bytes = hex::decode(&digits).map_err(|_| malformed())?;
        <[u8; 32]>::try_from(bytes.as_slice()).map(CaFingerprint).map_err(|_| malformed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_accepts_openssl_colons() {
        let fingerprint = CaFingerprint::of_der(b"abc");
        let text = fingerprint.to_string();
        assert_eq!(text, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(text.parse::<CaFingerprint>(), Ok(fingerprint));
        let openssl = "SHA256:BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD";
        assert_eq!(openssl.parse::<CaFingerprint>(), Ok(fingerprint));
        assert!(fingerprint.matches(b"abc") && !fingerprint.matches(b"abd"));
        for bad in ["ba7816bf", "sha256:zz", "sha256:ba7816bf", "md5:00"] {
            assert!(bad.parse::<CaFingerprint>().is_err(), "{bad}");
        }
    }
}
