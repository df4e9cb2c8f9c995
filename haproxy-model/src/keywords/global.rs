//! `global` section keywords (configuration.txt §3), derived as the module docs of
//! [`super`] say.

/// Keywords of the `global` section (sorted).
pub const KEYWORDS: &[&str] = &[
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

/// Keywords that take a `no` or `default` prefix, in every section: HAProxy 2.6 strips the prefix
/// before any section parser runs and refuses it before other keywords with "negation/default
/// currently supported only for options, log, busy-polling, set-dumpable, strict-limits,
/// insecure-fork-wanted and numa-cpu-mapping" (tried in every section type with `haproxy -c`).
pub const NEGATABLE: &[&str] =
    &["busy-polling", "insecure-fork-wanted", "log", "numa-cpu-mapping", "option", "set-dumpable", "strict-limits"];

/// Global keywords HAProxy 2.6 recognises only to refuse them, with what to do instead.
pub const REMOVED: &[(&str, &str)] = &[("nbproc", "threads are used instead of processes")];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_searchable() {
        crate::keywords::assert_sorted(KEYWORDS);
        crate::keywords::assert_sorted(NEGATABLE);
        assert!(KEYWORDS.binary_search(&"maxconn").is_ok());
    }
}
