//! When a schedule runs: a cron expression read in an IANA time zone.
//!
//! ```text
//! "30 2 * * *" + "Europe/Paris" -> Timetable -> next_after(t) -> the first run strictly after t (Unix ms)
//! ```
//!
//! Five fields (minute hour day-of-month month day-of-week), Vixie semantics as croner reads
//! them: a day matches when day-of-month OR day-of-week matches (both restricted), `L`, `#`,
//! `W`, names (`MON`, `JAN`) and nicknames (`@daily`, `@hourly`). Runs fall on whole minutes of
//! the zone's wall clock, and daylight saving time is the zone's:
//! - spring forward: a wall time that does not exist that day (02:30 in Paris on the last
//!   Sunday of March) runs at the first instant after the gap (03:00 CEST), once;
//! - fall back: a wall time that happens twice (02:30 in Paris on the last Sunday of October)
//!   runs once, at its first occurrence (CEST); so `*/15 * * * *` does not run again during the
//!   repeated hour (a wall-clock schedule, as cron on a node in that zone behaves).
//!
//! Times never go back: [`Timetable::next_after`] is strictly later than its argument, also
//! from inside a repeated hour (croner answers from wall time; the loop walks on until the
//! instant is later).

use chrono::TimeZone;
use chrono_tz::Tz;
use croner::Cron;

/// At most this many runs in a preview.
pub const MAX_PREVIEW: usize = 100;

/// A cron expression in a time zone.
#[derive(Debug, Clone)]
pub struct Timetable {
    cron: Cron,
    zone: Tz,
}

impl Timetable {
    /// Reads `cron` (five fields) in `timezone` (an IANA name such as `Europe/Paris`, or
    /// `UTC`). The error names the field: `cron: ...` or `timezone: ...`; an expression that
    /// never matches (`0 0 30 2 *`) is refused too.
    pub fn new(cron: &str, timezone: &str) -> Result<Timetable, String> {
        let zone: Tz = timezone
            .parse()
            .map_err(|_| format!("timezone: {timezone:?} is not an IANA time zone name (such as UTC or Europe/Paris)"))?;
        if cron.trim().is_empty() || cron.len() > 200 {
            return Err("cron: 1 to 200 characters, five fields (minute hour day-of-month month day-of-week)".into());
        }
        check_fields(cron.trim())?;
        // croner is not fuzzed here: a panic on odd input is a refusal, not a dead request.
        let parsed = std::panic::catch_unwind(|| Cron::new(cron.trim()).parse())
            .unwrap_or_else(|_| Err(croner::errors::CronError::InvalidPattern("unreadable".into())))
            .map_err(|e| format!("cron: {cron:?} is not a cron expression (minute hour day-of-month month day-of-week): {}", lowercase(&e.to_string())))?;
        let table = Timetable { cron: parsed, zone };
        // A pattern that can match (every field in range) may still name no real day.
        if table.next_after(0).is_none() && table.next_after(4_102_444_800_000).is_none() {
            return Err(format!("cron: {cron:?} never matches a date"));
        }
        Ok(table)
    }

    /// The first run strictly after `after_ms` (Unix ms), or `None` when the expression has no
    /// run left (croner searches up to year 5000).
    pub fn next_after(&self, after_ms: i64) -> Option<i64> {
        // Whole seconds: croner steps from the second after its start and keeps sub-seconds.
        let mut from = self.zone.timestamp_millis_opt(after_ms.div_euclid(1000) * 1000).single()?;
        // Inside a repeated hour the wall time found may be an instant before `after_ms`: walk
        // on (each step is a later wall time; an hour of minutes at most).
        for _ in 0..=120 {
            let search = std::panic::AssertUnwindSafe(|| self.cron.find_next_occurrence(&from, false));
            let next = std::panic::catch_unwind(search).ok()?.ok()?;
            let ms = next.timestamp_millis();
            if ms > after_ms {
                return Some(ms);
            }
            from = next;
        }
        None
    }

