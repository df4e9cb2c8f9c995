//! Master keys, the key ring, and the sealed-value format.

use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

use super::SecretError;
use crate::clock::Random;

/// Length of a master key in bytes (256 bits).
pub const KEY_LEN: usize = 32;
/// Length of an XChaCha20-Poly1305 nonce in bytes.
const NONCE_LEN: usize = 24;
/// The prefix and version of every sealed value.
const SEALED_PREFIX: &str = "fleet-sealed:v1:";

/// A key's public name: the first 16 hex digits of SHA-256 over a label and the key, so it
/// identifies the key without revealing it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyId(String);

impl KeyId {
    /// The 16 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One 256-bit master key. Its `Debug` shows the id only.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey {
    bytes: [u8; KEY_LEN],
    id: KeyId,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

impl MasterKey {
    /// The key made of `bytes`.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> MasterKey {
        let mut hasher = Sha256::new();
        hasher.update(b"haproxy-fleet master key id\0");
        hasher.update(bytes);
        let id = KeyId(hex::encode(&hasher.finalize()[..8]));
        MasterKey { bytes, id }
    }

    /// A new key drawn from `random`.
    pub fn generate(random: &dyn Random) -> Result<MasterKey, SecretError> {
        let mut bytes = [0u8; KEY_LEN];
        random.fill(&mut bytes).map_err(|e| SecretError::Random(e.to_string()))?;
        Ok(MasterKey::from_bytes(bytes))
    }

    /// Its id.
    pub fn id(&self) -> &KeyId {
        &self.id
    }

    /// Its bytes in standard base64 (how the key file holds it).
    pub(super) fn to_base64(&self) -> String {
        BASE64.encode(self.bytes)
    }

    /// The key whose base64 is `text`.
    pub(super) fn from_base64(text: &str) -> Option<MasterKey> {
        let bytes = BASE64.decode(text.trim()).ok()?;
        <[u8; KEY_LEN]>::try_from(bytes.as_slice()).ok().map(MasterKey::from_bytes)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(Key::from_slice(&self.bytes))
    }
}

/// What a sealed value is for (`tls-ca-key`, `acme-account:prod` ...): bound into the ciphertext
/// as associated data, so a value cannot be opened as, or moved into the place of, another.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Purpose(String);

impl Purpose {
    /// The private key of the server's self-signed CA (`fleet serve --tls-self-signed`).
    pub fn tls_ca_key() -> Purpose {
        Purpose("tls-ca-key".into())
    }

    /// A purpose named `kind` for the thing `subject` (`Purpose::new("vrrp-auth", "edge/VI_1")`).
    pub fn new(kind: &str, subject: &str) -> Purpose {
        if subject.is_empty() {
            Purpose(kind.to_string())
        } else {
            Purpose(format!("{kind}:{subject}"))
        }
    }

    /// The purpose as stored beside a sealed value (the inverse of [`Purpose::as_str`]).
    pub fn from_stored(text: &str) -> Purpose {
        Purpose(text.to_string())
    }

    /// The text bound into the ciphertext.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A sealed value: `fleet-sealed:v1:<key id>:<base64 of nonce followed by ciphertext and tag>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed(String);

impl Sealed {
    /// Reads a stored sealed value, checking only its shape (opening checks the rest).
    pub fn parse(text: &str) -> Result<Sealed, SecretError> {
        let sealed = Sealed(text.to_string());
        sealed.parts()?;
        Ok(sealed)
    }

    /// The text to store.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id of the key it was sealed with.
    pub fn key_id(&self) -> Result<KeyId, SecretError> {
        self.parts().map(|(id, _)| KeyId(id.to_string()))
    }

