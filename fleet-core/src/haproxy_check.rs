//! The real `haproxy -c` (validation level 3 of DESIGN.md): run it on a configuration and read
//! what it says back into diagnostics located in the text that was checked.
//!
//! ```text
//! text ──(private temp dir)──┐
//! file on disk (staged) ─────┤
//! config files in a dir ─────┴─> haproxy -c [args] -f FILE [-f FILE2 ...] ─> exit status + [ALERT]/[WARNING]
//!                                 ─> Verdict { accepted, diagnostics (file/line/col in the texts), general }
//! ```
//!
//! One reader for every caller: `fleet config check --haproxy-bin`, the agent before it swaps a
//! configuration in, and the server's gate (`fleet serve --haproxy-bin`). Why they must share
//! it: they all promise the operator the same thing, a finding at the line HAProxy meant, and
//! "HAProxy's verdict decides" (the gate is never stricter than HAProxy).
//!
//! Reading the output:
//! - `[ALERT]` is an error and `[WARNING]` a warning, but the **exit status is the verdict**:
//!   HAProxy prints some alerts and still accepts the file (0, or 2 for "valid but no listener"),
//!   and then its alerts are reported as warnings;
//! - `parsing [FILE:N]` and `[FILE:N]` locate a message at line N of the checked text (whatever
//!   temporary or staged name the file had), at the column of the first word the message quotes
//!   when that word is on the line, else at the line's first word;
//! - a message naming a proxy (`Proxy 'be': unable to find stick-table ...`) is located at that
//!   section's header; anything else is about the configuration as a whole ([`Verdict::general`]);
//! - `[NOTICE]` lines, continuation lines and the closing summaries (`Fatal errors found in
//!   configuration.`) are dropped: the exit status says the same.
//!
//! Running uses `std::process` only (no async runtime here, so the agent and the CLI link it
//! without the `store` feature); async callers run it on a blocking thread. HAProxy's output
//! goes to files in a private folder rather than pipes, so a check that hangs (a DNS lookup of a
//! server name) can be timed out and killed without reader threads.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use haproxy_model::{Diagnostic, Document, Position, Severity};

/// How long a check may run before it is killed, unless [`HaproxyChecker::with_timeout`] says.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The file name a text is written to in the private folder.
const CHECKED_NAME: &str = "haproxy.cfg";

/// Why `haproxy -c` could not give a verdict (nothing is known about the configuration).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// The binary could not be started (missing, not executable).
    #[error("cannot run {bin}: {source}")]
    Spawn {
        /// The binary.
        bin: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// It was killed by a signal before giving an exit status.
    #[error("{bin} was killed by a signal")]
    Killed {
        /// The binary.
        bin: PathBuf,
    },
    /// It ran longer than allowed and was killed.
    #[error("{bin} -c did not finish within {seconds} s")]
    TimedOut {
        /// The binary.
        bin: PathBuf,
        /// The limit.
        seconds: u64,
    },
    /// The thread running the check stopped before it finished.
    #[error("the check of {bin} was interrupted: {reason}")]
    Interrupted {
        /// The binary.
        bin: PathBuf,
        /// Why.
        reason: String,
    },
    /// The private folder for the check could not be prepared or read.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// A message of HAProxy's that no line of the text can be given for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneralMessage {
    /// Error (an alert in a rejected file) or warning.
    pub severity: Severity,
    /// `haproxy: ` and HAProxy's words, without the final period.
    pub message: String,
}

/// What `haproxy -c` decided about one configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// True when HAProxy accepts the configuration (exit status 0 or 2).
    pub accepted: bool,
    /// The exit status.
    pub status: i32,
    /// Messages located in the checked text (errors only when it was rejected), in line order;
    /// in a multi-file check ([`HaproxyChecker::check_files`]) each names its file
    /// ([`Diagnostic::file`]) and they are in file, then line order.
    pub diagnostics: Vec<Diagnostic>,
    /// Messages about the configuration as a whole.
    pub general: Vec<GeneralMessage>,
    /// HAProxy's output (stderr then stdout), as printed.
    pub output: String,
    /// The file names HAProxy was given, as they appear in its output.
    checked: Vec<String>,
}

