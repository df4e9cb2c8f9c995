//! Layout that carries no meaning but must survive a round trip.

use serde::{Deserialize, Serialize};

/// How a line ends, exactly as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineEnding {
    /// `\n`
    #[default]
    Lf,
    /// `\r\n`
    CrLf,
    /// The last line of a file that has no final newline.
    None,
}

impl LineEnding {
    /// The bytes this ending renders as.
    pub fn as_str(self) -> &'static str {
        match self {
            LineEnding::Lf => "\n",
            LineEnding::CrLf => "\r\n",
            LineEnding::None => "",
        }
    }
}

/// Where something starts in the source: 1-based line and column (in characters).
///
/// Spans sit beside the data and never take part in equality, so that a document
/// built in code equals the same document parsed from text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Position {
    /// 1-based line number; 0 when the item was not parsed from text.
    pub line: u32,
    /// 1-based column, counted in characters; 0 when unknown.
    pub column: u32,
}

impl Position {
    /// A position at `line`, `column`.
    pub fn new(line: u32, column: u32) -> Self {
        Position { line, column }
    }
}