    fn parts(&self) -> Result<(&str, &str), SecretError> {
        let rest = self.0.strip_prefix(SEALED_PREFIX).ok_or_else(|| SecretError::Malformed(format!("missing {SEALED_PREFIX:?} prefix")))?;
        let (id, body) = rest.split_once(':').ok_or_else(|| SecretError::Malformed("missing key id".into()))?;
        if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(SecretError::Malformed(format!("bad key id {id:?}")));
        }
        Ok((id, body))
    }
}

impl fmt::Display for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The associated data: the format version, the key id and the purpose.
fn associated_data(id: &str, purpose: &Purpose) -> Vec<u8> {
    format!("{SEALED_PREFIX}{id}:{}", purpose.as_str()).into_bytes()
}

/// The keys a server holds: the first seals, every one opens (older keys stay only while a
/// rotation reseals what they sealed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyring {
    keys: Vec<MasterKey>,
}

impl Keyring {
    /// A ring whose only key is `key`.
    pub fn new(key: MasterKey) -> Keyring {
        Keyring { keys: vec![key] }
    }

    /// A ring that seals with `primary` and still opens with `older`.
    pub fn with_older(primary: MasterKey, older: impl IntoIterator<Item = MasterKey>) -> Keyring {
        let mut keys = vec![primary];
        for key in older {
            if !keys.iter().any(|k| k.id == key.id) {
                keys.push(key);
            }
        }
        Keyring { keys }
    }

    /// The key that seals.
    pub fn primary(&self) -> &MasterKey {
        &self.keys[0]
    }

    /// Every key, the primary first.
    pub fn keys(&self) -> &[MasterKey] {
        &self.keys
    }

    /// The ids held, comma-separated (for messages).
    pub fn ids(&self) -> String {
        self.keys.iter().map(|k| k.id.0.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// Seals `plaintext` for `purpose` under the primary key with a fresh random nonce.
    pub fn seal(&self, purpose: &Purpose, plaintext: &[u8], random: &dyn Random) -> Result<Sealed, SecretError> {
        let key = self.primary();
        let mut nonce = [0u8; NONCE_LEN];
        random.fill(&mut nonce).map_err(|e| SecretError::Random(e.to_string()))?;
        let aad = associated_data(&key.id.0, purpose);
        let ciphertext = key
            .cipher()
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad: &aad })
            .map_err(|_| SecretError::Tampered { what: purpose.as_str().to_string() })?;
        let mut body = nonce.to_vec();
        body.extend_from_slice(&ciphertext);
        Ok(Sealed(format!("{SEALED_PREFIX}{}:{}", key.id, BASE64.encode(body))))
    }

