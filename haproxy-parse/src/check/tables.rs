//! Keyword tables for HAProxy 2.6, generated once and checked in as Rust data.
//!
//! How they were made (scripts in `probe/`, run against `/usr/sbin/haproxy` 2.6.12 and
//! `/usr/share/doc/haproxy/configuration.txt.gz`):
//! 1. candidate words: every line-leading word of configuration.txt plus every
//!    keyword-looking string (`[a-z0-9][a-z0-9._-]+`) in the haproxy binary;
//! 2. `probe.py` puts the candidates, 20 a file, in a section of each type and keeps those
//!    `haproxy -c` does not report as "unknown keyword"; `verify.py` re-checks each survivor
//!    alone (alerts of neighbouring lines can be misattributed);
//! 3. the `global` list adds the keywords configuration.txt §3 lists that this build lacks
//!    (51Degrees, DeviceAtlas, WURFL, QUIC, zlib, ssl-engine), so configs for other builds of
//!    2.6 do not raise false alarms; `option` names likewise add the §4.1 matrix's;
//! 4. `PROXY_MATRIX` is configuration.txt §4.1 ("X", "X (!)" = named defaults only, "-");
//!    `sev.py` ran every "-" cell through `haproxy -c` (`mk.py` with a plausible argument
//!    where the bare keyword failed on its arguments first) to tell errors ("not allowed")
//!    from warnings ("ignored because ... has no backend capability"); cells HAProxy accepts
//!    silently became `A`. Raw results: `probe/sev.txt`.
//! 5. converters: §7.3.1 headings, checked with `probe_conv.py` (every binary converter is there);
//! 6. bind and server parameters: `probe_params.py` tries every candidate after an address, then
//!    with one and two dummy values to tell flags from valued ones; §5.1/§5.2 keywords this build
//!    lacks (QUIC, `no-verifyhost`) are added.
//!
//! `gen_tables.py` printed the lists below; the hand-written tables at the end cite their source.

use haproxy_model::SectionKind;

/// What HAProxy 2.6 does with a keyword in one kind of proxy section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rule {
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

