//! PEM texts as operators upload them (RFC 7468): certificates and one private key, in one
//! combined text (HAProxy's `crt` file) or in several (certificate, chain, key).
//!
//! ```text
//! texts --blocks--> [CERTIFICATE der, ..., PRIVATE KEY der] --split--> Parts { certificates, key }
//! Parts --pem_block--> canonical PEM (64-column base64, no text between blocks)
//! ```
//!
//! Text outside the blocks (openssl's `Bag Attributes`, comments) is ignored, as HAProxy and
//! openssl ignore it; `EC PARAMETERS` blocks (`openssl ecparam -genkey`) are dropped, since the
//! key names its curve. Encrypted keys are refused: HAProxy would ask for a passphrase at start.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use super::inspect::CertificateError;

/// How a private key is encoded, from its PEM label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyForm {
    /// `PRIVATE KEY`: PKCS#8 (RFC 5958), any algorithm.
    Pkcs8,
    /// `RSA PRIVATE KEY`: PKCS#1 (RFC 8017).
    Rsa,
    /// `EC PRIVATE KEY`: SEC 1 (RFC 5915).
    Ec,
}

impl KeyForm {
    /// The PEM label of the form.
    pub fn label(self) -> &'static str {
        match self {
            KeyForm::Pkcs8 => "PRIVATE KEY",
            KeyForm::Rsa => "RSA PRIVATE KEY",
            KeyForm::Ec => "EC PRIVATE KEY",
        }
    }
}

/// A private key's DER. Its `Debug` shows the form only, so a key never reaches a log.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKey {
    /// How it is encoded.
    pub form: KeyForm,
    /// The DER bytes.
    pub der: Vec<u8>,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrivateKey({:?}, {} bytes)", self.form, self.der.len())
    }
}

impl PrivateKey {
    /// The key as PEM text under its own label.
    pub fn pem(&self) -> String {
        pem_block(self.form.label(), &self.der)
    }
}

/// What an upload holds: certificates in the order given, and the private key if one was given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parts {
    /// DER of each certificate, in upload order (the server's own certificate first).
    pub certificates: Vec<Vec<u8>>,
    /// The private key.
    pub key: Option<PrivateKey>,
}

/// Splits the uploaded texts (`(field name, text)`, in order: certificate, chain, key) into
/// certificates and one key. Refused: a text with no PEM block, a block that does not decode,
/// two private keys, an encrypted key, a block of another kind.
pub fn split(texts: &[(&str, &str)]) -> Result<Parts, CertificateError> {
    let mut parts = Parts::default();
    for (field, text) in texts {
        let mut found = false;
        for block in x509_parser::pem::Pem::iter_from_buffer(text.as_bytes()) {
            let block = block.map_err(|e| CertificateError::Garbage(format!("{field}: a PEM block does not decode: {e}")))?;
            found = true;
            let form = match block.label.as_str() {
                "CERTIFICATE" => {
                    parts.certificates.push(block.contents);
                    continue;
                }
                "EC PARAMETERS" => continue,
                "PRIVATE KEY" => KeyForm::Pkcs8,
                "RSA PRIVATE KEY" => KeyForm::Rsa,
                "EC PRIVATE KEY" => KeyForm::Ec,
                "ENCRYPTED PRIVATE KEY" => {
                    return Err(CertificateError::Key(format!(
                        "{field}: the private key is encrypted; HAProxy cannot load it without a passphrase: upload it decrypted (openssl pkey -in key.pem)"
                    )))
                }
                other => {
                    return Err(CertificateError::Garbage(format!(
                        "{field}: unexpected PEM block {other:?} (expected CERTIFICATE or a PRIVATE KEY)"
                    )))
                }
            };
            if parts.key.is_some() {
                return Err(CertificateError::Key(format!("{field}: a second private key; upload exactly one")));
            }
            parts.key = Some(PrivateKey { form, der: block.contents });
        }
        if !found && !text.trim().is_empty() {
            return Err(CertificateError::Garbage(format!("{field}: no PEM block found (expected -----BEGIN CERTIFICATE----- or a PRIVATE KEY)")));
        }
    }
    Ok(parts)
}

/// One PEM block: `-----BEGIN label-----`, base64 in 64-column lines, `-----END label-----`.
pub fn pem_block(label: &str, der: &[u8]) -> String {
    let body = BASE64.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_round_trip_and_junk_between_is_ignored() {
        let cert = pem_block("CERTIFICATE", &[1u8; 100]);
        let key = pem_block("EC PRIVATE KEY", &[2u8; 40]);
        let text = format!("Bag Attributes\n{cert}junk\n{}{key}", pem_block("EC PARAMETERS", &[6, 1, 0]));
        let parts = split(&[("certificate", &text)]).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(parts.certificates, vec![vec![1u8; 100]]);
        assert_eq!(parts.key, Some(PrivateKey { form: KeyForm::Ec, der: vec![2u8; 40] }));
        assert_eq!(parts.key.map(|k| k.pem()), Some(key));
    }

    #[test]
    fn refusals() {
        assert!(matches!(split(&[("certificate", "hello")]), Err(CertificateError::Garbage(_))));
        let broken = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        assert!(matches!(split(&[("certificate", broken)]), Err(CertificateError::Garbage(_))));
        let two = pem_block("PRIVATE KEY", &[1]) + &pem_block("RSA PRIVATE KEY", &[2]);
        assert!(matches!(split(&[("private_key", &two)]), Err(CertificateError::Key(_))));
        let encrypted = pem_block("ENCRYPTED PRIVATE KEY", &[1]);
        assert!(matches!(split(&[("private_key", &encrypted)]), Err(CertificateError::Key(_))));
        assert_eq!(format!("{:?}", PrivateKey { form: KeyForm::Pkcs8, der: vec![9; 3] }), "PrivateKey(Pkcs8, 3 bytes)");
    }
}