/// One configuration file of a multi-file check: its path relative to the folder HAProxy runs
/// in (what `-f` gets and what HAProxy prints), and its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckedFile<'a> {
    /// The path given to `-f`, relative to the folder the check runs in.
    pub name: &'a str,
    /// The file's text.
    pub text: &'a str,
}

/// Runs `haproxy -c`. Cheap to clone; holds no open resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaproxyChecker {
    bin: PathBuf,
    args: Vec<String>,
    dir: Option<PathBuf>,
    timeout: Duration,
}

impl HaproxyChecker {
    /// A checker running `bin` (a path, or a name looked up on `PATH`).
    pub fn new(bin: impl Into<PathBuf>) -> HaproxyChecker {
        HaproxyChecker { bin: bin.into(), args: Vec::new(), dir: None, timeout: DEFAULT_TIMEOUT }
    }

    /// Extra arguments placed between `-c` and `-f` (e.g. `-dr`).
    pub fn with_args(mut self, args: impl IntoIterator<Item = String>) -> HaproxyChecker {
        self.args.extend(args);
        self
    }

    /// The folder HAProxy runs from for [`check_file`](Self::check_file): it resolves relative
    /// paths (error files, certificates, maps) from there. Without one it inherits ours.
    pub fn in_dir(mut self, dir: impl Into<PathBuf>) -> HaproxyChecker {
        self.dir = Some(dir.into());
        self
    }

    /// How long a check may run before it is killed.
    pub fn with_timeout(mut self, timeout: Duration) -> HaproxyChecker {
        self.timeout = timeout;
        self
    }

    /// The binary.
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// `haproxy -v`'s first line (`HAProxy version 2.6.12-1 ...`): proof that the binary runs,
    /// for callers that must find a bad path before they start serving.
    pub fn version(&self) -> Result<String, CheckError> {
        let output = Command::new(&self.bin)
            .arg("-v")
            .stdin(Stdio::null())
            .output()
            .map_err(|source| CheckError::Spawn { bin: self.bin.clone(), source })?;
        let text = String::from_utf8_lossy(&output.stdout);
        match text.lines().next().map(str::trim) {
            Some(line) if output.status.success() && !line.is_empty() => Ok(line.to_string()),
            _ => Err(CheckError::Spawn {
                bin: self.bin.clone(),
                source: std::io::Error::other(format!("`-v` failed ({})", output.status)),
            }),
        }
    }

    /// Checks `text` written to a private temporary folder, running from that folder (so a
    /// relative path in the text finds nothing of ours).
    pub fn check_text(&self, text: &str) -> Result<Verdict, CheckError> {
        let scratch = Scratch::new()?;
        let file = scratch.path.join(CHECKED_NAME);
        std::fs::write(&file, text).map_err(|source| CheckError::Io { path: file.clone(), source })?;
        self.run(&scratch, Path::new(CHECKED_NAME), Some(&scratch.path), text)
    }

    /// Checks the file at `path`, whose contents are `text`, where it is (a staged candidate,
    /// or the file an operator named). Diagnostics are located in `text`.
    pub fn check_file(&self, path: &Path, text: &str) -> Result<Verdict, CheckError> {
        let scratch = Scratch::new()?;
        self.run(&scratch, path, self.dir.as_deref(), text)
    }

