//! keepalived adoption (`fleet-agent --keepalived --adopt`): a node's keepalived.conf, byte
//! for byte whatever it contains, becomes `keepalived/<agent>.conf` of the cluster's next
//! version, so the cluster starts from what the node runs.
//!
//! ```text
//! POST /api/v1/agent/keepalived (bytes) -> keepalived_adoption(latest bundle, agent) decides
//!   -> latest + keepalived/<agent>.conf, committed like a file PUT (gate, audit), author agent:<name>
//! ```

use serde_json::json;

use super::versions::Made;
use super::Store;
use crate::bundle::{Bundle, BundleFile, BundlePath, FileKind};
use crate::error::{Error, Result};
use crate::model::{Actor, AgentPrincipal, Committed, Role};
use crate::vip::node_config_path;

/// Whether `agent`'s keepalived.conf may be adopted onto `latest` (the cluster's latest bundle,
/// `None` without a version): only onto a version (a bundle needs HAProxy's configuration:
/// adopt or import that first), and only while the cluster holds no file for this node, so an
/// agent restarted with `--adopt` never overwrites what the cluster manages. The path to add.
fn keepalived_adoption(latest: Option<&Bundle>, cluster_id: i64, agent: &str) -> Result<BundlePath> {
    let path = node_config_path(agent).map_err(|e| Error::Invalid { message: format!("agent name {agent:?}: {e}"), diagnostics: Vec::new() })?;
    let Some(latest) = latest else {
        return Err(Error::Conflict(format!(
            "cluster {cluster_id} has no version yet: adopt or import HAProxy's configuration first, then keepalived's"
        )));
    };
    if latest.file(&path).is_some() {
        return Err(Error::Conflict(format!(
            "cluster {cluster_id} already has {path}: the cluster manages this node's keepalived.conf (edit that file instead)"
        )));
    }
    Ok(path)
}

impl Store {
    /// Adds `content` (the node's keepalived.conf, byte for byte) as `keepalived/<agent>.conf`
    /// (kind keepalived) on the cluster's latest version, making the next one, authored
    /// `agent:<name>` with the operator role. [`Error::Conflict`] when the cluster has no
    /// version or already has a file for this agent; other errors as [`Store::put_file`].
    pub async fn adopt_keepalived(&self, agent: &AgentPrincipal, content: &[u8], message: &str) -> Result<Committed> {
        let author = format!("agent:{}", agent.name);
        let message = if message.is_empty() { format!("keepalived.conf adopted from {}", agent.hostname) } else { message.to_string() };
        let details = json!({"bytes": content.len(), "agent": agent.name, "hostname": agent.hostname});
        let made = Made::new("keepalived.adopt", &message, details);
        let cluster_id = agent.cluster_id;
        if self.latest_version(cluster_id).await?.is_none() {
            keepalived_adoption(None, cluster_id, &agent.name)?;
        }
        let change = |latest: &Bundle| {
            let path = keepalived_adoption(Some(latest), cluster_id, &agent.name)?;
            latest.with_file(BundleFile::new(path, FileKind::Keepalived, content.to_vec())).map_err(Error::from)
        };
        self.change_latest(Actor::new(&author, Role::Operator), cluster_id, made, change).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adopted_only_onto_a_version_without_this_nodes_file() {
        let config = BundleFile::new(BundlePath::new("haproxy.cfg").unwrap(), FileKind::Config, b"global\n".to_vec());
        let bundle = Bundle::new(vec![config]).unwrap();
        assert!(matches!(keepalived_adoption(None, 7, "lb1"), Err(Error::Conflict(m)) if m.contains("no version yet")));
        assert_eq!(keepalived_adoption(Some(&bundle), 7, "lb1").unwrap().as_str(), "keepalived/lb1.conf");
        let file = BundleFile::new(BundlePath::new("keepalived/lb1.conf").unwrap(), FileKind::Keepalived, b"x".to_vec());
        let with = bundle.with_file(file).unwrap();
        assert!(matches!(keepalived_adoption(Some(&with), 7, "lb1"), Err(Error::Conflict(m)) if m.contains("already has keepalived/lb1.conf")));
        assert!(keepalived_adoption(Some(&with), 7, "lb2").is_ok());
        assert!(matches!(keepalived_adoption(Some(&bundle), 7, "a/b"), Err(Error::Invalid { .. })));
    }
}
