//! `fleet config parse|fmt|check|diff`: offline tools for HAProxy configuration files.
//!
//! ```text
//! parse FILE --emit lossless|json       the document as read (byte for byte) or its typed model as JSON
//! fmt FILE [--check|--write]            canonical layout to stdout, or check / rewrite the file
//! check FILE... [--haproxy-bin PATH]    offline checks, then `haproxy -c` from the file's folder
//! diff A B [--json]                     structural summary, then the unified diff
//! ```
//! `-` as FILE reads standard input (parse, fmt, check). Exit codes: 0 fine, 1 problems found
//! (errors in a file, a file `fmt --check` would change, differences for `diff`), 2 usage or
//! I/O error. Diagnostics go to stderr as `path:line:col: error|warning: message`, followed by
//! the source line and a caret; warnings alone do not fail a check. With `--haproxy-bin`,
//! HAProxy's verdict decides (`fleet_core::haproxy_check` reads it): offline errors it does not
//! confirm are printed as warnings.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use fleet_core::haproxy_check::{HaproxyChecker, Verdict};
use haproxy_model::{Diagnostic, Severity};

use super::error::CliError;
use super::input::{self, eprint, print};

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Parse a file and print it back (lossless) or as JSON.
    Parse {
        /// The file to read (`-`: standard input).
        file: PathBuf,
        /// What to print.
        #[arg(long, value_enum, default_value_t = Emit::Lossless)]
        emit: Emit,
    },
    /// Print a file in the canonical layout (or check or rewrite it).
    Fmt {
        /// The file to format (`-`: standard input).
        file: PathBuf,
        /// Print the changes fmt would make and exit 1 when there are any; write nothing.
        #[arg(long, conflicts_with = "write")]
        check: bool,
        /// Rewrite the file in place (atomically, keeping its permissions) when its layout changes.
        #[arg(long)]
        write: bool,
    },
    /// Check files offline, and with the real `haproxy -c` when given its path.
    Check {
        /// The files to check (`-`: standard input).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Also run `PATH -c -f FILE` from each file's folder and report what it says.
        #[arg(long, value_name = "PATH")]
        haproxy_bin: Option<PathBuf>,
        /// An extra argument for `haproxy -c` (repeat for several), e.g. `--haproxy-arg=-dr`.
        #[arg(long = "haproxy-arg", value_name = "ARG", allow_hyphen_values = true, requires = "haproxy_bin")]
        haproxy_args: Vec<String>,
    },
    /// Show what differs between two files: structural summary, then unified diff.
    Diff {
        /// The old file.
        a: PathBuf,
        /// The new file.
        b: PathBuf,
        /// Print the difference as JSON (`{"unified": ..., "summary": [...]}`).
        #[arg(long)]
        json: bool,
    },
}

/// The output of `parse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Emit {
    /// The document rendered back, byte for byte.
    Lossless,
    /// The typed model (`haproxy_model::export`) as JSON.
    Json,
}

/// What a command found, when it could do its job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Fine,
    Problems,
    /// Some work could not be done; the reasons are already printed.
    Failed,
}

pub(crate) fn run(command: Command) -> ExitCode {
    let result = match command {
        Command::Parse { file, emit } => parse(&file, emit),
        Command::Fmt { file, check, write } => fmt(&file, check, write),
        Command::Check { files, haproxy_bin, haproxy_args } => check(&files, haproxy_bin.as_deref(), &haproxy_args),
        Command::Diff { a, b, json } => diff(&a, &b, json),
    };
    match result {
        Ok(Outcome::Fine) => ExitCode::SUCCESS,
        Ok(Outcome::Problems) => ExitCode::from(1),
        Ok(Outcome::Failed) => ExitCode::from(2),
        Err(error) => {
            eprint(&format!("fleet: error: {error}\n"));
            ExitCode::from(2)
        }
    }
}

/// Prints `diagnostics` about `label` with the source line and a caret under the column.
fn report(label: &str, text: &str, diagnostics: &[Diagnostic]) {
    let mut out = String::new();
    for diagnostic in diagnostics {
        out.push_str(&diagnostic.render(label, text));
    }
    eprint(&out);
}

fn outcome(problems: bool) -> Outcome {
    if problems {
        Outcome::Problems
    } else {
        Outcome::Fine
    }
}

fn parse(file: &Path, emit: Emit) -> Result<Outcome, CliError> {
    let source = input::read(file)?;
    let parsed = haproxy_parse::parse(&source.text);
    report(&source.label, &source.text, &parsed.diagnostics);
    match emit {
        Emit::Lossless => print(&haproxy_render::lossless(&parsed.document))?,
        Emit::Json => {
            let model = haproxy_model::export::to_model(&parsed.document);
            let json = serde_json::to_string_pretty(&model)
                .map_err(|e| CliError::Io { path: source.label.clone(), source: e.into() })?;
            print(&format!("{json}\n"))?;
        }
    }
    Ok(outcome(parsed.has_errors()))
}

