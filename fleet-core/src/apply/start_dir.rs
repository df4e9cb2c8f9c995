//! Where relative paths lead on a node whose HAProxy the agent does not start (systemd mode).
//!
//! ```text
//! process mode: the agent starts HAProxy with `-C <managed>` and loads `default-path origin
//!               <managed>` first: relative paths resolve in the managed directory, always
//! systemd mode: the unit's command line is the operator's; without `-C <managed>` on it a
//!               relative path that no `default-path` moves resolves in the unit's working
//!               directory (`/` unless `WorkingDirectory=`) -> a warning per such reference
//! ```
//!
//! Why `-C` and not `WorkingDirectory=`: the managed directory is a symlink to the current
//! release. systemd enters a working directory once, so the master (and every master it
//! re-executes at a reload) stays in the release it started in, and reads old files after the
//! next apply; `-C` is an argument, entered again by each re-executed master, through the
//! symlink. `default-path origin <managed>` in `global` works too for the paths HAProxy
//! resolves while parsing (configuration.txt §3.1), not for those it resolves afterwards (a
//! map inside a dynamic `use_backend %[...]`).

use haproxy_model::Diagnostic;
use haproxy_parse::PathBase;

use crate::bundle::references;
use crate::bundle::Bundle;
use crate::model::ClusterSettings;

/// Warnings, at `file:line:col`, for each reference of `bundle` that HAProxy resolves in the
/// directory it was started in (a relative path with no `default-path` in force), on a node
/// whose HAProxy master runs with `-C started_in` (`None`: without `-C`, or not known: its
/// master socket did not answer). Empty
/// when `started_in` is `settings`' managed directory, or no reference is relative.
pub fn relative_path_warnings(bundle: &Bundle, settings: &ClusterSettings, started_in: Option<&str>) -> Vec<Diagnostic> {
    let managed = settings.managed_dir();
    if started_in.is_some_and(|dir| dir.trim_end_matches('/') == managed) {
        return Vec::new();
    }
    let started = match started_in {
        Some(dir) => format!("HAProxy runs with `-C {dir}`"),
        None => format!("HAProxy's master is not known to run with `-C {managed}`"),
    };
    references::resolve(bundle, settings)
        .into_iter()
        .filter(|r| r.reference.base == PathBase::Current && !r.reference.path.starts_with('/'))
        .map(|r| {
            let message = format!(
                "{}: {} is relative and {started}, so it resolves in HAProxy's working directory, not in {managed}: \
                 add `-C {managed}` to the unit's command line (Debian: EXTRAOPTS in /etc/default/haproxy), \
                 or `default-path origin {managed}` to `global`",
                r.reference.keyword, r.reference.path
            );
            let position = haproxy_model::Position::new(r.reference.position.line, r.reference.position.column);
            Diagnostic::warning(position, message).in_file(r.reference.file)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::{BundleFile, BundlePath, FileKind};

    fn bundle(files: &[(&str, &str)]) -> Bundle {
        let files = files
            .iter()
            .map(|(path, text)| {
                let path = BundlePath::new(path).unwrap_or_else(|e| unreachable!("{e}"));
                let kind = if path.as_str().ends_with(".cfg") { FileKind::Config } else { FileKind::Other };
                BundleFile::new(path, kind, text.as_bytes().to_vec())
            })
            .collect();
        Bundle::new(files).unwrap_or_else(|e| unreachable!("{e}"))
    }

    const WEB: &str = "frontend fe\n    bind :443 ssl crt /etc/haproxy/certs/a.pem\n    errorfile 503 errors/503.http\n";

    #[test]
    fn relative_paths_warn_unless_haproxy_starts_in_the_managed_directory() {
        let settings = ClusterSettings::default();
        let set = bundle(&[("haproxy.cfg", "global\n    maxconn 10\n"), ("conf.d/web.cfg", WEB), ("errors/503.http", ""), ("certs/a.pem", "")]);
        let warnings = relative_path_warnings(&set, &settings, None);
        let [warning] = &warnings[..] else { unreachable!("{warnings:?}") };
        assert_eq!(warning.to_string().split(": warning: ").next(), Some("conf.d/web.cfg:3:19"), "{warning}");
        assert!(warning.message.starts_with("errorfile: errors/503.http is relative and HAProxy's master is not known to run with `-C /etc/haproxy`"), "{warning}");
        assert!(warning.message.contains("add `-C /etc/haproxy` to the unit's command line"), "{warning}");
        assert_eq!(relative_path_warnings(&set, &settings, Some("/etc/haproxy/")), []);
        let elsewhere = relative_path_warnings(&set, &settings, Some("/"));
        assert!(elsewhere[0].message.contains("HAProxy runs with `-C /`"), "{elsewhere:?}");
    }

    #[test]
    fn a_default_path_or_absolute_paths_need_no_working_directory() {
        let settings = ClusterSettings::default();
        for global in ["global\n    default-path origin /etc/haproxy\n", "global\n    default-path parent\n"] {
            let set = bundle(&[("haproxy.cfg", global), ("conf.d/web.cfg", WEB), ("errors/503.http", ""), ("certs/a.pem", "")]);
            assert_eq!(relative_path_warnings(&set, &settings, None), [], "{global}");
        }
        let absolute = WEB.replace("errors/503.http", "/etc/haproxy/errors/503.http");
        let set = bundle(&[("haproxy.cfg", absolute.as_str()), ("errors/503.http", ""), ("certs/a.pem", "")]);
        assert_eq!(relative_path_warnings(&set, &settings, None), []);
    }
}
