//! Syntax classes of a configuration line, for colouring it (the web UI, terminals) without
//! changing a byte: the spans of a line, concatenated, give back the line as written (without
//! its line ending).
//!
//! ```text
//! Line (lossless words) -> [indent][keyword|section|conditional][blank][argument ...][comment]
//! ```
//!
//! Arguments are told apart by their first bytes only (quotes: configuration.txt §2.2;
//! environment variables `"${NAME}"`: §2.3; numbers with an optional time or size unit: §2.5),
//! which is enough to colour and never changes what the line means.

use haproxy_model::{Line, LineKind, SectionKind};

/// What a span of a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Blanks and arguments with nothing special.
    Plain,
    /// A section header's keyword (`global`, `backend` ...).
    Section,
    /// A statement's keyword.
    Keyword,
    /// `.if`, `.elif`, `.else`, `.endif` and the `.notice` family.
    Conditional,
    /// A quoted argument.
    String,
    /// An argument referencing the environment (`${NAME}`).
    Env,
    /// A number, maybe with a unit (`5s`, `100k`).
    Number,
    /// A comment, `#` to the end of the line.
    Comment,
}

impl Class {
    /// A short lowercase name, for CSS classes (`hl-keyword` ...).
    pub fn name(self) -> &'static str {
        match self {
            Class::Plain => "plain",
            Class::Section => "section",
            Class::Keyword => "keyword",
            Class::Conditional => "cond",
            Class::String => "string",
            Class::Env => "env",
            Class::Number => "number",
            Class::Comment => "comment",
        }
    }
}

/// The spans of `line`, in order; adjacent plain text is merged.
pub fn highlight(line: &Line) -> Vec<(Class, &str)> {
    let mut spans: Vec<(Class, &str)> = Vec::with_capacity(line.words().len() * 2 + 2);
    let mut out = Spans(&mut spans);
    out.push(Class::Plain, line.indent());
    let kind = line.kind();
    for (index, word) in line.words().iter().enumerate() {
        let class = if index == 0 {
            match kind {
                LineKind::Conditional(_) | LineKind::Message => Class::Conditional,
                _ if SectionKind::from_keyword(word.raw()).is_some() => Class::Section,
                _ => Class::Keyword,
            }
        } else {
            argument_class(word.raw())
        };
        out.push(class, word.raw());
        out.push(Class::Plain, word.after());
    }
    if let Some(comment) = line.comment() {
        out.push(Class::Comment, comment);
    }
    spans
}

struct Spans<'v, 'a>(&'v mut Vec<(Class, &'a str)>);

impl<'a> Spans<'_, 'a> {
    fn push(&mut self, class: Class, text: &'a str) {
        if !text.is_empty() {
            self.0.push((class, text));
        }
    }
}

fn argument_class(raw: &str) -> Class {
    let bytes = raw.as_bytes();
    if raw.contains("${") {
        Class::Env
    } else if matches!(bytes.first(), Some(b'"' | b'\'')) {
        Class::String
    } else if is_number(raw) {
        Class::Number
    } else {
        Class::Plain
    }
}

/// Digits, maybe a decimal part, maybe a unit of at most two letters (`30s`, `1.5m`, `100k`).
fn is_number(raw: &str) -> bool {
    let unit = raw.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    let dots = raw[..raw.len() - unit.len()].matches('.').count();
    raw.as_bytes().first().is_some_and(u8::is_ascii_digit) && dots <= 1 && unit.len() <= 2 && unit.chars().all(|c| c.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(text: &str) -> Vec<(Class, String)> {
        let line = haproxy_parse::parse_line(text).unwrap();
        highlight(&line).into_iter().map(|(c, t)| (c, t.to_string())).collect()
    }

    #[test]
    fn spans_give_back_the_line() {
        for text in [
            "    server web1 10.0.0.1:80 check weight 10   # primary",
            "backend app",
            "\tbind :443 ssl crt \"${CERT_DIR}/site.pem\"",
            "  # only a comment",
            "",
            ".if defined(DEBUG)",
            "  timeout client 30s",
        ] {
            let joined: String = spans(text).into_iter().map(|(_, t)| t).collect();
            assert_eq!(joined, text);
        }
    }

    #[test]
    fn classes() {
        let got = spans("  timeout client 30s # why");
        assert_eq!(got[1], (Class::Keyword, "timeout".into()));
        assert_eq!(got.iter().find(|(_, t)| t == "30s").unwrap().0, Class::Number);
        assert_eq!(got.last().unwrap(), &(Class::Comment, "# why".into()));
        assert_eq!(spans("frontend fe")[0], (Class::Section, "frontend".into()));
        assert_eq!(spans(".endif")[0], (Class::Conditional, ".endif".into()));
        assert_eq!(spans("  bind \"${ADDR}\":80").iter().find(|(_, t)| t.contains("ADDR")).unwrap().0, Class::Env);
        assert_eq!(spans("  server s 10.0.0.1:80").iter().find(|(_, t)| t.starts_with("10.")).unwrap().0, Class::Plain);
    }
}
