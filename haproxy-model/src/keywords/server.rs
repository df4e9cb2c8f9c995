//! `server`, `default-server` and `server-template` parameters (configuration.txt §5.2).
//! `usesrc` and `interface` follow `source <addr>` and take a value of their own.

use super::{arity_in, Arity};

/// Server keywords followed by one value.
pub const VALUE_KEYWORDS: &[&str] = &[
    "addr", "agent-addr", "agent-inter", "agent-port", "agent-send", "alpn", "ca-file", "check-alpn",
    "check-proto", "check-sni", "ciphers", "ciphersuites", "cookie", "crl-file", "crt", "downinter",
    "error-limit", "fall", "fastinter", "id", "init-addr", "inter", "interface", "log-proto", "max-reuse",
    "maxconn", "maxqueue", "minconn", "namespace", "npn", "observe", "on-error", "on-marked-down",
    "on-marked-up", "pool-low-conn", "pool-max-conn", "pool-purge-delay", "port", "proto",
    "proxy-v2-options", "redir", "resolve-net", "resolve-opts", "resolve-prefer", "resolvers", "rise",
    "slowstart", "sni", "socks4", "source", "ssl-max-ver", "ssl-min-ver", "tcp-ut", "track", "usesrc",
    "verify", "verifyhost", "weight", "ws",
];

/// Server keywords that stand alone.
pub const FLAG_KEYWORDS: &[&str] = &[
    "agent-check", "allow-0rtt", "backup", "check", "check-send-proxy", "check-ssl", "check-via-socks4",
    "disabled", "enabled", "force-sslv3", "force-tlsv10", "force-tlsv11", "force-tlsv12", "force-tlsv13",
    "no-agent-check", "no-backup", "no-check", "no-check-send-proxy", "no-check-ssl", "no-send-proxy", "no-send-proxy-v2",
    "no-send-proxy-v2-ssl", "no-send-proxy-v2-ssl-cn", "no-ssl", "no-ssl-reuse", "no-sslv3", "no-tfo",
    "no-tls-tickets", "no-tlsv10", "no-tlsv11", "no-tlsv12", "no-tlsv13", "no-verifyhost", "non-stick",
    "send-proxy", "send-proxy-v2", "send-proxy-v2-ssl", "send-proxy-v2-ssl-cn", "ssl", "ssl-reuse", "stick",
    "tfo", "tls-tickets",
];

/// Whether a server keyword takes a value; `None` for keywords this table does not know.
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
        assert_eq!(arity("weight"), Some(Arity::Value));
        assert_eq!(arity("check"), Some(Arity::Flag));
    }
}
