//! [`EditError`]: why a typed editor refused an edit, and the rules it checks.
//!
//! These rules are what a valid new proxy, server, bind, ACL or rule is. They live here, beside
//! the editors, so that every frontend (the fleet-core edit ops behind the HTTP API, the Python
//! bindings, the fuzzer) accepts and refuses exactly the same edits. Each one is a rule HAProxy
//! 2.6 itself enforces, or one without which the edit would change a line it does not own:
//! - names of proxies, servers and ACLs: `invalid_char()` in HAProxy's `tools.c`, quoted in
//!   configuration.txt §4 ("All proxy names must be formed from upper and lower case letters,
//!   digits, '-' (dash), '_' (underscore), '.' (dot) and ':' (colon)") and §7 (ACL names, same set);
//!   `haproxy -c` says "character '/' is not permitted in server name 'a/b'";
//! - a value that holds a line break or NUL would end the statement (§2.1: one statement a line);
//! - server and bind addresses: [`Address::parse_server`] and [`Address::parse_bind_list`];
//! - `weight` is 0 to 256 (§5.2 `weight`).

use crate::address::{Address, AddressError};

/// The highest `weight` HAProxy accepts (configuration.txt §5.2 `weight`).
pub const MAX_WEIGHT: u32 = 256;

/// Why a typed edit was refused. Nothing was changed when an editor returns one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    /// A name HAProxy would refuse (empty, or a character outside `[A-Za-z0-9._:-]`).
    #[error("invalid {what} name {name:?}{}", .bad.map(|c| format!(": character {c:?} is not permitted")).unwrap_or_default())]
    InvalidName {
        /// `server`, `acl`, `backend` ...
        what: &'static str,
        /// The name as given.
        name: String,
        /// The first character HAProxy refuses; none for an empty name.
        bad: Option<char>,
    },
    /// A value holding a line break or NUL: it would end the statement.
    #[error("value {0:?} contains a line break or NUL")]
    InvalidValue(String),
    /// An address HAProxy would not read.
    #[error("{what} address {address:?}: {source}")]
    InvalidAddress {
        /// `server` or `bind`.
        what: &'static str,
        /// The address as given.
        address: String,
        /// What is wrong with it.
        source: AddressError,
    },
    /// Something with this name or address is already there.
    #[error("{what} {name:?} already exists{}", in_proxy(.proxy))]
    Duplicate {
        /// `server`, `bind`, `backend` ...
        what: &'static str,
        /// Its name (an address for a bind).
        name: String,
        /// The proxy it is in (`backend "app"`), when it is in one.
        proxy: Option<String>,
    },
    /// Nothing with this name.
    #[error("{what} {name:?} not found{}", in_proxy(.proxy))]
    NotFound {
        /// `server`, `acl`, `backend`, `frontend`, `proxy` ...
        what: &'static str,
        /// The name looked for.
        name: String,
        /// The proxy looked in (`backend "app"`), when it is in one.
        proxy: Option<String>,
    },
    /// A `weight` parameter HAProxy reads outside 0 to [`MAX_WEIGHT`] (as written).
    #[error("weight {0} is not within 0 and {MAX_WEIGHT}")]
    WeightNotWithinRange(String),
    /// `weight` above [`MAX_WEIGHT`].
    #[error("weight {0} is above {MAX_WEIGHT}")]
    WeightOutOfRange(u32),
    /// A keyword that is not one of [`RULE_KEYWORDS`](super::RULE_KEYWORDS).
    #[error("{0:?} is not a rule keyword (one of {keywords})", keywords = super::RULE_KEYWORDS.join(", "))]
    NotARuleKeyword(String),
    /// A rule position past the end of its keyword's rules.
    #[error("position {position} is out of range: {} has {count} {keyword:?} rules", .proxy.as_deref().unwrap_or("the proxy"))]
    PositionOutOfRange {
        /// The proxy (`frontend "web"`).
        proxy: Option<String>,
        /// The rule keyword.
        keyword: String,
        /// The position asked for (0-based).
        position: usize,
        /// How many rules of that keyword there are.
        count: usize,
    },
    /// A required word is missing or empty (an ACL's criterion, a rule's keyword).
    #[error("{0} is missing")]
    Missing(&'static str),
}

fn in_proxy(proxy: &Option<String>) -> String {
    proxy.as_ref().map(|p| format!(" in {p}")).unwrap_or_default()
}

/// The first character of `name` that HAProxy's `invalid_char()` refuses in the name of a
/// proxy, server or ACL (configuration.txt §4, §7), if any.
pub fn invalid_char(name: &str) -> Option<char> {
    name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':')))
}