/// Keywords of the `global` section (sorted).
pub(super) const GLOBAL_KEYWORDS: &[&str] = &[
    "51degrees-cache-size", "51degrees-data-file", "51degrees-property-name-list",
    "51degrees-property-separator", "busy-polling", "ca-base", "chroot", "close-spread-time",
    "cluster-secret", "cpu-map", "crt-base", "daemon", "default-path", "description", "deviceatlas-json-file",
    "deviceatlas-log-level", "deviceatlas-properties-cookie", "deviceatlas-separator",
    "expose-experimental-directives", "external-check", "fd-hard-limit", "gid", "grace", "group",
    "h1-accept-payload-with-any-method", "h1-case-adjust", "h1-case-adjust-file",
    "h2-workaround-bogus-websocket-clients", "hard-stop-after", "httpclient.resolvers.id",
    "httpclient.resolvers.prefer", "httpclient.ssl.ca-file", "httpclient.ssl.verify", "insecure-fork-wanted",
    "insecure-setuid-wanted", "issuers-chain-path", "localpeer", "log", "log-send-hostname", "log-tag",
    "lua-load", "lua-load-per-thread", "lua-prepend-path", "master-worker", "max-spread-checks",
    "maxcompcpuusage", "maxcomprate", "maxconn", "maxconnrate", "maxpipes", "maxsessrate", "maxsslconn",
    "maxsslrate", "maxzlibmem", "mworker-max-reloads", "nbproc", "nbthread", "no-memory-trimming", "node",
    "noepoll", "noevports", "nogetaddrinfo", "nokqueue", "nopoll", "noreuseport", "nosplice",
    "numa-cpu-mapping", "pidfile", "pp2-never-send-local", "presetenv", "profiling.tasks", "quiet",
    "resetenv", "server-state-base", "server-state-file", "set-dumpable", "set-var", "set-var-fmt", "setenv",
    "spread-checks", "ssl-default-bind-ciphers", "ssl-default-bind-ciphersuites", "ssl-default-bind-curves",
    "ssl-default-bind-options", "ssl-default-server-ciphers", "ssl-default-server-ciphersuites",
    "ssl-default-server-options", "ssl-dh-param-file", "ssl-engine", "ssl-load-extra-del-ext",
    "ssl-load-extra-files", "ssl-mode-async", "ssl-propquery", "ssl-provider", "ssl-provider-path",
    "ssl-server-verify", "ssl-skip-self-issued-ca", "stats", "strict-limits", "thread-group", "thread-groups",
    "tune.buffers.limit", "tune.buffers.reserve", "tune.bufsize", "tune.chksize", "tune.comp.maxlevel",
    "tune.fail-alloc", "tune.fd.edge-triggered", "tune.h2.header-table-size", "tune.h2.initial-window-size",
    "tune.h2.max-concurrent-streams", "tune.h2.max-frame-size", "tune.http.cookielen", "tune.http.logurilen",
    "tune.http.maxhdr", "tune.idle-pool.shared", "tune.idletimer", "tune.listener.multi-queue",
    "tune.lua.forced-yield", "tune.lua.maxmem", "tune.lua.service-timeout", "tune.lua.session-timeout",
    "tune.lua.task-timeout", "tune.maxaccept", "tune.maxpollevents", "tune.maxrewrite",
    "tune.pattern.cache-size", "tune.peers.max-updates-at-once", "tune.pipesize", "tune.pool-high-fd-ratio",
    "tune.pool-low-fd-ratio", "tune.quic.frontend.conn-tx-buffers.limit",
    "tune.quic.frontend.max-idle-timeout", "tune.quic.frontend.max-streams-bidi", "tune.quic.retry-threshold",
    "tune.rcvbuf.client", "tune.rcvbuf.server", "tune.recv_enough", "tune.runqueue-depth",
    "tune.sched.low-latency", "tune.sndbuf.client", "tune.sndbuf.server", "tune.ssl.cachesize",
    "tune.ssl.capture-buffer-size", "tune.ssl.capture-cipherlist-size", "tune.ssl.default-dh-param",
    "tune.ssl.force-private-cache", "tune.ssl.hard-maxrecord", "tune.ssl.keylog", "tune.ssl.lifetime",
    "tune.ssl.maxrecord", "tune.ssl.ssl-ctx-cache-size", "tune.vars.check-max-size",
    "tune.vars.global-max-size", "tune.vars.proc-max-size", "tune.vars.reqres-max-size",
    "tune.vars.sess-max-size", "tune.vars.txn-max-size", "tune.zlib.memlevel", "tune.zlib.windowsize", "uid",
    "ulimit-n", "unix-bind", "unsetenv", "user", "wurfl-cache-size", "wurfl-data-file",
    "wurfl-information-list", "wurfl-information-list-separator", "zero-warning",
];

