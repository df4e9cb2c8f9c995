//! `stick-table type <type> [len <l>] size <s> [expire <t>] [nopurge] [peers <p>]
//! [srvkey <k>] [write-to <t>] [store <data>]*` (configuration.txt §4.2 "stick-table").

use serde::{Deserialize, Serialize};

use crate::Line;

/// A typed `stick-table` line. Options this view does not know are kept in `other`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct StickTable {
    /// `ip`, `ipv6`, `integer`, `string`, `binary`.
    pub key_type: Option<String>,
    /// `len <length>` for string and binary keys.
    pub len: Option<String>,
    /// `size <size>` (with `k`, `m`, `g` suffixes).
    pub size: Option<String>,
    /// `expire <time>`.
    pub expire: Option<String>,
    /// `nopurge`.
    pub nopurge: bool,
    /// `peers <name>`.
    pub peers: Option<String>,
    /// `srvkey <key>`.
    pub srvkey: Option<String>,
    /// `write-to <table>`.
    pub write_to: Option<String>,
    /// Every `store` list, split at commas (`gpc0`, `http_req_rate(10s)`).
    pub store: Vec<String>,
    /// Words this view does not recognise, in order.
    pub other: Vec<String>,
}

impl StickTable {
    /// Reads a `stick-table` line.
    pub fn from_line(line: &Line) -> Option<StickTable> {
        if line.keyword()? != "stick-table" {
            return None;
        }
        let values: Vec<String> = line.values().into_iter().map(|v| v.into_owned()).collect();
        let mut table = StickTable::default();
        let mut i = 1;
        while i < values.len() {
            let next = values.get(i + 1).cloned();
            let slot = match values[i].as_str() {
                "type" => &mut table.key_type,
                "len" => &mut table.len,
                "size" => &mut table.size,
                "expire" => &mut table.expire,
                "peers" => &mut table.peers,
                "srvkey" => &mut table.srvkey,
                "write-to" => &mut table.write_to,
                "store" => {
                    table.store.extend(next.iter().flat_map(|n| split_store(n)));
                    i += 2;
                    continue;
                }
                "nopurge" => {
                    table.nopurge = true;
                    i += 1;
                    continue;
                }
                other => {
                    table.other.push(other.to_string());
                    i += 1;
                    continue;
                }
            };
            *slot = next;
            i += 2;
        }
        Some(table)
    }
}

/// Splits `a,b(10s),c` at commas outside parentheses.
fn split_store(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.push(current);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_stick_table() {
        let l = Line::statement("", &["stick-table", "type", "ip", "size", "1m", "expire", "10s", "nopurge", "peers", "mypeers", "store", "gpc0,http_req_rate(10s)", "store", "conn_cnt"]);
        let t = StickTable::from_line(&l).unwrap();
        assert_eq!(t.key_type.as_deref(), Some("ip"));
        assert_eq!(t.size.as_deref(), Some("1m"));
        assert_eq!(t.expire.as_deref(), Some("10s"));
        assert!(t.nopurge);
        assert_eq!(t.peers.as_deref(), Some("mypeers"));
        assert_eq!(t.store, vec!["gpc0", "http_req_rate(10s)", "conn_cnt"]);
        assert!(t.other.is_empty());
    }
}
