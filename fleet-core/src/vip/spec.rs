//! A cluster's VRRP groups as the API takes them, and the pure step from groups + the agents'
//! reports to each node's keepalived.conf ([`node_files`]).
//!
//! ```text
//! NewVip (API) --check--> VipSpec (stored; the auth secret sealed apart)
//! [VipSpec] + agents (name, reported interfaces, keepalived paths) + secrets
//!   -> per agent named in any group: NodeSpec (haproxy-model) -> render_node -> text
//! ```
//!
//! What a node needs from its agent's heartbeats: the interface's address of the group's
//! family (unicast source and peers), and, when a group follows HAProxy, the agent's track
//! file; the notify FIFO when the agent reports one (instance states). Missing reports are
//! clear errors naming the agent, never a config that silently does less.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use haproxy_model::keepalived::{InstanceSpec, NodeSpec, TrackFileSpec, Unicast, VirtualAddress, VrrpVersion};
use serde::{Deserialize, Serialize};

use super::report::{KeepalivedReport, NodeInterface};
use crate::error::{Error, Result};

/// The track file block every generated config names.
pub const TRACK_FILE_NAME: &str = "fleet_haproxy";

/// One node of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VipNode {
    /// The agent's name in the cluster.
    pub agent: String,
    /// VRRP priority, 1..=254; the highest holds the addresses.
    pub priority: u8,
    /// This node's interface, when not the group's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
}

/// `POST /api/v1/clusters/{id}/vips` and `PUT .../vips/{vip_id}`: a VRRP group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewVip {
    /// Unique in the cluster; the `vrrp_instance` name (letters, digits, `_`, `-`, `.`).
    pub name: String,
    /// Virtual addresses with prefix (`198.18.0.50/24`, `2001:db8::50/64`), optionally
    /// `ADDRESS/PREFIX dev IFACE`; one family per group.
    pub addresses: Vec<String>,
    /// Virtual router id, 1..=255, unique per interface.
    pub vrid: u8,
    /// The interface that carries adverts and addresses (nodes may override it).
    pub interface: String,
    /// Seconds between adverts (default 1): whole seconds with VRRP version 2, down to 0.01
    /// with version 3.
    #[serde(default = "one_second")]
    pub advert_interval: f64,
    /// 2 or 3; default 3 for IPv6 or a fractional advert interval, else 2.
    #[serde(default)]
    pub version: Option<u8>,
    /// A higher priority takes the addresses back (default true).
    #[serde(default = "yes")]
    pub preempt: bool,
    /// Each node gives up the addresses the moment its own HAProxy stops (default true): the
    /// agent writes a track file keepalived watches.
    #[serde(default = "yes")]
    pub track_haproxy: bool,
    /// Unicast adverts between the nodes' reported addresses instead of multicast.
    #[serde(default)]
    pub unicast: bool,
    /// VRRPv2 `auth_pass` (1 to 8 characters), stored sealed and never returned. On `PUT`,
    /// absent keeps the stored one and `""` removes it.
    #[serde(default)]
    pub auth_secret: Option<String>,
    /// The nodes.
    pub nodes: Vec<VipNode>,
}

fn one_second() -> f64 {
    1.0
}

fn yes() -> bool {
    true
}

/// A stored group (no secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Vip {
    /// Random id below 2^53.
    pub id: i64,
    /// The cluster.
    pub cluster_id: i64,
    /// Its name.
    pub name: String,
    /// Virtual addresses as given (canonical spelling).
    pub addresses: Vec<String>,
    /// Virtual router id.
    pub vrid: u8,
    /// Default interface.
    pub interface: String,
    /// Seconds between adverts.
    pub advert_interval: f64,
    /// VRRP version used.
    pub version: u8,
    /// Preemption.
    pub preempt: bool,
    /// Follows each node's HAProxy.
    pub track_haproxy: bool,
    /// Unicast adverts.
    pub unicast: bool,
    /// Whether an auth secret is set.
    pub authenticated: bool,
    /// The nodes.
    pub nodes: Vec<VipNode>,
    /// Who created it.
    pub created_by: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