/// Checks a proxy, server or ACL name: non-empty and made of HAProxy's name characters.
pub fn check_name(what: &'static str, name: &str) -> Result<(), EditError> {
    let bad = invalid_char(name);
    if name.is_empty() || bad.is_some() {
        return Err(EditError::InvalidName { what, name: name.to_string(), bad });
    }
    Ok(())
}

/// Checks values that become words: no line break, no NUL (one statement per line).
pub fn check_values<S: AsRef<str>>(values: &[S]) -> Result<(), EditError> {
    match values.iter().map(AsRef::as_ref).find(|v| v.contains(['\n', '\r', '\0'])) {
        Some(value) => Err(EditError::InvalidValue(value.to_string())),
        None => Ok(()),
    }
}

/// Checks a `server` address ([`Address::parse_server`]).
pub fn check_server_address(address: &str) -> Result<(), EditError> {
    check_values(&[address])?;
    Address::parse_server(address)
        .map(drop)
        .map_err(|source| EditError::InvalidAddress { what: "server", address: address.to_string(), source })
}

/// Checks a `bind` address list ([`Address::parse_bind_list`]).
pub fn check_bind_address(address: &str) -> Result<(), EditError> {
    check_values(&[address])?;
    Address::parse_bind_list(address)
        .map(drop)
        .map_err(|source| EditError::InvalidAddress { what: "bind", address: address.to_string(), source })
}

/// Checks a `weight` (0 to [`MAX_WEIGHT`]).
pub fn check_weight(weight: u32) -> Result<(), EditError> {
    if weight > MAX_WEIGHT {
        return Err(EditError::WeightOutOfRange(weight));
    }
    Ok(())
}

/// The number HAProxy reads from a `weight` value: like C's `atol`, an optional sign and the
/// leading digits (`12x` is 12, `abc` is 0). `None` for a value written with `$` (expanded on
/// the node). Digits beyond what fits count as out of range.
pub fn atol_weight(value: &str) -> Option<i128> {
    if value.contains('$') {
        return None;
    }
    let trimmed = value.trim_start();
    let (negative, rest) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let digits = digits.trim_start_matches('0');
    let magnitude: i128 = if digits.len() > 30 { i128::MAX } else { digits.parse().unwrap_or(0) };
    Some(if negative { -magnitude } else { magnitude })
}

/// Checks the `weight` among server parameters (keywords and values as written): HAProxy 2.6
/// refuses a weight outside 0..=256 ("weight of server s is not within 0 and 256").
pub fn check_server_params<S: AsRef<str>>(params: &[S]) -> Result<(), EditError> {
    check_values(params)?;
    for pair in params.windows(2) {
        if pair[0].as_ref() == "weight" {
            if let Some(weight) = atol_weight(pair[1].as_ref()) {
                if !(0..=i128::from(MAX_WEIGHT)).contains(&weight) {
                    return Err(EditError::WeightNotWithinRange(pair[1].as_ref().to_string()));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_haproxys_invalid_char() {
        assert!(check_name("server", "a.b-c_d:1").is_ok());
        let err = check_name("server", "a/b").unwrap_err();
        assert_eq!(err.to_string(), "invalid server name \"a/b\": character '/' is not permitted");
        assert_eq!(check_name("acl", "").unwrap_err().to_string(), "invalid acl name \"\"");
        assert_eq!(invalid_char("é"), Some('é'));
    }

    #[test]
    fn values_with_line_breaks_are_refused() {
        assert!(check_values(&["ok", "also ok"]).is_ok());
        assert_eq!(check_values(&["a\nb"]), Err(EditError::InvalidValue("a\nb".into())));
    }

    #[test]
    fn weight_range_is_the_manuals() {
        assert!(check_weight(256).is_ok());
        assert_eq!(check_weight(257).unwrap_err().to_string(), "weight 257 is above 256");
    }

    #[test]
    fn weights_in_params_are_read_as_haproxy_reads_them() {
        assert_eq!(atol_weight("12x"), Some(12));
        assert_eq!(atol_weight("abc"), Some(0));
        assert_eq!(atol_weight("-1"), Some(-1));
        assert_eq!(atol_weight("${W}"), None);
        assert!(check_server_params(&["check", "weight", "256"]).is_ok());
        assert!(check_server_params(&["weight", "abc"]).is_ok());
        assert!(check_server_params(&["weight", "999"]).is_err());
        assert!(check_server_params(&["weight", "-1"]).is_err());
    }
}