    /// Checks the config files `files`, in load order, as HAProxy loads them from folder `dir`:
    /// run from `dir` with one `-f` per file (after [`with_args`](Self::with_args)'s), so
    /// relative paths in them resolve in `dir`. Diagnostics name the file they are in.
    pub fn check_files(&self, dir: &Path, files: &[CheckedFile<'_>]) -> Result<Verdict, CheckError> {
        let scratch = Scratch::new()?;
        let names: Vec<&Path> = files.iter().map(|f| Path::new(f.name)).collect();
        let (code, output) = self.execute(&scratch, &names, Some(dir))?;
        let read: Vec<(&str, &str)> = files.iter().map(|f| (f.name, f.text)).collect();
        Ok(Verdict::read_files(&read, code, &output))
    }

    fn run(&self, scratch: &Scratch, file: &Path, dir: Option<&Path>, text: &str) -> Result<Verdict, CheckError> {
        let (code, output) = self.execute(scratch, &[file], dir)?;
        Ok(Verdict::read(text, &file.display().to_string(), code, &output))
    }

    /// Runs the check on `files` from `dir`: the exit status and the output (stderr, stdout).
    fn execute(&self, scratch: &Scratch, files: &[&Path], dir: Option<&Path>) -> Result<(i32, String), CheckError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| CheckError::Io { path, source }
        };
        let (out_path, err_path) = (scratch.path.join("stdout"), scratch.path.join("stderr"));
        let stdout = std::fs::File::create(&out_path).map_err(io(&out_path))?;
        let stderr = std::fs::File::create(&err_path).map_err(io(&err_path))?;
        let mut command = Command::new(&self.bin);
        command.arg("-c").args(&self.args);
        for file in files {
            command.arg("-f").arg(file);
        }
        command.stdin(Stdio::null()).stdout(stdout).stderr(stderr);
        if let Some(dir) = dir {
            command.current_dir(dir);
        }
        let mut child = command.spawn().map_err(|source| CheckError::Spawn { bin: self.bin.clone(), source })?;
        let started = Instant::now();
        let mut pause = Duration::from_millis(2);
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() >= self.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(CheckError::TimedOut { bin: self.bin.clone(), seconds: self.timeout.as_secs() });
                }
                Ok(None) => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(25));
                }
                Err(source) => return Err(CheckError::Spawn { bin: self.bin.clone(), source }),
            }
        };
        let code = status.code().ok_or_else(|| CheckError::Killed { bin: self.bin.clone() })?;
        let read = |path: &Path| std::fs::read(path).map(|b| String::from_utf8_lossy(&b).into_owned()).map_err(io(path));
        let output = format!("{}{}", read(&err_path)?, read(&out_path)?);
        Ok((code, output))
    }
}

/// A private folder (mode 0700) removed on drop.
pub(crate) struct Scratch {
    pub(crate) path: PathBuf,
}

impl Scratch {
    pub(crate) fn new() -> Result<Scratch, CheckError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "fleet-haproxy-check-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        // `create` (not `create_all`) fails when the name exists: nobody else's folder is used.
        builder.create(&path).map_err(|source| CheckError::Io { path: path.clone(), source })?;
        Ok(Scratch { path })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

impl Verdict {
    /// Reads HAProxy's `output` for the check of `text` (given to HAProxy as `checked`) that
    /// ended with exit status `status`. Diagnostics name no file.
    pub fn read(text: &str, checked: &str, status: i32, output: &str) -> Verdict {
        let mut verdict = Verdict::read_files(&[(checked, text)], status, output);
        for d in &mut verdict.diagnostics {
            d.file = None;
        }
        verdict
    }

