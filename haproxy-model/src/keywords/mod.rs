//! The keyword tables of HAProxy 2.6: the only copy. Typed views read them to know which
//! parameters take a value; the offline checker of `haproxy-parse` imports them to tell known
//! keywords from unknown ones. Keywords missing from a bind/server table are read as flags by
//! the views: the words stay on the line whatever a table says, only their typed reading changes.
//!
//! How they were made (scripts in `haproxy-parse/tools/`, run against `/usr/sbin/haproxy` 2.6.12
//! and `/usr/share/doc/haproxy/configuration.txt.gz`):
//! 1. candidate words: every line-leading word of configuration.txt plus every
//!    keyword-looking string (`[a-z0-9][a-z0-9._-]+`) in the haproxy binary;
//! 2. `probe.py` puts the candidates, 20 a file, in a section of each type and keeps those
//!    `haproxy -c` does not report as "unknown keyword"; `verify.py` re-checks each survivor
//!    alone (alerts of neighbouring lines can be misattributed);
//! 3. the `global` list adds the keywords configuration.txt §3 lists that this build lacks
//!    (51Degrees, DeviceAtlas, WURFL, QUIC, zlib, ssl-engine), so configs for other builds of
//!    2.6 do not raise false alarms; `option` names likewise add the §4.1 matrix's;
//! 4. [`proxy::MATRIX`] is configuration.txt §4.1 ("X", "X (!)" = named defaults only, "-");
//!    `sev.py` ran every "-" cell through `haproxy -c` (`mk.py` with a plausible argument
//!    where the bare keyword failed on its arguments first) to tell errors ("not allowed")
//!    from warnings ("ignored because ... has no backend capability"); cells HAProxy accepts
//!    silently became `A`. Raw results: `tools/sev.txt`.
//! 5. converters: §7.3.1 headings, checked with `probe_conv.py` (every binary converter is there);
//! 6. bind and server parameters: `probe_params.py` tries every candidate after an address, then
//!    with one and two dummy values to tell flags from valued ones; §5.1/§5.2 keywords this build
//!    lacks (QUIC, `no-verifyhost`) are added;
//! 7. the `no` / `default` prefixes are stripped by HAProxy before any section parser runs, in
//!    every section ([`global::NEGATABLE`]), so no section table lists them (tried in each
//!    section type: `no option start-on-reload` is a `program` keyword, `no` alone is refused).
//!
//! `gen_tables.py` printed the generated lists; the hand-written tables cite their source.

pub mod acl;
pub mod actions;
pub mod bind;
pub mod global;
pub mod proxy;
pub mod sample;
pub mod sections;
pub mod server;

/// How a parameter keyword on a `bind` / `server` line is followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arity {
    /// A flag: the keyword alone (`ssl`, `check`, `backup`).
    Flag,
    /// The keyword and one value word (`crt <cert>`, `weight <w>`).
    Value,
}

/// Looks `keyword` up in a sorted table of value-taking keywords and a sorted table of flags.
pub(crate) fn arity_in(values: &[&str], flags: &[&str], keyword: &str) -> Option<Arity> {
    if values.binary_search(&keyword).is_ok() {
        Some(Arity::Value)
    } else if flags.binary_search(&keyword).is_ok() {
        Some(Arity::Flag)
    } else {
        None
    }
}

#[cfg(test)]
pub(crate) fn assert_sorted(table: &[&str]) {
    for pair in table.windows(2) {
        assert!(pair[0] < pair[1], "table not sorted or has duplicates at {pair:?}");
    }
}