impl Vip {
    /// A group `id` of `cluster_id` made by `actor` at `now`, with `new`'s fields as checked.
    pub fn new(id: i64, cluster_id: i64, new: &NewVip, checked: Checked, actor: &str, now: i64) -> Vip {
        let mut vip = Vip {
            id,
            cluster_id,
            name: String::new(),
            addresses: Vec::new(),
            vrid: 0,
            interface: String::new(),
            advert_interval: 0.0,
            version: 0,
            preempt: false,
            track_haproxy: false,
            unicast: false,
            authenticated: new.auth_secret.as_deref().is_some_and(|s| !s.is_empty()),
            nodes: Vec::new(),
            created_by: actor.to_string(),
            created_at: now,
            updated_at: now,
        };
        vip.set(new, checked, now);
        vip
    }

    /// Takes every field of `new` (as checked) but the secret's presence, changed at `now`.
    pub fn set(&mut self, new: &NewVip, checked: Checked, now: i64) {
        self.name = new.name.clone();
        self.addresses = checked.addresses;
        self.vrid = new.vrid;
        self.interface = new.interface.clone();
        self.advert_interval = new.advert_interval;
        self.version = checked.version;
        self.preempt = new.preempt;
        self.track_haproxy = new.track_haproxy;
        self.unicast = new.unicast;
        self.nodes = new.nodes.clone();
        self.updated_at = now;
    }
}

/// What a declared group (a site file's, say) changes in the stored one: the names of the
/// fields that differ, compared in their checked form (canonical addresses, the version
/// decided). The secret is sealed, so only its presence compares: `auth_secret` absent keeps
/// the stored one (no difference), `""` against a stored secret is a difference, and so is a
/// secret against none. [`Error::Invalid`] when `declared` does not pass [`NewVip::check`].
pub fn differences(declared: &NewVip, stored: &Vip) -> Result<Vec<&'static str>> {
    let checked = declared.check()?;
    let mut changed = Vec::new();
    let fields: [(&'static str, bool); 10] = [
        ("name", declared.name != stored.name),
        ("addresses", checked.addresses != stored.addresses),
        ("vrid", declared.vrid != stored.vrid),
        ("interface", declared.interface != stored.interface),
        ("advert_interval", (declared.advert_interval - stored.advert_interval).abs() > 1e-9),
        ("version", checked.version != stored.version),
        ("preempt", declared.preempt != stored.preempt),
        ("track_haproxy", declared.track_haproxy != stored.track_haproxy),
        ("unicast", declared.unicast != stored.unicast),
        ("nodes", declared.nodes != stored.nodes),
    ];
    changed.extend(fields.iter().filter(|(_, differs)| *differs).map(|(name, _)| *name));
    let secret_differs = match declared.auth_secret.as_deref() {
        None => false,
        Some("") => stored.authenticated,
        Some(_) => !stored.authenticated,
    };
    if secret_differs {
        changed.push("auth_secret");
    }
    Ok(changed)
}

/// A parsed virtual address.
fn parse_address(text: &str) -> Result<VirtualAddress> {
    let bad = || Error::invalid(format!("addresses: {text:?} is not ADDRESS/PREFIX [dev IFACE]"));
    let words: Vec<&str> = text.split_whitespace().collect();
    let (cidr, device) = match words.as_slice() {
        [cidr] => (*cidr, None),
        [cidr, "dev", dev] => (*cidr, Some(dev.to_string())),
        _ => return Err(bad()),
    };
    let (address, prefix) = match cidr.split_once('/') {
        Some((a, p)) => (a.parse::<IpAddr>().map_err(|_| bad())?, p.parse::<u8>().map_err(|_| bad())?),
        None => {
            let a = cidr.parse::<IpAddr>().map_err(|_| bad())?;
            (a, if a.is_ipv6() { 128 } else { 32 })
        }
    };
    Ok(VirtualAddress { address, prefix, device })
}

