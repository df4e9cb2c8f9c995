//! Usernames: what may be one, the form stored, and the *skeleton* two names are compared by.
//!
//! ```text
//! input --NFKC--> stored name (checked: 1..=64 characters, safe set)
//!       --skeleton: NFKC, lowercase, fold look-alikes--> key (unique in the database, used at login)
//! ```
//!
//! Stored form: the input after Unicode NFKC (UAX #15), so `ｆｕｌｌ` (fullwidth) and `ﬁ`
//! (ligature) become `full` and `fi` before anything else looks at them.
//!
//! Safe set: letters and digits of any script (`char::is_alphanumeric`), plus `.`, `-`, `_` and
//! `@` (not first), at most [`MAX_USERNAME_CHARS`] characters. No blanks, no control or format
//! characters (zero-width joiners, bidi overrides), no `:` or `/`, so a name reads the same in a
//! log line, a URL and an audit entry.
//!
//! Skeleton (what uniqueness and login compare): NFKC, then full Unicode lowercase, then each
//! character folded by [`fold`]: dotless `ı` and dotted `İ` to `i`, and the Cyrillic and Greek
//! letters that look like Latin ones to those Latin letters (a subset of Unicode's UTS #39
//! confusables, the letters that render identically in common fonts). So `ADMIN`, `admın`,
//! `аdmin` (Cyrillic а) and `ＡＤＭＩＮ` all have the skeleton `admin` and cannot sit beside
//! `admin`; each logs in as the one account that holds that skeleton.

use unicode_normalization::UnicodeNormalization;

use crate::error::{Error, Result};

/// The longest username, in characters after NFKC.
pub const MAX_USERNAME_CHARS: usize = 64;

/// The name to store for `input` (its NFKC form), or [`Error::Invalid`] saying what is wrong.
pub fn normalize(input: &str) -> Result<String> {
    let name: String = input.nfkc().collect();
    let shown = escape_for_log(input);
    if name.is_empty() {
        return Err(Error::invalid("a username cannot be empty"));
    }
    if name.chars().count() > MAX_USERNAME_CHARS {
        return Err(Error::invalid(format!("username {shown} is longer than {MAX_USERNAME_CHARS} characters")));
    }
    if let Some(bad) = name.chars().find(|&c| !allowed(c)) {
        return Err(Error::invalid(format!(
            "username {shown} contains {}: use letters, digits, '.', '-', '_' or '@'",
            bad.escape_unicode()
        )));
    }
    if name.starts_with(['.', '-', '@']) {
        return Err(Error::invalid(format!("username {shown} must start with a letter, a digit or '_'")));
    }
    Ok(name)
}

fn allowed(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '@')
}

/// The skeleton of `name`: equal skeletons mean "the same user" (see the module doc). Total:
/// any text has one, so login can look up names that would not pass [`normalize`].
pub fn skeleton(name: &str) -> String {
    // U+0307 (combining dot above) is left alone only after `i` (`İ` lowercases to `i` + U+0307,
    // which has no precomposed form): NFKC composes it everywhere else. It is dropped.
    name.nfkc().flat_map(char::to_lowercase).filter(|&c| c != '\u{0307}').map(fold).nfkc().collect()
}

/// One lowercase character to the Latin letter it is confused with, or itself.
fn fold(c: char) -> char {
    match c {
        // Turkish dotless i, and the i-like letters of other scripts.
        'ı' | 'ɩ' | 'ι' | 'і' | 'ӏ' => 'i',
        // Cyrillic.
        'а' => 'a',
        'в' => 'b',
        'с' => 'c',
        'ԁ' => 'd',
        'е' | 'ё' => 'e',
        'һ' => 'h',
        'ј' => 'j',
        'к' => 'k',
        'м' => 'm',
        'п' => 'n',
        'о' => 'o',
        'р' => 'p',
        'ԛ' => 'q',
        'ѕ' => 's',
        'т' => 't',
        'у' => 'y',
        'х' => 'x',
        'ԝ' => 'w',
        // Greek.
        'α' => 'a',
        'β' => 'b',
        'ε' => 'e',
        'η' => 'n',
        'κ' => 'k',
        'ν' => 'v',
        'ο' => 'o',
        'ρ' => 'p',
        'τ' => 't',
        'υ' => 'u',
        'χ' => 'x',
        'ζ' => 'z',
        other => other,
    }
}

/// `name` as the audit log may hold it when it came from an unauthenticated request: control,
/// format and non-ASCII characters escaped (`\u{202e}`), so a failed login cannot forge log
/// lines or hide text; at most [`MAX_USERNAME_CHARS`] ASCII characters, then `…` when cut.
pub fn escape_for_log(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let piece: String = if c.is_ascii_graphic() || c == ' ' { c.to_string() } else { c.escape_unicode().collect() };
        if out.len() + piece.len() > MAX_USERNAME_CHARS {
            out.push('…');
            break;
        }
        out.push_str(&piece);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_nfkc_and_in_the_safe_set() {
        assert_eq!(normalize("ｆｕｌｌ").unwrap(), "full");
        assert_eq!(normalize("ﬁona").unwrap(), "fiona");
        assert_eq!(normalize("jürgen.m@example").unwrap(), "jürgen.m@example");
        assert_eq!(normalize("x".repeat(64).as_str()).unwrap().len(), 64);
        for bad in ["", " ", "a b", "a:b", "a/b", "\u{202e}nimda", "a\u{200d}b", "-x", ".x", "@x", "tab\t"] {
            assert!(normalize(bad).is_err(), "{bad:?}");
        }
        let long = normalize(&"é".repeat(65)).unwrap_err().to_string();
        assert!(long.contains("longer than 64"), "{long}");
    }

    #[test]
    fn skeletons_fold_case_width_and_look_alikes() {
        for same in ["admin", "ADMIN", "Admin", "admın", "ADMİN", "аdmin", "ａｄｍｉｎ", "αdmin", "аdміn"] {
            assert_eq!(skeleton(same), "admin", "{same:?}");
        }
        assert_ne!(skeleton("admin2"), skeleton("admin"));
        assert_ne!(skeleton("jürgen"), skeleton("jurgen"));
    }

    #[test]
    fn log_form_is_bounded_and_escaped() {
        assert_eq!(escape_for_log("bob"), "bob");
        assert_eq!(escape_for_log("a\nb"), "a\\u{a}b");
        assert_eq!(escape_for_log("\u{202e}x"), "\\u{202e}x");
        let long = escape_for_log(&"z".repeat(10_000));
        assert_eq!(long.chars().count(), 65);
    }
}
