//! The typed spec of a VRRP group: one virtual IP shared by a few nodes, with an optional
//! HAProxy health-check script. `haproxy_render::keepalived::render_vrrp_group` turns it into
//! each node's keepalived.conf; VIP management and the agent build it from their own data.
//!
//! [`VrrpGroup::validate`] rejects what keepalived would reject or silently change (a VRID of 0,
//! an `auth_pass` keepalived would truncate, a unicast peer of the wrong address family), so
//! that every rendered file passes `keepalived -t`.

use std::collections::HashSet;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Everything needed to render the keepalived.conf of every node of a VRRP group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VrrpGroup {
    /// The `vrrp_instance` name (letters, digits, `_`, `-`, `.`).
    pub instance: String,
    /// The virtual router id, 1..=255, unique per interface on the segment.
    pub virtual_router_id: u8,
    /// The virtual IP address.
    pub vip: IpAddr,
    /// The VIP's prefix length (at most 32 for IPv4, 128 for IPv6).
    pub prefix: u8,
    /// Seconds between adverts (whole seconds, 1..=255).
    pub advert_int: u8,
    /// The nodes; the one with the highest priority starts as MASTER.
    pub nodes: Vec<VrrpNode>,
    /// Unicast adverts between the nodes' addresses instead of multicast (ignored for a single node).
    pub unicast: bool,
    /// `auth_pass` for `auth_type PASS` (1 to 8 characters), when wanted.
    pub auth_secret: Option<String>,
    /// The health check tracked by the instance.
    pub health_check: Option<HealthCheck>,
    /// The user scripts run as (`script_user`); `root` when absent.
    pub script_user: Option<String>,
}

/// One node of the group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VrrpNode {
    /// The node name, rendered as `router_id`.
    pub name: String,
    /// The interface carrying the VIP and the adverts.
    pub interface: String,
    /// The node's own address on that interface (the unicast source and peer address).
    pub address: IpAddr,
    /// VRRP priority, 1..=254 (255 is reserved for the address owner).
    pub priority: u8,
}

/// The `vrrp_script` that checks HAProxy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthCheck {
    /// The `vrrp_script` name.
    pub name: String,
    /// The command line keepalived runs (e.g. `/usr/bin/killall -0 haproxy`).
    pub script: String,
    /// Seconds between runs (1..=3600).
    pub interval: u32,
    /// Priority change while the check fails (negative) or passes (positive), -253..=253.
    pub weight: i32,
    /// Failures before the check is down.
    pub fall: u32,
    /// Successes before the check is up again.
    pub rise: u32,
}

/// Why a [`VrrpGroup`] cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum VrrpGroupError {
    /// No node at all.
    #[error("a vrrp group needs at least one node")]
    NoNodes,
    /// A name keepalived cannot take as one word.
    #[error("invalid {what} {value:?}: use letters, digits, '_', '-' or '.'")]
    InvalidName {
        /// What the name is for.
        what: &'static str,
        /// The name.
        value: String,
    },
    /// Two nodes with the same name.
    #[error("duplicate node name {0:?}")]
    DuplicateNode(String),
    /// VRID 0.
    #[error("virtual_router_id must be between 1 and 255")]
    VirtualRouterId,
    /// Priority 0 or 255.
    #[error("node {node:?}: priority {priority} must be between 1 and 254")]
    Priority {
        /// The node.
        node: String,
        /// The priority given.
        priority: u8,
    },
    /// Prefix too long for the VIP's family.
    #[error("prefix /{prefix} is too long for {vip}")]
    Prefix {
        /// The VIP.
        vip: IpAddr,
        /// The prefix given.
        prefix: u8,
    },
    /// advert_int of 0.
    #[error("advert_int must be between 1 and 255 seconds")]
    AdvertInt,
    /// A secret keepalived would truncate or reject.
    #[error("auth secret must be 1 to 8 printable characters without blanks or quotes")]
    AuthSecret,
    /// Authentication asked for an IPv6 VIP: IPv6 needs VRRP version 3, which has none.
    #[error("auth secret is not supported with an IPv6 vip (VRRP version 3 has no authentication)")]
    AuthWithIpv6,
    /// A node address of another family than the VIP's (unicast adverts need one family).
    #[error("node {node:?}: address {address} is not of the same family as the vip {vip}")]
    AddressFamily {
        /// The node.
        node: String,
        /// Its address.
        address: IpAddr,
        /// The VIP.
        vip: IpAddr,
    },
    /// A health check keepalived would reject.
    #[error("health check: {0}")]
    HealthCheck(String),
}

