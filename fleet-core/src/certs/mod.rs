//! Certificates the server makes itself. Today: the `fleet serve --tls-self-signed` CA and the
//! server certificate it signs (see [`self_signed`]).

pub mod self_signed;

/// Why a certificate could not be made or read back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// rcgen refused the parameters or the key.
    #[error("certificate generation failed: {0}")]
    Generate(String),
    /// A stored certificate or key does not decode.
    #[error("stored {what} does not decode: {reason}")]
    Stored {
        /// What was read.
        what: &'static str,
        /// Why not.
        reason: String,
    },
}

impl From<CertError> for crate::Error {
    fn from(error: CertError) -> Self {
        crate::Error::Crypto(error.to_string())
    }
}

/// The DER of the first `CERTIFICATE` block of a PEM text (RFC 7468).
pub fn pem_certificate_der(pem: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let start = pem.find("-----BEGIN CERTIFICATE-----")? + "-----BEGIN CERTIFICATE-----".len();
    let end = start + pem[start..].find("-----END CERTIFICATE-----")?;
    let body: String = pem[start..end].chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}