    /// Reads HAProxy's `output` for the check of several files, `(name given to -f, text)` in
    /// load order, that ended with exit status `status`. Diagnostics name their file.
    pub fn read_files(files: &[(&str, &str)], status: i32, output: &str) -> Verdict {
        // 0: valid; 2: valid but will not start (no listener), which HAProxy only warns about.
        let accepted = matches!(status, 0 | 2);
        let mut verdict = Verdict {
            accepted,
            status,
            diagnostics: Vec::new(),
            general: Vec::new(),
            output: output.to_string(),
            checked: files.iter().map(|(name, _)| name.to_string()).collect(),
        };
        let mut documents: Vec<Option<Document>> = vec![None; files.len()];
        for raw in output.lines() {
            let Some(mut message) = Message::read(raw) else { continue };
            if accepted {
                // HAProxy prints some alerts and still accepts the file (e.g. a defaults
                // section used both explicitly and implicitly): its exit status is the verdict.
                message.severity = Severity::Warning;
            }
            let named = message
                .at
                .as_ref()
                .and_then(|(file, line)| {
                    let exact = files.iter().position(|(name, _)| name == file);
                    exact.or_else(|| files.iter().position(|(name, _)| same_file(file, name))).map(|i| (i, *line))
                });
            let located = named.or_else(|| {
                files.iter().enumerate().find_map(|(i, (_, text))| {
                    let document = documents[i].get_or_insert_with(|| haproxy_parse::parse(text).document);
                    proxy_line(document, &message.text).map(|line| (i, line))
                })
            });
            let shown = format!("haproxy: {}", message.text);
            match located.filter(|&(_, n)| n >= 1) {
                Some((index, line)) => {
                    let (name, text) = files[index];
                    let source = text.split('\n').nth(line as usize - 1).unwrap_or("");
                    let position = Position::new(line, column(source, &message.text));
                    let diagnostic = Diagnostic { severity: message.severity, position, message: shown, file: None };
                    verdict.diagnostics.push(diagnostic.in_file(name));
                }
                None => verdict.general.push(GeneralMessage { severity: message.severity, message: shown }),
            }
        }
        if !accepted && !verdict.has_errors() {
            let message = format!("haproxy: `-c` failed with exit status {status}");
            verdict.general.push(GeneralMessage { severity: Severity::Error, message });
        }
        let order = |d: &Diagnostic| d.file.as_deref().and_then(|f| files.iter().position(|(n, _)| *n == f)).unwrap_or(0);
        verdict.diagnostics.sort_by_key(|d| (order(d), d.position.line, d.position.column));
        verdict
    }

    /// True when some message is an error (only when HAProxy rejected the configuration).
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error) || self.general.iter().any(|m| m.severity == Severity::Error)
    }

    /// True when HAProxy reported an error at `line` of `file` (`None` for a single text): it
    /// confirms an offline error there.
    pub fn confirms(&self, file: Option<&str>, line: u32) -> bool {
        self.diagnostics.iter().any(|d| d.is_error() && d.position.line == line && d.file.as_deref() == file)
    }

    /// HAProxy's output for an operator ([`crate::apply::haproxy_message`]), with the name the
    /// file had during the check (a staged or temporary path) replaced by `label`.
    pub fn message(&self, label: &str) -> String {
        let output = match &self.checked[..] {
            [checked] if !checked.is_empty() => self.output.replace(checked, label),
            _ => self.output.clone(),
        };
        crate::apply::haproxy_message(&output)
    }

    /// The offline check's `offline` findings weighed against this verdict, in line order:
    /// an offline error HAProxy confirms (an error of its own on the same line) stays an error;
    /// any other becomes a warning saying so, because HAProxy's verdict decides. HAProxy's own
    /// located messages come first at a position.
    pub fn merge(&self, offline: Vec<Diagnostic>) -> Vec<Diagnostic> {
        // HAProxy's first, so that at one position its words lead (the sort is stable).
        let mut merged = self.diagnostics.clone();
        for mut d in offline {
            if d.is_error() && !self.confirms(d.file.as_deref(), d.position.line) {
                d.severity = Severity::Warning;
                d.message.push_str(if self.accepted {
                    " (haproxy -c accepts the configuration)"
                } else {
                    " (haproxy -c does not confirm it)"
                });
            }
            merged.push(d);
        }
        let order = |d: &Diagnostic| d.file.as_deref().and_then(|f| self.checked.iter().position(|c| c == f)).unwrap_or(0);
        merged.sort_by_key(|d| (order(d), d.position.line, d.position.column));
        merged
    }
}

/// One `[ALERT]` or `[WARNING]` line, read.
#[derive(Debug, PartialEq, Eq)]
struct Message {
    severity: Severity,
    /// `(file, line)` when located.
    at: Option<(String, u32)>,
    /// HAProxy's words, without the final period.
    text: String,
}

