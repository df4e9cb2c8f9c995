//! Diagnostics shared by every parser and checker: `path:line:col: error: message`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Position;

/// How serious a diagnostic is. HAProxy's own split: alerts stop it, warnings don't.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Where the problem starts (1-based).
    pub position: Position,
    /// Lowercase, no final period.
    pub message: String,
}

impl Diagnostic {
    /// An error at `position`.
    pub fn error(position: Position, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Error, position, message: message.into() }
    }

    /// A warning at `position`.
    pub fn warning(position: Position, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, position, message: message.into() }
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The one-line form compilers use: `path:line:col: error: message`.
    pub fn display_with_path<'a>(&'a self, path: &'a str) -> impl fmt::Display + 'a {
        DisplayWithPath { diagnostic: self, path }
    }

    /// The one-line form followed by the offending source line and a caret under the column.
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
        write!(f, "{}:{}: {}: {}", self.position.line, self.position.column, self.severity, self.message)
    }
}
