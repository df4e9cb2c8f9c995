//! Proxy settings with a fixed vocabulary (configuration.txt §4.1 and §4.2).

/// `timeout <name>` names accepted in proxies and defaults.
pub const TIMEOUTS: &[&str] = &[
    "check", "client", "client-fin", "connect", "http-keep-alive", "http-request", "queue", "server",
    "server-fin", "tarpit", "tunnel",
];

/// `balance` algorithms; `hdr`, `random` and `rdp-cookie` also accept a `(...)` argument.
pub const BALANCE_ALGORITHMS: &[&str] =
    &["first", "hash", "hdr", "leastconn", "random", "rdp-cookie", "roundrobin", "source", "static-rr", "uri", "url_param"];

/// `mode` values of proxies (`mode log` is refused by 2.6: "unknown proxy mode 'log'").
pub const MODES: &[&str] = &["http", "tcp"];

/// True for a `balance` algorithm HAProxy 2.6 knows, `hdr(host)` style arguments included.
pub fn is_balance_algorithm(algorithm: &str) -> bool {
    let name = algorithm.split_once('(').map_or(algorithm, |(name, _)| name);
    BALANCE_ALGORITHMS.binary_search(&name).is_ok()
}


/// What HAProxy 2.6 does with a keyword in one kind of proxy section ([`MATRIX`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// Allowed.
    A,
    /// Allowed in named defaults sections only (an error in anonymous ones).
    N,
    /// Ignored with a warning.
    W,
    /// Refused with an alert.
    E,
}

use Rule::{A, E, N, W};

/// First words HAProxy 2.6 recognises in defaults, frontend, listen and backend sections (sorted).
pub const KEYWORDS: &[&str] = &[
    "acl", "appsession", "backlog", "balance", "bind", "bind-process", "block", "capture", "cliexp",
    "clitcpka-cnt", "clitcpka-idle", "clitcpka-intvl", "clitimeout", "compression", "contimeout", "cookie",
    "declare", "default-server", "default_backend", "description", "disabled", "dispatch",
    "dynamic-cookie-key", "email-alert", "enabled", "error-log-format", "errorfile", "errorfiles", "errorloc",
    "errorloc302", "errorloc303", "external-check", "filter", "force-persist", "fullconn", "grace",
    "hash-balance-factor", "hash-type", "http-after-response", "http-check", "http-error", "http-request",
    "http-response", "http-reuse", "http-send-name-header", "id", "ignore-persist",
    "load-server-state-from-file", "log", "log-format", "log-format-sd", "log-tag", "max-keep-alive-queue",
    "max-session-srv-conns", "maxconn", "mode", "monitor", "monitor-net", "monitor-uri", "option", "persist",
    "rate-limit", "redirect", "redisp", "redispatch", "reqadd", "reqallow", "reqdel", "reqdeny", "reqiallow",
    "reqidel", "reqideny", "reqipass", "reqirep", "reqitarpit", "reqpass", "reqrep", "reqtarpit", "retries",
    "retry-on", "rspadd", "rspdel", "rspdeny", "rspidel", "rspideny", "rspirep", "rsprep", "server",
    "server-state-file-name", "server-template", "source", "srvexp", "srvtcpka-cnt", "srvtcpka-idle",
    "srvtcpka-intvl", "srvtimeout", "stats", "stick", "stick-table", "tcp-check", "tcp-request",
    "tcp-response", "timeout", "transparent", "unique-id-format", "unique-id-header", "use-fcgi-app",
    "use-server", "use_backend", "usesrc",
];

