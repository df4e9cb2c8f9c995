//! ACL flags (configuration.txt §7.1) and predefined ACLs (§7.4).

/// ACL flags followed by a value: `-f <file>`, `-m <method>`, `-u <id>`.
pub const VALUE_FLAGS: &[&str] = &["-f", "-m", "-u"];

/// ACL flags that stand alone; `--` also ends the flags.
pub const FLAGS: &[&str] = &["--", "-M", "-i", "-n"];

/// ACLs every proxy knows without declaring them.
pub const PREDEFINED: &[&str] = &[
    "FALSE", "HTTP", "HTTP_1.0", "HTTP_1.1", "HTTP_2.0", "HTTP_CONTENT", "HTTP_URL_ABS",
    "HTTP_URL_SLASH", "HTTP_URL_STAR", "LOCALHOST", "METH_CONNECT", "METH_DELETE", "METH_GET", "METH_HEAD",
    "METH_OPTIONS", "METH_POST", "METH_PUT", "METH_TRACE", "RDP_COOKIE", "REQ_CONTENT", "TRUE", "WAIT_END",
];

/// True for an ACL name HAProxy predefines.
pub fn is_predefined(name: &str) -> bool {
    PREDEFINED.binary_search(&name).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predefined_table_is_searchable() {
        crate::keywords::assert_sorted(PREDEFINED);
        assert!(is_predefined("TRUE"));
        assert!(is_predefined("HTTP_1.1"));
        assert!(!is_predefined("true"));
    }
}