    /// The next `count` runs after `after_ms` (at most [`MAX_PREVIEW`]).
    pub fn preview(&self, after_ms: i64, count: usize) -> Vec<i64> {
        let mut runs = Vec::new();
        let mut at = after_ms;
        while runs.len() < count.min(MAX_PREVIEW) {
            match self.next_after(at) {
                Some(next) => {
                    runs.push(next);
                    at = next;
                }
                None => break,
            }
        }
        runs
    }

    /// The last run time in `[from_ms, until_ms]`, given that `from_ms` is one: looks back from
    /// `until_ms` over windows growing eightfold (a minute, 8 minutes, ~an hour ...), so a long
    /// downtime costs a few searches, not one per missed run.
    pub fn last_until(&self, from_ms: i64, until_ms: i64) -> i64 {
        let mut window: i64 = 60_000;
        loop {
            let start = until_ms.saturating_sub(window).max(from_ms);
            if let Some(first) = self.next_after(start - 1).filter(|t| *t <= until_ms) {
                let mut at = first;
                while let Some(next) = self.next_after(at).filter(|t| *t <= until_ms) {
                    at = next;
                }
                return at;
            }
            if start == from_ms {
                return from_ms;
            }
            window = window.saturating_mul(8);
        }
    }

    /// How many run times are in `[from_ms, until_ms]`, given that `from_ms` is one, counted up
    /// to `cap`.
    pub fn count(&self, from_ms: i64, until_ms: i64, cap: usize) -> usize {
        let mut count = 1;
        let mut at = from_ms;
        while count < cap {
            match self.next_after(at).filter(|t| *t <= until_ms) {
                Some(next) => {
                    count += 1;
                    at = next;
                }
                None => break,
            }
        }
        count
    }

    /// The UTC offset in seconds the zone has at `at_ms` (for showing local times).
    pub fn offset_seconds(&self, at_ms: i64) -> i32 {
        use chrono::Offset;
        self.zone.timestamp_millis_opt(at_ms).single().map_or(0, |t| t.offset().fix().local_minus_utc())
    }
}

/// The characters each field may hold, before croner reads it: `L`, `W` and `#` only where
/// they mean something (croner accepts `L` in the minute field, and a pattern that can never
/// match makes its search walk minute by minute to the year 5000: 77 s in a debug build).
fn check_fields(cron: &str) -> Result<(), String> {
    if cron.starts_with('@') {
        return Ok(());
    }
    let fields: Vec<&str> = cron.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!("cron: {cron:?} has {} fields; five are needed: minute hour day-of-month month day-of-week", fields.len()));
    }
    let names = ["minute", "hour", "day-of-month", "month", "day-of-week"];
    for (i, field) in fields.iter().enumerate() {
        let allowed = |c: char| {
            c.is_ascii_digit()
                || matches!(c, '*' | ',' | '-' | '/')
                || match i {
                    2 => matches!(c, 'L' | 'W' | '?'),
                    3 => c.is_ascii_alphabetic(),
                    4 => c.is_ascii_alphabetic() || matches!(c, '#' | '?'),
                    _ => false,
                }
        };
        if let Some(bad) = field.chars().find(|c| !allowed(*c)) {
            return Err(format!("cron: {bad:?} is not allowed in the {} field ({field:?})", names[i]));
        }
    }
    Ok(())
}