/// Rules of the proxy keywords matrix (configuration.txt §4.1), checked against haproxy 2.6.12:
/// `[defaults, frontend, listen, backend]`.
pub const MATRIX: &[(&str, [Rule; 4])] = &[
    ("acl", [N, A, A, A]),
    ("backlog", [A, A, A, W]),
    ("balance", [A, W, A, A]),
    ("bind", [E, A, A, W]),
    ("bind-process", [A, A, A, A]),
    ("capture cookie", [E, A, A, W]),
    ("capture request header", [E, A, A, W]),
    ("capture response header", [E, A, A, W]),
    ("clitcpka-cnt", [A, A, A, W]),
    ("clitcpka-idle", [A, A, A, W]),
    ("clitcpka-intvl", [A, A, A, W]),
    ("compression", [A, A, A, A]),
    ("cookie", [A, W, A, A]),
    ("declare capture", [E, A, A, E]),
    ("default-server", [A, E, A, A]),
    ("default_backend", [A, A, A, W]),
    ("description", [E, A, A, A]),
    ("disabled", [A, A, A, A]),
    ("dispatch", [E, W, A, A]),
    ("email-alert from", [A, A, A, A]),
    ("email-alert level", [A, A, A, A]),
    ("email-alert mailers", [A, A, A, A]),
    ("email-alert myhostname", [A, A, A, A]),
    ("email-alert to", [A, A, A, A]),
    ("enabled", [A, A, A, A]),
    ("errorfile", [A, A, A, A]),
    ("errorfiles", [A, A, A, A]),
    ("errorloc", [A, A, A, A]),
    ("errorloc302", [A, A, A, A]),
    ("errorloc303", [A, A, A, A]),
    ("error-log-format", [A, A, A, W]),
    ("force-persist", [E, W, A, A]),
    ("filter", [E, A, A, A]),
    ("fullconn", [A, W, A, A]),
    ("hash-type", [A, W, A, A]),
    ("http-after-response", [N, A, A, A]),
    ("http-check comment", [A, W, A, A]),
    ("http-check connect", [A, W, A, A]),
    ("http-check disable-on-404", [A, W, A, A]),
    ("http-check expect", [A, W, A, A]),
    ("http-check send", [A, W, A, A]),
    ("http-check send-state", [A, W, A, A]),
    ("http-check set-var", [A, W, A, A]),
    ("http-check unset-var", [A, W, A, A]),
    ("http-error", [A, A, A, A]),
    ("http-request", [N, A, A, A]),
    ("http-response", [N, A, A, A]),
    ("http-reuse", [A, W, A, A]),
    ("http-send-name-header", [A, W, A, A]),
    ("id", [E, A, A, A]),
    ("ignore-persist", [E, W, A, A]),
    ("load-server-state-from-file", [A, W, A, A]),
    ("log", [A, A, A, A]),
    ("log-format", [A, A, A, W]),
    ("log-format-sd", [A, A, A, W]),
    ("log-tag", [A, A, A, A]),
    ("max-keep-alive-queue", [A, W, A, A]),
    ("maxconn", [A, A, A, W]),
    ("mode", [A, A, A, A]),
    ("monitor fail", [E, A, A, W]),
    ("monitor-uri", [A, A, A, W]),
    ("option abortonclose", [A, W, A, A]),
    ("option accept-invalid-http-request", [A, A, A, W]),
    ("option accept-invalid-http-response", [A, W, A, A]),
    ("option allbackups", [A, W, A, A]),
    ("option checkcache", [A, W, A, A]),
    ("option clitcpka", [A, A, A, W]),
    ("option contstats", [A, A, A, W]),
    ("option disable-h2-upgrade", [A, A, A, W]),
    ("option dontlog-normal", [A, A, A, W]),
    ("option dontlognull", [A, A, A, W]),
    ("option forwardfor", [A, A, A, A]),
    ("option h1-case-adjust-bogus-client", [A, A, A, W]),
    ("option h1-case-adjust-bogus-server", [A, W, A, A]),
    ("option http-buffer-request", [A, A, A, A]),
    ("option http-ignore-probes", [A, A, A, W]),
    ("option http-keep-alive", [A, A, A, A]),
    ("option http-no-delay", [A, A, A, A]),
    ("option http-pretend-keepalive", [A, W, A, A]),
    ("option http-restrict-req-hdr-names", [A, A, A, A]),
    ("option http-server-close", [A, A, A, A]),
    ("option http-use-proxy-header", [A, A, A, W]),
    ("option httpchk", [A, W, A, A]),
    ("option httpclose", [A, A, A, A]),
    ("option httplog", [A, A, A, W]),
    ("option httpslog", [A, A, A, W]),
    ("option independent-streams", [A, A, A, A]),
    ("option ldap-check", [A, W, A, A]),
    ("option external-check", [A, A, A, A]),
    ("option log-health-checks", [A, W, A, A]),
    ("option log-separate-errors", [A, A, A, W]),
    ("option logasap", [A, A, A, W]),
    ("option mysql-check", [A, W, A, A]),
    ("option nolinger", [A, A, A, A]),
    ("option originalto", [A, A, A, A]),
    ("option persist", [A, W, A, A]),
    ("option pgsql-check", [A, W, A, A]),
    ("option prefer-last-server", [A, W, A, A]),
    ("option redispatch", [A, W, A, A]),
    ("option redis-check", [A, W, A, A]),
    ("option smtpchk", [A, W, A, A]),
    ("option socket-stats", [A, A, A, W]),
    ("option splice-auto", [A, A, A, A]),
    ("option splice-request", [A, A, A, A]),
    ("option splice-response", [A, A, A, A]),
    ("option spop-check", [A, W, A, A]),
    ("option srvtcpka", [A, W, A, A]),
    ("option ssl-hello-chk", [A, W, A, A]),
    ("option tcp-check", [A, W, A, A]),
    ("option tcp-smart-accept", [A, A, A, W]),
    ("option tcp-smart-connect", [A, W, A, A]),
    ("option tcpka", [A, A, A, A]),
    ("option tcplog", [A, A, A, A]),
    ("option transparent", [A, W, A, A]),
    ("option idle-close-on-response", [A, A, A, W]),
    ("external-check command", [A, A, A, A]),
    ("external-check path", [A, A, A, A]),
    ("persist rdp-cookie", [A, A, A, A]),
    ("rate-limit sessions", [A, A, A, W]),
    ("redirect", [E, A, A, A]),
    ("retries", [A, W, A, A]),
    ("retry-on", [A, E, A, A]),
    ("server", [E, E, A, A]),
    ("server-state-file-name", [A, W, A, A]),
    ("server-template", [E, E, A, A]),
    ("source", [A, W, A, A]),
    ("srvtcpka-cnt", [A, W, A, A]),
    ("srvtcpka-idle", [A, W, A, A]),
    ("srvtcpka-intvl", [A, W, A, A]),
    ("stats admin", [E, A, A, A]),
    ("stats auth", [A, A, A, A]),
    ("stats enable", [A, A, A, A]),
    ("stats hide-version", [A, A, A, A]),
    ("stats http-request", [E, A, A, A]),
    ("stats realm", [A, A, A, A]),
    ("stats refresh", [A, A, A, A]),
    ("stats scope", [A, A, A, A]),
    ("stats show-desc", [A, A, A, A]),
    ("stats show-legends", [A, A, A, A]),
    ("stats show-node", [A, A, A, A]),
    ("stats uri", [A, A, A, A]),
    ("stick match", [E, W, A, A]),
    ("stick on", [E, W, A, A]),
    ("stick store-request", [E, W, A, A]),
    ("stick store-response", [E, W, A, A]),
    ("stick-table", [E, A, A, A]),
    ("tcp-check comment", [A, W, A, A]),
    ("tcp-check connect", [A, W, A, A]),
    ("tcp-check expect", [A, W, A, A]),
    ("tcp-check send", [A, W, A, A]),
    ("tcp-check send-lf", [A, W, A, A]),
    ("tcp-check send-binary", [A, W, A, A]),
    ("tcp-check send-binary-lf", [A, W, A, A]),
    ("tcp-check set-var", [A, W, A, A]),
    ("tcp-check unset-var", [A, W, A, A]),
    ("tcp-request connection", [N, A, A, E]),
    ("tcp-request content", [N, A, A, A]),
    ("tcp-request inspect-delay", [N, A, A, A]),
    ("tcp-request session", [N, A, A, E]),
    ("tcp-response content", [N, E, A, A]),
    ("tcp-response inspect-delay", [N, E, A, A]),
    ("timeout check", [A, W, A, A]),
    ("timeout client", [A, A, A, W]),
    ("timeout client-fin", [A, A, A, W]),
    ("timeout connect", [A, W, A, A]),
    ("timeout http-keep-alive", [A, A, A, A]),
    ("timeout http-request", [A, A, A, A]),
    ("timeout queue", [A, W, A, A]),
    ("timeout server", [A, W, A, A]),
    ("timeout server-fin", [A, W, A, A]),
    ("timeout tarpit", [A, A, A, A]),
    ("timeout tunnel", [A, W, A, A]),
    ("transparent", [A, A, A, A]),
    ("unique-id-format", [A, A, A, A]),
    ("unique-id-header", [A, A, A, A]),
    ("use_backend", [E, A, A, W]),
    ("use-fcgi-app", [E, E, A, A]),
    ("use-server", [E, W, A, A]),
];

