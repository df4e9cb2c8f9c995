//! One physical line -> [`Line`]: indent, words, comment (configuration.txt §2.2).
//!
//! ```text
//! line    = blanks* ( word blanks* )* comment?
//! word    = ( plain | '\' any | '"' dq* '"' | "'" sq* "'" )+     ; ends at an unprotected blank or '#'
//! comment = '#' any*                                              ; only where '#' is unprotected
//! ```
//! The word scanner only finds where a word ends; decoding its value is the model's job.

use haproxy_model::{Diagnostic, Line, LineEnding, Position, Word};
use nom::bytes::complete::take_while;
use nom::IResult;

/// HAProxy's `MAX_LINE_ARGS`: a line holds at most this many words.
pub(crate) const MAX_WORDS: usize = 64;

/// Blanks separate words: HAProxy uses `isspace()`; `\n` never reaches here and a lone `\r`
/// counts as a blank so that the line is kept whole.
fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{b}' | '\u{c}' | '\r')
}

/// blanks*
fn blanks(input: &str) -> IResult<&str, &str> {
    take_while(is_blank)(input)
}

/// Where a word ends, and the byte offset of a quote left open (the word then runs to the end
/// of the line, comment-looking text included, as HAProxy reads it).
struct WordEnd {
    len: usize,
    open_quote: Option<usize>,
    /// The word holds a quote or a backslash: only then can decoding it fail.
    needs_decoding: bool,
}

/// word: scans quoted parts and escapes until an unprotected blank or `#`.
fn scan_word(input: &str) -> WordEnd {
    let bytes = input.as_bytes();
    let mut i = 0;
    let mut quote: Option<(u8, usize)> = None;
    let mut needs_decoding = false;
    while i < bytes.len() {
        let b = bytes[i];
        needs_decoding |= matches!(b, b'"' | b'\'' | b'\\');
        match quote {
            Some((b'"', _)) if b == b'$' && bytes.get(i + 1) == Some(&b'{') => {
                // Same reading as the word decoder: a braced reference runs to its `}`.
                if let Some(end) = haproxy_model::env_ref_end(input, i) {
                    if !input[i..end].contains('\r') {
                        i = end;
                        continue;
                    }
                }
            }
            // HAProxy ends the line at any `\r`, quoted or escaped: the word cannot hold one.
            _ if b == b'\r' => break,
            Some((q, _)) if b == q => quote = None,
            Some((b'"', _)) if b == b'\\' && bytes.get(i + 1) != Some(&b'\r') => i += 1,
            Some(_) => {}
            None => match b {
                b'"' | b'\'' => quote = Some((b, i)),
                b'\\' if bytes.get(i + 1) != Some(&b'\r') => i += 1,
                b'#' => break,
                _ if b < 0x80 && is_blank(b as char) => break,
                _ => {}
            },
        }
        i += 1;
    }
    // An escape at the very end must not push past the line (the backslash is kept as written).
    WordEnd { len: i.min(bytes.len()), open_quote: quote.map(|(_, at)| at), needs_decoding }
}

/// word: nom-style wrapper returning the word's raw text.
fn word(input: &str) -> IResult<&str, (&str, WordEnd)> {
    let end = scan_word(input);
    // `#` and blanks never start a word, so a word is never empty here.
    let (raw, rest) = input.split_at(end.len);
    Ok((rest, (raw, end)))
}

/// 1-based character column of byte offset `at` in `text`.
pub(crate) fn column_at(text: &str, at: usize) -> u32 {
    text.get(..at).map_or(at, |prefix| prefix.chars().count()) as u32 + 1
}

/// Lexes one line (without its ending) into a [`Line`], collecting diagnostics.
pub(crate) fn lex_line(text: &str, ending: LineEnding, number: u32, diagnostics: &mut Vec<Diagnostic>) -> Line {
    lex_line_with(text, ending, number, diagnostics, &mut Vec::new())
}

