//! Keywords of the sections that are neither `global` nor proxies (configuration.txt §3.4 to
//! §3.10, §5.3, §6, §10), derived as the module docs of [`super`] say. HAProxy strips a `no` or
//! `default` prefix before it looks a keyword up in any section (see [`super::global::NEGATABLE`]),
//! so the prefixes are not listed here.

use crate::SectionKind;

/// Keywords of `userlist` sections.
pub const USERLIST: &[&str] = &[
    "group", "user",
];

/// Keywords of `peers` sections.
pub const PEERS: &[&str] = &[
    "bind", "default-bind", "default-server", "disabled", "enabled", "log", "peer", "server", "table",
];

/// Keywords of `resolvers` sections.
pub const RESOLVERS: &[&str] = &[
    "accepted_payload_size", "hold", "nameserver", "parse-resolv-conf", "resolution_pool_size",
    "resolve_retries", "timeout",
];

/// Keywords of `mailers` sections.
pub const MAILERS: &[&str] = &[
    "mailer", "timeout",
];

/// Keywords of `program` sections.
pub const PROGRAM: &[&str] = &[
    "command", "group", "option", "user",
];

/// Keywords of `http-errors` sections.
pub const HTTP_ERRORS: &[&str] = &[
    "errorfile",
];

/// Keywords of `ring` sections.
pub const RING: &[&str] = &[
    "backing-file", "description", "format", "maxlen", "server", "size", "timeout",
];

/// Keywords of `cache` sections.
pub const CACHE: &[&str] = &[
    "max-age", "max-object-size", "max-secondary-entries", "process-vary", "total-max-size",
];

/// Keywords of `fcgi-app` sections.
pub const FCGI_APP: &[&str] = &[
    "acl", "docroot", "index", "log-stderr", "option", "pass-header", "path-info", "set-param",
];

/// Keywords of `log-forward` sections (configuration.txt §3.10; each one tried alone with
/// `haproxy -c` 2.6.12, which refuses any other first word with "unknown keyword").
pub const LOG_FORWARD: &[&str] = &["backlog", "bind", "dgram-bind", "log", "maxconn", "timeout"];

/// The complete keyword table of a section that is neither `global` nor a proxy.
pub fn for_section(kind: &SectionKind) -> Option<&'static [&'static str]> {
    Some(match kind {
        SectionKind::Userlist => USERLIST,
        SectionKind::Peers => PEERS,
        SectionKind::Resolvers => RESOLVERS,
        SectionKind::Mailers => MAILERS,
        SectionKind::Program => PROGRAM,
        SectionKind::HttpErrors => HTTP_ERRORS,
        SectionKind::Ring => RING,
        SectionKind::Cache => CACHE,
        SectionKind::FcgiApp => FCGI_APP,
        SectionKind::LogForward => LOG_FORWARD,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted() {
        for table in [USERLIST, PEERS, RESOLVERS, MAILERS, PROGRAM, HTTP_ERRORS, RING, CACHE, FCGI_APP, LOG_FORWARD] {
            crate::keywords::assert_sorted(table);
        }
        assert_eq!(for_section(&SectionKind::Program), Some(PROGRAM));
        assert_eq!(for_section(&SectionKind::Global), None);
    }
}
