//! The second login factor: TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps, one step of
//! clock skew either way, as every authenticator app expects), the `otpauth://` URI and its QR
//! code as SVG for enrolment, and one-time recovery codes.
//!
//! A code is accepted at most once: [`verify`] returns the time step it matched, the store keeps
//! the last accepted step, and a code of that step or an earlier one is refused (RFC 6238 §5.2).

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use totp_rs::{Algorithm, TOTP};

use crate::clock::Random;
use crate::error::{Error, Result};

/// Seconds per TOTP time step.
pub const STEP_SECS: u64 = 30;
/// Digits per code.
pub const DIGITS: usize = 6;
/// How many recovery codes an enrolment gives.
pub const RECOVERY_CODES: usize = 10;

fn totp(secret_base32: &str) -> Result<TOTP> {
    let bytes = base32_decode(secret_base32).ok_or_else(|| Error::Corrupt("totp secret is not base32".into()))?;
    TOTP::new(Algorithm::SHA1, DIGITS, 1, STEP_SECS, bytes).map_err(|e| Error::Crypto(format!("totp: {e}")))
}

fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut bits: u64 = 0;
    let mut len = 0u32;
    let mut out = Vec::new();
    for c in text.chars().filter(|c| *c != '=') {
        let v = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as u64 - 'A' as u64,
            c @ '2'..='7' => c as u64 - '2' as u64 + 26,
            _ => return None,
        };
        bits = (bits << 5) | v;
        len += 5;
        if len >= 8 {
            len -= 8;
            out.push(((bits >> len) & 0xff) as u8);
        }
    }
    Some(out)
}

fn base32_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let mut bits: u64 = 0;
    let mut len = 0u32;
    for &b in bytes {
        bits = (bits << 8) | u64::from(b);
        len += 8;
        while len >= 5 {
            len -= 5;
            out.push(char::from(ALPHABET[((bits >> len) & 31) as usize]));
        }
    }
    if len > 0 {
        out.push(char::from(ALPHABET[((bits << (5 - len)) & 31) as usize]));
    }
    out
}

/// A new 160-bit secret (RFC 4226 §4 recommends 160), base32 without padding.
pub fn new_secret(random: &dyn Random) -> Result<String> {
    let mut bytes = [0u8; 20];
    random.fill(&mut bytes)?;
    Ok(base32_encode(&bytes))
}

fn step_of(now_ms: i64) -> i64 {
    now_ms.max(0) / 1000 / STEP_SECS as i64
}

/// The code of `secret_base32` at `now_ms` (what an authenticator app shows then).
pub fn code_at(secret_base32: &str, now_ms: i64) -> Result<String> {
    Ok(totp(secret_base32)?.generate(u64::try_from(now_ms.max(0) / 1000).unwrap_or(0)))
}

/// The time step `code` matches at `now_ms` (the current one or one either side), when it is
/// later than `last_step` (a code is used at most once). Compared in constant time.
pub fn verify(secret_base32: &str, code: &str, now_ms: i64, last_step: Option<i64>) -> Result<Option<i64>> {
    let totp = totp(secret_base32)?;
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let now = step_of(now_ms);
    let mut matched = None;
    for step in [now - 1, now, now + 1] {
        let at = u64::try_from(step.max(0)).unwrap_or(0) * STEP_SECS;
        if constant_time_eq(totp.generate(at).as_bytes(), code.as_bytes()) {
            matched = Some(step);
        }
    }
    Ok(matched.filter(|step| last_step.is_none_or(|last| *step > last)))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `otpauth://totp/ISSUER:ACCOUNT?...` URI authenticator apps read (Google Authenticator's
/// key URI format).
pub fn otpauth_uri(issuer: &str, account: &str, secret_base32: &str) -> String {
    let (issuer, account) = (percent_encode(issuer), percent_encode(account));
    format!(
        "otpauth://totp/{issuer}:{account}?secret={secret_base32}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}"
    )
}

/// `data` as a QR code in an SVG document (error correction M, quiet zone included).
pub fn qr_svg(data: &str) -> Result<String> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
        .map_err(|e| Error::invalid(format!("cannot make a qr code: {e}")))?;
    Ok(code.render::<svg::Color<'_>>().min_dimensions(200, 200).build())
}

/// New recovery codes: [`RECOVERY_CODES`] of `xxxxx-xxxxx` (base32, 50 bits each), shown once.
pub fn new_recovery_codes(random: &dyn Random) -> Result<Vec<String>> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 7];
            random.fill(&mut bytes)?;
            let text = base32_encode(&bytes).to_lowercase();
            Ok(format!("{}-{}", &text[..5], &text[5..10]))
        })
        .collect()
}

/// A recovery code as typed, in the form that is hashed: lowercase, without blanks or dashes.
pub fn normalize_recovery_code(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SeededRandom;

    /// RFC 6238 appendix B, SHA1 rows (8 digits there; the last 6 are what a 6-digit TOTP shows).
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = base32_encode(b"12345678901234567890");
        for (secs, eight) in [(59, "94287082"), (1_111_111_109, "07081804"), (1_234_567_890, "89005924"), (2_000_000_000, "69279037")] {
            assert_eq!(code_at(&secret, secs * 1000).unwrap(), eight[2..], "{secs}");
        }
    }

    #[test]
    fn codes_are_accepted_once_within_one_step_of_skew() {
        let secret = new_secret(&SeededRandom::new(3)).unwrap();
        assert_eq!(base32_decode(&secret).unwrap().len(), 20);
        let now = 1_700_000_000_000;
        let code = code_at(&secret, now).unwrap();
        let step = verify(&secret, &code, now, None).unwrap().unwrap();
        assert_eq!(verify(&secret, &code, now + 30_000, None).unwrap(), Some(step));
        assert_eq!(verify(&secret, &code, now + 90_000, None).unwrap(), None);
        assert_eq!(verify(&secret, &code, now, Some(step)).unwrap(), None, "replayed");
        assert_eq!(verify(&secret, "12345", now, None).unwrap(), None);
        assert_eq!(verify(&secret, "abcdef", now, None).unwrap(), None);
    }

    #[test]
    fn enrolment_material() {
        let uri = otpauth_uri("HAProxy Fleet", "ada@x", "JBSWY3DPEHPK3PXP");
        assert_eq!(uri, "otpauth://totp/HAProxy%20Fleet:ada%40x?secret=JBSWY3DPEHPK3PXP&issuer=HAProxy%20Fleet&algorithm=SHA1&digits=6&period=30");
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.starts_with("<?xml") && svg.contains("<svg"), "{}", &svg[..80]);
        let codes = new_recovery_codes(&SeededRandom::new(4)).unwrap();
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert!(codes.iter().all(|c| c.len() == 11 && c.as_bytes()[5] == b'-'));
        assert_eq!(normalize_recovery_code(" ABCDE-fghij "), "abcdefghij");
    }
}
