//! `fleet config parse|fmt|check|diff`: offline tools for HAProxy configuration files.
//!
//! ```text
//! parse FILE --emit lossless|json       the document as read (byte for byte) or its typed model as JSON
//! fmt PATH... [--check|--write]         canonical layout to stdout, or check / rewrite the files
//! check PATH... [--haproxy-bin PATH]    offline checks of the files as one configuration, then `haproxy -c`
//! diff A B [--json]                     structural summary, then the unified diff (files or directories)
//! pull|push|edit CLUSTER ...            client commands on a server's cluster (`super::client::bundle`)
//! ```
//! `-` as FILE reads standard input (parse, fmt, check). A directory PATH means its non-hidden
//! `*.cfg` files in name order, as `haproxy -f DIR` loads them; several PATHs are loaded in
//! order, as `haproxy -f A -f B`, and `check` checks them as the one configuration HAProxy
//! builds (a backend of one file serves another; duplicate names across files are errors). Exit codes: 0 fine, 1 problems found
//! (errors in a file, a file `fmt --check` would change, differences for `diff`), 2 usage or
//! I/O error. Diagnostics go to stderr as `path:line:col: error|warning: message`, followed by
//! the source line and a caret; warnings alone do not fail a check. With `--haproxy-bin`,
//! HAProxy's verdict decides (`fleet_core::haproxy_check` reads it): offline errors it does not
//! confirm are printed as warnings.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use fleet_core::haproxy_check::{CheckedFile, HaproxyChecker, Verdict};
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
    /// Print files in the canonical layout (or check or rewrite them).
    Fmt {
        /// The files or directories to format (`-`: standard input).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print the changes fmt would make and exit 1 when there are any; write nothing.
        #[arg(long, conflicts_with = "write")]
        check: bool,
        /// Rewrite the file in place (atomically, keeping its permissions) when its layout changes.
        #[arg(long)]
        write: bool,
    },
    /// Check files offline as one configuration, and with the real `haproxy -c` when given its path.
    Check {
        /// The files or directories to check, in load order (`-`: standard input).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Also run `PATH -c -f FILE...` from the first file's folder and report what it says.
        #[arg(long, value_name = "PATH")]
        haproxy_bin: Option<PathBuf>,
        /// An extra argument for `haproxy -c` (repeat for several), e.g. `--haproxy-arg=-dr`.
        #[arg(long = "haproxy-arg", value_name = "ARG", allow_hyphen_values = true, requires = "haproxy_bin")]
        haproxy_args: Vec<String>,
    },
    /// Show what differs between two files or directories: structural summary, then unified diff.
    Diff {
        /// The old file, or a directory of `*.cfg` files.
        a: PathBuf,
        /// The new file, or a directory of `*.cfg` files.
        b: PathBuf,
        /// Print the difference as JSON (`{"unified": ..., "summary": [...]}`).
        #[arg(long)]
        json: bool,
    },
    /// The client commands on a cluster's files: pull, push, edit (they talk to a server).
    #[command(flatten)]
    Remote(super::client::bundle::Command),
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
        Command::Remote(command) => return super::client::bundle::run(command),
        Command::Parse { file, emit } => parse(&file, emit),
        Command::Fmt { files, check, write } => fmt_all(&files, check, write),
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

