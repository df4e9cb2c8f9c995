//! Virtual IPs (issue 14): keepalived managed through the agents.
//!
//! ```text
//! VRRP groups of a cluster (store) + agents' reported interfaces and keepalived paths
//!   -> each node's keepalived.conf (haproxy-render) -> bundle file keepalived/<agent>.conf
//!      (a per-node file: one version holds every node's file, diffable like the rest)
//!   -> agent with --keepalived: its own file -> keepalived -t -> installed at
//!      --keepalived-config -> SIGHUP (or systemctl reload) -> verified running; refused: the
//!      version is rejected and the running keepalived keeps its addresses
//!   -> heartbeats: KeepalivedReport (instance states from keepalived's notify FIFO, paths)
//!      + NodeInterface list (`ip addr`: which node holds each address, measured)
//! ```
//!
//! An operator may also manage `keepalived/<agent>.conf` as text (typed edits on the lossless
//! keepalived document), e.g. after adopting a node's file byte for byte.

pub mod report;
pub mod spec;
pub mod status;

pub use report::{KeepalivedReport, NodeInterface, VrrpInstanceReport, VrrpState};
pub use spec::{differences, node_files, NewVip, Vip, VipNode};
pub use status::{VipNodeStatus, VipStatus, VipTransition};

use crate::bundle::{BundlePath, PathError};

/// The bundle folder holding keepalived files.
pub const KEEPALIVED_DIR: &str = "keepalived";

/// Where node `agent`'s keepalived.conf lives in the bundle: `keepalived/<agent>.conf`.
/// Errors: an agent name that is not one path component.
pub fn node_config_path(agent: &str) -> Result<BundlePath, PathError> {
    if agent.is_empty() || agent.contains('/') || agent == "." || agent == ".." {
        return Err(PathError::Character(agent.to_string()));
    }
    BundlePath::new(&format!("{KEEPALIVED_DIR}/{agent}.conf"))
}

/// The agent a bundle path is the keepalived.conf of (`keepalived/<agent>.conf`), if it is one.
pub fn node_of_config_path(path: &BundlePath) -> Option<&str> {
    path.as_str().strip_prefix("keepalived/")?.strip_suffix(".conf").filter(|a| !a.is_empty() && !a.contains('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_paths_round_trip() {
        let path = node_config_path("lb-1").unwrap();
        assert_eq!(path.as_str(), "keepalived/lb-1.conf");
        assert_eq!(node_of_config_path(&path), Some("lb-1"));
        assert!(node_config_path("a/b").is_err());
        assert_eq!(node_of_config_path(&BundlePath::new("keepalived/x/y.conf").unwrap()), None);
    }
}
