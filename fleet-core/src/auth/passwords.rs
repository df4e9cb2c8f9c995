//! What a password must be before it is hashed (NIST SP 800-63B §5.1.1.2: a minimum length, no
//! composition rules, refused when on a list of commonly used passwords).
//!
//! A password is refused when it
//! - has fewer than [`MIN_PASSWORD_CHARS`] characters, or more than [`MAX_PASSWORD_BYTES`] bytes
//!   (argon2 hashes anything, but a megabyte password is a denial of service, not a secret);
//! - is all blanks, or has fewer than 5 different characters (`aaaaaaaaaaaa`, `121212121212`);
//! - is, ignoring case, on the shipped list of the 10,000 most common passwords
//!   (`common-passwords.txt`: the first 10,000 of zxcvbn 4.5.0's `passwords` frequency list, MIT,
//!   most frequent first), or is one of those with only digits, blanks or punctuation around it
//!   (`Dragon123456!`, `password-2024`);
//! - equals the username, ignoring case.

use std::collections::HashSet;
use std::sync::OnceLock;

use crate::error::{Error, Result};

/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// The longest password accepted, in bytes.
pub const MAX_PASSWORD_BYTES: usize = 1024;

const COMMON: &str = include_str!("common-passwords.txt");

fn common() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| COMMON.lines().map(str::trim).filter(|l| !l.is_empty()).collect())
}

/// True when `password` (any case) is on the shipped list of common passwords.
pub fn is_common(password: &str) -> bool {
    common().contains(password.to_lowercase().as_str())
}

/// Checks `password` for `username` ([`Error::Invalid`] saying why it is refused; the message
/// never repeats the password).
pub fn check(password: &str, username: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::invalid(format!("password must have at least {MIN_PASSWORD_CHARS} characters")));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::invalid(format!("password must have at most {MAX_PASSWORD_BYTES} bytes")));
    }
    if password.chars().all(char::is_whitespace) {
        return Err(Error::invalid("password cannot be all blanks"));
    }
    let distinct: HashSet<char> = password.chars().collect();
    if distinct.len() < 5 {
        return Err(Error::invalid("password must have at least 5 different characters"));
    }
    let padding = |c: char| c.is_ascii_digit() || c.is_whitespace() || c.is_ascii_punctuation();
    let core = password.trim_matches(padding);
    if is_common(password) || (core.chars().count() >= 4 && is_common(core)) {
        return Err(Error::invalid("password is too common: it is on the list of the most used passwords"));
    }
    if password.to_lowercase() == username.to_lowercase() {
        return Err(Error::invalid("password cannot be the username"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_shipped_whole() {
        assert_eq!(common().len(), 10_000);
        assert!(is_common("password") && is_common("PASSWORD") && is_common("qwertyuiop"));
        assert!(!is_common("glacier-tuba-quarry"));
    }

    #[test]
    fn weak_passwords_are_refused_with_the_reason() {
        let cases = [
            ("short-pass", "at least 12"),
            ("            ", "all blanks"),
            ("aaaaaaaaaaaa", "5 different"),
            ("121212121212", "5 different"),
            ("1qaz2wsx3edc", "too common"),
            ("Password1234", "too common"),
            ("dragon123456!", "too common"),
            ("  baseball  !!", "too common"),
            ("alice.liddell", "the username"),
        ];
        for (password, why) in cases {
            let message = check(password, "Alice.Liddell").unwrap_err().to_string();
            assert!(message.contains(why), "{password:?}: {message}");
            let shown = password.trim();
            assert!(shown.is_empty() || !message.contains(shown), "the message repeats the password: {message}");
        }
        assert!(check(&"x".repeat(2000), "u").is_err());
    }

    #[test]
    fn good_passwords_pass() {
        for password in ["correct horse battery", "glacier-tuba-quarry", "admin-password", "Tr0ub4dor&3xyz"] {
            check(password, "admin").unwrap();
        }
    }
}
