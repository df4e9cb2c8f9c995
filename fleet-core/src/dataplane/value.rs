//! How one HAProxy word reads as a Data Plane API field value and back: integers, times in
//! milliseconds (HAProxy's default unit for timeouts and check intervals) and plain words.
//!
//! A word that does not read as its field's type (an environment reference such as
//! `${WEIGHT}`, a typo HAProxy would refuse) is [`Read::Opaque`]: it is left out of what a read
//! shows and left as written by an edit that does not set that field.

use serde_json::Value;

use crate::error::{Error, Result};

/// The JSON type of a field written as one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Conv {
    /// An integer (`weight 10`).
    Int,
    /// A time, shown and taken in milliseconds (`inter 2s` reads as 2000).
    Millis,
    /// The word as it is (`verify none`).
    Text,
}

/// What a field is in the document as it stands.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Read {
    /// Not written.
    Absent,
    /// Written, and this is its value.
    Value(Value),
    /// Written in a form the API cannot show (kept as written).
    Opaque,
}

impl Read {
    /// Whether an edit to `desired` must touch the document: never when the value is the same,
    /// nor when an unreadable word meets a field the body leaves out.
    pub(crate) fn differs(&self, desired: Option<&Value>) -> bool {
        match (self, desired) {
            (Read::Absent, None) | (Read::Opaque, None) => false,
            (Read::Value(current), Some(desired)) => !same(current, desired),
            _ => true,
        }
    }

    /// The value to show, if any.
    pub(crate) fn shown(self) -> Option<Value> {
        match self {
            Read::Value(v) => Some(v),
            _ => None,
        }
    }
}

/// Equal as the API means it (`5` and `5.0` are the same integer).
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Reads `word` as `conv`.
pub(crate) fn read(conv: Conv, word: &str) -> Read {
    match conv {
        Conv::Int => word.parse::<i64>().map_or(Read::Opaque, |n| Read::Value(Value::from(n))),
        Conv::Millis => match haproxy_model::parse_duration(word) {
            Ok(d) => Read::Value(Value::from(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))),
            Err(_) => Read::Opaque,
        },
        Conv::Text => Read::Value(Value::from(word)),
    }
}

/// The word `value` is written as for field `field`; [`Error::Invalid`] when it is not of the
/// field's type.
pub(crate) fn word(conv: Conv, field: &str, value: &Value) -> Result<String> {
    let wrong = |what: &str| Error::invalid(format!("{field}: expected {what}, got {value}"));
    match conv {
        Conv::Int | Conv::Millis => match value.as_i64() {
            Some(n) => Ok(n.to_string()),
            None => match value.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok((f as i64).to_string()),
                _ => Err(wrong("an integer")),
            },
        },
        Conv::Text => match value.as_str() {
            Some(text) if !text.is_empty() => Ok(text.to_string()),
            _ => Err(wrong("a non-empty string")),
        },
    }
}

/// `"enabled"` or `"disabled"`, as the API writes toggles.
pub(crate) fn toggle(on: bool) -> Value {
    Value::from(if on { "enabled" } else { "disabled" })
}

/// Reads a toggle's value: `Some(true)` for `"enabled"` (and `true`), `Some(false)` for
/// `"disabled"` (and `false`); [`Error::Invalid`] otherwise.
pub(crate) fn toggle_of(field: &str, value: &Value) -> Result<bool> {
    match value {
        Value::String(s) if s == "enabled" => Ok(true),
        Value::String(s) if s == "disabled" => Ok(false),
        Value::Bool(b) => Ok(*b),
        other => Err(Error::invalid(format!("{field}: expected \"enabled\" or \"disabled\", got {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_values() {
        assert_eq!(read(Conv::Millis, "2s"), Read::Value(Value::from(2000)));
        assert_eq!(read(Conv::Millis, "150"), Read::Value(Value::from(150)));
        assert_eq!(read(Conv::Int, "${W}"), Read::Opaque);
        assert!(!read(Conv::Millis, "2s").differs(Some(&Value::from(2000))), "2s is 2000 ms: nothing to rewrite");
        assert!(!Read::Opaque.differs(None), "an unreadable word survives a body that leaves it out");
        assert!(Read::Absent.differs(Some(&Value::from(1))));
        assert_eq!(word(Conv::Int, "weight", &Value::from(3.0)).unwrap(), "3");
        assert!(word(Conv::Int, "weight", &Value::from("x")).is_err());
        assert!(word(Conv::Text, "sni", &Value::from("")).is_err());
    }
}
