//! HTTP-01 (RFC 8555 §8.3) answered by HAProxy itself: one managed rule per marked frontend
//! answers `/.well-known/acme-challenge/<token>` from the map file [`CHALLENGE_MAP`], whose
//! entries are `<token> <key authorisation>`.
//!
//! The rule (configuration.txt of HAProxy 2.6: §4.2 `http-request return` with `lf-string`,
//! §7.3.1 converters `field` and `map`, §7.1 `-m found`), checked with `haproxy -c` 2.6.12 and
//! served by it:
//!
//! ```text
//! http-request return status 200 content-type text/plain lf-string %[path,field(4,/),map(acme/http-01.map)] \
//!     if { path_beg /.well-known/acme-challenge/ } { path,field(4,/),map(acme/http-01.map) -m found }
//! ```
//!
//! `field(4,/)` of `/.well-known/acme-challenge/TOKEN` is `TOKEN`. The second condition lets an
//! unknown token fall through to the frontend's own rules, so the rule is harmless while no
//! order runs. It is inserted as the frontend's first `http-request` rule (before a redirect to
//! HTTPS, which would otherwise answer the CA) with the typed `add_rule` op, so every other
//! byte of the configuration stays as written.

use haproxy_model::{Document, Side};

use crate::bundle::{Bundle, BundleFile, BundlePath, FileKind};
use crate::error::{Error, Result};
use crate::ops::EditOp;

/// The map file of pending key authorisations, relative to the managed directory.
pub const CHALLENGE_MAP: &str = "acme/http-01.map";

/// The path prefix the CA requests.
pub const CHALLENGE_PREFIX: &str = "/.well-known/acme-challenge/";

/// The managed rule's words, keyword first (values: the renderer quotes one that needs it).
pub fn rule_words() -> Vec<String> {
    let lookup = format!("path,field(4,/),map({CHALLENGE_MAP})");
    [
        "http-request",
        "return",
        "status",
        "200",
        "content-type",
        "text/plain",
        "lf-string",
        &format!("%[{lookup}]"),
        "if",
        "{",
        "path_beg",
        CHALLENGE_PREFIX,
        "}",
        "{",
        &lookup,
        "-m",
        "found",
        "}",
    ]
    .iter()
    .map(|w| w.to_string())
    .collect()
}

/// True when `frontend` already carries a rule reading [`CHALLENGE_MAP`].
pub fn has_rule(doc: &Document, frontend: &str) -> bool {
    doc.proxy(Side::Frontend, frontend).is_some_and(|proxy| {
        proxy.rules_of("http-request").iter().any(|rule| rule.line().values().iter().any(|w| w.contains(CHALLENGE_MAP)))
    })
}

/// The frontends that carry the managed rule.
pub fn frontends_with_rule(doc: &Document) -> Vec<String> {
    doc.frontends().filter_map(|p| p.name().map(|n| n.to_string())).filter(|name| has_rule(doc, name)).collect()
}

/// The ops that give each of `frontends` the managed rule (none for one that has it). A
/// frontend that does not exist is [`Error::Invalid`], naming it.
pub fn rule_ops(doc: &Document, frontends: &[String]) -> Result<Vec<EditOp>> {
    let mut ops = Vec::new();
    for frontend in frontends {
        if doc.proxy(Side::Frontend, frontend).is_none() {
            return Err(Error::invalid(format!("frontends: no frontend or listen section {frontend:?} in the configuration")));
        }
        if !has_rule(doc, frontend) {
            ops.push(EditOp::AddRule { proxy: frontend.clone(), words: rule_words(), position: Some(0) });
        }
    }
    Ok(ops)
}

/// `map` (the file's text) with `add` entries `(token, key authorisation)` set and `remove`
/// tokens dropped; other lines stay as they are.
pub fn map_with(map: &str, add: &[(String, String)], remove: &[String]) -> String {
    let mut out = String::new();
    for line in map.lines() {
        let key = line.split_whitespace().next().unwrap_or("");
        if remove.iter().any(|t| t == key) || add.iter().any(|(t, _)| t == key) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    for (token, key_authorization) in add {
        out.push_str(&format!("{token} {key_authorization}\n"));
    }
    out
}

/// `bundle` with the challenge map set to `entries` added and `remove` dropped (the map file
/// made when missing).
pub fn bundle_with_tokens(bundle: &Bundle, add: &[(String, String)], remove: &[String]) -> Result<Bundle> {
    let path = map_path()?;
    let current = bundle.file(&path).and_then(BundleFile::text).unwrap_or("").to_string();
    let file = BundleFile::new(path, FileKind::Map, map_with(&current, add, remove).into_bytes());
    Ok(bundle.with_file(file)?)
}

/// [`CHALLENGE_MAP`] as a bundle path.
pub fn map_path() -> Result<BundlePath> {
    BundlePath::new(CHALLENGE_MAP).map_err(|e| Error::Corrupt(e.to_string()))
}

/// True for a token that may be a map key and a path segment (RFC 8555 §8.3: base64url).
pub fn valid_token(token: &str) -> bool {
    !token.is_empty() && token.len() <= 256 && token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_added_and_removed_without_touching_other_lines() {
        let map = "# comment\nold value\n";
        let added = map_with(map, &[("t1".into(), "t1.k".into())], &[]);
        assert_eq!(added, "# comment\nold value\nt1 t1.k\n");
        assert_eq!(map_with(&added, &[], &["t1".into()]), map);
        assert_eq!(map_with(&added, &[("t1".into(), "t1.j".into())], &[]), "# comment\nold value\nt1 t1.j\n");
    }

    #[test]
    fn the_rule_goes_first_once_and_keeps_the_rest() {
        let text = "frontend web\n    bind :80\n    # keep me\n    http-request redirect scheme https\n";
        let doc = haproxy_parse::parse(text).document;
        let ops = rule_ops(&doc, &["web".into()]).unwrap();
        assert_eq!(ops.len(), 1);
        let mut edited = doc.clone();
        crate::ops::apply_ops(&mut edited, &ops).unwrap();
        let rendered = haproxy_render::lossless(&edited);
        let rule = rendered.lines().position(|l| l.contains("acme-challenge")).unwrap();
        let redirect = rendered.lines().position(|l| l.contains("redirect")).unwrap();
        assert!(rule < redirect, "{rendered}");
        assert!(rendered.contains("    # keep me\n"), "{rendered}");
        // One word without blanks: rendered unquoted, which 2.6 reads the same (checked with -c).
        assert!(rendered.contains("lf-string %[path,field(4,/),map(acme/http-01.map)] if {"), "{rendered}");
        assert!(has_rule(&edited, "web"));
        assert!(rule_ops(&edited, &["web".into()]).unwrap().is_empty());
        assert_eq!(frontends_with_rule(&edited), vec!["web".to_string()]);
        assert!(rule_ops(&doc, &["nope".into()]).is_err());
    }

    #[test]
    fn tokens() {
        assert!(valid_token("LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"));
        assert!(!valid_token("a b"));
        assert!(!valid_token("../x"));
    }
}