fn spell(address: &VirtualAddress) -> String {
    match &address.device {
        Some(dev) => format!("{}/{} dev {dev}", address.address, address.prefix),
        None => format!("{}/{}", address.address, address.prefix),
    }
}

/// A group's checked form: what [`NewVip::check`] keeps, the secret apart.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// Canonical address spellings.
    pub addresses: Vec<String>,
    /// The version decided.
    pub version: u8,
    /// Adverts in centiseconds.
    pub advert_centis: u16,
}

impl NewVip {
    /// Checks everything that does not depend on other groups or the agents: name, addresses
    /// (one family, prefix fits), VRID, advert interval against the version (RFC 3768: whole
    /// seconds; RFC 5798: centiseconds up to 40.95 s), authentication (version 2 only), nodes
    /// (at least one, unique, priority 1..=254). [`Error::Invalid`] naming the field.
    pub fn check(&self) -> Result<Checked> {
        if self.name.is_empty() || self.name.len() > 64 || !self.name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
            return Err(Error::invalid("name: 1 to 64 letters, digits, '_', '-' or '.'"));
        }
        if self.addresses.is_empty() {
            return Err(Error::invalid("addresses: at least one virtual address"));
        }
        let parsed = self.addresses.iter().map(|a| parse_address(a)).collect::<Result<Vec<_>>>()?;
        let v6 = parsed[0].address.is_ipv6();
        if parsed.iter().any(|a| a.address.is_ipv6() != v6) {
            return Err(Error::invalid("addresses: all IPv4 or all IPv6 in one group (one VRRP instance per family)"));
        }
        let mut seen = BTreeSet::new();
        if let Some(dup) = parsed.iter().find(|a| !seen.insert(a.address)) {
            return Err(Error::invalid(format!("addresses: {} twice", dup.address)));
        }
        if self.vrid == 0 {
            return Err(Error::invalid("vrid: 1 to 255"));
        }
        if !self.advert_interval.is_finite() || self.advert_interval <= 0.0 {
            return Err(Error::invalid("advert_interval: seconds, more than 0"));
        }
        let centis = (self.advert_interval * 100.0).round();
        if (centis / 100.0 - self.advert_interval).abs() > 1e-9 || centis > 25500.0 {
            return Err(Error::invalid("advert_interval: a multiple of 0.01 s, at most 255 s"));
        }
        let advert_centis = centis as u16;
        let version = match self.version {
            Some(v @ (2 | 3)) => v,
            Some(v) => return Err(Error::invalid(format!("version: {v}; VRRP versions are 2 and 3"))),
            None if v6 || !advert_centis.is_multiple_of(100) => 3,
            None => 2,
        };
        if version == 2 && !advert_centis.is_multiple_of(100) {
            return Err(Error::invalid("advert_interval: VRRP version 2 adverts are whole seconds (use version 3 for fractions)"));
        }
        if version == 2 && v6 {
            return Err(Error::invalid("version: IPv6 addresses need VRRP version 3"));
        }
        if version == 3 && advert_centis > 4095 {
            return Err(Error::invalid("advert_interval: VRRP version 3 adverts are at most 40.95 s"));
        }
        if let Some(secret) = self.auth_secret.as_deref().filter(|s| !s.is_empty()) {
            if version == 3 {
                return Err(Error::invalid("auth_secret: VRRP version 3 has no authentication"));
            }
            if secret.len() > 8 || !secret.chars().all(|c| c.is_ascii_graphic() && c != '"' && c != '\'') {
                return Err(Error::invalid("auth_secret: 1 to 8 printable characters without blanks or quotes"));
            }
        }
        if self.nodes.is_empty() {
            return Err(Error::invalid("nodes: at least one node"));
        }
        let mut agents = BTreeSet::new();
        for node in &self.nodes {
            if !agents.insert(node.agent.as_str()) {
                return Err(Error::invalid(format!("nodes: agent {} twice", node.agent)));
            }
            if !(1..=254).contains(&node.priority) {
                return Err(Error::invalid(format!("nodes: {}: priority {} must be 1 to 254", node.agent, node.priority)));
            }
        }
        if self.unicast && self.nodes.len() < 2 {
            return Err(Error::invalid("unicast: needs at least two nodes"));
        }
        Ok(Checked { addresses: parsed.iter().map(spell).collect(), version, advert_centis })
    }
}

