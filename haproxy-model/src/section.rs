//! Sections: a header line and the lines up to the next header (configuration.txt §3-§12).

use std::borrow::Cow;
use std::fmt;

use compact_str::CompactString;

use crate::{Line, LineEnding, LineKind};

/// The indentation given to lines inserted into a section that has no indented line to copy.
pub const CANONICAL_INDENT: &str = "    ";

/// The keyword that opens a section.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SectionKind {
    /// `global`
    Global,
    /// `defaults [NAME] [from NAME]`
    Defaults,
    /// `frontend NAME [from NAME]`
    Frontend,
    /// `backend NAME [from NAME]`
    Backend,
    /// `listen NAME [from NAME]`
    Listen,
    /// `userlist NAME`
    Userlist,
    /// `peers NAME`
    Peers,
    /// `resolvers NAME`
    Resolvers,
    /// `mailers NAME`
    Mailers,
    /// `program NAME`
    Program,
    /// `http-errors NAME`
    HttpErrors,
    /// `ring NAME`
    Ring,
    /// `cache NAME`
    Cache,
    /// `fcgi-app NAME`
    FcgiApp,
    /// `crt-store [NAME]`
    CrtStore,
    /// `log-forward NAME`
    LogForward,
    /// A section keyword this library knows exists but does not model (kept as written).
    Unknown(CompactString),
}

/// Section keywords of newer HAProxy releases, recognised as sections so their bodies stay together.
const UNMODELLED_SECTIONS: &[&str] =
    &["traces", "log-profile", "acme", "healthcheck", "namespace_list", "dynamic-update"];

impl SectionKind {
    /// The section opened by `keyword`, if it opens one.
    pub fn from_keyword(keyword: &str) -> Option<SectionKind> {
        Some(match keyword {
            "global" => SectionKind::Global,
            "defaults" => SectionKind::Defaults,
            "frontend" => SectionKind::Frontend,
            "backend" => SectionKind::Backend,
            "listen" => SectionKind::Listen,
            "userlist" => SectionKind::Userlist,
            "peers" => SectionKind::Peers,
            "resolvers" => SectionKind::Resolvers,
            "mailers" => SectionKind::Mailers,
            "program" => SectionKind::Program,
            "http-errors" => SectionKind::HttpErrors,
            "ring" => SectionKind::Ring,
            "cache" => SectionKind::Cache,
            "fcgi-app" => SectionKind::FcgiApp,
            "crt-store" => SectionKind::CrtStore,
            "log-forward" => SectionKind::LogForward,
            other if UNMODELLED_SECTIONS.contains(&other) => SectionKind::Unknown(other.into()),
            _ => return None,
        })
    }

    /// The keyword as written in a configuration.
    pub fn keyword(&self) -> &str {
        match self {
            SectionKind::Global => "global",
            SectionKind::Defaults => "defaults",
            SectionKind::Frontend => "frontend",
            SectionKind::Backend => "backend",
            SectionKind::Listen => "listen",
            SectionKind::Userlist => "userlist",
            SectionKind::Peers => "peers",
            SectionKind::Resolvers => "resolvers",
            SectionKind::Mailers => "mailers",
            SectionKind::Program => "program",
            SectionKind::HttpErrors => "http-errors",
            SectionKind::Ring => "ring",
            SectionKind::Cache => "cache",
            SectionKind::FcgiApp => "fcgi-app",
            SectionKind::CrtStore => "crt-store",
            SectionKind::LogForward => "log-forward",
            SectionKind::Unknown(keyword) => keyword,
        }
    }

    /// Frontend, backend and listen: the sections HAProxy calls proxies.
    pub fn is_proxy(&self) -> bool {
        matches!(self, SectionKind::Frontend | SectionKind::Backend | SectionKind::Listen)
    }

    /// True for a section that has a frontend side (accepts connections).
    pub fn has_frontend(&self) -> bool {
        matches!(self, SectionKind::Frontend | SectionKind::Listen)
    }

    /// True for a section that has a backend side (holds servers).
    pub fn has_backend(&self) -> bool {
        matches!(self, SectionKind::Backend | SectionKind::Listen)
    }
}

impl fmt::Display for SectionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// A section: its header line and every line up to the next header, trivia included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    kind: SectionKind,
    header: Line,
    lines: Vec<Line>,
}

impl Section {
    /// A section from a parsed header line and body. Returns `None` when the header's keyword
    /// does not open a section.
    pub fn from_parts(header: Line, lines: Vec<Line>) -> Option<Self> {
        let kind = SectionKind::from_keyword(&header.words().first()?.value())?;
        Some(Section { kind, header, lines })
    }

    /// A new, empty section `kind name`, written canonically.
    pub fn new(kind: SectionKind, name: Option<&str>) -> Self {
        let mut values = vec![kind.keyword().to_string()];
        values.extend(name.map(str::to_string));
        Section { kind, header: Line::statement("", &values), lines: Vec::new() }
    }

    /// The section keyword.
    pub fn kind(&self) -> &SectionKind {
        &self.kind
    }

    /// The header line (`backend app from base # comment`).
    pub fn header(&self) -> &Line {
        &self.header
    }

    /// The header line, for editing. Changing its keyword is not supported: build a new section.
    pub fn header_mut(&mut self) -> &mut Line {
        &mut self.header
    }

