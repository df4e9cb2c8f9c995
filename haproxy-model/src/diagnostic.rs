//! Diagnostics shared by every parser and checker: `path:line:col: error: message`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Position;

/// How serious a diagnostic is. HAProxy's own split: alerts stop it, warnings don't.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The configuration would be rejected.
    Error,
    /// The configuration would load, but probably not as intended.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One finding about a configuration, located by line and column.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Where the problem starts (1-based).
    pub position: Position,
    /// Lowercase, no final period.
    pub message: String,
    /// The file the position is in, when several files are checked as one configuration
    /// (`haproxy -f a.cfg -f b.cfg`); `None` for a single text. Left out of JSON when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

impl Diagnostic {
    /// An error at `position`.
    pub fn error(position: Position, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Error, position, message: message.into(), file: None }
    }

    /// A warning at `position`.
    pub fn warning(position: Position, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, position, message: message.into(), file: None }
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// This diagnostic located in `file`.
    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }

    /// The one-line form compilers use: `path:line:col: error: message`; `path` is the
    /// diagnostic's own file when it names one.
    pub fn display_with_path<'a>(&'a self, path: &'a str) -> impl fmt::Display + 'a {
        DisplayWithPath { diagnostic: self, path: self.file.as_deref().unwrap_or(path) }
    }

    /// The one-line form followed by the offending source line and a caret under the column.
    /// `source` is the text of the diagnostic's file (of [`Diagnostic::file`] when set).
    pub fn render(&self, path: &str, source: &str) -> String {
        let mut out = format!("{}\n", self.display_with_path(path));
        let line_index = self.position.line.saturating_sub(1) as usize;
        if let Some(text) = source.split('\n').nth(line_index) {
            let text = text.strip_suffix('\r').unwrap_or(text);
            let column = self.position.column.max(1) as usize;
            // Tabs stay tabs under the caret so it lines up whatever the tab width.
            let pad: String =
                text.chars().take(column - 1).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
            out.push_str(&format!("  | {text}\n  | {pad}^\n"));
        }
        out
    }
}

struct DisplayWithPath<'a> {
    diagnostic: &'a Diagnostic,
    path: &'a str,
}

impl fmt::Display for DisplayWithPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.diagnostic;
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.path, d.position.line, d.position.column, d.severity, d.message
        )
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}:")?;
        }
        write!(f, "{}:{}: {}: {}", self.position.line, self.position.column, self.severity, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_names_the_place_and_stays_out_of_json_when_absent() {
        let d = Diagnostic::error(Position::new(3, 5), "bad");
        let json = serde_json::to_string(&d).unwrap_or_default();
        assert!(!json.contains("file"), "{json}");
        assert_eq!(d.display_with_path("h.cfg").to_string(), "h.cfg:3:5: error: bad");
        let d = d.in_file("conf.d/b.cfg");
        assert_eq!(d.display_with_path("h.cfg").to_string(), "conf.d/b.cfg:3:5: error: bad");
        assert_eq!(d.to_string(), "conf.d/b.cfg:3:5: error: bad");
        let back: Diagnostic = serde_json::from_str(&serde_json::to_string(&d).unwrap_or_default()).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(back, d);
    }
}
