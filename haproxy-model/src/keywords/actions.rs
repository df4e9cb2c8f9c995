//! Rule actions per rule set (configuration.txt §4.2 "http-request" ... "tcp-response content").
//!
//! The lists are HAProxy 2.6.12's own alert for an unknown action ("'http-request' expects
//! 'wait-for-handshake', ..."), copied once. `name(*)` entries match any word starting with
//! `name` (`set-var(txn.x)`, `track-sc0`), as HAProxy's `action_lookup()` does. Actions
//! registered by Lua scripts (`lua.<name>`) cannot be known offline.

/// `http-request` actions.
pub const HTTP_REQUEST: &[&str] = &[
    "wait-for-handshake", "ot-group", "set-log-level", "set-nice", "use-service", "sc-inc-gpc(*)",
    "sc-inc-gpc0(*)", "sc-inc-gpc1(*)", "sc-set-gpt(*)", "sc-set-gpt0(*)", "send-spoe-group", "do-resolve(*)",
    "cache-use", "add-acl(*)", "add-header", "allow", "auth", "capture", "del-acl(*)", "del-header", "del-map(*)",
    "deny", "disable-l7-retry", "early-hint", "normalize-uri", "redirect", "reject", "replace-header",
    "replace-path", "replace-pathq", "replace-uri", "replace-value", "return", "set-header", "set-map(*)",
    "set-method", "set-path", "set-pathq", "set-query", "set-uri", "strict-mode", "tarpit", "track-sc(*)",
    "set-timeout", "wait-for-body", "set-var-fmt(*)", "set-var(*)", "unset-var(*)", "set-dst", "set-dst-port",
    "set-mark", "set-src", "set-src-port", "set-tos", "silent-drop", "set-priority-class", "set-priority-offset",
];

/// `http-response` actions.
pub const HTTP_RESPONSE: &[&str] = &[
    "ot-group", "set-log-level", "set-nice", "sc-inc-gpc(*)", "sc-inc-gpc0(*)", "sc-inc-gpc1(*)", "sc-set-gpt(*)",
    "sc-set-gpt0(*)", "send-spoe-group", "cache-store", "add-acl(*)", "add-header", "allow", "capture",
    "del-acl(*)", "del-header", "del-map(*)", "deny", "redirect", "replace-header", "replace-value", "return",
    "set-header", "set-map(*)", "set-status", "strict-mode", "track-sc(*)", "wait-for-body", "set-var-fmt(*)",
    "set-var(*)", "unset-var(*)", "set-mark", "set-tos", "silent-drop",
];

/// `http-after-response` actions.
pub const HTTP_AFTER_RESPONSE: &[&str] = &[
    "ot-group", "add-header", "allow", "capture", "del-header", "replace-header", "replace-value", "set-header",
    "set-status", "strict-mode", "set-var-fmt(*)", "set-var(*)", "unset-var(*)",
];

/// `tcp-request connection` actions.
pub const TCP_REQUEST_CONNECTION: &[&str] = &[
    "accept", "reject", "capture", "expect-proxy", "expect-netscaler-cip", "track-sc(*)", "sc-inc-gpc(*)",
    "sc-inc-gpc0(*)", "sc-inc-gpc1(*)", "sc-set-gpt(*)", "sc-set-gpt0(*)", "set-var-fmt(*)", "set-var(*)",
    "unset-var(*)", "set-dst", "set-dst-port", "set-mark", "set-src", "set-src-port", "set-tos", "silent-drop",
];

/// `tcp-request content` actions.
pub const TCP_REQUEST_CONTENT: &[&str] = &[
    "accept", "reject", "capture", "expect-proxy", "expect-netscaler-cip", "track-sc(*)", "ot-group",
    "set-log-level", "set-nice", "switch-mode", "use-service", "sc-inc-gpc(*)", "sc-inc-gpc0(*)",
    "sc-inc-gpc1(*)", "sc-set-gpt(*)", "sc-set-gpt0(*)", "send-spoe-group", "do-resolve(*)", "set-var-fmt(*)",
    "set-var(*)", "unset-var(*)", "set-src", "set-src-port", "set-dst", "set-dst-port", "set-mark", "set-tos",
    "silent-drop", "set-priority-class", "set-priority-offset",
];

/// `tcp-response content` actions.
pub const TCP_RESPONSE_CONTENT: &[&str] = &[
    "accept", "close", "reject", "ot-group", "set-log-level", "set-nice", "sc-inc-gpc(*)", "sc-inc-gpc0(*)",
    "sc-inc-gpc1(*)", "sc-set-gpt(*)", "sc-set-gpt0(*)", "send-spoe-group", "set-var-fmt(*)", "set-var(*)",
    "unset-var(*)", "set-mark", "set-tos", "silent-drop",
];

/// Actions HAProxy 2.6 tags as experimental, per rule keyword.
pub const EXPERIMENTAL: &[(&str, &str)] = &[("http-request", "normalize-uri")];

/// HTTP rule actions that refuse the rule unless at least this many words follow the action
/// word (`http-request set-header X` "expects exactly 2 arguments"). HAProxy 2.6 counts the
/// words up to the first empty one, so `set-header X ""` is refused too: each entry was tried
/// with `""` in its last place under `http-request`, `http-response` and
/// `http-after-response` with `haproxy -c` 2.6.12.
pub const REQUIRED_ARGS: &[(&str, usize)] = &[
    ("add-header", 2),
    ("del-header", 1),
    ("early-hint", 2),
    ("replace-header", 3),
    ("replace-path", 2),
    ("replace-pathq", 2),
    ("replace-uri", 2),
    ("replace-value", 3),
    ("set-header", 2),
    ("set-log-level", 1),
    ("set-method", 1),
    ("set-path", 1),
    ("set-pathq", 1),
    ("set-query", 1),
    ("set-uri", 1),
];

/// True when `action` is an entry of `table`: `name(*)` entries match words starting with `name`.
pub fn is_known(table: &[&str], action: &str) -> bool {
    table.iter().any(|known| match known.strip_suffix("(*)") {
        Some(prefix) => action.starts_with(prefix),
        None => *known == action,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_entries_match_their_arguments() {
        assert!(is_known(&["set-var(*)"], "set-var(txn.x)"));
        assert!(is_known(&["track-sc(*)"], "track-sc1"));
        assert!(!is_known(&["deny"], "deny2"));
        assert!(is_known(HTTP_REQUEST, "set-var-fmt(txn.x)"));
    }
}
