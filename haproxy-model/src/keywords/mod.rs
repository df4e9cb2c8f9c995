//! Keyword tables taken from HAProxy 2.6's configuration.txt, so that typed views know which
//! parameters take a value and which are flags. Keywords missing from a table are read as
//! flags: the words stay on the line whatever a table says, only their typed reading changes.

pub mod acl;
pub mod bind;
pub mod proxy;
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
