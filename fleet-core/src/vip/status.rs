//! Who holds each VIP, measured: the addresses each node's kernel lists (heartbeats'
//! interfaces), with the VRRP state keepalived announced, and the transitions the server saw.
//!
//! ```text
//! heartbeat with interfaces -> per group of the cluster: does this agent hold any of its
//!   addresses? changed since the last heartbeat -> holder row added/removed + a transition
//! status -> per group: holder = the agent holding it that acquired it last (a node that died
//!   holding it never reports the release; the new holder reports within one heartbeat)
//! ```

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::report::{NodeInterface, VrrpState};
use super::spec::Vip;

/// One node of a group as its agent reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VipNodeStatus {
    /// The agent.
    pub agent: String,
    /// Its configured priority.
    pub priority: u8,
    /// The instance state keepalived announced on the node, if any.
    pub state: Option<VrrpState>,
    /// The node's interfaces hold at least one of the group's addresses.
    pub holds: bool,
    /// Its last heartbeat (RFC 3339, UTC, as in the cluster status; Unix ms inside).
    #[serde(with = "crate::clock::serde_rfc3339_opt")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_seen_at: Option<i64>,
}

/// A node taking or giving up a group's addresses, as its heartbeats showed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VipTransition {
    /// Unix ms (the heartbeat that showed it).
    pub at: i64,
    /// The agent.
    pub agent: String,
    /// `acquired` or `released`.
    pub event: String,
}

/// A group in `GET /api/v1/clusters/{id}/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VipStatus {
    /// The group.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its addresses.
    pub addresses: Vec<String>,
    /// The agent holding the addresses, `None` when no node reports them.
    pub holder: Option<String>,
    /// Since when it holds them, Unix ms.
    pub since: Option<i64>,
    /// Every agent reporting the addresses, newest first: more than one is a split brain (or
    /// a dead holder that never reported the release).
    pub holders: Vec<String>,
    /// Each node's view.
    pub nodes: Vec<VipNodeStatus>,
    /// The last transitions, newest first (at most 20).
    pub transitions: Vec<VipTransition>,
}

/// True when `interfaces` hold one of `vip`'s addresses.
pub fn holds(vip: &Vip, interfaces: &[NodeInterface]) -> bool {
    let wanted: Vec<IpAddr> = vip.addresses.iter().filter_map(|a| a.split('/').next()?.split_whitespace().next()?.parse().ok()).collect();
    interfaces
        .iter()
        .flat_map(|i| &i.addresses)
        .filter_map(|a| a.split('/').next()?.parse::<IpAddr>().ok())
        .any(|a| wanted.contains(&a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holding_is_read_off_the_addresses() {
        let vip: Vip = serde_json::from_value(serde_json::json!({"id": 1, "cluster_id": 1, "name": "web",
            "addresses": ["198.18.0.50/24", "198.18.0.51/24 dev eth1"], "vrid": 51, "interface": "eth0", "advert_interval": 1.0,
            "version": 2, "preempt": true, "track_haproxy": true, "unicast": false, "authenticated": false, "nodes": [],
            "created_by": "a", "created_at": 0, "updated_at": 0}))
        .unwrap();
        let with = |a: &str| vec![NodeInterface { name: "eth1".into(), up: true, addresses: vec!["198.18.0.11/24".into(), a.into()] }];
        assert!(holds(&vip, &with("198.18.0.51/24")));
        assert!(!holds(&vip, &with("198.18.0.52/24")));
    }
}
