//! The node side of keepalived (`fleet-agent --keepalived`) as pure decisions; the agent does
//! the I/O.
//!
//! ```text
//! desired bundle --node_file(agent name)--> keepalived/<agent>.conf, or nothing to do
//!   -> keepalived -t -f <staged copy> (check_message on refusal: the version is rejected)
//!   -> installed at --keepalived-config -> reload -> verified
//! keepalived not running -> stale_addresses(declared_addresses(file), ip -j addr) removed
//!   -> keepalived started
//! HAProxy's health -> track_value -> <state>/keepalived/haproxy.track (vrrp_track_file)
//! notify FIFO lines -> parse_notify_line -> instance states (heartbeat)
//! `ip -j addr show` -> interfaces_from_ip_json -> NodeInterface list (heartbeat)
//! ```

use std::net::IpAddr;

use serde::Deserialize;

use crate::bundle::{Bundle, BundleFile};
use crate::vip::{node_config_path, NodeInterface, VrrpState};

/// The agent's keepalived folder inside its state directory.
pub const STATE_DIR: &str = "keepalived";
/// The track file inside [`STATE_DIR`]: `0` while this node's HAProxy runs, `1` when not.
pub const TRACK_FILE: &str = "haproxy.track";
/// The notify FIFO inside [`STATE_DIR`], which keepalived writes instance states to.
pub const NOTIFY_FIFO: &str = "notify.fifo";

/// What the track file holds: `0` (keepalived.conf(5): with `weight 0`, zero is OK) while
/// this node's HAProxy runs, `1` (a failure: the instance goes to FAULT) when it does not.
pub fn track_value(haproxy_running: bool) -> &'static str {
    if haproxy_running {
        "0\n"
    } else {
        "1\n"
    }
}

/// The keepalived.conf of agent `agent` in `bundle` (`keepalived/<agent>.conf`), if it has one.
pub fn node_file<'a>(bundle: &'a Bundle, agent: &str) -> Option<&'a BundleFile> {
    bundle.file(&node_config_path(agent).ok()?)
}

/// One line of keepalived's notify FIFO: `INSTANCE "<name>" MASTER|BACKUP|FAULT|STOP <prio>`
/// (keepalived 2.2; seen in a namespace: `INSTANCE "VI_1" BACKUP 100`) as the instance's name
/// and state. `GROUP` lines (sync groups) and anything else are `None`.
pub fn parse_notify_line(line: &str) -> Option<(String, VrrpState)> {
    let rest = line.trim_end().strip_prefix("INSTANCE ")?;
    let (name, rest) = match rest.strip_prefix('"') {
        Some(quoted) => {
            let end = quoted.find('"')?;
            (&quoted[..end], &quoted[end + 1..])
        }
        None => rest.split_once(' ')?,
    };
    let state = VrrpState::parse(rest.split_whitespace().next()?)?;
    Some((name.to_string(), state))
}

/// The addresses (without prefix) the `virtual_ipaddress` blocks of every `vrrp_instance` of
/// `text` declare: what keepalived adds when it becomes MASTER. Entries that are not an
/// address (a `$VAR`) are skipped.
pub fn declared_addresses(text: &str) -> Vec<IpAddr> {
    let document = haproxy_parse::keepalived::parse(text).document;
    let mut addresses: Vec<IpAddr> = document
        .vrrp_instances()
        .iter()
        .flat_map(|instance| instance.virtual_ipaddresses.iter())
        .filter_map(|vip| vip.address.split('/').next()?.parse().ok())
        .collect();
    addresses.dedup();
    addresses
}

/// Of `declared` addresses, those an interface still holds, as `(interface, "address/prefix")`
/// for `ip addr del`: what a keepalived killed with SIGKILL left behind, which must not keep
/// answering ARP while another node holds the address.
pub fn stale_addresses(declared: &[IpAddr], interfaces: &[NodeInterface]) -> Vec<(String, String)> {
    let mut stale = Vec::new();
    for interface in interfaces {
        for address in &interface.addresses {
            let ip = address.split('/').next().and_then(|a| a.parse::<IpAddr>().ok());
            if ip.is_some_and(|ip| declared.contains(&ip)) {
                stale.push((interface.name.clone(), address.clone()));
            }
        }
    }
    stale
}

/// `ip -j addr show`'s objects, the fields read.
#[derive(Deserialize)]
struct IpLink {
    ifname: String,
    #[serde(default)]
    flags: Vec<String>,
    #[serde(default)]
    operstate: String,
    #[serde(default)]
    addr_info: Vec<IpAddrInfo>,
}

#[derive(Deserialize)]
struct IpAddrInfo {
    local: Option<String>,
    prefixlen: Option<u8>,
}