/// [`lex_line`] with a scratch buffer reused across lines: words are gathered there, then moved
/// into a vector of exactly the right size. Growing each line's vector by doubling would leave
/// up to 6 unused slots on a 10-word `server` line (about 40% of a large file's memory).
pub(crate) fn lex_line_with(
    text: &str,
    ending: LineEnding,
    number: u32,
    diagnostics: &mut Vec<Diagnostic>,
    scratch: &mut Vec<Word>,
) -> Line {
    let position = Position::new(number, 1);
    // blanks* never fails.
    let (mut rest, indent) = blanks(text).unwrap_or(("", text));
    scratch.clear();
    let words = scratch;
    let mut comment = None;
    while !rest.is_empty() {
        if rest.starts_with('#') {
            comment = Some(rest.into());
            break;
        }
        let offset = text.len() - rest.len();
        let Ok((after_word, (raw, end))) = word(rest) else { break };
        let (after_blanks, after) = blanks(after_word).unwrap_or((after_word, ""));
        if let Some(at) = end.open_quote {
            diagnostics.push(Diagnostic::error(
                Position::new(number, column_at(text, offset + at)),
                "unterminated quote",
            ));
        } else if let Some(Err(e)) = end.needs_decoding.then(|| haproxy_model::unquote(raw)) {
            diagnostics.push(Diagnostic::error(
                Position::new(number, column_at(text, offset + e.offset())),
                e.to_string(),
            ));
        }
        words.push(Word::from_raw(raw, after));
        rest = after_blanks;
    }
    // `Drain` knows its length, so this allocates exactly once, at the exact size; `mem::take`
    // would hand over the scratch buffer with its spare capacity, which is what we avoid.
    #[allow(clippy::drain_collect)]
    let words: Vec<Word> = words.drain(..).collect();
    if words.len() > MAX_WORDS {
        let line = Line::from_parts(indent, words, comment, ending, position);
        diagnostics.push(Diagnostic::error(
            Position::new(number, line.column_of(MAX_WORDS)),
            format!("too many words on one line ({}), HAProxy accepts at most {MAX_WORDS}", line.words().len()),
        ));
        return line;
    }
    Line::from_parts(indent, words, comment, ending, position)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(text: &str) -> (Line, Vec<Diagnostic>) {
        let mut diagnostics = Vec::new();
        let line = lex_line(text, LineEnding::Lf, 1, &mut diagnostics);
        (line, diagnostics)
    }

    fn raws(line: &Line) -> Vec<&str> {
        line.words().iter().map(Word::raw).collect()
    }

    #[test]
    fn splits_words_and_comments() {
        let (line, d) = lex("  server s1 10.0.0.1:80 check   # main");
        assert!(d.is_empty());
        assert_eq!(line.indent(), "  ");
        assert_eq!(raws(&line), ["server", "s1", "10.0.0.1:80", "check"]);
        assert_eq!(line.words()[3].after(), "   ");
        assert_eq!(line.comment(), Some("# main"));
    }

    #[test]
    fn protected_blanks_and_hashes_stay_in_the_word() {
        let (line, _) = lex(r#"http-request set-header X "a b # c" 'd e' f\ g h\#i j#k"#);
        assert_eq!(raws(&line), ["http-request", "set-header", "X", "\"a b # c\"", "'d e'", r"f\ g", r"h\#i", "j"]);
        assert_eq!(line.comment(), Some("#k"));
    }

    #[test]
    fn reports_an_unterminated_quote_where_it_opens() {
        let (line, d) = lex(r#"log "abc def # x"#);
        assert_eq!(raws(&line), ["log", "\"abc def # x"]);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].position.column, 5);
        assert_eq!(d[0].message, "unterminated quote");
    }

    #[test]
    fn reports_too_many_words() {
        let text = vec!["w"; 70].join(" ");
        let (line, d) = lex(&text);
        assert_eq!(line.words().len(), 70);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].position.column, 129);
    }
}
