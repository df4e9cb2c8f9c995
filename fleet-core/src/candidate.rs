//! A candidate configuration: the text a change would produce, and the gate every candidate
//! passes before it can become a version.
//!
//! ```text
//! text -> offline check --no errors--> version (warnings returned)
//!              \--errors--> haproxy -c configured? --no--> refused (422 with every diagnostic)
//!                                  \--yes--> accepted: version; the offline errors become warnings
//!                                            rejected: refused with HAProxy's diagnostics
//! ```
//!
//! The gate is never stricter than HAProxy (DESIGN.md): the offline check cannot know what
//! HAProxy sees where it runs (its environment for `.if defined(X)`, its build, its files), so
//! where a real `haproxy -c` is at hand its verdict decides. It is only run when the offline
//! check finds errors: a clean candidate needs no second opinion, and a server often lacks the
//! certificates and maps the nodes have, which HAProxy would then miss.

use haproxy_model::Diagnostic;

use crate::error::{Error, Result};
use crate::haproxy_check::{CheckError, HaproxyChecker, Verdict};
use crate::documents::Parsed;
use crate::ops::EditOp;

/// Runs the offline check on `text`: errors become [`Error::Invalid`] (with every diagnostic),
/// otherwise the warnings are returned.
pub fn check_text(text: &str) -> Result<Vec<Diagnostic>> {
    decide(haproxy_parse::check(text).diagnostics, None)
}

/// The whole gate: the offline check, then `haproxy -c` through `checker` when the offline
/// check finds errors. Blocks while HAProxy runs; async callers run it on a blocking thread.
pub fn gate(text: &str, checker: Option<&HaproxyChecker>) -> Result<Vec<Diagnostic>> {
    let offline = haproxy_parse::check(text).diagnostics;
    match checker {
        Some(checker) if offline.iter().any(Diagnostic::is_error) => decide(offline, Some(checker.check_text(text))),
        _ => decide(offline, None),
    }
}

