//! Checking an edit before it is committed (the web UI's editor, `fleet config edit`): the
//! candidate bundle is the latest version with one file replaced, checked offline as a commit
//! would ([`crate::candidate::check_bundle`]) and, when the server has a `haproxy -c`
//! (`fleet serve --haproxy-bin`), by HAProxy itself whatever the offline check found, so the
//! operator sees both verdicts at their lines. Nothing is stored.

use haproxy_model::Diagnostic;
use serde::Serialize;

use super::Store;
use crate::bundle::{Bundle, BundleFile};
use crate::candidate;
use crate::error::Result;

/// Both verdicts on a candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CandidateCheck {
    /// The offline check's findings (errors first), located in the bundle's files.
    pub offline: Vec<Diagnostic>,
    /// `haproxy -c`'s verdict; `None` when the server has no HAProxy to ask.
    pub haproxy: Option<HaproxyVerdict>,
}

/// What `haproxy -c` said about a candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HaproxyVerdict {
    /// Exit status 0 or 2.
    pub accepted: bool,
    /// Messages located in the files.
    pub diagnostics: Vec<Diagnostic>,
    /// Messages about the configuration as a whole, and why HAProxy could not be run.
    pub general: Vec<String>,
}

impl CandidateCheck {
    /// True when a commit of the candidate would be refused: offline errors HAProxy does not
    /// overrule ([`candidate::decide`]).
    pub fn blocks(&self) -> bool {
        match &self.haproxy {
            Some(verdict) => !verdict.accepted,
            None => self.offline.iter().any(Diagnostic::is_error),
        }
    }
}

impl Store {
    /// Checks `file` in place of the file at its path in cluster `cluster_id`'s latest version
    /// (a bundle of that file alone when the cluster has none). Errors: the cluster does not
    /// exist, the file is not a valid bundle member.
    pub async fn check_candidate(&self, cluster_id: i64, file: BundleFile) -> Result<CandidateCheck> {
        let settings = self.cluster(cluster_id).await?.settings;
        let bundle = match self.latest_version(cluster_id).await? {
            Some(latest) => self.bundle(cluster_id, latest.info.number).await?.with_file(file)?,
            None => Bundle::new(vec![file])?,
        };
        let offline = candidate::check_bundle(&bundle, &settings);
        let Some(checker) = self.shared.haproxy.clone() else { return Ok(CandidateCheck { offline, haproxy: None }) };
        let verdict = tokio::task::spawn_blocking(move || candidate::haproxy_check_bundle(&bundle, &settings, &checker)).await;
        let haproxy = match verdict {
            Ok(Ok(v)) => HaproxyVerdict {
                accepted: v.accepted,
                diagnostics: v.diagnostics,
                general: v.general.into_iter().map(|g| g.message).collect(),
            },
            Ok(Err(e)) => HaproxyVerdict { accepted: false, diagnostics: Vec::new(), general: vec![format!("cannot run haproxy -c: {e}")] },
            Err(e) => HaproxyVerdict { accepted: false, diagnostics: Vec::new(), general: vec![format!("haproxy -c was interrupted: {e}")] },
        };
        Ok(CandidateCheck { offline, haproxy: Some(haproxy) })
    }
}
