//! HAProxy time values (configuration.txt §2.5): a number with an optional unit among `us`,
//! `ms`, `s`, `m`, `h`, `d`; milliseconds when no unit is given.
//!
//! A [`TimeValue`] keeps the text as written (`5s`, `5000`, `"${T-5s}"` decoded) beside the
//! parsed [`std::time::Duration`], so that reading a timeout never changes how it is written.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The longest time HAProxy accepts for most settings: `INT_MAX` milliseconds (~24.8 days).
pub const MAX_MILLIS: u64 = i32::MAX as u64;

/// Why a time value was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DurationError {
    /// Nothing at all.
    #[error("empty time value")]
    Empty,
    /// The value holds an environment reference: only HAProxy knows it once expanded.
    #[error("time value '{0}' depends on an environment variable")]
    Environment(String),
    /// The text does not start with a digit.
    #[error("time value '{0}' must start with a digit")]
    NotANumber(String),
    /// A unit that is not one of us, ms, s, m, h, d.
    #[error("unknown time unit '{unit}' in '{text}' (expected us, ms, s, m, h or d)")]
    BadUnit {
        /// The whole value.
        text: String,
        /// What followed the digits.
        unit: String,
    },
    /// More than HAProxy can hold.
    #[error("time value '{0}' is too large (maximum is 2147483647 ms, about 24.8 days)")]
    Overflow(String),
}

/// A time value as written, with its meaning.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TimeValue {
    /// The value as HAProxy reads it (`5s`, `5000`).
    pub raw: String,
    /// What it means.
    #[serde(with = "duration_millis")]
    pub duration: Duration,
}

impl TimeValue {
    /// Parses a time value whose unit defaults to milliseconds.
    pub fn parse(text: &str) -> Result<TimeValue, DurationError> {
        parse_duration(text).map(|duration| TimeValue { raw: text.to_string(), duration })
    }

    /// The shortest exact writing of `duration`, in the largest unit that divides it.
    pub fn from_duration(duration: Duration) -> TimeValue {
        TimeValue { raw: format_duration(duration), duration }
    }

    /// `millis` milliseconds, written in the largest unit that divides it.
    pub fn from_millis(millis: u64) -> TimeValue {
        TimeValue::from_duration(Duration::from_millis(millis))
    }

    /// The duration in whole milliseconds (microseconds are rounded down).
    pub fn as_millis(&self) -> u64 {
        u64::try_from(self.duration.as_millis()).unwrap_or(u64::MAX)
    }
}

impl fmt::Display for TimeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// Parses `<digits>[us|ms|s|m|h|d]` the way HAProxy's `parse_time_err()` does (default unit ms).
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    if text.contains('$') {
        return Err(DurationError::Environment(text.to_string()));
    }
    let digits_end = text.bytes().position(|b| !b.is_ascii_digit()).unwrap_or(text.len());
    if digits_end == 0 {
        return Err(DurationError::NotANumber(text.to_string()));
    }
    let overflow = || DurationError::Overflow(text.to_string());
    let number: u64 = text[..digits_end].parse().map_err(|_| overflow())?;
    let unit = &text[digits_end..];
    let micros_per_unit: u64 = match unit {
        "us" => 1,
        "" | "ms" => 1_000,
        "s" => 1_000_000,
        "m" => 60_000_000,
        "h" => 3_600_000_000,
        "d" => 86_400_000_000,
        _ => return Err(DurationError::BadUnit { text: text.to_string(), unit: unit.to_string() }),
    };
    let micros = number.checked_mul(micros_per_unit).ok_or_else(overflow)?;
    if micros / 1_000 > MAX_MILLIS {
        return Err(overflow());
    }
    Ok(Duration::from_micros(micros))
}