/// `option` names of proxies (sorted).
pub const OPTIONS: &[&str] = &[
    "abortonclose", "accept-invalid-http-request", "accept-invalid-http-response", "allbackups", "checkcache",
    "clitcpka", "contstats", "disable-h2-upgrade", "dontlog-normal", "dontlognull", "external-check",
    "forceclose", "forwardfor", "h1-case-adjust-bogus-client", "h1-case-adjust-bogus-server",
    "http-buffer-request", "http-ignore-probes", "http-keep-alive", "http-no-delay", "http-pretend-keepalive",
    "http-restrict-req-hdr-names", "http-server-close", "http-tunnel", "http-use-proxy-header", "http_proxy",
    "httpchk", "httpclose", "httplog", "httpslog", "idle-close-on-response", "independent-streams",
    "ldap-check", "log-health-checks", "log-separate-errors", "logasap", "mysql-check", "nolinger",
    "originalto", "persist", "pgsql-check", "prefer-last-server", "redis-check", "redispatch", "smtpchk",
    "socket-stats", "splice-auto", "splice-request", "splice-response", "spop-check", "srvtcpka",
    "ssl-hello-chk", "tcp-check", "tcp-smart-accept", "tcp-smart-connect", "tcpka", "tcplog", "transparent",
];

/// Proxy keywords HAProxy 2.6 recognises only to refuse them (their alerts, tried one by one).
pub const REMOVED: &[(&str, &str)] = &[
    ("appsession", "use stick tables"),
    ("block", "use 'http-request deny'"),
    ("cliexp", "use 'http-request replace-path', 'replace-uri' or 'replace-header'"),
    ("clitimeout", "use 'timeout client'"),
    ("contimeout", "use 'timeout connect'"),
    ("grace", "it was removed in 2.5"),
    ("monitor-net", "use 'http-request return status 200 if { src ... }'"),
    ("redisp", "use 'option redispatch'"),
    ("redispatch", "use 'option redispatch'"),
    ("reqadd", "use 'http-request add-header'"),
    ("reqallow", "use 'http-request allow'"),
    ("reqdel", "use 'http-request del-header'"),
    ("reqdeny", "use 'http-request deny'"),
    ("reqiallow", "use 'http-request allow'"),
    ("reqidel", "use 'http-request del-header'"),
    ("reqideny", "use 'http-request deny'"),
    ("reqipass", "it has no replacement"),
    ("reqirep", "use 'http-request replace-header', 'replace-path' or 'replace-uri'"),
    ("reqitarpit", "use 'http-request tarpit'"),
    ("reqpass", "it has no replacement"),
    ("reqrep", "use 'http-request replace-header', 'replace-path' or 'replace-uri'"),
    ("reqtarpit", "use 'http-request tarpit'"),
    ("rspadd", "use 'http-response add-header'"),
    ("rspdel", "use 'http-response del-header'"),
    ("rspdeny", "use 'http-response deny'"),
    ("rspidel", "use 'http-response del-header'"),
    ("rspideny", "use 'http-response deny'"),
    ("rspirep", "use 'http-response replace-header'"),
    ("rsprep", "use 'http-response replace-header'"),
    ("srvexp", "use 'http-response replace-header'"),
    ("srvtimeout", "use 'timeout server'"),
];