    /// Opens a value sealed for `purpose`: the plaintext, or why not (a key the ring does not
    /// hold, or a value that does not authenticate).
    pub fn open(&self, purpose: &Purpose, sealed: &Sealed) -> Result<Vec<u8>, SecretError> {
        let (id, body) = sealed.parts()?;
        let what = || purpose.as_str().to_string();
        let key = self.keys.iter().find(|k| k.id.0 == id).ok_or_else(|| SecretError::WrongKey {
            what: what(),
            sealed_with: id.to_string(),
            held: self.ids(),
        })?;
        let body = BASE64.decode(body).map_err(|e| SecretError::Malformed(format!("{}: {e}", what())))?;
        if body.len() < NONCE_LEN {
            return Err(SecretError::Tampered { what: what() });
        }
        let (nonce, ciphertext) = body.split_at(NONCE_LEN);
        let aad = associated_data(id, purpose);
        key.cipher()
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: &aad })
            .map_err(|_| SecretError::Tampered { what: what() })
    }

    /// `sealed` opened with this ring and sealed again under `into`'s primary key (rotation).
    pub fn reseal(&self, into: &Keyring, purpose: &Purpose, sealed: &Sealed, random: &dyn Random) -> Result<Sealed, SecretError> {
        let plaintext = self.open(purpose, sealed)?;
        into.seal(purpose, &plaintext, random)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SeededRandom;

    fn ring(seed: u64) -> Keyring {
        Keyring::new(MasterKey::generate(&SeededRandom::new(seed)).unwrap())
    }

    #[test]
    fn sealed_values_open_with_their_key_and_purpose_only() {
        let random = SeededRandom::new(7);
        let ring = ring(1);
        let purpose = Purpose::tls_ca_key();
        let sealed = ring.seal(&purpose, b"-----BEGIN PRIVATE KEY-----", &random).unwrap();
        assert!(sealed.as_str().starts_with(&format!("fleet-sealed:v1:{}:", ring.primary().id())), "{sealed}");
        assert_eq!(ring.open(&purpose, &sealed).unwrap(), b"-----BEGIN PRIVATE KEY-----");
        // Two seals of the same text differ (fresh nonce).
        assert_ne!(ring.seal(&purpose, b"x", &random).unwrap(), ring.seal(&purpose, b"x", &random).unwrap());
        let other = Purpose::new("vrrp-auth", "edge/VI_1");
        assert!(matches!(ring.open(&other, &sealed), Err(SecretError::Tampered { .. })));
    }

    #[test]
    fn tampered_ciphertext_is_refused() {
        let random = SeededRandom::new(8);
        let ring = ring(2);
        let purpose = Purpose::tls_ca_key();
        let sealed = ring.seal(&purpose, b"secret bytes", &random).unwrap();
        let (head, body) = sealed.as_str().rsplit_once(':').unwrap();
        let mut bytes = BASE64.decode(body).unwrap();
        for index in [0, NONCE_LEN, bytes.len() - 1] {
            bytes[index] ^= 1;
            let altered = Sealed::parse(&format!("{head}:{}", BASE64.encode(&bytes))).unwrap();
            let error = ring.open(&purpose, &altered).unwrap_err();
            assert_eq!(error.to_string(), "tls-ca-key does not authenticate: altered, or sealed for another purpose");
            bytes[index] ^= 1;
        }
        let truncated = Sealed::parse(&format!("{head}:{}", BASE64.encode(&bytes[..10]))).unwrap();
        assert!(matches!(ring.open(&purpose, &truncated), Err(SecretError::Tampered { .. })));
        assert!(matches!(Sealed::parse("plain text"), Err(SecretError::Malformed(_))));
    }

    #[test]
    fn a_wrong_key_is_named_not_reported_as_corruption() {
        let random = SeededRandom::new(9);
        let (right, wrong) = (ring(3), ring(4));
        let sealed = right.seal(&Purpose::tls_ca_key(), b"k", &random).unwrap();
        let message = wrong.open(&Purpose::tls_ca_key(), &sealed).unwrap_err().to_string();
        assert_eq!(
            message,
            format!(
                "tls-ca-key was sealed with key {}, but the secret key file holds {}: wrong --secret-key-file?",
                right.primary().id(),
                wrong.primary().id()
            )
        );
    }

    #[test]
    fn reseal_moves_a_value_to_the_new_key_and_the_old_key_no_longer_opens_it() {
        let random = SeededRandom::new(10);
        let (old, new) = (ring(5), ring(6));
        let purpose = Purpose::new("acme-account", "prod");
        let sealed = old.seal(&purpose, b"credential", &random).unwrap();
        let during = Keyring::with_older(new.primary().clone(), old.keys().iter().cloned());
        assert_eq!(during.open(&purpose, &sealed).unwrap(), b"credential", "mid-rotation rings open old values");
        let resealed = during.reseal(&new, &purpose, &sealed, &random).unwrap();
        assert_eq!(resealed.key_id().unwrap(), *new.primary().id());
        assert_eq!(new.open(&purpose, &resealed).unwrap(), b"credential");
        assert!(matches!(old.open(&purpose, &resealed), Err(SecretError::WrongKey { .. })));
        assert_eq!(format!("{:?}", new.primary()), format!("MasterKey({})", new.primary().id()), "Debug hides the key");
    }
}
