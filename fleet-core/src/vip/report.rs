//! What an agent reports about keepalived and its node's addresses, in heartbeats.
//!
//! Truth, measured on the node: instance states as keepalived announces them on its notify
//! FIFO (keepalived.conf(5) `notify_fifo`: lines `INSTANCE "<name>" MASTER|BACKUP|FAULT|STOP
//! <priority>`), and the addresses each interface holds as the kernel lists them (`ip -j addr`),
//! so "who holds the VIP" is read off the nodes, never inferred from priorities.

use serde::{Deserialize, Serialize};

/// The state of one `vrrp_instance` (keepalived's notify FIFO words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum VrrpState {
    /// Holds the instance's addresses and sends adverts.
    Master,
    /// Listens for the master's adverts.
    Backup,
    /// A tracked interface, script or file failed: gives up the addresses.
    Fault,
    /// keepalived stopped the instance.
    Stop,
    /// Not announced yet since the agent started.
    Unknown,
}

impl VrrpState {
    /// The FIFO word read back (`MASTER` ...); `None` for anything else.
    pub fn parse(word: &str) -> Option<VrrpState> {
        Some(match word {
            "MASTER" => VrrpState::Master,
            "BACKUP" => VrrpState::Backup,
            "FAULT" => VrrpState::Fault,
            "STOP" => VrrpState::Stop,
            _ => return None,
        })
    }
}

/// One instance's last announced state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VrrpInstanceReport {
    /// The `vrrp_instance` name.
    pub name: String,
    /// Its state.
    pub state: VrrpState,
    /// When the agent read that state, Unix ms.
    pub since: i64,
}

/// What the agent's keepalived driver (`fleet-agent --keepalived`) reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeepalivedReport {
    /// keepalived runs on the node (its pid file names a live, non-zombie process).
    pub running: bool,
    /// The bundle version whose keepalived file is installed, if any.
    #[serde(default)]
    pub version: Option<i64>,
    /// The sha256 of the installed keepalived.conf (lowercase hex).
    #[serde(default)]
    pub config_sha256: Option<String>,
    /// Why the last keepalived apply failed (`keepalived -t` output, reload failure).
    #[serde(default)]
    pub error: Option<String>,
    /// Every instance keepalived announced, by name.
    #[serde(default)]
    pub instances: Vec<VrrpInstanceReport>,
    /// The file the agent writes HAProxy's health to for keepalived's `vrrp_track_file`
    /// (`0`: this node's HAProxy runs; `1`: it does not), an absolute path on the node.
    #[serde(default)]
    pub track_file: Option<String>,
    /// The FIFO the agent reads instance states from (`notify_fifo`), an absolute path.
    #[serde(default)]
    pub notify_fifo: Option<String>,
}

/// One network interface of the node and the addresses it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeInterface {
    /// The interface name (`eth0`).
    pub name: String,
    /// Operationally up.
    pub up: bool,
    /// Its addresses with prefix (`198.18.0.11/24`, `2001:db8::1/64`), as the kernel lists them.
    pub addresses: Vec<String>,
}
