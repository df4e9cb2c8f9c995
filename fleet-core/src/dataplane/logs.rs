//! `log` lines of a section as Data Plane API log targets (client-native's `log_target`),
//! read only: what a full section (`full_section=true`) inlines as `log_target_list`.
//!
//! ```text
//! log global                                        -> {"global": true}
//! no log                                            -> {"nolog": true}
//! log 127.0.0.1:514 len 2048 format rfc5424 sample 1:3 local0 info err
//!   -> {"address": "127.0.0.1:514", "length": 2048, "format": "rfc5424", "sample_range": "1",
//!       "sample_size": 3, "facility": "local0", "level": "info", "minlevel": "err"}
//! ```
//!
//! The grammar is configuration.txt §4.2 `log`, read by [`haproxy_model::LogTarget`]. A word
//! the model cannot hold as its type (`len ${LEN}`) is left out of the target, as other reads
//! leave out what they cannot show.

use haproxy_model::{LogTarget, Section};
use serde_json::{Map, Value};

/// The section's `log` and `no log` lines, in file order.
pub(crate) fn log_targets(section: &Section) -> Vec<Value> {
    section.lines().iter().filter_map(LogTarget::from_line).map(|log| Value::Object(shown(&log))).collect()
}

fn shown(log: &LogTarget) -> Map<String, Value> {
    let mut out = Map::new();
    if log.global {
        out.insert("global".into(), Value::Bool(true));
        return out;
    }
    if log.disabled {
        out.insert("nolog".into(), Value::Bool(true));
        return out;
    }
    let mut text = |key: &str, value: &Option<String>| {
        if let Some(v) = value {
            out.insert(key.into(), Value::from(v.as_str()));
        }
    };
    text("address", &log.target);
    text("format", &log.format);
    text("facility", &log.facility);
    text("level", &log.level);
    text("minlevel", &log.min_level);
    if let Some(length) = log.len.as_deref().and_then(|l| l.parse::<i64>().ok()) {
        out.insert("length".into(), Value::from(length));
    }
    // `sample <ranges>:<size>`: the ranges hold no colon (`1,3-5`), so the last one splits.
    if let Some((ranges, size)) = log.sample.as_deref().and_then(|s| s.rsplit_once(':')) {
        out.insert("sample_range".into(), Value::from(ranges));
        if let Ok(size) = size.parse::<i64>() {
            out.insert("sample_size".into(), Value::from(size));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_every_form() {
        let text = "defaults\n    log global\n    no log\n    log 127.0.0.1:514 len 2048 format rfc5424 sample 1,3-5:6 local0 info err   # remote\n    log stdout format raw daemon\n    option httplog\n";
        let doc = haproxy_parse::parse(text).document;
        assert_eq!(
            log_targets(&doc.sections()[0]),
            vec![
                json!({"global": true}),
                json!({"nolog": true}),
                json!({"address": "127.0.0.1:514", "length": 2048, "format": "rfc5424", "sample_range": "1,3-5", "sample_size": 6, "facility": "local0", "level": "info", "minlevel": "err"}),
                json!({"address": "stdout", "format": "raw", "facility": "daemon"}),
            ]
        );
    }
}
