//! Reading configuration files (or standard input for `-`) as UTF-8 text, and replacing a file
//! atomically.
//!
//! `fmt --write` must never leave a half-written configuration behind for HAProxy to load, so
//! it writes a temporary file in the same folder (same file system), copies the original's
//! permissions (and owner, when allowed), syncs it, then renames it over the original.

use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::error::CliError;

/// A configuration text and where it came from.
#[derive(Debug)]
pub(crate) struct Source {
    /// How diagnostics name it: the path as given, or `<stdin>`.
    pub(crate) label: String,
    /// The file, `None` for standard input.
    pub(crate) path: Option<PathBuf>,
    /// The text.
    pub(crate) text: String,
}

/// The label used for standard input.
pub(crate) const STDIN_LABEL: &str = "<stdin>";

/// True when `path` means standard input.
pub(crate) fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// The configuration files `paths` name, in order, as `haproxy -f PATH` takes them: a file
/// as itself, a directory as its non-hidden `*.cfg` files in byte order of their names
/// (HAProxy's management guide, `-f <cfgdir>`). `-` stays standard input.
pub(crate) fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    let mut files = Vec::new();
    for path in paths {
        if is_stdin(path) || !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        let io = |source| CliError::Io { path: path.display().to_string(), source };
        let mut found: Vec<PathBuf> = Vec::new();
        for entry in fs::read_dir(path).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            // `is_file` follows links, as HAProxy's `stat` does.
            if !name.starts_with('.') && name.ends_with(".cfg") && entry.path().is_file() {
                found.push(entry.path());
            }
        }
        found.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
        files.extend(found);
    }
    Ok(files)
}

/// Reads `path` (`-`: standard input) as UTF-8.
pub(crate) fn read(path: &Path) -> Result<Source, CliError> {
    let (label, file, bytes) = if is_stdin(path) {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map_err(|source| CliError::Io { path: STDIN_LABEL.into(), source })?;
        (STDIN_LABEL.to_string(), None, bytes)
    } else {
        let label = path.display().to_string();
        let bytes = fs::read(path).map_err(|source| CliError::Io { path: label.clone(), source })?;
        (label, Some(path.to_path_buf()), bytes)
    };
    let text = String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..offset].iter().filter(|&&b| b == b'\n').count() + 1;
        CliError::NotUtf8 { path: label.clone(), offset, line }
    })?;
    Ok(Source { label, path: file, text })
}

/// Replaces the file at `path` with `contents` atomically, keeping its permissions.
pub(crate) fn write_atomic(path: &Path, contents: &str) -> Result<(), CliError> {
    let io = |source| CliError::Io { path: path.display().to_string(), source };
    // Write through a symbolic link to its target rather than replacing the link.
    let target = fs::canonicalize(path).map_err(io)?;
    let metadata = fs::metadata(&target).map_err(io)?;
    let dir = target.parent().unwrap_or_else(|| Path::new("."));
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = dir.join(format!(".{name}.fleet-fmt-{}", std::process::id()));
    let result = write_then_rename(&temp, &target, contents, &metadata);
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result.map_err(io)
}

fn write_then_rename(temp: &Path, target: &Path, contents: &str, metadata: &fs::Metadata) -> std::io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(temp)?;
    file.write_all(contents.as_bytes())?;
    file.set_permissions(metadata.permissions())?;
    keep_owner(temp, metadata);
    file.sync_all()?;
    drop(file);
    fs::rename(temp, target)
}

/// Gives the new file the original's owner and group. Only root may give a file away, so a
/// failure here is expected for other users and not an error: the file then belongs to whoever
/// ran `fmt --write`, with the original's permissions.
#[cfg(unix)]
fn keep_owner(temp: &Path, metadata: &fs::Metadata) {
    use std::os::unix::fs::MetadataExt;
    let _ = std::os::unix::fs::chown(temp, Some(metadata.uid()), Some(metadata.gid()));
}

#[cfg(not(unix))]
fn keep_owner(_temp: &Path, _metadata: &fs::Metadata) {}

/// Writes `text` to standard output; a reader that went away (`| head`) is not an error.
pub(crate) fn print(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::Stdout(e)),
        _ => Ok(()),
    }
}

/// Writes `text` to standard error; there is nowhere left to report a failure to.
pub(crate) fn eprint(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
