//! Property tests for keepalived: models built in code survive render -> parse unchanged,
//! values survive quote -> unquote, and any text survives parse -> lossless byte for byte.

// Helpers outside `#[test]` functions are test code too.

use haproxy_model::keepalived::{quote, unquote, Block, Document, Statement, Word};
use haproxy_parse::keepalived::parse;
use haproxy_render::keepalived::{format, lossless};
use proptest::prelude::*;

/// Values of any kind; quoting makes them one word. A leading `$` is left out: `$NAME=` would
/// start a definition, whose braces are text, so the model would not be the one parsed.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_./:-]{1,10}",
        "\\PC{0,8}",
        Just("a b".to_string()),
        Just("{".to_string()),
        Just("#x!".to_string()),
        Just("say \"hi\"".to_string()),
    ]
    .prop_filter("no leading $", |v| !v.starts_with('$'))
}

/// Trivia between words of one statement.
fn inner_gap() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just(" "), Just("\t"), Just("   "), Just(" \\\n    ")]
}

/// Trivia that ends a statement (it holds a line break).
fn end_gap() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("\n"), Just("\n\n"), Just(" # note\n"), Just("\n    ! full line\n  "), Just("\r\n"), Just("\n\t")]
}

fn statement(depth: u32) -> BoxedStrategy<Statement> {
    let words = || prop::collection::vec((value(), inner_gap()), 1..4);
    let leaf = (words(), end_gap()).prop_map(|(words, end)| build_words(words, end, None));
    if depth == 0 {
        return leaf.boxed();
    }
    let block = (
        words(),
        prop_oneof![Just(" "), Just("\n")],
        prop_oneof![Just("\n  "), Just(" "), Just("\n\n\t")],
        prop::collection::vec(statement(depth - 1), 0..4),
        end_gap(),
    )
        .prop_map(|(words, before_open, after_open, inner, after_close)| {
            let block = Block::new(Word::open_brace(after_open), inner, Some(Word::close_brace(after_close)));
            build_words(words, before_open, Some(block))
        });
    prop_oneof![leaf, block].boxed()
}

fn build_words(words: Vec<(String, &str)>, end: &str, block: Option<Block>) -> Statement {
    let count = words.len();
    let words = words
        .into_iter()
        .enumerate()
        .map(|(i, (value, gap))| {
            let mut word = Word::new(&value);
            word.set_after(if i + 1 == count { end } else { gap });
            word
        })
        .collect();
    Statement::new(words, block)
}

fn document() -> impl Strategy<Value = Document> {
    (prop_oneof![Just(""), Just("# head\n"), Just("\n\n  ")], prop::collection::vec(statement(3), 0..6))
        .prop_map(|(lead, statements)| Document::from_parts(lead, statements))
}

proptest! {
    #[test]
    fn generated_models_survive_render_and_parse(doc in document()) {
        let text = lossless(&doc);
        let parsed = parse(&text);
        prop_assert!(parsed.diagnostics.is_empty(), "{:?}\n{text}", parsed.diagnostics);
        prop_assert_eq!(&parsed.document, &doc, "{}", text);
        let formatted = format(&parsed.document);
        prop_assert_eq!(format(&parse(&formatted).document), formatted.clone());
    }

    #[test]
    fn quoted_values_read_back(value in "\\PC{0,12}|[ \\t\"'#!{}\\\\a-z]{0,12}") {
        let raw = quote(&value);
        prop_assert_eq!(unquote(&raw), value.as_str());
    }

    #[test]
    fn any_text_round_trips(text in "[a-z \\t\\n\\r{}\"'#!\\\\$@=]{0,80}|\\PC{0,40}") {
        prop_assert_eq!(lossless(&parse(&text).document), text);
    }
}
