//! An uploaded certificate read and checked before anything is stored: the facts the store
//! lists (subject, SANs, issuer, serial, validity, key type and size, fingerprints) and the
//! refusals HAProxy or a client would otherwise find later, each a [`CertificateError`] (422).
//!
//! ```text
//! certificate [+ chain] [+ key] --pem::split--> DERs + key
//!   --x509-parser--> facts of the leaf (the first certificate)
//!   --key_matches--> the key's public half (ring) == the leaf's SubjectPublicKeyInfo key
//!   --links-->       certificate i is issued and signed by certificate i+1
//!   --expiry-->      no certificate past notAfter (unless allow_expired)
//!   = Inspected { facts, chain_pem (leaf first, canonical PEM), key }
//! ```
//!
//! Why the key check derives the public key with ring rather than signing and verifying: it is
//! exact, needs no randomness, and reads the three key encodings operators hold (PKCS#8, PKCS#1,
//! SEC 1, the last by wrapping it in PKCS#8 as RFC 5915 §3 allows). ring reads RSA keys of 2048
//! to 8192 bits and ECDSA keys on P-256 and P-384, and Ed25519: the key types HAProxy's
//! certificates use in practice; others are refused by name.

use ring::signature::{self, KeyPair as _};
use serde::{Deserialize, Serialize};
use sha1::Digest as _;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::public_key::PublicKey;

use super::pem::{self, KeyForm, PrivateKey};

/// Why an upload is refused. Every variant is the caller's to fix (HTTP 422).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// Not PEM, or a block that is not a certificate.
    #[error("{0}")]
    Garbage(String),
    /// No certificate in the upload.
    #[error("no certificate: the upload holds no -----BEGIN CERTIFICATE----- block")]
    NoCertificate,
    /// No private key in the upload.
    #[error("no private key: give private_key, or put the key in the certificate text")]
    NoKey,
    /// The key cannot be read, or is of a type not supported.
    #[error("{0}")]
    Key(String),
    /// The key is not the certificate's.
    #[error("the private key does not match the certificate {subject}")]
    KeyMismatch {
        /// The leaf's subject.
        subject: String,
    },
    /// The certificates are all there but not in leaf-to-root order.
    #[error("chain in wrong order: {0}")]
    WrongOrder(String),
    /// A certificate is not issued by the next one.
    #[error("chain does not link: {0}")]
    BrokenChain(String),
    /// A certificate is past its notAfter.
    #[error("certificate {subject} expired at {not_after}: renew it, or set allow_expired")]
    Expired {
        /// Its subject.
        subject: String,
        /// When it expired (RFC 2822-like, as x509-parser prints it).
        not_after: String,
    },
}

impl From<CertificateError> for crate::Error {
    fn from(error: CertificateError) -> Self {
        crate::Error::invalid(error.to_string())
    }
}

/// One certificate of the chain above the leaf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainLink {
    /// Subject DN (RFC 4514).
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// notAfter, Unix ms.
    pub not_after: i64,
    /// SHA-256 of the DER, lowercase hex.
    pub fingerprint_sha256: String,
}

/// What the store shows of a certificate: everything but the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CertificateFacts {
    /// Subject DN of the leaf (RFC 4514, `CN=example.com`).
    pub subject: String,
    /// Issuer DN of the leaf.
    pub issuer: String,
    /// Serial number, uppercase hex (as `show ssl cert` prints it).
    pub serial: String,
    /// Subject alternative names: DNS names as written, IP addresses in text form.
    pub sans: Vec<String>,
    /// notBefore, Unix ms.
    pub not_before: i64,
    /// notAfter, Unix ms.
    pub not_after: i64,
    /// `rsa`, `ecdsa` or `ed25519`.
    pub key_type: String,
    /// Key size in bits (RSA modulus, curve size).
    pub key_bits: u32,
    /// SHA-256 of the leaf's DER, lowercase hex.
    pub fingerprint_sha256: String,
    /// SHA-1 of the leaf's DER, uppercase hex: what HAProxy 2.6's `show ssl cert` prints, so a
    /// node's report can be matched.
    pub fingerprint_sha1: String,
    /// The certificates after the leaf, in order.
    pub chain: Vec<ChainLink>,
}

/// A checked upload.
#[derive(Debug, Clone)]
pub struct Inspected {
    /// The leaf's facts.
    pub facts: CertificateFacts,
    /// Leaf then chain, canonical PEM (no text between blocks).
    pub chain_pem: String,
    /// The private key (its `Debug` hides it).
    pub key: PrivateKey,
}

impl Inspected {
    /// HAProxy's combined `crt` file: certificate, chain, then key.
    pub fn combined_pem(&self) -> String {
        combined_pem(&self.chain_pem, &self.key.pem())
    }
}

