//! `fleet keepalived parse|fmt|check`: offline tools for keepalived.conf files.
//!
//! ```text
//! parse FILE --emit lossless|json   the document as read (byte for byte) or as JSON (tree + typed views)
//! fmt FILE [--check|--write]        canonical layout to stdout, or check / rewrite the file
//! check FILE... [--keepalived-bin]  offline checks, and `keepalived -t -f FILE` when asked
//! ```
//! When `keepalived -t` runs, its verdict decides: offline errors it does not confirm (it
//! accepts the file) are printed as warnings and the file passes; when it rejects the file, the
//! file fails whatever the offline check found. Exit codes: 0 fine, 1 problems found (errors,
//! a file fmt would change, keepalived -t failing), 2 usage or I/O error. Diagnostics go to stderr as `path:line:col: error: message`
//! followed by the source line and a caret.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use haproxy_model::keepalived::{Document, Statement};
use haproxy_model::Diagnostic;
use haproxy_parse::keepalived::{check, parse, settle_with_keepalived};
use haproxy_render::keepalived::{format, lossless};
use serde_json::{json, Value};

use super::error::CliError;
use super::input::{self, print, Source};

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Parse a keepalived.conf and print it back (lossless) or as JSON.
    Parse {
        /// The file to read (`-`: standard input).
        file: PathBuf,
        /// What to print.
        #[arg(long, value_enum, default_value_t = Emit::Lossless)]
        emit: Emit,
    },
    /// Print a keepalived.conf in the canonical layout.
    Fmt {
        /// The file to format (`-`: standard input).
        file: PathBuf,
        /// Print nothing; exit 1 when the file is not in the canonical layout.
        #[arg(long, conflicts_with = "write")]
        check: bool,
        /// Rewrite the file in place when its layout changes.
        #[arg(long)]
        write: bool,
    },
    /// Check keepalived.conf files offline (and with `keepalived -t` when given its path).
    Check {
        /// The files to check (`-`: standard input).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Also run `PATH -t -f FILE` on each file.
        #[arg(long, value_name = "PATH")]
        keepalived_bin: Option<PathBuf>,
    },
}

/// The output of `parse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Emit {
    /// The document rendered back, byte for byte.
    Lossless,
    /// The statement tree, the typed views and the diagnostics as JSON.
    Json,
}

pub(crate) fn run(command: Command) -> ExitCode {
    let result = match command {
        Command::Parse { file, emit } => run_parse(&file, emit),
        Command::Fmt { file, check, write } => run_fmt(&file, check, write),
        Command::Check { files, keepalived_bin } => run_check(&files, keepalived_bin.as_deref()),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("fleet: {error}");
            ExitCode::from(2)
        }
    }
}

fn report(source: &Source, diagnostics: &[Diagnostic]) {
    for diagnostic in diagnostics {
        input::eprint(&diagnostic.render(&source.label, &source.text));
    }
}

