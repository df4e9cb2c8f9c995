//! The typed spec of one node's whole keepalived.conf: its VRRP instances (any number, each
//! with several virtual addresses, VRRP version 2 or 3, fractional adverts for version 3), an
//! optional track file that follows this node's HAProxy, and the notify FIFO its agent reads.
//! `haproxy_render::keepalived::render_node` turns it into text; fleet-core's `vip` builds it
//! from a cluster's VRRP groups and the agents' reported addresses.
//!
//! [`NodeSpec::validate`] rejects what keepalived 2.2 would reject or silently change
//! (keepalived.conf(5), `vrrp_instance`): so every rendered file passes `keepalived -t`.

use std::collections::HashSet;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Everything one node's keepalived.conf holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeSpec {
    /// `router_id` in `global_defs` (the node's name).
    pub router_id: String,
    /// `notify_fifo` in `global_defs`: where keepalived writes every state change (absolute).
    pub notify_fifo: Option<String>,
    /// The `track_file` instances with [`InstanceSpec::track_file`] follow.
    pub track_file: Option<TrackFileSpec>,
    /// The `vrrp_instance` blocks, in order.
    pub instances: Vec<InstanceSpec>,
}

/// A `track_file` block with weight 0: a non-zero value in the file puts every instance that
/// tracks it in FAULT, which gives up its addresses at once (keepalived.conf(5), Track files).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackFileSpec {
    /// The block's name.
    pub name: String,
    /// The file keepalived watches (absolute).
    pub path: String,
}

/// VRRP version 2 (RFC 3768, IPv4, whole-second adverts) or 3 (RFC 5798, IPv4 and IPv6,
/// adverts in centiseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VrrpVersion {
    /// RFC 3768.
    V2,
    /// RFC 5798.
    V3,
}

/// One `vrrp_instance`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceSpec {
    /// The instance name (letters, digits, `_`, `-`, `.`).
    pub name: String,
    /// The interface that carries the adverts (and the addresses without their own device).
    pub interface: String,
    /// 1..=255, unique per interface on the segment.
    pub virtual_router_id: u8,
    /// 1..=254 (255 is the address owner's).
    pub priority: u8,
    /// The protocol version.
    pub version: VrrpVersion,
    /// Centiseconds between adverts: 100..=25500 in whole seconds for version 2, 1..=4095
    /// for version 3 (RFC 5798 §5.2.7: a 12-bit count of centiseconds).
    pub advert_centis: u16,
    /// Whether a higher priority takes the addresses back (`nopreempt` when false; then every
    /// node starts BACKUP, as keepalived requires).
    pub preempt: bool,
    /// Starts as MASTER (the highest priority, with preemption).
    pub initial_master: bool,
    /// `auth_type PASS` secret, version 2 only, 1 to 8 characters.
    pub auth_pass: Option<String>,
    /// Unicast adverts: this node's source address and its peers'; multicast when `None`.
    pub unicast: Option<Unicast>,
    /// The virtual addresses, one family.
    pub addresses: Vec<VirtualAddress>,
    /// Tracks the node's [`NodeSpec::track_file`].
    pub track_file: bool,
}

/// Unicast adverts of an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unicast {
    /// `unicast_src_ip`.
    pub source: IpAddr,
    /// `unicast_peer`, at least one.
    pub peers: Vec<IpAddr>,
}

/// One `virtual_ipaddress` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualAddress {
    /// The address.
    pub address: IpAddr,
    /// Prefix length.
    pub prefix: u8,
    /// `dev`, when not the instance's interface.
    pub device: Option<String>,
}

/// Why a [`NodeSpec`] cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum NodeSpecError {
    /// A name keepalived cannot take as one word.
    #[error("invalid {what} {value:?}: use letters, digits, '_', '-' or '.'")]
    Name {
        /// What the name is for.
        what: &'static str,
        /// The name.
        value: String,
    },
    /// A path keepalived needs absolute.
    #[error("{what} {value:?} must be an absolute path without quotes or newlines")]
    Path {
        /// What the path is for.
        what: &'static str,
        /// The path.
        value: String,
    },
    /// Two instances of one name, or one VRID twice on an interface.
    #[error("instance {instance}: {message}")]
    Instance {
        /// The instance.
        instance: String,
        /// What is wrong, lowercase.
        message: String,
    },
}

