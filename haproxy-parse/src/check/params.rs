//! Parameters of `bind`, `server`, `server-template` and `default-server` lines
//! (configuration.txt §5.1, §5.2): every keyword after the address must be one HAProxy 2.6
//! knows. Valued keywords skip their value; after `source` (which may take `usesrc` and
//! `interface` with their own values) the rest of the line is not checked.

use haproxy_model::keywords::{bind, server};
use haproxy_model::{atol_weight, Diagnostic, Line, SectionKind, MAX_WEIGHT};

use super::{error, Context};

/// Runs the parameter checks on proxies and defaults sections.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for info in &context.sections {
        let kind = info.section.kind();
        if !(kind.is_proxy() || *kind == SectionKind::Defaults) {
            continue;
        }
        for line in Context::statements(info.section) {
            if context.is_conditional(line) {
                continue;
            }
            let keyword = line.keyword().unwrap_or_default();
            let (first, flags, values) = match &*keyword {
                "bind" => (2, bind::FLAG_KEYWORDS, bind::VALUE_KEYWORDS),
                "server" => (3, server::FLAG_KEYWORDS, server::VALUE_KEYWORDS),
                "server-template" => (4, server::FLAG_KEYWORDS, server::VALUE_KEYWORDS),
                "default-server" => (1, server::FLAG_KEYWORDS, server::VALUE_KEYWORDS),
                _ => continue,
            };
            check_params(line, &keyword, first, flags, values, out);
        }
    }
}

fn check_params(
    line: &Line,
    keyword: &str,
    first: usize,
    flags: &[&str],
    values: &[&str],
    out: &mut Vec<Diagnostic>,
) {
    let words = line.values();
    let mut index = first;
    while let Some(word) = words.get(index) {
        if word.contains('$') {
            // `"${PARAMS}"` may expand to several words: the rest cannot be followed.
            return;
        }
        if flags.binary_search(&&**word).is_ok() {
            index += 1;
        } else if values.binary_search(&&**word).is_ok() {
            if keyword != "bind" && word == "source" {
                return;
            }
            if index + 1 >= words.len() {
                out.push(error(line, index, format!("'{word}' needs a value")));
                return;
            }
            if keyword != "bind" && word == "weight" {
                let value = &words[index + 1];
                if atol_weight(value).is_some_and(|w| !(0..=i128::from(MAX_WEIGHT)).contains(&w)) {
                    out.push(error(line, index + 1, format!("weight of server is not within 0 and {MAX_WEIGHT} ({value})")));
                }
            }
            index += 2;
        } else {
            out.push(error(line, index, format!("unknown keyword '{word}' on a '{keyword}' line")));
            return;
        }
    }
}