/// What the renderer needs of one agent.
#[derive(Debug, Clone, Default)]
pub struct AgentFacts {
    /// Its interfaces as last reported.
    pub interfaces: Vec<NodeInterface>,
    /// Its keepalived report, if it runs the driver.
    pub keepalived: Option<KeepalivedReport>,
}

/// The address of `family` on interface `name` of `facts` (the first, as the kernel lists them),
/// not one of `virtual_addresses`.
fn node_address(facts: &AgentFacts, name: &str, v6: bool, virtual_addresses: &BTreeSet<IpAddr>) -> Option<IpAddr> {
    let interface = facts.interfaces.iter().find(|i| i.name == name)?;
    interface
        .addresses
        .iter()
        .filter_map(|a| a.split('/').next()?.parse::<IpAddr>().ok())
        .find(|a| a.is_ipv6() == v6 && !virtual_addresses.contains(a) && !matches!(a, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80))
}

/// Every node's keepalived.conf for `vips` (in name order), by agent name: each agent named in
/// a group gets one file holding all its groups. `agents` gives each agent's reported facts
/// (an agent missing from it has reported nothing); `secrets` the open auth secrets by group
/// id. Errors ([`Error::Invalid`]): an unknown agent, an agent that has not reported the
/// interface's address (unicast) or its keepalived track file (`track_haproxy`), a VRID used
/// twice on an interface of one node.
pub fn node_files(vips: &[Vip], agents: &BTreeMap<String, AgentFacts>, secrets: &BTreeMap<i64, String>) -> Result<BTreeMap<String, String>> {
    let mut nodes: BTreeMap<&str, NodeSpec> = BTreeMap::new();
    let mut sorted: Vec<&Vip> = vips.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    for vip in sorted {
        let addresses = vip.addresses.iter().map(|a| parse_address(a)).collect::<Result<Vec<_>>>()?;
        let v6 = addresses.first().is_some_and(|a| a.address.is_ipv6());
        let virtual_set: BTreeSet<IpAddr> = addresses.iter().map(|a| a.address).collect();
        let top = vip.nodes.iter().map(|n| n.priority).max().unwrap_or(0);
        let first_top = vip.nodes.iter().find(|n| n.priority == top).map(|n| n.agent.as_str());
        for node in &vip.nodes {
            let facts = agents
                .get(&node.agent)
                .ok_or_else(|| Error::invalid(format!("vip {}: no agent {} in this cluster", vip.name, node.agent)))?;
            let interface = node.interface.clone().unwrap_or_else(|| vip.interface.clone());
            let unicast = if vip.unicast {
                let address_of = |agent: &str, iface: &str| {
                    agents
                        .get(agent)
                        .and_then(|f| node_address(f, iface, v6, &virtual_set))
                        .ok_or_else(|| Error::invalid(format!("vip {}: agent {agent} has not reported an address on {iface} (unicast needs it)", vip.name)))
                };
                let source = address_of(&node.agent, &interface)?;
                let mut peers = Vec::new();
                for other in vip.nodes.iter().filter(|o| o.agent != node.agent) {
                    peers.push(address_of(&other.agent, other.interface.as_deref().unwrap_or(&vip.interface))?);
                }
                Some(Unicast { source, peers })
            } else {
                None
            };
            let report = facts.keepalived.as_ref();
            let spec = nodes.entry(node.agent.as_str()).or_insert_with(|| NodeSpec {
                router_id: node.agent.clone(),
                notify_fifo: report.and_then(|r| r.notify_fifo.clone()),
                track_file: None,
                instances: Vec::new(),
            });
            if vip.track_haproxy {
                let path = report.and_then(|r| r.track_file.clone()).ok_or_else(|| {
                    Error::invalid(format!(
                        "vip {}: agent {} has not reported its keepalived track file (run it with --keepalived), needed by track_haproxy",
                        vip.name, node.agent
                    ))
                })?;
                spec.track_file = Some(TrackFileSpec { name: TRACK_FILE_NAME.into(), path });
            }
            spec.instances.push(InstanceSpec {
                name: vip.name.clone(),
                interface,
                virtual_router_id: vip.vrid,
                priority: node.priority,
                version: if vip.version == 3 { VrrpVersion::V3 } else { VrrpVersion::V2 },
                advert_centis: (vip.advert_interval * 100.0).round() as u16,
                preempt: vip.preempt,
                initial_master: vip.preempt && first_top == Some(node.agent.as_str()),
                auth_pass: secrets.get(&vip.id).cloned(),
                unicast,
                addresses: addresses.clone(),
                track_file: vip.track_haproxy,
            });
        }
    }
    nodes
        .into_iter()
        .map(|(agent, spec)| {
            let text = haproxy_render::keepalived::render_node(&spec).map_err(|e| Error::invalid(format!("node {agent}: {e}")))?;
            Ok((agent.to_string(), text))
        })
        .collect()
}