/// `fmt` on every file `paths` name; an I/O error on one does not stop the others.
fn fmt_all(paths: &[PathBuf], check: bool, write: bool) -> Result<Outcome, CliError> {
    let files = input::expand(paths)?;
    if files.len() == 1 {
        return fmt(&files[0], check, write);
    }
    let (mut problems, mut failed) = (false, false);
    for file in &files {
        match fmt(file, check, write) {
            Ok(outcome) => problems |= outcome == Outcome::Problems,
            Err(error) => {
                eprint(&format!("fleet: error: {error}\n"));
                failed = true;
            }
        }
    }
    Ok(if failed { Outcome::Failed } else { outcome(problems) })
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

/// Checks the files `paths` name as one configuration. Every readable file is checked; an
/// unreadable one is reported and makes the run fail (exit 2), as HAProxy would not start.
fn check(paths: &[PathBuf], haproxy_bin: Option<&Path>, haproxy_args: &[String]) -> Result<Outcome, CliError> {
    let files = input::expand(paths)?;
    if files.len() > 1 && files.iter().any(|f| input::is_stdin(f)) {
        return Err(CliError::Usage("`-` (standard input) cannot be checked together with other files".into()));
    }
    let mut failed = false;
    let mut sources = Vec::new();
    for file in &files {
        // Report every file; an I/O error on one does not hide the others' diagnostics.
        match input::read(file) {
            Ok(source) => sources.push(source),
            Err(error) => {
                eprint(&format!("fleet: error: {error}\n"));
                failed = true;
            }
        }
    }
    if sources.is_empty() {
        return Ok(if failed { Outcome::Failed } else { Outcome::Fine });
    }
    let problems = check_sources(&sources, haproxy_bin, haproxy_args)? == Outcome::Problems;
    Ok(if failed { Outcome::Failed } else { outcome(problems) })
}

/// The offline check of `sources` as one configuration and, with `haproxy_bin`, HAProxy's
/// verdict on them; prints every finding under its file's name.
fn check_sources(sources: &[input::Source], haproxy_bin: Option<&Path>, haproxy_args: &[String]) -> Result<Outcome, CliError> {
    let files: Vec<haproxy_parse::SourceFile<'_>> =
        sources.iter().map(|s| haproxy_parse::SourceFile { name: &s.label, text: &s.text }).collect();
    let offline = haproxy_parse::check_files(&files);
    let (diagnostics, general) = match haproxy_bin {
        None => (offline, Vec::new()),
        Some(bin) => {
            // HAProxy's verdict decides: offline errors it does not confirm become warnings.
            let verdict = haproxy_check(bin, haproxy_args, sources)?;
            (verdict.merge(offline), verdict.general)
        }
    };
    let first = &sources[0].label;
    for source in sources {
        let own: Vec<Diagnostic> = diagnostics.iter().filter(|d| d.file.as_deref() == Some(&source.label)).cloned().collect();
        report(&source.label, &source.text, &own);
        let general: &[_] = if source.label == *first { &general } else { &[] };
        let mut out = String::new();
        for message in general {
            out.push_str(&format!("{}: {}: {}\n", source.label, message.severity, message.message));
        }
        let errors = own.iter().filter(|d| d.is_error()).count()
            + general.iter().filter(|m| m.severity == Severity::Error).count();
        let warnings = own.len() + general.len() - errors;
        if errors + warnings > 0 {
            out.push_str(&format!("{}: {}, {}\n", source.label, plural(errors, "error"), plural(warnings, "warning")));
        }
        eprint(&out);
    }
    let errors = diagnostics.iter().any(Diagnostic::is_error) || general.iter().any(|m| m.severity == Severity::Error);
    Ok(outcome(errors))
}

/// `haproxy -c` on the files: one file from its own folder (HAProxy resolves relative paths
/// such as error files and certificates from where it runs), several from the first file's
/// folder with each named by its full path, standard input from a private temporary folder.
/// Diagnostics name the files as `sources` label them.
fn haproxy_check(bin: &Path, args: &[String], sources: &[input::Source]) -> Result<Verdict, CliError> {
    let checker = HaproxyChecker::new(bin).with_args(args.iter().cloned());
    let folder = |path: &Path| path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
    let mut verdict = match sources {
        [source] => match &source.path {
            Some(path) => {
                let name = path.file_name().map_or_else(|| path.to_path_buf(), PathBuf::from);
                checker.in_dir(folder(path)).check_file(&name, &source.text)?
            }
            None => checker.check_text(&source.text)?,
        },
        _ => {
            let mut names = Vec::new();
            for source in sources {
                let path = source.path.as_deref().unwrap_or(Path::new("-"));
                let absolute = std::fs::canonicalize(path).map_err(|e| CliError::Io { path: source.label.clone(), source: e })?;
                names.push(absolute.display().to_string());
            }
            let checked: Vec<CheckedFile<'_>> =
                names.iter().zip(sources).map(|(name, s)| CheckedFile { name, text: &s.text }).collect();
            let dir = folder(sources[0].path.as_deref().unwrap_or(Path::new(".")));
            checker.check_files(&dir, &checked)?
        }
    };
    for d in &mut verdict.diagnostics {
        // One file: located in it. Several: the full path HAProxy was given, back to its label.
        d.file = match (sources, d.file.take()) {
            ([source], _) => Some(source.label.clone()),
            (_, Some(file)) => Some(canonical_label(sources, &file)),
            (_, None) => None,
        };
    }
    Ok(verdict)
}

/// The label of the source whose full path is `absolute`.
fn canonical_label(sources: &[input::Source], absolute: &str) -> String {
    sources
        .iter()
        .find(|s| s.path.as_deref().and_then(|p| std::fs::canonicalize(p).ok()).is_some_and(|p| p.display().to_string() == absolute))
        .map_or_else(|| absolute.to_string(), |s| s.label.clone())
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
    match (a.is_dir(), b.is_dir()) {
        (false, false) => diff_files(a, b, json),
        (true, true) => diff_dirs(a, b, json),
        _ => Err(CliError::Usage("`diff` compares two files or two directories".into())),
    }
}

/// Two directories of config files, paired by file name: each pair as [`diff_files`] prints it,
/// a file on one side only as `only in DIR: NAME`. With `--json`, one object per name.
fn diff_dirs(a: &Path, b: &Path, json: bool) -> Result<Outcome, CliError> {
    let (old, new) = (input::expand(&[a.to_path_buf()])?, input::expand(&[b.to_path_buf()])?);
    let name = |p: &PathBuf| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut names: Vec<String> = old.iter().chain(&new).map(name).collect();
    names.sort();
    names.dedup();
    let mut changed = false;
    let mut entries = Vec::new();
    let mut out = String::new();
    for file in &names {
        let find = |side: &[PathBuf]| side.iter().find(|p| name(p) == *file).cloned();
        match (find(&old), find(&new)) {
            (Some(x), Some(y)) => {
                let (x, y) = (input::read(&x)?, input::read(&y)?);
                let difference = fleet_core::diff::diff_labeled(&x.text, &y.text, &x.label, &y.label);
                changed |= !difference.is_empty();
                if json {
                    entries.push(serde_json::json!({"file": file, "status": if difference.is_empty() { "same" } else { "changed" }, "diff": difference}));
                } else {
                    out.push_str(&diff_text(&difference));
                }
            }
            (Some(_), None) | (None, Some(_)) => {
                changed = true;
                let (status, side) = if find(&old).is_some() { ("removed", a) } else { ("added", b) };
                if json {
                    entries.push(serde_json::json!({"file": file, "status": status}));
                } else {
                    out.push_str(&format!("only in {}: {file}\n", side.display()));
                }
            }
            (None, None) => {}
        }
    }
    if json {
        let text = serde_json::to_string_pretty(&entries).map_err(|e| CliError::Io { path: "<json>".into(), source: e.into() })?;
        print(&format!("{text}\n"))?;
    } else {
        print(&out)?;
    }
    Ok(outcome(changed))
}

fn diff_files(a: &Path, b: &Path, json: bool) -> Result<Outcome, CliError> {
    let (a, b) = (input::read(a)?, input::read(b)?);
    let difference = fleet_core::diff::diff_labeled(&a.text, &b.text, &a.label, &b.label);
    if json {
        let text = serde_json::to_string_pretty(&difference)
            .map_err(|e| CliError::Io { path: "<json>".into(), source: e.into() })?;
        print(&format!("{text}\n"))?;
    } else {
        print(&diff_text(&difference))?;
    }
    Ok(outcome(!difference.is_empty()))
}

/// The structural summary then the unified diff; nothing when the files are the same.
fn diff_text(difference: &fleet_core::diff::ConfigDiff) -> String {
    let mut out = String::new();
    if difference.is_empty() {
        return out;
    }
    if difference.summary.is_empty() {
        out.push_str("no structural changes (layout or comments only)\n");
    }
    for change in &difference.summary {
        out.push_str(&change.to_string());
    }
    out.push_str(&difference.privileged_lines());
    out.push('\n');
    out.push_str(&difference.unified);
    out
}