/// HAProxy's combined `crt` file from a chain (leaf first) and a key, both PEM.
pub fn combined_pem(chain_pem: &str, key_pem: &str) -> String {
    let mut out = chain_pem.to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(key_pem);
    out
}

/// What an upload gives: the certificate (which may hold the chain, and the key: HAProxy's
/// combined file), an optional separate chain and an optional separate key.
#[derive(Debug, Clone, Copy, Default)]
pub struct Upload<'a> {
    /// PEM: the server's certificate first, then optionally its chain and key.
    pub certificate: &'a str,
    /// PEM: intermediate certificates, the one that issued the leaf first.
    pub chain: Option<&'a str>,
    /// PEM: the private key, unencrypted.
    pub private_key: Option<&'a str>,
    /// Accept certificates past their notAfter.
    pub allow_expired: bool,
}

/// Reads and checks an upload at time `now_ms` (see the module docs for the order of checks).
pub fn inspect(upload: &Upload<'_>, now_ms: i64) -> Result<Inspected, CertificateError> {
    let mut texts = vec![("certificate", upload.certificate)];
    texts.extend(upload.chain.map(|c| ("chain", c)));
    texts.extend(upload.private_key.map(|k| ("private_key", k)));
    let parts = pem::split(&texts)?;
    if parts.certificates.is_empty() {
        return Err(CertificateError::NoCertificate);
    }
    let mut parsed = Vec::with_capacity(parts.certificates.len());
    for (i, der) in parts.certificates.iter().enumerate() {
        let (rest, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| CertificateError::Garbage(format!("certificate {} is not an X.509 certificate: {e}", i + 1)))?;
        if !rest.is_empty() {
            return Err(CertificateError::Garbage(format!("certificate {}: {} bytes after the certificate", i + 1, rest.len())));
        }
        parsed.push(cert);
    }
    let key = parts.key.ok_or(CertificateError::NoKey)?;
    let public = public_key_of(&key)?;
    if !key_matches(&parsed[0], &public) {
        return Err(match parsed.iter().position(|c| key_matches(c, &public)) {
            Some(j) => CertificateError::WrongOrder(format!(
                "the private key belongs to certificate {} ({}): the server's own certificate must come first",
                j + 1,
                parsed[j].subject()
            )),
            None => CertificateError::KeyMismatch { subject: parsed[0].subject().to_string() },
        });
    }
    check_links(&parsed)?;
    if !upload.allow_expired {
        let now_s = now_ms.div_euclid(1000);
        if let Some(expired) = parsed.iter().find(|c| c.validity().not_after.timestamp() < now_s) {
            return Err(CertificateError::Expired {
                subject: expired.subject().to_string(),
                not_after: expired.validity().not_after.to_string(),
            });
        }
    }
    let facts = facts_of(&parsed[0], &parts.certificates[0], &parsed[1..], &parts.certificates[1..])?;
    let chain_pem = parts.certificates.iter().map(|der| pem::pem_block("CERTIFICATE", der)).collect();
    Ok(Inspected { facts, chain_pem, key })
}

