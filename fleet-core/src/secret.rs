//! Secrets at rest: passwords are hashed with argon2id (slow, salted); session, API and agent
//! tokens and enrolment secrets are 256-bit random values, so a plain SHA-256 of them is enough
//! to store (a database leak does not reveal a usable token) and lets us look them up by hash.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};

use crate::clock::Random;
use crate::error::{Error, Result};

/// Hashes `password` with argon2id and a salt drawn from `random` (PHC string format).
pub fn hash_password(password: &str, random: &dyn Random) -> Result<String> {
    let mut salt = [0u8; 16];
    random.fill(&mut salt)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::Crypto(format!("salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| Error::Crypto(format!("password hashing failed: {e}")))
}

/// True when `password` matches the stored argon2 `hash`. A malformed hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// An argon2id hash of no one's password, made once with the same parameters as every stored
/// hash: a login for an unknown username is checked against it, so it costs the same argon2
/// work as a wrong password for a real user (no enumeration by timing).
pub fn dummy_password_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        SaltString::encode_b64(b"fleet-dummy-salt")
            .ok()
            .and_then(|salt| Argon2::default().hash_password(b"no one's password", &salt).map(|h| h.to_string()).ok())
            .unwrap_or_default()
    })
}

/// A new random token (`prefix` + 64 hex digits, 256 bits).
pub fn new_token(prefix: &str, random: &dyn Random) -> Result<String> {
    let mut bytes = [0u8; 32];
    random.fill(&mut bytes)?;
    Ok(format!("{prefix}{}", hex::encode(bytes)))
}

/// The hex SHA-256 of `data`: how tokens are stored, and every config version's checksum.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SeededRandom;

    #[test]
    fn password_hash_is_argon2id_and_verifies() {
        let random = SeededRandom::new(1);
        let hash = hash_password("s3cret", &random).unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("s3cret", &hash));
        assert!(!verify_password("wrong", &hash));
        assert!(!verify_password("s3cret", "not a hash"));
    }

    #[test]
    fn tokens_are_long_and_distinct() {
        let random = SeededRandom::new(2);
        let a = new_token("fs_", &random).unwrap();
        let b = new_token("fs_", &random).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 3 + 64);
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