/// True when `text` is a keepalived.conf this module generated (its first line), so a file an
/// operator manages as text is never overwritten by a VIP change.
pub fn is_generated(text: &[u8]) -> bool {
    text.starts_with(b"# Generated by HAProxy Fleet for node ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_vip() -> NewVip {
        serde_json::from_value(serde_json::json!({"name": "web", "addresses": ["198.18.0.50/24"], "vrid": 51, "interface": "eth0",
            "nodes": [{"agent": "lb1", "priority": 150}, {"agent": "lb2", "priority": 100}]}))
        .unwrap()
    }

    fn stored(new: &NewVip, id: i64) -> Vip {
        Vip::new(id, 1, new, new.check().unwrap(), "admin", 0)
    }

    #[test]
    fn differences_compare_the_checked_forms() {
        let new = new_vip();
        let stored = stored(&new, 7);
        assert_eq!(differences(&new, &stored).unwrap(), Vec::<&str>::new());
        let respelled = NewVip { addresses: vec!["198.18.0.50/24".into()], version: Some(2), ..new.clone() };
        assert_eq!(differences(&respelled, &stored).unwrap(), Vec::<&str>::new(), "the version decided is the same");
        let moved = NewVip { vrid: 52, nodes: vec![VipNode { agent: "lb1".into(), priority: 90, interface: None }], ..new.clone() };
        assert_eq!(differences(&moved, &stored).unwrap(), ["vrid", "nodes"]);
        let secret = NewVip { auth_secret: Some("s3cret".into()), ..new.clone() };
        assert_eq!(differences(&secret, &stored).unwrap(), ["auth_secret"]);
        let removed = NewVip { auth_secret: Some(String::new()), ..new.clone() };
        assert!(differences(&removed, &stored).unwrap().is_empty(), "no secret stored, none wanted");
        assert!(differences(&NewVip { vrid: 0, ..new }, &stored).is_err());
    }

    fn facts(address: &str) -> AgentFacts {
        AgentFacts {
            interfaces: vec![NodeInterface { name: "eth0".into(), up: true, addresses: vec![format!("{address}/24"), "fe80::1/64".into()] }],
            keepalived: Some(KeepalivedReport {
                running: true,
                track_file: Some("/var/lib/fleet-agent/keepalived/haproxy.track".into()),
                notify_fifo: Some("/var/lib/fleet-agent/keepalived/notify.fifo".into()),
                ..KeepalivedReport::default()
            }),
        }
    }

    #[test]
    fn the_pinned_request_reads_with_defaults() {
        let vip = new_vip();
        assert_eq!((vip.advert_interval, vip.preempt, vip.track_haproxy, vip.unicast), (1.0, true, true, false));
        assert_eq!(vip.check().unwrap(), Checked { addresses: vec!["198.18.0.50/24".into()], version: 2, advert_centis: 100 });
        let fast = NewVip { advert_interval: 0.05, ..new_vip() };
        assert_eq!(fast.check().unwrap().version, 3);
        let bad_v2 = NewVip { advert_interval: 0.05, version: Some(2), ..new_vip() };
        assert!(bad_v2.check().unwrap_err().to_string().contains("whole seconds"));
        let mixed = NewVip { addresses: vec!["198.18.0.50/24".into(), "2001:db8::5/64".into()], ..new_vip() };
        assert!(mixed.check().unwrap_err().to_string().contains("all IPv4 or all IPv6"));
        let v6_auth = NewVip { addresses: vec!["2001:db8::5/64".into()], auth_secret: Some("pw".into()), ..new_vip() };
        assert!(v6_auth.check().unwrap_err().to_string().contains("no authentication"));
        let twice = NewVip { nodes: vec![VipNode { agent: "a".into(), priority: 1, interface: None }; 2], ..new_vip() };
        assert!(twice.check().unwrap_err().to_string().contains("twice"));
        let with_dev = NewVip { addresses: vec!["198.18.0.50/24 dev eth1".into(), "198.18.0.51".into()], ..new_vip() };
        assert_eq!(with_dev.check().unwrap().addresses, vec!["198.18.0.50/24 dev eth1", "198.18.0.51/32"]);
    }

    #[test]
    fn every_node_gets_one_file_with_all_its_groups() {
        let web = stored(&new_vip(), 1);
        let api = stored(&NewVip { name: "api".into(), vrid: 52, unicast: true, advert_interval: 0.05, ..new_vip() }, 2);
        let agents = BTreeMap::from([("lb1".to_string(), facts("198.18.0.11")), ("lb2".to_string(), facts("198.18.0.12"))]);
        let files = node_files(&[web.clone(), api], &agents, &BTreeMap::new()).unwrap();
        assert_eq!(files.keys().collect::<Vec<_>>(), ["lb1", "lb2"]);
        let lb2 = &files["lb2"];
        assert!(lb2.contains("vrrp_instance api {") && lb2.contains("vrrp_instance web {"), "{lb2}");
        assert!(lb2.contains("unicast_src_ip 198.18.0.12") && lb2.contains("        198.18.0.11\n"), "{lb2}");
        assert!(lb2.contains("advert_int 0.05") && lb2.contains("notify_fifo /var/lib/fleet-agent/keepalived/notify.fifo"), "{lb2}");
        assert!(files["lb1"].contains("state MASTER") && lb2.contains("state BACKUP"));
        assert!(is_generated(lb2.as_bytes()));
        for text in files.values() {
            let checked = haproxy_parse::keepalived::check(text);
            assert!(!checked.has_errors(), "{:?}\n{text}", checked.diagnostics);
        }

        let silent = BTreeMap::from([("lb1".to_string(), AgentFacts::default()), ("lb2".to_string(), facts("198.18.0.12"))]);
        let refused = node_files(std::slice::from_ref(&web), &silent, &BTreeMap::new()).unwrap_err().to_string();
        assert!(refused.contains("agent lb1 has not reported its keepalived track file"), "{refused}");
        let untracked = Vip { track_haproxy: false, ..web.clone() };
        assert!(node_files(&[untracked], &silent, &BTreeMap::new()).is_ok());
        let clash = Vip { id: 3, name: "other".into(), ..web.clone() };
        assert!(node_files(&[web, clash], &agents, &BTreeMap::new()).unwrap_err().to_string().contains("used twice"));
    }
}