fn check_name(what: &'static str, value: &str) -> Result<(), VrrpGroupError> {
    let valid = !value.is_empty()
        && value.len() <= 64
        && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if valid {
        Ok(())
    } else {
        Err(VrrpGroupError::InvalidName { what, value: value.to_string() })
    }
}

fn check_interface(value: &str) -> Result<(), VrrpGroupError> {
    // Linux interface names: at most 15 bytes, no '/' or blanks.
    check_name("interface", value)?;
    if value.len() > 15 {
        return Err(VrrpGroupError::InvalidName { what: "interface", value: value.to_string() });
    }
    Ok(())
}

impl VrrpGroup {
    /// Checks every field; rendering only accepts a valid group.
    pub fn validate(&self) -> Result<(), VrrpGroupError> {
        check_name("instance name", &self.instance)?;
        if self.nodes.is_empty() {
            return Err(VrrpGroupError::NoNodes);
        }
        if self.virtual_router_id == 0 {
            return Err(VrrpGroupError::VirtualRouterId);
        }
        if self.advert_int == 0 {
            return Err(VrrpGroupError::AdvertInt);
        }
        let max_prefix = if self.vip.is_ipv4() { 32 } else { 128 };
        if self.prefix > max_prefix {
            return Err(VrrpGroupError::Prefix { vip: self.vip, prefix: self.prefix });
        }
        if let Some(secret) = &self.auth_secret {
            let printable = secret.chars().all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\'' | '\\' | '#' | '!'));
            if secret.is_empty() || secret.len() > 8 || !printable {
                return Err(VrrpGroupError::AuthSecret);
            }
            if self.vip.is_ipv6() {
                return Err(VrrpGroupError::AuthWithIpv6);
            }
        }
        let mut names = HashSet::new();
        for node in &self.nodes {
            check_name("node name", &node.name)?;
            check_interface(&node.interface)?;
            if !names.insert(node.name.as_str()) {
                return Err(VrrpGroupError::DuplicateNode(node.name.clone()));
            }
            if node.priority == 0 || node.priority == 255 {
                return Err(VrrpGroupError::Priority { node: node.name.clone(), priority: node.priority });
            }
            if node.address.is_ipv4() != self.vip.is_ipv4() {
                return Err(VrrpGroupError::AddressFamily {
                    node: node.name.clone(),
                    address: node.address,
                    vip: self.vip,
                });
            }
        }
        if let Some(user) = &self.script_user {
            check_name("script user", user)?;
        }
        if let Some(check) = &self.health_check {
            check_name("health check name", &check.name).map_err(|e| VrrpGroupError::HealthCheck(e.to_string()))?;
            if check.script.trim().is_empty() || check.script.contains(['\n', '\r']) {
                return Err(VrrpGroupError::HealthCheck("the script must be one non-empty line".into()));
            }
            if !(1..=3600).contains(&check.interval) {
                return Err(VrrpGroupError::HealthCheck("interval must be between 1 and 3600 seconds".into()));
            }
            if !(-253..=253).contains(&check.weight) {
                return Err(VrrpGroupError::HealthCheck("weight must be between -253 and 253".into()));
            }
            if check.fall == 0 || check.rise == 0 {
                return Err(VrrpGroupError::HealthCheck("fall and rise must be at least 1".into()));
            }
        }
        Ok(())
    }

    /// The node that starts as MASTER: the highest priority (the first one on a tie).
    pub fn initial_master(&self) -> Option<&VrrpNode> {
        self.nodes.iter().reduce(|best, node| if node.priority > best.priority { node } else { best })
    }
}
