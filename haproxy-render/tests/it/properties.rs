//! Property tests: whatever the input, `format` is idempotent and keeps the words.

use haproxy_parse::parse;
use haproxy_render::format;
use proptest::prelude::*;

/// Lines made of configuration-like pieces: keywords, quotes, escapes, comments, blanks,
/// conditionals and section headers, so that the generator hits the layout rules.
fn line() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("global".to_string()),
        Just("backend b".to_string()),
        Just("frontend f".to_string()),
        Just(".if defined(X)".to_string()),
        Just(".else".to_string()),
        Just(".endif".to_string()),
        Just("server s1 127.0.0.1:80 check".to_string()),
        Just("#".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("\\".to_string()),
        Just("\t".to_string()),
        Just("\r".to_string()),
        Just("  ".to_string()),
        "[a-z#\"' \\\\]{0,6}",
    ];
    proptest::collection::vec(piece, 0..6).prop_map(|pieces| pieces.concat())
}

fn text() -> impl Strategy<Value = String> {
    (proptest::collection::vec(line(), 0..12), prop_oneof![Just("\n"), Just("\r\n")], any::<bool>()).prop_map(
        |(lines, ending, final_newline)| {
            let mut text = lines.join(ending);
            if final_newline && !text.is_empty() {
                text.push_str(ending);
            }
            text
        },
    )
}

fn raws(text: &str) -> Vec<String> {
    parse(text).document.lines().flat_map(|l| l.words().iter().map(|w| w.raw().to_string()).collect::<Vec<_>>()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn format_is_idempotent(input in text()) {
        let once = format(&parse(&input).document);
        let twice = format(&parse(&once).document);
        prop_assert_eq!(&once, &twice);
    }

    #[test]
    fn format_keeps_every_word(input in text()) {
        let once = format(&parse(&input).document);
        prop_assert_eq!(raws(&input), raws(&once));
    }
}
