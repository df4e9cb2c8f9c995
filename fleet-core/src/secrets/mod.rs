//! Secrets the server must read back (the self-signed CA's private key today; certificate private
//! keys, DNS/ACME credentials and VRRP passwords later), sealed at rest with the server's master
//! key. One-way hashes of passwords and tokens are [`crate::secret`]'s job, not this room's.
//!
//! ```text
//! --secret-key-file F --KeyFile::load_or_create--> Keyring [primary key, older keys...]
//! Keyring::seal(Purpose, plaintext, Random) -> Sealed "fleet-sealed:v1:<key id>:<base64 nonce|ciphertext>"
//! Keyring::open(Purpose, &Sealed)           -> plaintext, or SecretError (wrong key, tampered, other purpose)
//! rotate: file [new, old] -> every stored value resealed under new (one transaction) -> file [new]
//! ```
//!
//! Why XChaCha20-Poly1305: an AEAD (RFC 8439 with the 192-bit nonce extension), so a flipped bit
//! is refused rather than decrypted into garbage; its nonces are long enough to draw at random for
//! every seal without counting; RustCrypto's implementation is audited, pure Rust and constant
//! time without AES instructions. The [`Purpose`] and the key id are the associated data: a value
//! sealed as one thing cannot be opened, or swapped in, as another.
//!
//! Why a key id in every sealed value: a wrong key file is named as such at start ("sealed with
//! key 1a2b..., the file holds 3c4d...") instead of failing as "corrupt", and a rotation that
//! stops half-way stays readable, because the key file holds the new key and the old one until
//! every value is resealed.

mod file;
mod keyring;

pub use file::{KeyFile, KEY_FILE_NAME};
pub use keyring::{KeyId, Keyring, MasterKey, Purpose, Sealed, KEY_LEN};

/// Why a secret could not be sealed, opened, or the key file used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The key file cannot be read, created or replaced.
    #[error("secret key file {path}: {reason}")]
    File {
        /// The key file.
        path: String,
        /// The operating system's reason, or what is wrong in it.
        reason: String,
    },
    /// The key file is missing while sealed secrets exist: creating a new key would lose them.
    #[error("secret key file {path} is missing but the database holds {count} secret(s) sealed with key {key_id}: restore the key file (a new key cannot open them)")]
    Missing {
        /// The expected key file.
        path: String,
        /// How many stored values need it.
        count: usize,
        /// The key id they were sealed with.
        key_id: String,
    },
    /// The value was sealed with a key the key ring does not hold.
    #[error("{what} was sealed with key {sealed_with}, but the secret key file holds {held}: wrong --secret-key-file?")]
    WrongKey {
        /// What was being opened (its purpose).
        what: String,
        /// The key id in the sealed value.
        sealed_with: String,
        /// The key ids the ring holds, comma-separated.
        held: String,
    },
    /// Authentication failed: the ciphertext, the key id or the purpose was altered.
    #[error("{what} does not authenticate: altered, or sealed for another purpose")]
    Tampered {
        /// What was being opened.
        what: String,
    },
    /// The sealed text is not in the `fleet-sealed:v1:<key id>:<base64>` form.
    #[error("not a sealed value: {0}")]
    Malformed(String),
    /// The random source failed.
    #[error("random source failed: {0}")]
    Random(String),
}

impl From<SecretError> for crate::Error {
    /// Store operations on sealed values report a secret's failure as a crypto error, with its
    /// words (wrong key, altered value).
    fn from(error: SecretError) -> Self {
        crate::Error::Crypto(error.to_string())
    }
}