fn name_ok(value: &str) -> bool {
    !value.is_empty() && value.len() <= 64 && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn check_name(what: &'static str, value: &str) -> Result<(), NodeSpecError> {
    if name_ok(value) {
        Ok(())
    } else {
        Err(NodeSpecError::Name { what, value: value.to_string() })
    }
}

fn check_interface(value: &str) -> Result<(), NodeSpecError> {
    // Linux interface names: at most 15 bytes (IFNAMSIZ - 1).
    if name_ok(value) && value.len() <= 15 {
        Ok(())
    } else {
        Err(NodeSpecError::Name { what: "interface", value: value.to_string() })
    }
}

fn check_path(what: &'static str, value: &str) -> Result<(), NodeSpecError> {
    if value.starts_with('/') && !value.chars().any(|c| c == '"' || c.is_control()) {
        Ok(())
    } else {
        Err(NodeSpecError::Path { what, value: value.to_string() })
    }
}

impl InstanceSpec {
    fn fail(&self, message: impl Into<String>) -> NodeSpecError {
        NodeSpecError::Instance { instance: self.name.clone(), message: message.into() }
    }

    /// The instance's own checks (see [`NodeSpec::validate`]).
    pub fn validate(&self) -> Result<(), NodeSpecError> {
        check_name("instance name", &self.name)?;
        check_interface(&self.interface)?;
        if self.virtual_router_id == 0 {
            return Err(self.fail("virtual_router_id must be between 1 and 255"));
        }
        if !(1..=254).contains(&self.priority) {
            return Err(self.fail(format!("priority {} must be between 1 and 254", self.priority)));
        }
        match self.version {
            VrrpVersion::V2 if !self.advert_centis.is_multiple_of(100) || !(100..=25500).contains(&self.advert_centis) => {
                return Err(self.fail("VRRP version 2 adverts are whole seconds from 1 to 255 (use version 3 for fractions)"))
            }
            VrrpVersion::V3 if !(1..=4095).contains(&self.advert_centis) => {
                return Err(self.fail("VRRP version 3 adverts are from 0.01 to 40.95 seconds"))
            }
            _ => {}
        }
        let Some(first) = self.addresses.first() else {
            return Err(self.fail("at least one virtual address"));
        };
        let v6 = first.address.is_ipv6();
        for a in &self.addresses {
            if a.address.is_ipv6() != v6 {
                return Err(self.fail("virtual addresses of one instance are all IPv4 or all IPv6"));
            }
            let max = if v6 { 128 } else { 32 };
            if a.prefix > max {
                return Err(self.fail(format!("prefix /{} is too long for {}", a.prefix, a.address)));
            }
            if let Some(dev) = &a.device {
                check_interface(dev)?;
            }
        }
        if v6 && self.version == VrrpVersion::V2 {
            return Err(self.fail("IPv6 addresses need VRRP version 3"));
        }
        if let Some(secret) = &self.auth_pass {
            if self.version == VrrpVersion::V3 {
                return Err(self.fail("authentication is VRRP version 2 only (version 3 has none)"));
            }
            let printable = secret.chars().all(|c| c.is_ascii_graphic() && c != '"' && c != '\'');
            if secret.is_empty() || secret.len() > 8 || !printable {
                return Err(self.fail("auth secret must be 1 to 8 printable characters without blanks or quotes"));
            }
        }
        if let Some(unicast) = &self.unicast {
            if unicast.peers.is_empty() {
                return Err(self.fail("unicast needs at least one peer"));
            }
            for peer in std::iter::once(&unicast.source).chain(&unicast.peers) {
                if peer.is_ipv6() != v6 {
                    return Err(self.fail(format!("unicast address {peer} is not of the virtual addresses' family")));
                }
            }
        }
        if self.initial_master && !self.preempt {
            return Err(self.fail("with nopreempt every node must start BACKUP"));
        }
        Ok(())
    }

    /// `advert_int`'s value: `1`, `0.05`, `2.5`.
    pub fn advert_int(&self) -> String {
        let (whole, centis) = (self.advert_centis / 100, self.advert_centis % 100);
        match centis {
            0 => whole.to_string(),
            c if c % 10 == 0 => format!("{whole}.{}", c / 10),
            c => format!("{whole}.{c:02}"),
        }
    }
}

impl NodeSpec {
    /// Checks names, paths, each instance ([`InstanceSpec::validate`]), that instance names
    /// are unique, that a VRID is used once per interface and address family, and that an
    /// instance tracking the file has one to track.
    pub fn validate(&self) -> Result<(), NodeSpecError> {
        check_name("router_id", &self.router_id)?;
        if let Some(fifo) = &self.notify_fifo {
            check_path("notify_fifo", fifo)?;
        }
        if let Some(track) = &self.track_file {
            check_name("track_file name", &track.name)?;
            check_path("track_file", &track.path)?;
        }
        let mut names = HashSet::new();
        let mut vrids = HashSet::new();
        for instance in &self.instances {
            instance.validate()?;
            if !names.insert(instance.name.as_str()) {
                return Err(instance.fail("two instances of this name"));
            }
            let v6 = instance.addresses.first().is_some_and(|a| a.address.is_ipv6());
            if !vrids.insert((instance.interface.as_str(), instance.virtual_router_id, v6)) {
                return Err(instance.fail(format!(
                    "virtual_router_id {} is used twice on interface {}",
                    instance.virtual_router_id, instance.interface
                )));
            }
            if instance.track_file && self.track_file.is_none() {
                return Err(instance.fail("tracks the haproxy file, but the node has none"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance() -> InstanceSpec {
        InstanceSpec {
            name: "web".into(),
            interface: "eth0".into(),
            virtual_router_id: 51,
            priority: 100,
            version: VrrpVersion::V2,
            advert_centis: 100,
            preempt: true,
            initial_master: true,
            auth_pass: None,
            unicast: None,
            addresses: vec![VirtualAddress { address: "198.18.0.50".parse().unwrap(), prefix: 24, device: None }],
            track_file: false,
        }
    }

    #[test]
    fn adverts_and_versions() {
        let v3 = InstanceSpec { version: VrrpVersion::V3, advert_centis: 5, ..instance() };
        assert!(v3.validate().is_ok());
        assert_eq!(v3.advert_int(), "0.05");
        assert_eq!(InstanceSpec { advert_centis: 250, ..v3.clone() }.advert_int(), "2.5");
        let fractional_v2 = InstanceSpec { advert_centis: 50, ..instance() };
        assert!(fractional_v2.validate().unwrap_err().to_string().contains("version 3"));
        let v6 = InstanceSpec { addresses: vec![VirtualAddress { address: "2001:db8::5".parse().unwrap(), prefix: 64, device: None }], ..instance() };
        assert!(v6.validate().unwrap_err().to_string().contains("version 3"));
        let auth_v3 = InstanceSpec { auth_pass: Some("x".into()), ..v3 };
        assert!(auth_v3.validate().is_err());
        let nopreempt_master = InstanceSpec { preempt: false, ..instance() };
        assert!(nopreempt_master.validate().is_err());
    }

    #[test]
    fn vrids_are_unique_per_interface() {
        let node = NodeSpec { router_id: "lb1".into(), notify_fifo: None, track_file: None, instances: vec![instance(), InstanceSpec { name: "api".into(), ..instance() }] };
        assert!(node.validate().unwrap_err().to_string().contains("used twice"));
        let other_if = NodeSpec { instances: vec![instance(), InstanceSpec { name: "api".into(), interface: "eth1".into(), ..instance() }], ..node };
        assert!(other_if.validate().is_ok());
    }
}