fn fmt(file: &Path, check: bool, write: bool) -> Result<Outcome, CliError> {
    if write && input::is_stdin(file) {
        return Err(CliError::Usage("`fmt --write` needs a file, not standard input".into()));
    }
    let source = input::read(file)?;
    let parsed = haproxy_parse::parse(&source.text);
    if parsed.has_errors() {
        // Formatting keeps every word, but a file that does not parse is better fixed first.
        report(&source.label, &source.text, &parsed.diagnostics);
        eprint(&format!("{}: not formatted: fix the syntax errors first\n", source.label));
        return Ok(Outcome::Problems);
    }
    let formatted = haproxy_render::format(&parsed.document);
    let changed = formatted != source.text;
    if check {
        if changed {
            let diff = fleet_core::diff::diff_labeled(&source.text, &formatted, &source.label, &source.label);
            print(&diff.unified)?;
            eprint(&format!("{}: not formatted\n", source.label));
        }
        return Ok(outcome(changed));
    }
    if write {
        if changed {
            input::write_atomic(file, &formatted)?;
        }
        return Ok(Outcome::Fine);
    }
    print(&formatted)?;
    Ok(Outcome::Fine)
}

fn check(files: &[PathBuf], haproxy_bin: Option<&Path>, haproxy_args: &[String]) -> Result<Outcome, CliError> {
    let mut problems = false;
    let mut failed = false;
    for file in files {
        // Report every file; an I/O error on one does not hide the others' diagnostics.
        match check_one(file, haproxy_bin, haproxy_args) {
            Ok(outcome) => problems |= outcome == Outcome::Problems,
            Err(error) => {
                eprint(&format!("fleet: error: {error}\n"));
                failed = true;
            }
        }
    }
    Ok(if failed { Outcome::Failed } else { outcome(problems) })
}

fn check_one(file: &Path, haproxy_bin: Option<&Path>, haproxy_args: &[String]) -> Result<Outcome, CliError> {
    let source = input::read(file)?;
    let offline = haproxy_parse::check(&source.text).diagnostics;
    let (diagnostics, general) = match haproxy_bin {
        None => (offline, Vec::new()),
        Some(bin) => {
            // HAProxy's verdict decides: offline errors it does not confirm become warnings.
            let verdict = haproxy_check(bin, haproxy_args, &source)?;
            (verdict.merge(offline), verdict.general)
        }
    };
    report(&source.label, &source.text, &diagnostics);
    let mut out = String::new();
    for message in &general {
        out.push_str(&format!("{}: {}: {}\n", source.label, message.severity, message.message));
    }
    eprint(&out);
    let errors = diagnostics.iter().filter(|d| d.is_error()).count()
        + general.iter().filter(|m| m.severity == Severity::Error).count();
    let warnings = diagnostics.len() + general.len() - errors;
    if errors + warnings > 0 {
        eprint(&format!("{}: {}, {}\n", source.label, plural(errors, "error"), plural(warnings, "warning")));
    }
    Ok(outcome(errors > 0))
}

/// `haproxy -c` on a file from the file's folder (HAProxy resolves relative paths such as
/// error files and certificates from where it runs), or on standard input from a private
/// temporary folder.
fn haproxy_check(bin: &Path, args: &[String], source: &input::Source) -> Result<Verdict, CliError> {
    let checker = HaproxyChecker::new(bin).with_args(args.iter().cloned());
    let verdict = match &source.path {
        Some(path) => {
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
            let name = path.file_name().map_or_else(|| path.to_path_buf(), PathBuf::from);
            checker.in_dir(dir).check_file(&name, &source.text)?
        }
        None => checker.check_text(&source.text)?,
    };
    Ok(verdict)
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

fn diff(a: &Path, b: &Path, json: bool) -> Result<Outcome, CliError> {
    if input::is_stdin(a) && input::is_stdin(b) {
        return Err(CliError::Usage("`diff` can read standard input for one side only".into()));
    }
    let (a, b) = (input::read(a)?, input::read(b)?);
    let difference = fleet_core::diff::diff_labeled(&a.text, &b.text, &a.label, &b.label);
    if json {
        let text = serde_json::to_string_pretty(&difference)
            .map_err(|e| CliError::Io { path: "<json>".into(), source: e.into() })?;
        print(&format!("{text}\n"))?;
    } else if !difference.is_empty() {
        let mut out = String::new();
        if difference.summary.is_empty() {
            out.push_str("no structural changes (layout or comments only)\n");
        }
        for change in &difference.summary {
            out.push_str(&change.to_string());
        }
        out.push_str(&difference.privileged_lines());
        out.push('\n');
        out.push_str(&difference.unified);
        print(&out)?;
    }
    Ok(outcome(!difference.is_empty()))
}
