//! `balance` algorithms (configuration.txt §4.2 "balance"), as HAProxy 2.6 parses them:
//! a bare `balance` means round robin; a bare `hdr`, or `url_param` / `hash` without their argument, are refused.

use haproxy_model::keywords::proxy::BALANCE_ALGORITHMS;
use haproxy_model::Diagnostic;

use super::{error, is_dynamic, Context};

/// Algorithms of [`BALANCE_ALGORITHMS`] that cannot stand alone: `hdr(<name>)`, and
/// `url_param` / `hash` followed by their argument word.
const NEED_ARGUMENT: &[&str] = &["hash", "hdr", "url_param"];

/// Runs the balance check on defaults, backend and listen sections.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for info in &context.sections {
        for line in Context::statements(info.section) {
            if line.keyword().as_deref() != Some("balance") {
                continue;
            }
            // A bare `balance` is accepted (round robin).
            let Some(algorithm) = line.value(1) else { continue };
            if is_dynamic(&algorithm) {
                continue;
            }
            if let Some(message) = problem(&algorithm, line.words().len() > 2) {
                out.push(error(line, 1, message));
            }
        }
    }
}

/// What is wrong with `algorithm`, if anything; `has_argument` when a word follows it.
fn problem(algorithm: &str, has_argument: bool) -> Option<String> {
    let base = algorithm.split('(').next().unwrap_or(algorithm);
    let parenthesised = algorithm.len() > base.len();
    match base {
        "hdr" if parenthesised && algorithm.ends_with(')') && algorithm.len() > "hdr()".len() => None,
        "random" | "rdp-cookie" if !parenthesised || algorithm.ends_with(')') => None,
        _ if BALANCE_ALGORITHMS.contains(&algorithm) && !NEED_ARGUMENT.contains(&algorithm) => None,
        "url_param" if has_argument => None,
        "url_param" => Some("'balance url_param' needs a URL parameter name".to_string()),
        "hash" if has_argument => None,
        "hash" => Some("'balance hash' needs a sample expression".to_string()),
        _ => Some(format!(
            "unknown balance algorithm '{algorithm}' (expected roundrobin, static-rr, leastconn, first, source, \
             uri, url_param, hdr(<name>), random, rdp-cookie or hash)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::problem;

    #[test]
    fn accepts_every_documented_algorithm() {
        for (algorithm, argument) in [
            ("roundrobin", false),
            ("static-rr", false),
            ("leastconn", false),
            ("first", false),
            ("source", false),
            ("uri", true),
            ("url_param", true),
            ("hdr(host)", false),
            ("random", false),
            ("random(2)", false),
            ("rdp-cookie", false),
            ("rdp-cookie(mstshash)", false),
            ("hash", true),
        ] {
            assert_eq!(problem(algorithm, argument), None, "{algorithm}");
        }
    }

    #[test]
    fn refuses_what_haproxy_refuses() {
        for (algorithm, argument) in [("foo", false), ("hdr", false), ("hdr()", false), ("url_param", false), ("hash", false)] {
            assert!(problem(algorithm, argument).is_some(), "{algorithm}");
        }
    }
}