/// croner's messages start with a capital and end with a period; ours do not.
fn lowercase(message: &str) -> String {
    let trimmed = message.trim_end_matches('.');
    let mut chars = trimmed.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Unix ms as local wall time in a zone with its offset (`2026-03-29T03:00:00+02:00`), for
/// previews people read; `None` for an unknown zone.
pub fn local_time(at_ms: i64, timezone: &str) -> Option<String> {
    let zone: Tz = timezone.parse().ok()?;
    let time = zone.timestamp_millis_opt(at_ms).single()?;
    Some(time.format("%Y-%m-%dT%H:%M:%S%:z").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{parse_rfc3339, rfc3339};

    fn at(text: &str) -> i64 {
        parse_rfc3339(text).unwrap()
    }

    fn times(runs: &[i64]) -> Vec<String> {
        runs.iter().map(|ms| rfc3339(*ms)).collect()
    }

    #[test]
    fn previews_the_next_runs_in_utc() {
        let every = Timetable::new("*/1 * * * *", "UTC").unwrap();
        assert_eq!(
            times(&every.preview(at("2026-12-01T12:00:30.250Z"), 3)),
            ["2026-12-01T12:01:00.000Z", "2026-12-01T12:02:00.000Z", "2026-12-01T12:03:00.000Z"]
        );
        // Strictly after: a run time itself is not its own next.
        assert_eq!(every.next_after(at("2026-12-01T12:01:00Z")), Some(at("2026-12-01T12:02:00Z")));
        assert_eq!(every.next_after(at("2026-12-01T12:01:00.999Z")), Some(at("2026-12-01T12:02:00Z")));
        let weekdays = Timetable::new("0 9 * * MON-FRI", "UTC").unwrap();
        // 2026-12-04 is a Friday.
        assert_eq!(times(&weekdays.preview(at("2026-12-04T10:00:00Z"), 2)), ["2026-12-07T09:00:00.000Z", "2026-12-08T09:00:00.000Z"]);
        assert_eq!(every.preview(0, 1000).len(), MAX_PREVIEW);
    }

    #[test]
    fn reads_wall_time_in_the_zone() {
        let paris = Timetable::new("0 3 * * *", "Europe/Paris").unwrap();
        // Winter: UTC+1.
        assert_eq!(paris.next_after(at("2026-12-01T00:00:00Z")), Some(at("2026-12-01T02:00:00Z")));
        // Summer: UTC+2.
        assert_eq!(paris.next_after(at("2026-07-01T00:00:00Z")), Some(at("2026-07-01T01:00:00Z")));
        assert_eq!(local_time(at("2026-07-01T01:00:00Z"), "Europe/Paris").unwrap(), "2026-07-01T03:00:00+02:00");
        assert_eq!(paris.offset_seconds(at("2026-07-01T01:00:00Z")), 7200);
    }

    #[test]
    fn spring_forward_runs_a_missing_time_once_after_the_gap() {
        // Paris, 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00Z). 02:30 does not exist.
        let table = Timetable::new("30 2 * * *", "Europe/Paris").unwrap();
        assert_eq!(
            times(&table.preview(at("2026-03-28T12:00:00Z"), 3)),
            // 03:00 CEST, the first instant after the gap, once; then 02:30 CEST.
            ["2026-03-29T01:00:00.000Z", "2026-03-30T00:30:00.000Z", "2026-03-31T00:30:00.000Z"]
        );
        // Every 15 minutes: nothing between 02:00 and 03:00 local that day, nothing twice.
        let quarter = Timetable::new("*/15 * * * *", "Europe/Paris").unwrap();
        assert_eq!(
            times(&quarter.preview(at("2026-03-29T00:30:00Z"), 4)),
            ["2026-03-29T00:45:00.000Z", "2026-03-29T01:00:00.000Z", "2026-03-29T01:15:00.000Z", "2026-03-29T01:30:00.000Z"]
        );
    }

    #[test]
    fn fall_back_runs_a_repeated_time_once_and_never_goes_back() {
        // Paris, 2026-10-25: 03:00 CEST goes back to 02:00 CET (01:00Z); 02:30 happens twice
        // (00:30Z CEST and 01:30Z CET).
        let table = Timetable::new("30 2 * * *", "Europe/Paris").unwrap();
        assert_eq!(times(&table.preview(at("2026-10-24T12:00:00Z"), 2)), ["2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z"]);
        // Asked from inside the repeated hour (02:10 CET, after the first 02:30): not 00:30Z.
        assert_eq!(table.next_after(at("2026-10-25T01:10:00Z")), Some(at("2026-10-26T01:30:00Z")));
        let quarter = Timetable::new("*/15 * * * *", "Europe/Paris").unwrap();
        let runs = quarter.preview(at("2026-10-25T00:20:00Z"), 4);
        assert!(runs.windows(2).all(|w| w[0] < w[1]), "{:?}", times(&runs));
        assert_eq!(times(&runs), ["2026-10-25T00:30:00.000Z", "2026-10-25T00:45:00.000Z", "2026-10-25T02:00:00.000Z", "2026-10-25T02:15:00.000Z"]);
        // From inside the repeated hour, the next run is later, never earlier.
        let inside = at("2026-10-25T01:20:00Z");
        assert_eq!(quarter.next_after(inside), Some(at("2026-10-25T02:00:00Z")));
    }

    #[test]
    fn looks_back_over_a_downtime() {
        let every = Timetable::new("*/1 * * * *", "UTC").unwrap();
        let from = at("2026-12-01T12:01:00Z");
        assert_eq!(every.last_until(from, at("2026-12-01T12:10:30Z")), at("2026-12-01T12:10:00Z"));
        assert_eq!(every.last_until(from, at("2026-12-01T12:01:59Z")), from);
        assert_eq!(every.count(from, at("2026-12-01T12:10:30Z"), 1000), 10);
        assert_eq!(every.count(from, at("2026-12-31T12:10:30Z"), 1000), 1000, "capped");
        // A year down, a yearly schedule: found without a search per minute.
        let yearly = Timetable::new("0 0 1 1 *", "UTC").unwrap();
        let first = at("2020-01-01T00:00:00Z");
        assert_eq!(yearly.last_until(first, at("2026-12-01T00:00:00Z")), at("2026-01-01T00:00:00Z"));
        assert_eq!(yearly.count(first, at("2026-12-01T00:00:00Z"), 1000), 7);
    }

    #[test]
    fn bad_input_names_its_field() {
        for (cron, zone, field) in [
            ("*/1 * * * *", "Mars/Olympus", "timezone:"),
            ("*/1 * * * *", "", "timezone:"),
            ("61 * * * *", "UTC", "cron:"),
            ("* * *", "UTC", "cron:"),
            ("", "UTC", "cron:"),
            ("0 0 0 * * *", "UTC", "cron:"),
            ("0 0 30 2 *", "UTC", "cron:"),
            ("L * * * *", "UTC", "cron:"),
            ("0 W * * *", "UTC", "cron:"),
            ("0 0 * * * *", "UTC", "cron:"),
            ("every minute", "UTC", "cron:"),
        ] {
            let error = Timetable::new(cron, zone).unwrap_err();
            assert!(error.starts_with(field), "{cron:?} {zone:?}: {error}");
            assert!(!error.ends_with('.'), "{error}");
        }
        assert!(Timetable::new("@daily", "America/New_York").is_ok());
        // Odd input is answered (accepted or refused), never a panic.
        for odd in ["* * * * 8", "L * * * *", "0 0 L-40 * *", "0 0 * * 5#9", "*/0 * * * *", "0-99999999999 * * * *", "é * * * *", "W W W W W", "5-1 * * * *", "# # # # #", "@reboot", "0 0 31 4 *", "0 0 LW * *", "0 0 ? * 5L", "0 0 * JAN-MAR MON#2"] {
            let _ = Timetable::new(odd, "UTC").map(|t| t.preview(0, 3));
        }
        assert!(Timetable::new("0 0 L * *", "UTC").is_ok());
        let started = std::time::Instant::now();
        assert!(Timetable::new("0 0 31 4 *", "UTC").unwrap_err().contains("never matches"));
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "a pattern that never matches is found out quickly");
    }
}