/// First words HAProxy 2.6 recognises in defaults, frontend, listen and backend sections (sorted).
pub(super) const PROXY_KEYWORDS: &[&str] = &[
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
pub(super) const PROXY_MATRIX: &[(&str, [Rule; 4])] = &[
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
pub(super) const PROXY_OPTIONS: &[&str] = &[
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

/// Keywords of `userlist` sections.
pub(super) const USERLIST_KEYWORDS: &[&str] = &[
    "group", "user",
];

/// Keywords of `peers` sections.
pub(super) const PEERS_KEYWORDS: &[&str] = &[
    "bind", "default-bind", "default-server", "disabled", "enabled", "log", "no", "peer", "server", "table",
];

/// Keywords of `resolvers` sections.
pub(super) const RESOLVERS_KEYWORDS: &[&str] = &[
    "accepted_payload_size", "hold", "nameserver", "no", "parse-resolv-conf", "resolution_pool_size",
    "resolve_retries", "timeout",
];

/// Keywords of `mailers` sections.
pub(super) const MAILERS_KEYWORDS: &[&str] = &[
    "mailer", "no", "timeout",
];

/// Keywords of `program` sections.
pub(super) const PROGRAM_KEYWORDS: &[&str] = &[
    "command", "group", "option", "user",
];

/// Keywords of `http-errors` sections.
pub(super) const HTTP_ERRORS_KEYWORDS: &[&str] = &[
    "errorfile", "no",
];

/// Keywords of `ring` sections.
pub(super) const RING_KEYWORDS: &[&str] = &[
    "backing-file", "description", "format", "maxlen", "server", "size", "timeout",
];

/// Keywords of `cache` sections.
pub(super) const CACHE_KEYWORDS: &[&str] = &[
    "max-age", "max-object-size", "max-secondary-entries", "no", "process-vary", "total-max-size",
];

/// Keywords of `fcgi-app` sections.
pub(super) const FCGI_APP_KEYWORDS: &[&str] = &[
    "acl", "docroot", "index", "log-stderr", "option", "pass-header", "path-info", "set-param",
];


/// Sample converters: configuration.txt §7.3.1 headings plus the `map_*` forms haproxy 2.6.12
/// registers (`probe/probe_conv.py`). `lua.*` converters come from Lua scripts and are not listed.
pub(super) const CONVERTERS: &[&str] = &[
    "51d.single", "add", "add_item", "aes_gcm_dec", "and", "b64dec", "base64", "be2dec", "be2hex", "bool",
    "bytes", "capture-req", "capture-res", "concat", "cpl", "crc32", "crc32c", "cut_crlf", "da-csv-conv",
    "debug", "digest", "div", "djb2", "even", "field", "fix_is_valid", "fix_tag_value", "hex", "hex2i",
    "hmac", "host_only", "htonl", "http_date", "iif", "in_table", "ipmask", "json", "json_query",
    "jwt_header_query", "jwt_payload_query", "jwt_verify", "language", "length", "lower", "ltime", "ltrim",
    "map", "map_beg", "map_beg_int", "map_beg_ip", "map_dir", "map_dir_int", "map_dir_ip", "map_dom",
    "map_dom_int", "map_dom_ip", "map_end", "map_end_int", "map_end_ip", "map_int", "map_int_int",
    "map_int_ip", "map_ip", "map_ip_int", "map_ip_ip", "map_reg", "map_reg_int", "map_reg_ip", "map_regm",
    "map_str", "map_str_int", "map_str_ip", "map_sub", "map_sub_int", "map_sub_ip", "mod", "mqtt_field_value",
    "mqtt_is_valid", "mul", "nbsrv", "neg", "not", "odd", "or", "port_only", "protobuf", "regsub", "rtrim",
    "sdbm", "secure_memcmp", "set-var", "sha1", "sha2", "srv_queue", "strcmp", "sub", "table_bytes_in_rate",
    "table_bytes_out_rate", "table_conn_cnt", "table_conn_cur", "table_conn_rate", "table_expire",
    "table_gpc", "table_gpc0", "table_gpc0_rate", "table_gpc1", "table_gpc1_rate", "table_gpc_rate",
    "table_gpt", "table_gpt0", "table_http_err_cnt", "table_http_err_rate", "table_http_fail_cnt",
    "table_http_fail_rate", "table_http_req_cnt", "table_http_req_rate", "table_idle", "table_kbytes_in",
    "table_kbytes_out", "table_server_id", "table_sess_cnt", "table_sess_rate", "table_trackers", "ub64dec",
    "ub64enc", "ungrpc", "unset-var", "upper", "url_dec", "url_enc", "utime", "word", "wt6", "xor", "xxh3",
    "xxh32", "xxh64",
];

/// `bind` parameters that stand alone.
pub(super) const BIND_FLAGS: &[&str] = &[
    "accept-proxy", "allow-0rtt", "defer-accept", "force-sslv3", "force-tlsv10", "force-tlsv11",
    "force-tlsv12", "force-tlsv13", "generate-certificates", "no-ca-names", "no-sslv3", "no-tls-tickets",
    "no-tlsv10", "no-tlsv11", "no-tlsv12", "no-tlsv13", "prefer-client-ciphers", "quic-force-retry", "ssl",
    "strict-sni", "tfo", "transparent", "v4v6", "v6only",
];

/// `bind` parameters followed by one value.
pub(super) const BIND_VALUES: &[&str] = &[
    "accept-netscaler-cip", "alpn", "backlog", "ca-file", "ca-ignore-err", "ca-sign-file", "ca-sign-pass",
    "ca-verify-file", "ciphers", "ciphersuites", "crl-file", "crt", "crt-ignore-err", "crt-list", "curves",
    "ecdhe", "expose-fd", "gid", "group", "id", "interface", "level", "maxconn", "mode", "mss", "name",
    "namespace", "nice", "npn", "process", "proto", "quic-cc-algo", "severity-output", "shards",
    "ssl-max-ver", "ssl-min-ver", "tcp-ut", "thread", "tls-ticket-keys", "uid", "user", "verify",
];

/// `server` / `default-server` parameters that stand alone.
pub(super) const SERVER_FLAGS: &[&str] = &[
    "agent-check", "allow-0rtt", "backup", "check", "check-send-proxy", "check-ssl", "check-via-socks4",
    "disabled", "enabled", "force-sslv3", "force-tlsv10", "force-tlsv11", "force-tlsv12", "force-tlsv13",
    "no-agent-check", "no-backup", "no-check", "no-check-send-proxy", "no-check-ssl", "no-send-proxy",
    "no-send-proxy-v2", "no-send-proxy-v2-ssl", "no-send-proxy-v2-ssl-cn", "no-ssl", "no-ssl-reuse",
    "no-sslv3", "no-tfo", "no-tls-tickets", "no-tlsv10", "no-tlsv11", "no-tlsv12", "no-tlsv13",
    "no-verifyhost", "non-stick", "send-proxy", "send-proxy-v2", "send-proxy-v2-ssl", "send-proxy-v2-ssl-cn",
    "ssl", "ssl-reuse", "stick", "tfo", "tls-tickets",
];

/// `server` / `default-server` parameters followed by one value (`source` by more).
pub(super) const SERVER_VALUES: &[&str] = &[
    "addr", "agent-addr", "agent-inter", "agent-port", "agent-send", "alpn", "ca-file", "check-alpn",
    "check-proto", "check-sni", "ciphers", "ciphersuites", "cookie", "crl-file", "crt", "downinter",
    "error-limit", "fall", "fastinter", "id", "init-addr", "inter", "log-proto", "max-reuse", "maxconn",
    "maxqueue", "minconn", "namespace", "npn", "observe", "on-error", "on-marked-down", "on-marked-up",
    "pool-low-conn", "pool-max-conn", "pool-purge-delay", "port", "proto", "proxy-v2-options", "redir",
    "resolve-net", "resolve-opts", "resolve-prefer", "resolvers", "rise", "slowstart", "sni", "socks4",
    "source", "ssl-max-ver", "ssl-min-ver", "tcp-ut", "track", "usesrc", "verify", "verifyhost", "weight",
    "ws",
];

/// Keywords of sections other than global and proxies, for the sections whose table is
/// complete (log-forward aborts at its first unknown keyword, so it could not be probed).
pub(super) fn section_keywords(kind: &SectionKind) -> Option<&'static [&'static str]> {
    Some(match kind {
        SectionKind::Userlist => USERLIST_KEYWORDS,
        SectionKind::Peers => PEERS_KEYWORDS,
        SectionKind::Resolvers => RESOLVERS_KEYWORDS,
        SectionKind::Mailers => MAILERS_KEYWORDS,
        SectionKind::Program => PROGRAM_KEYWORDS,
        SectionKind::HttpErrors => HTTP_ERRORS_KEYWORDS,
        SectionKind::Ring => RING_KEYWORDS,
        SectionKind::Cache => CACHE_KEYWORDS,
        SectionKind::FcgiApp => FCGI_APP_KEYWORDS,
        _ => return None,
    })
}

/// Global keywords that take `no` / `default` (HAProxy 2.6's alert lists them).
pub(super) const GLOBAL_NEGATABLE: &[&str] =
    &["log", "busy-polling", "set-dumpable", "strict-limits", "insecure-fork-wanted", "numa-cpu-mapping"];

/// Global keywords HAProxy 2.6 recognises only to refuse them, with what to do instead.
pub(super) const GLOBAL_REMOVED: &[(&str, &str)] = &[("nbproc", "threads are used instead of processes")];

/// Proxy keywords HAProxy 2.6 recognises only to refuse them (their alerts, tried one by one).
pub(super) const PROXY_REMOVED: &[(&str, &str)] = &[
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

/// Pre-defined ACLs (configuration.txt §7.4), usable in any condition without an `acl` line.
pub(super) const PREDEFINED_ACLS: &[&str] = &[
    "FALSE", "HTTP", "HTTP_1.0", "HTTP_1.1", "HTTP_2.0", "HTTP_CONTENT", "HTTP_URL_ABS", "HTTP_URL_SLASH",
    "HTTP_URL_STAR", "LOCALHOST", "METH_CONNECT", "METH_DELETE", "METH_GET", "METH_HEAD", "METH_OPTIONS",
    "METH_POST", "METH_PUT", "METH_TRACE", "RDP_COOKIE", "REQ_CONTENT", "TRUE", "WAIT_END",
];
