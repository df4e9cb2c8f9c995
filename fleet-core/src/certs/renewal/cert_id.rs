//! The ARI certificate identifier (RFC 9773 §4.1) and the validity period of a certificate,
//! read from its DER with x509-parser.
//!
//! `CertID = base64url(AKI keyIdentifier) "." base64url(serial)`, both without padding, where
//! the first part is the *contents* of the `keyIdentifier` OCTET STRING of the certificate's
//! Authority Key Identifier extension and the second the *contents* of its serial INTEGER as
//! encoded (a leading `00` that keeps a high bit positive stays). The same string is the
//! `replaces` field of the renewal's new order (RFC 9773 §5).

use base64::Engine as _;
use x509_parser::extensions::ParsedExtension;

use super::schedule::Lifetime;

/// Why a certificate's facts could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertIdError {
    /// The DER is not an X.509 certificate.
    #[error("certificate does not parse: {0}")]
    Parse(String),
}

/// What renewal needs to know about an issued certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewalFacts {
    /// `notBefore` and `notAfter`, Unix ms.
    pub lifetime: Lifetime,
    /// The ARI CertID, `None` when the certificate has no Authority Key Identifier (then
    /// neither ARI nor `replaces` can name it).
    pub cert_id: Option<String>,
}

/// The ARI CertID from the two raw values (RFC 9773 §4.1).
pub fn cert_id_from_parts(key_identifier: &[u8], serial: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!("{}.{}", b64.encode(key_identifier), b64.encode(serial))
}

/// Reads the lifetime and CertID of a DER certificate.
pub fn renewal_facts(der: &[u8]) -> Result<RenewalFacts, CertIdError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| CertIdError::Parse(e.to_string()))?;
    let validity = cert.validity();
    let lifetime = Lifetime {
        not_before_ms: validity.not_before.timestamp().saturating_mul(1000),
        not_after_ms: validity.not_after.timestamp().saturating_mul(1000),
    };
    let key_identifier = cert.iter_extensions().find_map(|ext| match ext.parsed_extension() {
        ParsedExtension::AuthorityKeyIdentifier(aki) => aki.key_identifier.as_ref().map(|id| id.0),
        _ => None,
    });
    let cert_id = key_identifier.map(|id| cert_id_from_parts(id, cert.tbs_certificate.raw_serial()));
    Ok(RenewalFacts { lifetime, cert_id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_example_encodes() {
        // RFC 9773 §4.1: keyIdentifier 69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4,
        // serial 00:87:65:43:21.
        let aki = [
            0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40, 0x41, 0xE1, 0xB3, 0x7B, 0x84, 0x7B, 0xA0, 0xAE, 0x2C, 0xDE, 0x01,
            0xC8, 0xD4,
        ];
        assert_eq!(cert_id_from_parts(&aki, &[0x00, 0x87, 0x65, 0x43, 0x21]), "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
    }

    #[test]
    fn garbage_is_refused() {
        assert!(matches!(renewal_facts(b"not a certificate"), Err(CertIdError::Parse(_))));
    }
}