/// Writes `duration` in the largest unit that holds it exactly (`90s` -> `90s`, `120s` -> `2m`).
pub fn format_duration(duration: Duration) -> String {
    let micros = duration.as_micros();
    if micros == 0 {
        return "0".to_string();
    }
    if !micros.is_multiple_of(1_000) {
        return format!("{micros}us");
    }
    let millis = micros / 1_000;
    for (unit, size) in [("d", 86_400_000u128), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)] {
        if millis.is_multiple_of(size) {
            return format!("{}{unit}", millis / size);
        }
    }
    format!("{millis}ms")
}

/// Serde form of a duration: whole microseconds would be exact but milliseconds are what
/// operators read; we emit milliseconds as a float so `500us` survives as `0.5`.
mod duration_millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        let micros = value.as_micros();
        if micros.is_multiple_of(1_000) {
            serializer.serialize_u64(u64::try_from(micros / 1_000).unwrap_or(u64::MAX))
        } else {
            serializer.serialize_f64(micros as f64 / 1_000.0)
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let millis = f64::deserialize(deserializer)?;
        if !(0.0..=1e15).contains(&millis) {
            return Err(serde::de::Error::custom("duration out of range"));
        }
        Ok(Duration::from_micros((millis * 1_000.0).round() as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit_of_section_2_5() {
        assert_eq!(parse_duration("5000").unwrap(), Duration::from_millis(5000));
        assert_eq!(parse_duration("5000ms").unwrap(), Duration::from_millis(5000));
        assert_eq!(parse_duration("250us").unwrap(), Duration::from_micros(250));
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("1d").unwrap(), Duration::from_secs(86400));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
    }

    #[test]
    fn rejects_what_haproxy_rejects() {
        assert_eq!(parse_duration(""), Err(DurationError::Empty));
        assert!(matches!(parse_duration("s"), Err(DurationError::NotANumber(_))));
        assert!(matches!(parse_duration("${T-5s}"), Err(DurationError::Environment(_))));
        assert!(matches!(parse_duration("5 s"), Err(DurationError::BadUnit { .. })));
        assert!(matches!(parse_duration("5sec"), Err(DurationError::BadUnit { .. })));
        assert!(matches!(parse_duration("1.5s"), Err(DurationError::BadUnit { .. })));
        assert!(matches!(parse_duration("25d"), Err(DurationError::Overflow(_))));
        assert!(matches!(parse_duration("99999999999999999999999"), Err(DurationError::Overflow(_))));
        assert!(parse_duration("24d").is_ok());
        assert_eq!(
            parse_duration("5x").unwrap_err().to_string(),
            "unknown time unit 'x' in '5x' (expected us, ms, s, m, h or d)"
        );
    }

    #[test]
    fn formats_in_the_largest_exact_unit() {
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format_duration(Duration::from_secs(120)), "2m");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
        assert_eq!(format_duration(Duration::from_micros(1500)), "1500us");
        assert_eq!(format_duration(Duration::ZERO), "0");
        for ms in [0u64, 1, 999, 1000, 60_000, 3_600_000, 86_400_000, 123_456] {
            let value = TimeValue::from_millis(ms);
            assert_eq!(TimeValue::parse(&value.raw).unwrap(), value);
        }
    }

    #[test]
    fn keeps_the_raw_text() {
        let v = TimeValue::parse("5000").unwrap();
        assert_eq!(v.raw, "5000");
        assert_eq!(v.as_millis(), 5000);
        assert_eq!(v.to_string(), "5000");
        let json = serde_json::to_string(&TimeValue::parse("500us").unwrap()).unwrap();
        assert_eq!(json, r#"{"raw":"500us","duration":0.5}"#);
        assert_eq!(serde_json::from_str::<TimeValue>(&json).unwrap().duration, Duration::from_micros(500));
    }

    proptest::proptest! {
        #[test]
        fn written_durations_parse_back(micros in 0u64..=MAX_MILLIS * 1_000) {
            let value = TimeValue::from_duration(Duration::from_micros(micros));
            proptest::prop_assert_eq!(TimeValue::parse(&value.raw), Ok(value));
        }

        #[test]
        fn parse_never_panics(text in "\\PC{0,12}") {
            let _ = parse_duration(&text);
        }
    }
}
