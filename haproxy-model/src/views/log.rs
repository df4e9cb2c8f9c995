//! `log` lines (configuration.txt §4.2 "log"):
//! `log global`, `no log`, or
//! `log <target> [len <length>] [format <format>] [sample <ranges>:<size>] <facility> [<level> [<minlevel>]]`.

use serde::{Deserialize, Serialize};

use crate::Line;

/// A typed `log` line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LogTarget {
    /// `log global`: use the global section's targets.
    pub global: bool,
    /// `no log`: cancel inherited targets.
    pub disabled: bool,
    /// Address, `stdout`, `ring@name` ... (`None` for `global` / `no log`).
    pub target: Option<String>,
    /// `len <length>`.
    pub len: Option<String>,
    /// `format <format>`.
    pub format: Option<String>,
    /// `sample <ranges>:<size>`.
    pub sample: Option<String>,
    /// `local0`, `daemon` ...
    pub facility: Option<String>,
    /// Maximum level sent.
    pub level: Option<String>,
    /// Minimum level.
    pub min_level: Option<String>,
}

impl LogTarget {
    /// Reads a `log` or `no log` line.
    pub fn from_line(line: &Line) -> Option<LogTarget> {
        let values = line.values();
        let empty = LogTarget {
            global: false,
            disabled: false,
            target: None,
            len: None,
            format: None,
            sample: None,
            facility: None,
            level: None,
            min_level: None,
        };
        match values.first().map(AsRef::as_ref) {
            Some("no") if values.get(1).map(AsRef::as_ref) == Some("log") => {
                return Some(LogTarget { disabled: true, ..empty })
            }
            Some("log") => {}
            _ => return None,
        }
        if values.get(1).map(AsRef::as_ref) == Some("global") {
            return Some(LogTarget { global: true, ..empty });
        }
        let mut log = LogTarget { target: values.get(1).map(|v| v.to_string()), ..empty };
        let mut i = 2;
        while let Some(word) = values.get(i) {
            let next = values.get(i + 1).map(|v| v.to_string());
            match word.as_ref() {
                "len" => log.len = next,
                "format" => log.format = next,
                "sample" => log.sample = next,
                _ => break,
            }
            i += 2;
        }
        let rest: Vec<String> = values.iter().skip(i).map(|v| v.to_string()).collect();
        let mut rest = rest.into_iter();
        log.facility = rest.next();
        log.level = rest.next();
        log.min_level = rest.next();
        Some(log)
    }

    /// The words that write this target (`log` included).
    pub fn to_words(&self) -> Vec<String> {
        if self.disabled {
            return vec!["no".into(), "log".into()];
        }
        if self.global {
            return vec!["log".into(), "global".into()];
        }
        let mut words = vec!["log".to_string()];
        words.extend(self.target.clone());
        for (keyword, value) in [("len", &self.len), ("format", &self.format), ("sample", &self.sample)] {
            if let Some(value) = value {
                words.push(keyword.into());
                words.push(value.clone());
            }
        }
        words.extend(self.facility.iter().chain(&self.level).chain(&self.min_level).cloned());
        words
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_forms() {
        let l = Line::statement("", &["log", "127.0.0.1:514", "len", "2048", "format", "rfc5424", "local0", "info", "err"]);
        let log = LogTarget::from_line(&l).unwrap();
        assert_eq!(log.target.as_deref(), Some("127.0.0.1:514"));
        assert_eq!((log.len.as_deref(), log.format.as_deref()), (Some("2048"), Some("rfc5424")));
        assert_eq!((log.facility.as_deref(), log.level.as_deref(), log.min_level.as_deref()), (Some("local0"), Some("info"), Some("err")));
        assert_eq!(log.to_words(), l.values());
        assert!(LogTarget::from_line(&Line::statement("", &["log", "global"])).unwrap().global);
        assert!(LogTarget::from_line(&Line::statement("", &["no", "log"])).unwrap().disabled);
        assert!(LogTarget::from_line(&Line::statement("", &["no", "option", "x"])).is_none());
    }
}
