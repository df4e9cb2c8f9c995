//! `bind` parameters (configuration.txt §5.1).

use super::{arity_in, Arity};

/// Bind keywords followed by one value.
pub const VALUE_KEYWORDS: &[&str] = &[
    "accept-netscaler-cip", "alpn", "backlog", "ca-file", "ca-ignore-err", "ca-sign-file", "ca-sign-pass",
    "ca-verify-file", "ciphers", "ciphersuites", "crl-file", "crt", "crt-ignore-err", "crt-list", "curves",
    "ecdhe", "expose-fd", "gid", "group", "id", "interface", "level", "maxconn", "mode", "mss", "name",
    "namespace", "nice", "npn", "process", "proto", "quic-cc-algo", "severity-output", "shards",
    "ssl-max-ver", "ssl-min-ver", "tcp-ut", "thread", "tls-ticket-keys", "uid", "user", "verify",
];

/// Bind keywords that stand alone.
pub const FLAG_KEYWORDS: &[&str] = &[
    "accept-proxy", "allow-0rtt", "defer-accept", "force-sslv3", "force-tlsv10", "force-tlsv11",
    "force-tlsv12", "force-tlsv13", "generate-certificates", "no-ca-names", "no-sslv3", "no-tls-tickets",
    "no-tlsv10", "no-tlsv11", "no-tlsv12", "no-tlsv13", "prefer-client-ciphers", "quic-force-retry", "ssl",
    "strict-sni", "tfo", "transparent", "v4v6", "v6only",
];

/// Whether a bind keyword takes a value; `None` for keywords this table does not know.
pub fn arity(keyword: &str) -> Option<Arity> {
    arity_in(VALUE_KEYWORDS, FLAG_KEYWORDS, keyword)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_and_disjoint() {
        crate::keywords::assert_sorted(VALUE_KEYWORDS);
        crate::keywords::assert_sorted(FLAG_KEYWORDS);
        assert!(VALUE_KEYWORDS.iter().all(|k| !FLAG_KEYWORDS.contains(k)));
        assert_eq!(arity("crt"), Some(Arity::Value));
        assert_eq!(arity("ssl"), Some(Arity::Flag));
        assert_eq!(arity("made-up"), None);
    }
}