impl Message {
    /// `[ALERT]    (pid) : config : parsing [file.cfg:12] : message` and its variants.
    fn read(line: &str) -> Option<Message> {
        let line = strip_ansi(line);
        let (severity, rest) = if let Some(rest) = line.strip_prefix("[ALERT]") {
            (Severity::Error, rest)
        } else {
            (Severity::Warning, line.strip_prefix("[WARNING]")?)
        };
        let mut rest = rest.trim_start();
        if rest.starts_with('(') {
            rest = rest.split_once(')').map_or(rest, |(_, after)| after);
        }
        rest = rest.trim_start().trim_start_matches(':').trim_start();
        rest = rest.strip_prefix("config :").map_or(rest, str::trim_start);
        if rest.starts_with("Error(s) found in configuration file") || rest.starts_with("Fatal errors found in configuration") {
            return None;
        }
        // `[file:N] : parsing [file:N] : ...` (2.6 prints the place twice for some messages).
        let mut at = None;
        loop {
            let located = rest.strip_prefix("parsing [").or_else(|| rest.strip_prefix('['));
            let Some((place, after)) = located.and_then(|l| l.split_once(']')) else { break };
            let Some((file, number)) = place.rsplit_once(':') else { break };
            let Ok(number) = number.parse::<u32>() else { break };
            at = Some((file.to_string(), number));
            rest = after.trim_start().trim_start_matches(':').trim_start();
        }
        let text = rest.trim_end();
        let text = text.strip_suffix('.').unwrap_or(text);
        Some(Message { severity, at, text: text.to_string() })
    }
}

/// True when `file`, as HAProxy printed it, is the file it was given as `checked`.
fn same_file(file: &str, checked: &str) -> bool {
    file == checked || Path::new(file).file_name() == Path::new(checked).file_name()
}