    /// The lines after the header, in order, trivia included.
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// The lines after the header, for editing.
    pub fn lines_mut(&mut self) -> &mut Vec<Line> {
        &mut self.lines
    }

    /// Index of the header word holding the name, when the section has one.
    fn name_index(&self) -> Option<usize> {
        let second = self.header.words().get(1)?;
        match self.kind {
            SectionKind::Global => None,
            // `defaults from base` has no name; `defaults from` alone names a section "from".
            SectionKind::Defaults | SectionKind::CrtStore
                if second.value() == "from" && self.header.words().len() > 2 =>
            {
                None
            }
            _ => Some(1),
        }
    }

    /// The section's name (`backend app` -> `app`).
    pub fn name(&self) -> Option<Cow<'_, str>> {
        self.name_index().and_then(|i| self.header.value(i))
    }

    /// Renames the section, or names an unnamed `defaults`. Returns false for `global`.
    pub fn set_name(&mut self, name: &str) -> bool {
        match self.name_index() {
            Some(i) => self.header.set_value(i, name),
            None if self.kind != SectionKind::Global => {
                self.header.insert_word(1, name);
                true
            }
            None => false,
        }
    }

    /// Index of the word after `from` in the header.
    fn inherited_defaults_index(&self) -> Option<usize> {
        let words = self.header.words();
        let start = self.name_index().map_or(1, |i| i + 1);
        (start..words.len().saturating_sub(1)).find(|&i| words[i].value() == "from").map(|i| i + 1)
    }

    /// The defaults section this one inherits from (`from NAME`).
    pub fn from(&self) -> Option<Cow<'_, str>> {
        self.inherited_defaults_index().and_then(|i| self.header.value(i))
    }

    /// Sets or removes `from NAME`.
    pub fn set_from(&mut self, from: Option<&str>) {
        match (self.inherited_defaults_index(), from) {
            (Some(i), Some(name)) => {
                self.header.set_value(i, name);
            }
            (Some(i), None) => {
                self.header.remove_word(i);
                self.header.remove_word(i - 1);
            }
            (None, Some(name)) => {
                let at = self.name_index().map_or(1, |i| i + 1);
                self.header.insert_word(at, "from");
                self.header.insert_word(at + 1, name);
            }
            (None, None) => {}
        }
    }

    /// The statement lines whose keyword is `keyword`, with their index in [`Section::lines`].
    pub fn statements<'a>(&'a self, keyword: &'a str) -> impl Iterator<Item = (usize, &'a Line)> + 'a {
        self.lines.iter().enumerate().filter(move |(_, line)| {
            line.kind() == LineKind::Statement && line.words().first().is_some_and(|w| w.value() == keyword)
        })
    }

    /// The first statement whose keyword is `keyword`.
    pub fn statement<'a>(&'a self, keyword: &'a str) -> Option<&'a Line> {
        self.statements(keyword).next().map(|(_, line)| line)
    }

    /// The indentation new lines should get: that of the nearest statement line, else the canonical one.
    pub fn body_indent(&self, near: usize) -> CompactString {
        let statement_indent = |line: &Line| (!line.is_trivia() && !line.indent().is_empty()).then(|| line.indent().into());
        self.lines[..near.min(self.lines.len())]
            .iter()
            .rev()
            .find_map(statement_indent)
            .or_else(|| self.lines.iter().skip(near).find_map(statement_indent))
            .unwrap_or_else(|| CANONICAL_INDENT.into())
    }

    /// The line ending most lines of this section use.
    fn usual_ending(&self) -> LineEnding {
        std::iter::once(&self.header)
            .chain(&self.lines)
            .map(Line::ending)
            .find(|e| *e != LineEnding::None)
            .unwrap_or(LineEnding::Lf)
    }

    /// Inserts `line` at `index` (clamped), giving it its siblings' indentation and line ending.
    /// When it lands after a line that ended the file without a newline, that line gets one
    /// and the new line becomes the unterminated last line.
    pub fn insert_line(&mut self, index: usize, mut line: Line) {
        let index = index.min(self.lines.len());
        line.set_indent(&self.body_indent(index));
        let ending = self.usual_ending();
        line.set_ending(ending);
        if index == self.lines.len() {
            let previous = self.lines.last_mut().unwrap_or(&mut self.header);
            if previous.ending() == LineEnding::None {
                previous.set_ending(ending);
                line.set_ending(LineEnding::None);
            }
        }
        self.lines.insert(index, line);
    }

    /// Appends a statement after the last statement line (before trailing blank lines and comments
    /// that separate this section from the next one).
    pub fn push_statement<S: AsRef<str>>(&mut self, values: &[S]) -> usize {
        let index = self.lines.iter().rposition(|l| !l.is_trivia()).map_or(0, |i| i + 1);
        // Keep a trailing blank-free tail of trivia attached to the end of the section.
        self.insert_line(index, Line::statement("", values));
        index
    }

    /// Removes body line `index`, returning it.
    pub fn remove_line(&mut self, index: usize) -> Option<Line> {
        if index >= self.lines.len() {
            return None;
        }
        let removed = self.lines.remove(index);
        if removed.ending() == LineEnding::None {
            // The removed line ended the file: the new last line takes over that role, unless it
            // is an empty line, which text cannot hold without its newline.
            let previous = self.lines.last_mut().unwrap_or(&mut self.header);
            if !previous.text().is_empty() {
                previous.set_ending(LineEnding::None);
            }
        }
        Some(removed)
    }
}