/// The word after a proxy keyword where HAProxy 2.6 accepts a closed set. Each list is
/// HAProxy 2.6.12's own alert for a wrong word, completed with the §4.1 matrix rows and §4.2
/// headings where the alert leaves some out (`stats http-request`, `stats show-modules`,
/// `tcp-check send-lf` ...). `stats socket|timeout|maxconn|bind-process` belong to `global`.
/// `(keyword, index of the checked word, allowed values)`; `name(*)` matches a prefix.
pub const CLOSED_SETS: &[(&str, usize, &[&str])] = &[
    ("mode", 1, MODES),
    ("compression", 1, &["algo", "type", "offload"]),
    (
        "stats",
        1,
        &[
            "admin", "auth", "enable", "hide-version", "http-request", "realm", "refresh", "scope", "show-desc",
            "show-legends", "show-modules", "show-node", "uri",
        ],
    ),
    ("hash-type", 1, &["map-based", "consistent"]),
    ("hash-type", 2, &["sdbm", "djb2", "crc32", "wt6"]),
    ("hash-type", 3, &["avalanche"]),
    ("http-reuse", 1, &["never", "safe", "aggressive", "always"]),
    ("load-server-state-from-file", 1, &["global", "local", "none"]),
    (
        "http-check",
        1,
        &[
            "disable-on-404", "send-state", "comment", "connect", "send", "expect", "set-var-fmt(*)", "set-var(*)",
            "unset-var(*)",
        ],
    ),
    (
        "tcp-check",
        1,
        &[
            "comment", "connect", "send", "send-lf", "send-binary", "send-binary-lf", "expect", "set-var-fmt(*)",
            "set-var(*)", "unset-var(*)",
        ],
    ),
    ("stick", 1, &["on", "match", "store-request", "store-response"]),
    ("capture", 1, &["cookie", "request", "response"]),
    ("monitor", 1, &["fail"]),
    ("persist", 1, &["rdp-cookie(*)"]),
    ("rate-limit", 1, &["sessions"]),
    ("external-check", 1, &["command", "path"]),
    ("declare", 1, &["capture"]),
    ("email-alert", 1, &["from", "level", "mailers", "myhostname", "to"]),
];

/// Proxy statement keywords that may end with an `if` / `unless` condition (configuration.txt
/// §4.2, §7.2).
pub const CONDITIONAL: &[&str] = &[
    "http-request",
    "http-response",
    "http-after-response",
    "tcp-request",
    "tcp-response",
    "use_backend",
    "use-server",
    "redirect",
    "stick",
    "monitor",
    "force-persist",
    "ignore-persist",
    "stats",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_balance_algorithms() {
        crate::keywords::assert_sorted(TIMEOUTS);
        crate::keywords::assert_sorted(BALANCE_ALGORITHMS);
        crate::keywords::assert_sorted(KEYWORDS);
        crate::keywords::assert_sorted(OPTIONS);
        assert!(is_balance_algorithm("roundrobin"));
        assert!(is_balance_algorithm("hdr(host)"));
        assert!(is_balance_algorithm("random(2)"));
        assert!(!is_balance_algorithm("round-robin"));
    }
}
