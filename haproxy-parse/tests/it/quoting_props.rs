//! Property tests of the word grammar (configuration.txt §2.2) across model, renderer and parser:
//!
//! - any value, quoted by `Word::new` and placed in a line, parses back to one word with that value;
//! - a quoted value never becomes an environment reference (HAProxy would expand it);
//! - any document of lines built from words, blanks, comments and line endings satisfies
//!   `parse(render(doc)) == doc`.
//!
//! Values are drawn mostly from the characters that matter to the grammar (blanks, both quotes,
//! `#`, `$`, braces, backslashes, control characters, multi-byte text) and from fragments such as
//! `${X}`, `$HOME` and `\x41`, so that the interesting cases are common rather than rare.

use haproxy_model::{decode, quote};
use haproxy_model::{Document, Line, LineEnding, Position, Section, SectionKind, Word};
use haproxy_parse::parse;
use haproxy_render::lossless;
use proptest::prelude::*;

/// One piece of a value: a grammar-significant character, a tricky fragment, or any character.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            ' ', '\t', '"', '\'', '#', '$', '{', '}', '-', '\\', 'x', 'n', 'a', '0', '\r', '\n', '\0',
            '\u{b}', '\u{c}', '\u{1b}', '\u{7f}', '\u{85}', '\u{a0}', 'é', '€', '😀',
        ])
        .prop_map(String::from),
        2 => prop::sample::select(vec![
            "${X}", "${X-def}", "${X[*]}", "$HOME", "${", "\\x41", "\\xZZ", "\\ ", "\\#", "\"\"", "''",
            "\\\"", "\\$", ".if", "%[src]", "#c",
        ])
        .prop_map(String::from),
        1 => any::<char>().prop_map(String::from),
    ]
}

/// A value of up to 12 pieces (the empty value included).
fn value() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..12).prop_map(|pieces| pieces.concat())
}

/// Blanks HAProxy separates words with (`isspace()` less the line breaks).
fn blanks(min: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(vec![' ', '\t', '\u{b}', '\u{c}']), min..4)
        .prop_map(|chars| chars.into_iter().collect())
}

/// A comment: `#` then text without line breaks.
fn comment() -> impl Strategy<Value = String> {
    value().prop_map(|v| format!("#{}", v.replace(['\n', '\r'], "")))
}

fn ending() -> impl Strategy<Value = LineEnding> {
    prop_oneof![3 => Just(LineEnding::Lf), 1 => Just(LineEnding::CrLf)]
}

/// A body line: indent, words (each followed by blanks, at least one between two words),
/// maybe a comment. Its first word never opens a section: that line would be a header.
fn body_line() -> impl Strategy<Value = Line> {
    (blanks(0), prop::collection::vec((value(), blanks(1)), 0..6), blanks(0), prop::option::of(comment()), ending())
        .prop_filter("a body line cannot start a section", |(_, words, ..)| {
            words.first().is_none_or(|(v, _)| SectionKind::from_keyword(v).is_none())
        })
        .prop_map(|(indent, words, last_after, comment, ending)| {
            let count = words.len();
            let words = words
                .into_iter()
                .enumerate()
                .map(|(i, (v, after))| Word::from_raw(quote(&v), if i + 1 == count { last_after.clone() } else { after }))
                .collect();
            Line::from_parts(indent, words, comment.map(Into::into), ending, Position::default())
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn a_quoted_value_parses_back_to_itself(v in value()) {
        let line = Line::statement("    ", &["set-var", v.as_str()]);
        let mut text = String::from("backend b\n");
        line.render_into(&mut text);
        let parsed = parse(&text);
        let errors: Vec<_> = parsed.diagnostics.iter().filter(|d| d.is_error()).collect();
        prop_assert!(errors.is_empty(), "{text:?}: {errors:?}");
        let section = &parsed.document.sections()[0];
        prop_assert_eq!(section.lines().len(), 1, "{:?}", text);
        let back = &section.lines()[0];
        prop_assert_eq!(back.words().len(), 2, "{:?}", text);
        prop_assert_eq!(back.words()[1].try_value().map(|v| v.into_owned()), Ok(v.clone()));
        prop_assert_eq!(back, &line);
    }

    #[test]
    fn a_quoted_value_holds_no_environment_reference(v in value()) {
        let decoded = decode(&quote(&v)).map_err(|e| TestCaseError::fail(format!("{v:?}: {e}")))?;
        prop_assert!(decoded.env_refs.is_empty(), "{:?} -> {:?}", v, quote(&v));
        prop_assert_eq!(decoded.value, v);
    }

    #[test]
    fn set_value_keeps_the_blanks_and_the_comment(v in value()) {
        let mut parsed = parse("backend b\n\tserver  s1\t127.0.0.1:80   # main\n").document;
        let line = &mut parsed.sections_mut()[0].lines_mut()[0];
        prop_assert!(line.set_value(1, &v));
        let text = lossless(&parsed);
        let prefix = format!("backend b\n\tserver  {}\t127.0.0.1:80   # main\n", quote(&v));
        prop_assert_eq!(&text, &prefix);
        let reparsed = parse(&text).document;
        let back = reparsed.sections()[0].lines()[0].value(1).map(|v| v.into_owned());
        prop_assert_eq!(back, Some(v));
    }

    #[test]
    fn documents_of_generated_lines_round_trip(
        lines in prop::collection::vec(body_line(), 0..8),
        unterminated in any::<bool>(),
    ) {
        let mut lines = lines;
        if unterminated {
            // Only the last line may lack a newline, and it must render to something.
            if let Some(last) = lines.last_mut().filter(|l| !l.text().is_empty()) {
                last.set_ending(LineEnding::None);
            }
        }
        let header = Line::statement("", &["backend", "b"]);
        let Some(section) = Section::from_parts(header, lines) else {
            return Err(TestCaseError::fail("`backend b` must open a section"));
        };
        let document = Document::from_parts(Vec::new(), vec![section]);
        let text = lossless(&document);
        let reparsed = parse(&text).document;
        prop_assert_eq!(&reparsed, &document, "text {:?}", text);
        prop_assert_eq!(lossless(&reparsed), text);
    }
}
