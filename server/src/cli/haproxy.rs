//! `fleet config check --haproxy-bin`: run the real `haproxy -c` and turn what it prints into
//! diagnostics located in the file.
//!
//! HAProxy reports `[ALERT]    (pid) : config : parsing [file.cfg:12] : message` (and the same
//! with `[WARNING]`). Lines with `parsing [file:N]` map to line N; messages that name a proxy
//! (`missing timeouts for frontend 'fe'`, `Proxy 'be': unable to find table ...`) map to that
//! section's header; the rest are reported for the file as a whole. The closing summaries
//! (`Fatal errors found in configuration.`) are dropped: the exit status says the same. The exit
//! status is the verdict: when HAProxy accepts the file (0, or 2 for "no listener"), its alerts
//! are reported as warnings.
//!
//! The check runs from the file's folder, as HAProxy resolves relative paths (certificates,
//! error files, maps) from where it runs; standard input is checked from a temporary folder.

use std::path::{Path, PathBuf};
use std::process::Command;

use haproxy_model::{Diagnostic, Document, Position, Severity};

use super::error::CliError;
use super::input::Source;

/// What HAProxy said about one file.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// Messages located at a line.
    pub(crate) located: Vec<Diagnostic>,
    /// Messages about the file as a whole.
    pub(crate) unlocated: Vec<(Severity, String)>,
}

impl Report {
    /// True when HAProxy rejected the file.
    pub(crate) fn has_errors(&self) -> bool {
        self.located.iter().any(Diagnostic::is_error) || self.unlocated.iter().any(|(s, _)| *s == Severity::Error)
    }
}

/// Runs `bin -c ARGS -f FILE` on `source` and maps its output.
pub(crate) fn check(bin: &Path, args: &[String], source: &Source, document: &Document) -> Result<Report, CliError> {
    let output = match &source.path {
        Some(path) => {
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
            let name = path.file_name().map(PathBuf::from).unwrap_or_else(|| path.to_path_buf());
            run(bin, args, dir, &name)?
        }
        None => {
            let dir = std::env::temp_dir().join(format!("fleet-check-{}", std::process::id()));
            let io = |source| CliError::Io { path: dir.display().to_string(), source };
            std::fs::create_dir_all(&dir).map_err(io)?;
            let name = PathBuf::from("stdin.cfg");
            let result = std::fs::write(dir.join(&name), &source.text).map_err(io).and_then(|()| run(bin, args, &dir, &name));
            let _ = std::fs::remove_dir_all(&dir);
            result?
        }
    };
    let status = output.status.code().ok_or_else(|| CliError::Checker {
        bin: bin.to_path_buf(),
        reason: "killed by a signal".into(),
    })?;
    // 0: valid; 2: valid but will not start (no listener), reported as a warning by HAProxy.
    let accepted = matches!(status, 0 | 2);
    let mut report = Report::default();
    for line in String::from_utf8_lossy(&output.stderr).lines().chain(String::from_utf8_lossy(&output.stdout).lines()) {
        let Some((mut severity, at, message)) = parse_line(line) else { continue };
        if accepted {
            // HAProxy prints some alerts and still accepts the file (e.g. a defaults section
            // used both explicitly and implicitly): its exit status is the verdict.
            severity = Severity::Warning;
        }
        let message = format!("haproxy: {message}");
        match at.or_else(|| proxy_line(document, &message)) {
            Some(line) => report.located.push(Diagnostic { severity, position: Position::new(line, 1), message }),
            None => report.unlocated.push((severity, message)),
        }
    }
    if !accepted && !report.has_errors() {
        report.unlocated.push((Severity::Error, format!("haproxy: `-c` failed with exit status {status}")));
    }
    Ok(report)
}

fn run(bin: &Path, args: &[String], dir: &Path, file: &Path) -> Result<std::process::Output, CliError> {
    Command::new(bin)
        .arg("-c")
        .args(args)
        .arg("-f")
        .arg(file)
        .current_dir(dir)
        .output()
        .map_err(|e| CliError::Checker { bin: bin.to_path_buf(), reason: e.to_string() })
}

/// One `[ALERT]` or `[WARNING]` line: severity, line number when given, message.
pub(crate) fn parse_line(line: &str) -> Option<(Severity, Option<u32>, String)> {
    let (severity, rest) = if let Some(rest) = line.strip_prefix("[ALERT]") {
        (Severity::Error, rest)
    } else {
        (Severity::Warning, line.strip_prefix("[WARNING]")?)
    };
    let mut rest = rest.trim_start();
    // `(pid) : `
    if rest.starts_with('(') {
        rest = rest.split_once(')').map_or(rest, |(_, after)| after);
    }
    rest = rest.trim_start().trim_start_matches(':').trim_start();
    rest = rest.strip_prefix("config :").map_or(rest, str::trim_start);
    if rest.starts_with("Error(s) found in configuration file") || rest.starts_with("Fatal errors found in configuration")
    {
        return None;
    }
    let mut at = None;
    if let Some(located) = rest.strip_prefix("parsing [") {
        if let Some((place, after)) = located.split_once(']') {
            at = place.rsplit_once(':').and_then(|(_, n)| n.parse().ok());
            rest = after.trim_start().trim_start_matches(':').trim_start();
        }
    }
    Some((severity, at, rest.trim_end().to_string()))
}

/// The header line of the proxy a message names (`frontend 'fe'`, `Proxy 'be'` ...).
fn proxy_line(document: &Document, message: &str) -> Option<u32> {
    const NAMERS: [&str; 5] = ["proxy '", "Proxy '", "frontend '", "backend '", "listen '"];
    NAMERS.iter().find_map(|namer| {
        let start = message.find(namer)? + namer.len();
        let name = &message[start..start + message[start..].find('\'')?];
        document
            .sections()
            .iter()
            .find(|s| s.kind().is_proxy() && s.name().as_deref() == Some(name))
            .map(|s| s.header().position().line)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_located_alerts() {
        let line = "[ALERT]    (27377) : config : parsing [t.cfg:15] : error detected while parsing an 'http-request deny' condition";
        let (severity, at, message) = parse_line(line).unwrap();
        assert_eq!(severity, Severity::Error);
        assert_eq!(at, Some(15));
        assert_eq!(message, "error detected while parsing an 'http-request deny' condition");
        let (_, at, message) = parse_line("[ALERT]    (1) : config : parsing [a:b.cfg:19]: Missing LF on last line").unwrap();
        assert_eq!((at, message.as_str()), (Some(19), "Missing LF on last line"));
    }

    #[test]
    fn reads_warnings_and_skips_summaries_and_notices() {
        let (severity, at, message) = parse_line("[WARNING]  (2) : config : missing timeouts for frontend 'http'.").unwrap();
        assert_eq!((severity, at, message.as_str()), (Severity::Warning, None, "missing timeouts for frontend 'http'."));
        assert!(parse_line("[ALERT]    (2) : config : Fatal errors found in configuration.").is_none());
        assert!(parse_line("[ALERT]    (2) : config : Error(s) found in configuration file : x.cfg").is_none());
        assert!(parse_line("[NOTICE]   (2) : haproxy version is 2.6.12").is_none());
        assert!(parse_line("   | While not properly invalid").is_none());
    }

    #[test]
    fn locates_messages_that_name_a_proxy() {
        let document = haproxy_parse::parse("global\n\nbackend invalid\n  server s 1.2.3.4:80\n").document;
        assert_eq!(proxy_line(&document, "Proxy 'invalid': unable to find table 'invalid'"), Some(3));
        assert_eq!(proxy_line(&document, "missing timeouts for frontend 'other'"), None);
    }
}
