//! Proxy settings with a fixed vocabulary (configuration.txt §4.1 and §4.2).

/// `timeout <name>` names accepted in proxies and defaults.
pub const TIMEOUTS: &[&str] = &[
    "check", "client", "client-fin", "connect", "http-keep-alive", "http-request", "queue", "server",
    "server-fin", "tarpit", "tunnel",
];

/// `balance` algorithms; `hdr`, `random` and `rdp-cookie` also accept a `(...)` argument.
pub const BALANCE_ALGORITHMS: &[&str] =
    &["first", "hash", "hdr", "leastconn", "random", "rdp-cookie", "roundrobin", "source", "static-rr", "uri", "url_param"];

/// `mode` values.
pub const MODES: &[&str] = &["http", "log", "tcp"];

/// True for a `balance` algorithm HAProxy 2.6 knows, `hdr(host)` style arguments included.
pub fn is_balance_algorithm(algorithm: &str) -> bool {
    let name = algorithm.split_once('(').map_or(algorithm, |(name, _)| name);
    BALANCE_ALGORITHMS.binary_search(&name).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_balance_algorithms() {
        crate::keywords::assert_sorted(TIMEOUTS);
        crate::keywords::assert_sorted(BALANCE_ALGORITHMS);
        assert!(is_balance_algorithm("roundrobin"));
        assert!(is_balance_algorithm("hdr(host)"));
        assert!(is_balance_algorithm("random(2)"));
        assert!(!is_balance_algorithm("round-robin"));
    }
}