/// The gate's decision on the offline check's findings and, when it ran, HAProxy's verdict:
/// the warnings to return with the new version, or why it is refused.
///
/// - no verdict: offline errors refuse the candidate;
/// - HAProxy could not run: the same, saying why HAProxy gave no verdict;
/// - HAProxy accepts: every offline error becomes a warning ([`Verdict::merge`]);
/// - HAProxy rejects: refused with HAProxy's diagnostics first, offline errors it confirms
///   (same line) kept as errors, the others as warnings.
pub fn decide(offline: Vec<Diagnostic>, haproxy: Option<Result<Verdict, CheckError>>) -> Result<Vec<Diagnostic>> {
    let verdict = match haproxy {
        Some(Ok(verdict)) => verdict,
        Some(Err(error)) => return refuse_offline(offline, &format!("; haproxy -c gave no verdict: {error}")),
        None => return refuse_offline(offline, ""),
    };
    let accepted = verdict.accepted;
    let general: Vec<String> = verdict.general.iter().map(|m| m.message.clone()).collect();
    let mut diagnostics = verdict.merge(offline);
    if accepted {
        return Ok(diagnostics);
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let mut message = match verdict.diagnostics.iter().find(|d| d.is_error()) {
        Some(d) => format!(
            "haproxy -c rejected the configuration: first at line {}, column {}: {}",
            d.position.line,
            d.position.column,
            d.message.strip_prefix("haproxy: ").unwrap_or(&d.message)
        ),
        None => "haproxy -c rejected the configuration".to_string(),
    };
    for line in &general {
        message.push_str("; ");
        message.push_str(line.strip_prefix("haproxy: ").unwrap_or(line));
    }
    if errors == 0 && general.is_empty() {
        message.push_str(&format!(" (exit status {})", verdict.status));
    }
    diagnostics.sort_by_key(|d| (!d.is_error(), d.position.line, d.position.column));
    Err(Error::Invalid { message, diagnostics })
}

/// Refuses on offline errors when there are any (`note` says why HAProxy did not decide).
fn refuse_offline(mut diagnostics: Vec<Diagnostic>, note: &str) -> Result<Vec<Diagnostic>> {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let Some(first) = diagnostics.iter().find(|d| d.is_error()) else { return Ok(diagnostics) };
    let message = format!(
        "configuration has {errors} error{}; first at line {}, column {}: {}{note}",
        if errors == 1 { "" } else { "s" },
        first.position.line,
        first.position.column,
        first.message
    );
    diagnostics.sort_by_key(|d| (!d.is_error(), d.position.line, d.position.column));
    Err(Error::Invalid { message, diagnostics })
}

/// Applies `ops` to the configuration `base` and renders the result losslessly. Does not run
/// the offline check (intermediate states of a transaction may reference things added later).
pub fn apply_to_text(base: &str, ops: &[EditOp]) -> Result<String> {
    Ok(haproxy_render::lossless(&Parsed::parse(base).edited(ops)?))
}

#[cfg(test)]
mod tests {
    use haproxy_model::{Position, Severity};

    use super::*;

    /// A config the offline check refuses and HAProxy 2.6 accepts when it also loads
    /// [`API_FILE`] (as a node loading `-f haproxy.cfg -f conf.d/` does): line 9 names a backend
    /// the other file defines.
    pub(crate) const SPLIT: &str = "defaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\nfrontend www\n    bind 127.0.0.1:18080\n    default_backend api\n\nbackend app\n    balance roundrobin\n    server s1 127.0.0.1:8080\n";

    /// The other file, with its own defaults.
    pub(crate) const API_FILE: &str = "defaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\nbackend api\n    server a1 127.0.0.1:8081\n";

    fn offline_error(line: u32) -> Vec<Diagnostic> {
        vec![Diagnostic::error(Position::new(line, 5), "offline says no"), Diagnostic::warning(Position::new(1, 1), "w")]
    }

    #[test]
    fn without_haproxy_offline_errors_refuse() {
        let Err(Error::Invalid { message, diagnostics }) = decide(offline_error(4), None) else { panic!() };
        assert_eq!(message, "configuration has 1 error; first at line 4, column 5: offline says no");
        assert!(diagnostics[0].is_error());
        assert_eq!(decide(vec![Diagnostic::warning(Position::new(1, 1), "w")], None).unwrap().len(), 1);
    }

    #[test]
    fn haproxy_accepting_turns_offline_errors_into_warnings() {
        let verdict = Verdict::read("", "haproxy.cfg", 0, "");
        let warnings = decide(offline_error(4), Some(Ok(verdict))).unwrap();
        assert!(warnings.iter().all(|d| d.severity == Severity::Warning), "{warnings:?}");
        assert!(warnings.iter().any(|d| d.message == "offline says no (haproxy -c accepts the configuration)"));
    }

    #[test]
    fn haproxy_rejecting_refuses_with_its_own_diagnostics_first() {
        let text = "a\nb\nc\n    bogus on\n";
        let output = "[ALERT]    (1) : config : parsing [haproxy.cfg:4] : unknown keyword 'bogus' in 'frontend' section\n";
        let verdict = Verdict::read(text, "haproxy.cfg", 1, output);
        let Err(Error::Invalid { message, diagnostics }) = decide(offline_error(2), Some(Ok(verdict))) else { panic!() };
        assert_eq!(message, "haproxy -c rejected the configuration: first at line 4, column 5: unknown keyword 'bogus' in 'frontend' section");
        assert_eq!((diagnostics[0].position, diagnostics[0].is_error()), (Position::new(4, 5), true));
        assert!(diagnostics.iter().filter(|d| d.is_error()).count() == 1, "the unconfirmed offline error is a warning: {diagnostics:?}");
    }

    #[test]
    fn haproxy_that_cannot_run_leaves_the_offline_verdict() {
        let error = CheckError::Killed { bin: "haproxy".into() };
        let Err(Error::Invalid { message, .. }) = decide(offline_error(4), Some(Err(error))) else { panic!() };
        assert!(message.ends_with("; haproxy -c gave no verdict: haproxy was killed by a signal"), "{message}");
    }

    #[test]
    fn real_haproxy_decides_on_a_config_split_across_files() {
        let Some(bin) = crate::haproxy_check::test_haproxy() else { return };
        assert!(haproxy_parse::check(SPLIT).diagnostics.iter().any(Diagnostic::is_error), "the offline check flags line 9");
        let api = std::env::temp_dir().join(format!("fleet-candidate-api-{}.cfg", std::process::id()));
        std::fs::write(&api, API_FILE).unwrap();
        let checker = HaproxyChecker::new(&bin).with_args(["-f".to_string(), api.display().to_string()]);
        let warnings = gate(SPLIT, Some(&checker)).unwrap();
        assert!(warnings.iter().all(|d| !d.is_error()), "{warnings:?}");
        // Both refuse: an unknown keyword.
        let bad = SPLIT.replace("    balance roundrobin\n", "    balance roundrobin\n    frobnicate on\n");
        let Err(Error::Invalid { message, diagnostics }) = gate(&bad, Some(&checker)) else { panic!() };
        assert!(message.starts_with("haproxy -c rejected the configuration: first at line 13, column 5"), "{message}");
        assert_eq!(diagnostics[0].position, Position::new(13, 5));
        // Without the other file HAProxy refuses too: its verdict decides either way.
        assert!(gate(SPLIT, Some(&HaproxyChecker::new(&bin))).is_err());
        let _ = std::fs::remove_file(&api);
    }
}