/// True when `issuer` names and signed `cert`.
fn issued(cert: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> bool {
    cert.issuer().as_raw() == issuer.subject().as_raw() && cert.verify_signature(Some(issuer.public_key())).is_ok()
}

/// Each certificate must be issued by the next one (RFC 8446 §4.4.2's order, which HAProxy
/// sends as stored). A certificate whose issuer is elsewhere in the list is a wrong order.
fn check_links(certs: &[X509Certificate<'_>]) -> Result<(), CertificateError> {
    for (i, pair) in certs.windows(2).enumerate() {
        let (cert, next) = (&pair[0], &pair[1]);
        if issued(cert, next) {
            continue;
        }
        if let Some(j) = certs.iter().enumerate().position(|(j, other)| j != i && j != i + 1 && issued(cert, other)) {
            return Err(CertificateError::WrongOrder(format!(
                "certificate {} ({}) is issued by certificate {} ({}), which must come right after it",
                i + 1,
                cert.subject(),
                j + 1,
                certs[j].subject()
            )));
        }
        let why = if cert.issuer().as_raw() == next.subject().as_raw() {
            "names it as issuer, but its key did not sign it".to_string()
        } else {
            format!("is not its issuer {}", cert.issuer())
        };
        return Err(CertificateError::BrokenChain(format!(
            "certificate {} ({}): certificate {} ({}) {why}",
            i + 1,
            cert.subject(),
            i + 2,
            next.subject()
        )));
    }
    Ok(())
}

/// True when the leaf's public key is `public` (ring's encoding: the uncompressed EC point, the
/// DER RSAPublicKey, the raw Ed25519 key; each is the SubjectPublicKeyInfo's bit string).
fn key_matches(cert: &X509Certificate<'_>, public: &[u8]) -> bool {
    cert.public_key().subject_public_key.data.as_ref() == public
}

const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];

/// A DER TLV with a definite length.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// A SEC 1 `ECPrivateKey` wrapped as PKCS#8 on `curve` (RFC 5915 §3, RFC 5958).
fn sec1_as_pkcs8(sec1: &[u8], curve: &[u8]) -> Vec<u8> {
    let algorithm = der(0x30, &[der(0x06, OID_EC_PUBLIC_KEY), der(0x06, curve)].concat());
    der(0x30, &[der(0x02, &[0]), algorithm, der(0x04, sec1)].concat())
}

/// The public half of `key`, in the form its certificate's SubjectPublicKeyInfo holds.
fn public_key_of(key: &PrivateKey) -> Result<Vec<u8>, CertificateError> {
    let rng = ring::rand::SystemRandom::new();
    let ecdsa = |pkcs8: &[u8]| {
        [&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &signature::ECDSA_P384_SHA384_ASN1_SIGNING]
            .into_iter()
            .find_map(|alg| signature::EcdsaKeyPair::from_pkcs8(alg, pkcs8, &rng).ok())
            .map(|pair| pair.public_key().as_ref().to_vec())
    };
    let public = match key.form {
        KeyForm::Pkcs8 => ecdsa(&key.der)
            .or_else(|| signature::RsaKeyPair::from_pkcs8(&key.der).ok().map(|p| p.public_key().as_ref().to_vec()))
            .or_else(|| signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&key.der).ok().map(|p| p.public_key().as_ref().to_vec())),
        KeyForm::Rsa => signature::RsaKeyPair::from_der(&key.der).ok().map(|p| p.public_key().as_ref().to_vec()),
        KeyForm::Ec => [OID_P256, OID_P384].into_iter().find_map(|curve| ecdsa(&sec1_as_pkcs8(&key.der, curve))),
    };
    public.ok_or_else(|| {
        CertificateError::Key(format!(
            "the private key ({}) cannot be read: it is damaged, or of a type not supported (RSA 2048 to 8192 bits, ECDSA P-256 or P-384, Ed25519)",
            key.form.label()
        ))
    })
}

fn ms(time: &x509_parser::time::ASN1Time) -> i64 {
    time.timestamp().saturating_mul(1000)
}

fn sha256_hex(der: &[u8]) -> String {
    crate::secret::sha256_hex(der)
}

/// The facts of the leaf and its chain.
fn facts_of(
    leaf: &X509Certificate<'_>,
    leaf_der: &[u8],
    chain: &[X509Certificate<'_>],
    chain_der: &[Vec<u8>],
) -> Result<CertificateFacts, CertificateError> {
    let mut sans = Vec::new();
    let extension = leaf.subject_alternative_name().map_err(|e| CertificateError::Garbage(format!("subjectAltName does not decode: {e}")))?;
    for name in extension.iter().flat_map(|ext| ext.value.general_names.iter()) {
        match name {
            GeneralName::DNSName(dns) => sans.push((*dns).to_string()),
            GeneralName::IPAddress(bytes) => match bytes.len() {
                4 => sans.push(std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*bytes).unwrap_or_default()).to_string()),
                16 => sans.push(std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*bytes).unwrap_or_default()).to_string()),
                _ => {}
            },
            _ => {}
        }
    }
    let spki = leaf.public_key();
    let (key_type, key_bits) = match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => ("rsa", rsa.key_size()),
        Ok(PublicKey::EC(_)) => {
            let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok()).map(|oid| oid.as_bytes().to_vec());
            let bits = match curve.as_deref() {
                Some(OID_P256) => 256,
                Some(OID_P384) => 384,
                _ => 0,
            };
            ("ecdsa", bits)
        }
        _ if spki.algorithm.algorithm.to_id_string() == "1.3.101.112" => ("ed25519", 256),
        _ => ("other", 0),
    };
    Ok(CertificateFacts {
        subject: leaf.subject().to_string(),
        issuer: leaf.issuer().to_string(),
        serial: hex::encode_upper(leaf.raw_serial()),
        sans,
        not_before: ms(&leaf.validity().not_before),
        not_after: ms(&leaf.validity().not_after),
        key_type: key_type.into(),
        key_bits: u32::try_from(key_bits).unwrap_or(0),
        fingerprint_sha256: sha256_hex(leaf_der),
        fingerprint_sha1: hex::encode_upper(sha1::Sha1::digest(leaf_der)),
        chain: chain
            .iter()
            .zip(chain_der)
            .map(|(cert, der)| ChainLink {
                subject: cert.subject().to_string(),
                issuer: cert.issuer().to_string(),
                not_after: ms(&cert.validity().not_after),
                fingerprint_sha256: sha256_hex(der),
            })
            .collect(),
    })
}