/// The column of the first word `message` quotes (`'errorfile'`) that is on `source`, else of
/// the line's first word.
fn column(source: &str, message: &str) -> u32 {
    let source = source.strip_suffix('\r').unwrap_or(source);
    let chars_before = |byte: usize| source[..byte].chars().count() as u32 + 1;
    let quoted = message.split('\'').skip(1).step_by(2);
    for word in quoted.filter(|w| !w.trim().is_empty()) {
        let mut from = 0;
        while let Some(found) = source[from..].find(word).map(|i| i + from) {
            let before = source[..found].chars().next_back();
            let after = source[found + word.len()..].chars().next();
            if before.is_none_or(char::is_whitespace) && after.is_none_or(|c| c.is_whitespace() || c == '(') {
                return chars_before(found);
            }
            from = found + word.len();
        }
    }
    source.find(|c: char| !c.is_whitespace()).map_or(1, chars_before)
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

/// Drops terminal colour sequences (HAProxy colours its levels on a terminal).
pub(crate) fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The HAProxy of the test environment (shared test support), or `None` after saying why.
#[cfg(test)]
pub(crate) use fleet_tests::haproxy_check_bin as test_haproxy;

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "defaults\n    mode http\n    errorfile 503 /nonexistent/file\n\nbackend invalid\n  stick on src table nope\n";

    #[test]
    fn located_alerts_map_to_the_text_whatever_the_file_was_called() {
        let output = "[NOTICE]   (1) : haproxy version is 2.6.12\n\
            [ALERT]    (29379) : config : parsing [/etc/haproxy/haproxy.cfg.fleet-new:3] : errorfile : error opening file '/nonexistent/file'.\n\
            [ALERT]    (29379) : config : Error(s) found in configuration file : /etc/haproxy/haproxy.cfg.fleet-new\n\
            [ALERT]    (29379) : config : Fatal errors found in configuration.\n";
        let verdict = Verdict::read(TEXT, "/etc/haproxy/haproxy.cfg.fleet-new", 1, output);
        assert!(!verdict.accepted);
        assert_eq!(verdict.general, vec![]);
        let [d] = &verdict.diagnostics[..] else { panic!("{verdict:?}") };
        assert_eq!((d.severity, d.position), (Severity::Error, Position::new(3, 19)), "at the quoted path");
        assert_eq!(d.message, "haproxy: errorfile : error opening file '/nonexistent/file'");
        let message = verdict.message("/etc/haproxy/haproxy.cfg");
        assert!(message.contains("parsing [/etc/haproxy/haproxy.cfg:3]") && !message.contains("fleet-new"), "{message}");
    }

    #[test]
    fn every_place_format_is_read() {
        let m = Message::read("[ALERT]    (7790) : config : [h.cfg:18] : parsing [h.cfg:18] : 'server' not allowed because frontend 'debug' has no backend capability.").unwrap();
        assert_eq!(m.at, Some(("h.cfg".into(), 18)));
        assert_eq!(m.text, "'server' not allowed because frontend 'debug' has no backend capability");
        let m = Message::read("[ALERT]    (1) : config : parsing [w.cfg:3]: 'boom here'.").unwrap();
        assert_eq!((m.at, m.text.as_str()), (Some(("w.cfg".into(), 3)), "'boom here'"));
        let m = Message::read("[ALERT]    (1) : config : parsing [a:b.cfg:19]: Missing LF on last line").unwrap();
        assert_eq!(m.at, Some(("a:b.cfg".into(), 19)));
        let m = Message::read("\u{1b}[1;33m[WARNING]\u{1b}[0m  (2) : config : missing timeouts for frontend 'http'.").unwrap();
        assert_eq!((m.severity, m.at, m.text.as_str()), (Severity::Warning, None, "missing timeouts for frontend 'http'"));
        assert!(Message::read("[NOTICE]   (2) : haproxy version is 2.6.12").is_none());
        assert!(Message::read("   | While not properly invalid").is_none());
        assert!(Message::read("[ALERT]    (2) : config : Fatal errors found in configuration.").is_none());
    }

    #[test]
    fn proxies_locate_messages_and_the_rest_is_general() {
        let output = "[ALERT]    (1) : config : Proxy 'invalid': unable to find stick-table 'nope'.\n\
            [ALERT]    (1) : config : something about the whole file.\n";
        let verdict = Verdict::read(TEXT, "haproxy.cfg", 1, output);
        assert_eq!(verdict.diagnostics[0].position, Position::new(5, 9), "at the proxy's name");
        assert_eq!(verdict.general[0].message, "haproxy: something about the whole file");
        assert!(verdict.confirms(None, 5) && !verdict.confirms(None, 3));
    }

    #[test]
    fn several_files_locate_each_message_in_its_file() {
        let a = "frontend fe\n    bind :80\n    default_backend be\n";
        let b = "backend be\n    frobnicate on\n";
        let output = "[ALERT]    (1) : config : parsing [conf.d/b.cfg:2] : unknown keyword 'frobnicate' in 'backend' section\n\
            [ALERT]    (1) : config : Proxy 'fe': something about it.\n";
        let verdict = Verdict::read_files(&[("haproxy.cfg", a), ("conf.d/b.cfg", b)], 1, output);
        let places: Vec<_> = verdict.diagnostics.iter().map(|d| d.to_string()).collect();
        assert_eq!(
            places,
            [
                "haproxy.cfg:1:10: error: haproxy: Proxy 'fe': something about it",
                "conf.d/b.cfg:2:5: error: haproxy: unknown keyword 'frobnicate' in 'backend' section",
            ]
        );
        assert!(verdict.confirms(Some("conf.d/b.cfg"), 2) && !verdict.confirms(None, 2));
        let offline = vec![Diagnostic::error(Position::new(2, 5), "x").in_file("conf.d/b.cfg"), Diagnostic::error(Position::new(2, 5), "y").in_file("haproxy.cfg")];
        let merged = verdict.merge(offline);
        let severities: Vec<_> = merged.iter().map(|d| (d.file.clone().unwrap_or_default(), d.severity)).collect();
        assert_eq!(severities.iter().filter(|(_, s)| *s == Severity::Error).count(), 3, "{merged:?}");
        assert_eq!(severities[1], ("haproxy.cfg".to_string(), Severity::Warning), "not confirmed in its own file");
    }

    #[test]
    fn the_exit_status_is_the_verdict() {
        let output = "[ALERT]    (1) : config : parsing [haproxy.cfg:2] : some alert HAProxy lives with.\n";
        let verdict = Verdict::read(TEXT, "haproxy.cfg", 0, output);
        assert!(verdict.accepted && !verdict.has_errors());
        assert_eq!(verdict.diagnostics[0].severity, Severity::Warning);
        assert!(Verdict::read(TEXT, "haproxy.cfg", 2, "").accepted, "valid, no listener");
        let silent = Verdict::read(TEXT, "haproxy.cfg", 1, "");
        assert!(!silent.accepted && silent.has_errors(), "a refusal without words is still an error");
    }

    #[test]
    fn offline_errors_haproxy_does_not_confirm_become_warnings() {
        let output = "[ALERT]    (1) : config : parsing [haproxy.cfg:3] : errorfile : error opening file '/nonexistent/file'.\n";
        let rejected = Verdict::read(TEXT, "haproxy.cfg", 1, output);
        let offline = vec![
            Diagnostic::error(Position::new(3, 5), "bad errorfile"),
            Diagnostic::error(Position::new(6, 3), "not sure"),
            Diagnostic::warning(Position::new(2, 5), "a warning"),
        ];
        let merged = rejected.merge(offline.clone());
        let severities: Vec<_> = merged.iter().map(|d| (d.position.line, d.severity)).collect();
        assert_eq!(
            severities,
            [(2, Severity::Warning), (3, Severity::Error), (3, Severity::Error), (6, Severity::Warning)],
            "{merged:?}"
        );
        assert!(merged[3].message.ends_with("(haproxy -c does not confirm it)"));
        let accepted = Verdict::read(TEXT, "haproxy.cfg", 0, "");
        assert!(accepted.merge(offline).iter().all(|d| !d.is_error()));
    }

    #[test]
    fn columns_point_at_the_quoted_word() {
        assert_eq!(column("    server s1 1.2.3.4:80", "'server' not allowed"), 5);
        assert_eq!(column("\tfrobnicate on", "unknown keyword 'frobnicate' in 'frontend' section"), 2);
        assert_eq!(column("    http-request deny if x", "while parsing 'http-request deny' rule"), 5);
        assert_eq!(column("  bind :80", "no quoted word on the line 'zzz'"), 3);
        assert_eq!(column("  serverx a", "'server' is not here as a word"), 3);
    }

    #[test]
    fn a_missing_binary_is_an_error_not_a_verdict() {
        let error = HaproxyChecker::new("/nonexistent/haproxy").check_text("global\n").unwrap_err();
        assert!(matches!(error, CheckError::Spawn { .. }), "{error}");
        assert!(error.to_string().starts_with("cannot run /nonexistent/haproxy: "), "{error}");
    }

    #[test]
    fn a_check_that_hangs_is_killed() {
        let dir = Scratch::new().unwrap();
        let script = dir.path.join("slow-haproxy");
        std::fs::write(&script, "#!/bin/sh\nexec sleep 5\n").unwrap();
        #[cfg(unix)]
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let started = Instant::now();
        let error = HaproxyChecker::new(&script).with_timeout(Duration::from_millis(200)).check_text("global\n").unwrap_err();
        assert!(matches!(error, CheckError::TimedOut { .. }), "{error}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn real_haproxy_texts_are_checked_in_a_private_folder() {
        let Some(bin) = test_haproxy() else { return };
        let checker = HaproxyChecker::new(bin);
        let verdict = checker.check_text("global\n    maxconn 100\n\nfrontend fe\n    bind 127.0.0.1:20999\n    frobnicate on\n").unwrap();
        assert!(!verdict.accepted);
        assert_eq!(verdict.diagnostics.len(), 1, "{verdict:?}");
        assert_eq!(verdict.diagnostics[0].position, Position::new(6, 5));
        assert_eq!(verdict.diagnostics[0].message, "haproxy: unknown keyword 'frobnicate' in 'frontend' section");
        assert!(!verdict.message("cluster.cfg").contains("fleet-haproxy-check"), "{}", verdict.message("cluster.cfg"));
        let verdict = checker.check_text("global\n    maxconn 100\n").unwrap();
        assert!(verdict.accepted && verdict.status == 2, "{verdict:?}");
        assert!(checker.version().unwrap().starts_with("HAProxy version "));
        assert!(HaproxyChecker::new("/nonexistent/haproxy").version().is_err());
    }
}