/// The interfaces of `ip -j addr show` (iproute2's JSON): name, operationally up (`operstate`
/// UP, or UNKNOWN with carrier (`LOWER_UP`), as loopback shows), addresses with prefix.
/// Errors: text that is not that JSON.
pub fn interfaces_from_ip_json(json: &str) -> Result<Vec<NodeInterface>, serde_json::Error> {
    let links: Vec<IpLink> = serde_json::from_str(json)?;
    Ok(links
        .into_iter()
        .map(|link| NodeInterface {
            up: link.operstate == "UP" || (link.operstate == "UNKNOWN" && link.flags.iter().any(|f| f == "LOWER_UP")),
            addresses: link
                .addr_info
                .iter()
                .filter_map(|info| Some(format!("{}/{}", info.local.as_ref()?, info.prefixlen?)))
                .collect(),
            name: link.ifname,
        })
        .collect())
}

/// keepalived's output (`keepalived -t`, or its log when a reload fails) reduced to what tells
/// the operator why: its lines, trimmed, blank ones dropped; the exit status when it said
/// nothing.
pub fn check_message(output: &str, status: &str) -> String {
    let lines: Vec<&str> = output.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if lines.is_empty() {
        format!("keepalived -t failed ({status})")
    } else {
        format!("keepalived -t failed ({status}): {}", lines.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::{BundlePath, FileKind};

    #[test]
    fn notify_lines_as_keepalived_2_2_writes_them() {
        assert_eq!(parse_notify_line("INSTANCE \"VI_1\" MASTER 100\n"), Some(("VI_1".into(), VrrpState::Master)));
        assert_eq!(parse_notify_line("INSTANCE \"web vip\" FAULT 0"), Some(("web vip".into(), VrrpState::Fault)));
        assert_eq!(parse_notify_line("INSTANCE VI_2 BACKUP 50"), Some(("VI_2".into(), VrrpState::Backup)));
        assert_eq!(parse_notify_line("INSTANCE \"VI_1\" STOP 100"), Some(("VI_1".into(), VrrpState::Stop)));
        assert_eq!(parse_notify_line("GROUP \"G1\" MASTER"), None);
        assert_eq!(parse_notify_line("INSTANCE \"VI_1\" DELETED 100"), None);
        assert_eq!(parse_notify_line("INSTANCE \"VI_1"), None);
    }

    #[test]
    fn declared_addresses_and_the_stale_ones_left_on_interfaces() {
        let text = "vrrp_instance A {\n  interface eth0\n  virtual_ipaddress {\n    198.18.0.50/24 dev eth0\n    2001:db8::5\n  }\n}\n\
                    vrrp_instance B {\n  virtual_ipaddress {\n    198.18.0.51\n    $VIP\n  }\n}\n";
        let declared = declared_addresses(text);
        assert_eq!(declared, ["198.18.0.50", "2001:db8::5", "198.18.0.51"].map(|a| a.parse::<IpAddr>().unwrap()));
        let interfaces = vec![
            NodeInterface { name: "eth0".into(), up: true, addresses: vec!["198.18.0.11/24".into(), "198.18.0.50/24".into()] },
            NodeInterface { name: "eth1".into(), up: true, addresses: vec!["2001:db8::5/128".into()] },
        ];
        assert_eq!(
            stale_addresses(&declared, &interfaces),
            [("eth0".to_string(), "198.18.0.50/24".to_string()), ("eth1".to_string(), "2001:db8::5/128".to_string())]
        );
    }

    #[test]
    fn ip_json_is_read() {
        let json = r#"[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"operstate":"UNKNOWN",
            "addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8},{"family":"inet6","local":"::1","prefixlen":128}]},
            {"ifindex":2,"link":"va","ifname":"vb","flags":["BROADCAST","UP"],"operstate":"DOWN","addr_info":[]},
            {"ifindex":3,"ifname":"va","flags":["UP","LOWER_UP"],"operstate":"UP","addr_info":[{"local":"10.99.0.1","prefixlen":24}]}]"#;
        let interfaces = interfaces_from_ip_json(json).unwrap();
        assert_eq!(interfaces.len(), 3);
        assert_eq!((interfaces[0].name.as_str(), interfaces[0].up), ("lo", true));
        assert_eq!(interfaces[0].addresses, ["127.0.0.1/8", "::1/128"]);
        assert!(!interfaces[1].up && interfaces[1].addresses.is_empty());
        assert_eq!(interfaces[2].addresses, ["10.99.0.1/24"]);
        assert!(interfaces_from_ip_json("not json").is_err());
    }

    #[test]
    fn the_node_file_is_found_by_agent_name() {
        let files = vec![
            BundleFile::new(BundlePath::new("haproxy.cfg").unwrap(), FileKind::Config, b"global\n".to_vec()),
            BundleFile::new(BundlePath::new("keepalived/lb1.conf").unwrap(), FileKind::Keepalived, b"# lb1\n".to_vec()),
        ];
        let bundle = Bundle::new(files).unwrap();
        assert_eq!(node_file(&bundle, "lb1").map(|f| f.content.as_slice()), Some(&b"# lb1\n"[..]));
        assert!(node_file(&bundle, "lb2").is_none() && node_file(&bundle, "a/b").is_none());
        assert_eq!(track_value(true), "0\n");
        assert_eq!(track_value(false), "1\n");
        assert_eq!(check_message("\n  line 1 \n", "exit status 5"), "keepalived -t failed (exit status 5): line 1");
    }
}