fn problems(found: bool) -> ExitCode {
    if found {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn run_parse(path: &Path, emit: Emit) -> Result<ExitCode, CliError> {
    let source = input::read(path)?;
    let parsed = parse(&source.text);
    report(&source, &parsed.diagnostics);
    match emit {
        Emit::Lossless => print(&lossless(&parsed.document))?,
        Emit::Json => {
            let value = document_json(&parsed.document, &parsed.diagnostics);
            // A `Value` always encodes; the error arm only keeps the types honest.
            let text = serde_json::to_string_pretty(&value)
                .map_err(|e| CliError::Io { path: source.label.clone(), source: e.into() })?;
            print(&format!("{text}\n"))?;
        }
    }
    Ok(problems(parsed.has_errors()))
}

fn statement_json(statement: &Statement) -> Value {
    let position = statement.position();
    let mut value = json!({
        "keyword": statement.keyword(),
        "args": statement.arg_values(),
        "raw": statement.words().iter().map(|w| w.raw()).collect::<Vec<_>>(),
        "line": position.line,
        "column": position.column,
    });
    if let Some(id) = statement.config_id() {
        value["config_id"] = json!(id);
    }
    if statement.is_definition() {
        value["definition"] = json!(true);
    }
    if let Some(block) = statement.block() {
        value["block"] = json!({
            "statements": block.statements().iter().map(statement_json).collect::<Vec<_>>(),
            "closed": block.close().is_some(),
        });
    }
    value
}

fn document_json(document: &Document, diagnostics: &[Diagnostic]) -> Value {
    json!({
        "statements": document.statements().iter().map(statement_json).collect::<Vec<_>>(),
        "global_defs": document.global_defs(),
        "vrrp_scripts": document.vrrp_scripts(),
        "vrrp_instances": document.vrrp_instances(),
        "vrrp_sync_groups": document.vrrp_sync_groups(),
        "virtual_servers": document.virtual_servers(),
        "diagnostics": diagnostics,
    })
}

fn run_fmt(path: &Path, check_only: bool, write: bool) -> Result<ExitCode, CliError> {
    if write && input::is_stdin(path) {
        return Err(CliError::Usage("--write needs a file, not standard input".into()));
    }
    let source = input::read(path)?;
    let parsed = parse(&source.text);
    if parsed.has_errors() {
        report(&source, &parsed.diagnostics);
        eprintln!("fleet: {}: not formatted because of syntax errors", source.label);
        return Ok(ExitCode::from(1));
    }
    let formatted = format(&parsed.document);
    if check_only {
        if formatted != source.text {
            eprintln!("{}: not in the canonical layout", source.label);
            return Ok(ExitCode::from(1));
        }
        return Ok(ExitCode::SUCCESS);
    }
    if write {
        if formatted != source.text {
            input::write_atomic(path, &formatted)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    print(&formatted)?;
    Ok(ExitCode::SUCCESS)
}

fn run_check(files: &[PathBuf], keepalived_bin: Option<&Path>) -> Result<ExitCode, CliError> {
    let mut found = false;
    for path in files {
        let source = input::read(path)?;
        let mut checked = check(&source.text);
        match keepalived_bin {
            Some(bin) => {
                // keepalived's verdict decides; its messages come first, then ours.
                let accepts = run_keepalived_test(bin, &source)?;
                settle_with_keepalived(&mut checked.diagnostics, accepts);
                report(&source, &checked.diagnostics);
                found |= !accepts;
            }
            None => {
                report(&source, &checked.diagnostics);
                found |= checked.has_errors();
            }
        }
    }
    Ok(problems(found))
}

/// Runs `bin -t -f FILE` on `source` (standard input goes through a temporary file); prints its
/// messages when it fails. True when it accepts the file.
fn run_keepalived_test(bin: &Path, source: &Source) -> Result<bool, CliError> {
    let test = |path: &Path| {
        std::process::Command::new(bin)
            .arg("-t")
            .arg("-f")
            .arg(path)
            .output()
            .map_err(|e| CliError::Checker { bin: bin.to_path_buf(), reason: e.to_string() })
    };
    let output = match &source.path {
        Some(path) => test(path)?,
        None => {
            let dir = std::env::temp_dir().join(format!("fleet-keepalived-check-{}", std::process::id()));
            let io = |e| CliError::Io { path: dir.display().to_string(), source: e };
            std::fs::create_dir_all(&dir).map_err(io)?;
            let file = dir.join("keepalived.conf");
            let result = std::fs::write(&file, &source.text).map_err(io).and_then(|()| test(&file));
            let _ = std::fs::remove_dir_all(&dir);
            result?
        }
    };
    let path = &source.label;
    if output.status.success() {
        return Ok(true);
    }
    let code = output.status.code().map_or_else(|| "a signal".to_string(), |c| format!("exit status {c}"));
    eprintln!("{path}: keepalived -t failed ({code}):");
    for stream in [&output.stdout, &output.stderr] {
        for line in String::from_utf8_lossy(stream).lines() {
            eprintln!("  {line}");
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("fleet-cli-ka-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    const MESSY: &str = "global_defs\n{\n  router_id   x\n}\n";
    const CANONICAL: &str = "global_defs {\n    router_id x\n}\n";

    #[test]
    fn fmt_check_and_write() {
        let path = scratch("fmt.conf", MESSY);
        assert_eq!(run(Command::Fmt { file: path.clone(), check: true, write: false }), ExitCode::from(1));
        assert_eq!(run(Command::Fmt { file: path.clone(), check: false, write: true }), ExitCode::SUCCESS);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), CANONICAL);
        assert_eq!(run(Command::Fmt { file: path.clone(), check: true, write: false }), ExitCode::SUCCESS);
        let broken = scratch("broken.conf", "global_defs {\n");
        assert_eq!(run(Command::Fmt { file: broken.clone(), check: false, write: true }), ExitCode::from(1));
        assert_eq!(std::fs::read_to_string(&broken).unwrap(), "global_defs {\n", "a broken file is left alone");
    }

    #[test]
    fn check_exit_codes() {
        let good = scratch("good.conf", CANONICAL);
        let bad = scratch("bad.conf", "vrrp_instance A {\n  interface eth0\n  virtual_router_id 0\n}\n");
        assert_eq!(run(Command::Check { files: vec![good.clone()], keepalived_bin: None }), ExitCode::SUCCESS);
        assert_eq!(run(Command::Check { files: vec![good.clone(), bad], keepalived_bin: None }), ExitCode::from(1));
        let missing = PathBuf::from("/nonexistent/keepalived.conf");
        assert_eq!(run(Command::Check { files: vec![missing], keepalived_bin: None }), ExitCode::from(2));
        let no_bin = Some(PathBuf::from("/nonexistent/keepalived"));
        assert_eq!(run(Command::Check { files: vec![good.clone()], keepalived_bin: no_bin }), ExitCode::from(2));
        // A stand-in binary that rejects every file.
        let reject = Some(PathBuf::from("/bin/false"));
        assert_eq!(run(Command::Check { files: vec![good], keepalived_bin: reject }), ExitCode::from(1));
    }

    #[test]
    fn keepalived_accepting_a_file_turns_offline_errors_into_warnings() {
        // An offline error (VRID 0) that a stand-in keepalived accepting every file does not
        // confirm: keepalived's verdict decides, the file passes.
        let bad = scratch("unconfirmed.conf", "vrrp_instance A {\n  interface eth0\n  virtual_router_id 0\n}\n");
        let accept = Some(PathBuf::from("/bin/true"));
        assert_eq!(run(Command::Check { files: vec![bad.clone()], keepalived_bin: accept }), ExitCode::SUCCESS);
        let reject = Some(PathBuf::from("/bin/false"));
        assert_eq!(run(Command::Check { files: vec![bad.clone()], keepalived_bin: reject }), ExitCode::from(1));
        let mut diagnostics = check(&std::fs::read_to_string(&bad).unwrap()).diagnostics;
        assert!(diagnostics.iter().any(Diagnostic::is_error));
        settle_with_keepalived(&mut diagnostics, true);
        assert!(diagnostics.iter().all(|d| !d.is_error() && d.message.ends_with("keepalived -t accepts the file)")));
    }

    #[test]
    fn input_that_is_not_utf8_is_a_usage_error_not_a_finding() {
        let dir = std::env::temp_dir().join(format!("fleet-cli-ka-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("latin1.conf");
        std::fs::write(&path, b"global_defs {\n  router_id caf\xe9\n}\n").unwrap();
        assert_eq!(run(Command::Check { files: vec![path.clone()], keepalived_bin: None }), ExitCode::from(2));
        assert_eq!(run(Command::Fmt { file: path, check: false, write: true }), ExitCode::from(2));
    }

    #[test]
    fn json_has_the_tree_and_the_views() {
        let doc = parse("vrrp_instance V {\n  interface eth0\n  virtual_router_id 9\n}\n").document;
        let value = document_json(&doc, &[]);
        assert_eq!(value["statements"][0]["keyword"], "vrrp_instance");
        assert_eq!(value["statements"][0]["block"]["statements"][1]["args"][0], "9");
        assert_eq!(value["statements"][0]["block"]["statements"][1]["line"], 3);
        assert_eq!(value["vrrp_instances"][0]["virtual_router_id"], 9);
        assert_eq!(run(Command::Parse { file: scratch("p.conf", MESSY), emit: Emit::Json }), ExitCode::SUCCESS);
        assert_eq!(run(Command::Parse { file: scratch("q.conf", "}\n"), emit: Emit::Lossless }), ExitCode::from(1));
    }
}
