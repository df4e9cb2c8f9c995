//! Where a node saves `show servers state` before a reload, so servers drained, in maintenance
//! or reweighted at runtime keep that state (HAProxy reads the file back at the reload when
//! `load-server-state-from-file global` is set, configuration.txt §3.1 and §4.2).
//!
//! ```text
//! process mode: the agent's own config file, loaded first, names <state-dir>/server-state
//! systemd mode: the unit's command line is the operator's, so the agent cannot add a file to
//!               it; the operator's `server-state-file` (global, after `server-state-base`),
//!               resolved as the reference check resolves it, names where to save
//! ```

use crate::bundle::references::{self, Target};
use crate::bundle::Bundle;
use crate::model::ClusterSettings;

/// The absolute path the configuration of `bundle` loads the server state from on a node with
/// `settings`' managed directory: the last unconditional `server-state-file` of its config
/// files, `server-state-base` applied. `None` when it names none (or only inside `.if`
/// blocks, which the node alone can judge).
pub fn configured_path(bundle: &Bundle, settings: &ClusterSettings) -> Option<String> {
    let managed = settings.managed_dir();
    references::resolve(bundle, settings)
        .into_iter()
        .rfind(|r| r.reference.keyword == "server-state-file" && !r.reference.conditional)
        .map(|r| match r.target {
            Target::Bundle(path) => format!("{}/{path}", managed.trim_end_matches('/')),
            Target::Outside(path) => path,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::{BundleFile, BundlePath, FileKind};

    fn bundle(configs: &[&str]) -> Bundle {
        let files = configs
            .iter()
            .enumerate()
            .map(|(i, text)| BundleFile::new(BundlePath::new(&format!("{i}.cfg")).unwrap_or_else(|e| unreachable!("{e}")), FileKind::Config, text.as_bytes().to_vec()))
            .collect();
        Bundle::new(files).unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[test]
    fn the_last_server_state_file_names_the_path_with_its_base() {
        let settings = ClusterSettings::default();
        assert_eq!(configured_path(&bundle(&["global\n    maxconn 10\n"]), &settings), None);
        let absolute = bundle(&["global\n    server-state-file /var/lib/haproxy/old\n", "global\n    server-state-file /var/lib/haproxy/state\n"]);
        assert_eq!(configured_path(&absolute, &settings).as_deref(), Some("/var/lib/haproxy/state"));
        let based = bundle(&["global\n    server-state-base /var/lib/haproxy/\n    server-state-file fleet\n"]);
        assert_eq!(configured_path(&based, &settings).as_deref(), Some("/var/lib/haproxy/fleet"));
        let conditional = bundle(&[".if defined(X)\nglobal\n    server-state-file /x\n.endif\n"]);
        assert_eq!(configured_path(&conditional, &settings), None);
    }
}
