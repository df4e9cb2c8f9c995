//! `fleet config pull|push|edit`: a cluster's bundle as files on the workstation.
//!
//! ```text
//! pull CLUSTER [DIR]       listing + tar of the version -> fleet_core::bundle::local::write_tree
//! push CLUSTER DIR         read_tree + listing -> plan_push -> the diff (fleet-core's, computed
//!                          on the same ops the server will stage) -> ask -> one transaction:
//!                          begin at the listed version, stage the file ops, commit
//! edit CLUSTER [--file F]  the file at the latest version -> $EDITOR -> PUT on that version;
//!                          the server's check refuses -> the errors on top, at their lines,
//!                          and the editor again; an unchanged file cancels
//! ```
//! A push or edit made on a version that is no longer the latest is refused by the server (409):
//! nothing is lost, pull again.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;
use fleet_core::bundle::local::{plan_push, read_tree, write_tree, ListedFile, PushPlan};
use fleet_core::bundle::{diff_bundles, tar, Bundle, BundlePath, FileInfo, FileKind};
use fleet_core::documents::Parsed;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Value};

use super::http::{cluster_path, escape, Api, Body};
use super::table::print_json;
use super::versions::print_diff;
use super::{confirm, report, ClientError, Conn};

/// The client subcommands of `fleet config`.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Write a cluster's files (latest version, or --version N) into DIR (client).
    Pull(PullArgs),
    /// Make DIR's files the cluster's next version: shows the diff, asks, commits (client).
    Push(PushArgs),
    /// Edit a cluster's configuration in $EDITOR; the server checks it on save (client).
    Edit(EditArgs),
}

/// `fleet config pull`.
#[derive(Debug, clap::Args)]
pub(crate) struct PullArgs {
    #[command(flatten)]
    conn: Conn,
    /// The cluster's name (or id).
    cluster: String,
    /// Where to write the files (default: ./CLUSTER).
    dir: Option<PathBuf>,
    /// The version to pull (default: the latest).
    #[arg(long)]
    version: Option<i64>,
    /// Write into DIR even when it is not empty (files there are replaced, none removed).
    #[arg(long)]
    force: bool,
}

/// `fleet config push`.
#[derive(Debug, clap::Args)]
pub(crate) struct PushArgs {
    #[command(flatten)]
    conn: Conn,
    /// The cluster's name (or id).
    cluster: String,
    /// The folder holding the files (as `fleet config pull` writes it).
    dir: PathBuf,
    /// Why (stored with the new version).
    #[arg(long, short = 'm', default_value = "")]
    message: String,
    /// Do not ask.
    #[arg(long, short = 'y')]
    yes: bool,
}

/// `fleet config edit`.
#[derive(Debug, clap::Args)]
pub(crate) struct EditArgs {
    #[command(flatten)]
    conn: Conn,
    /// The cluster's name (or id).
    cluster: String,
    /// The bundle file to edit (default: the first config file).
    #[arg(long, value_name = "PATH")]
    file: Option<String>,
    /// Why (stored with the new version).
    #[arg(long, short = 'm', default_value = "edited with fleet config edit")]
    message: String,
}

/// Runs `fleet config pull|push|edit`.
pub(crate) fn run(command: Command) -> ExitCode {
    let done = match command {
        Command::Pull(args) => pull(&args),
        Command::Push(args) => push(&args),
        Command::Edit(args) => edit(&args),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => report(&error),
    }
}

/// `GET /clusters/{id}/files`.
#[derive(Debug, Deserialize)]
struct Listing {
    version: Option<i64>,
    files: Vec<ListedFile>,
}

/// What the server holds: its version (0: none yet), its files and the bundle (files holding a
/// private key left out).
pub(crate) struct Current {
    pub(crate) version: i64,
    pub(crate) files: Vec<ListedFile>,
    pub(crate) bundle: Bundle,
}

impl Current {
    /// A cluster without versions: the empty config file at its config path, as the server
    /// begins a transaction on.
    pub(crate) fn empty(settings: &fleet_core::ClusterSettings) -> Current {
        let name = settings.config_name();
        let info = FileInfo { path: name.clone(), kind: FileKind::Config, mode: fleet_core::bundle::DEFAULT_MODE, size: 0, sha256: fleet_core::secret::sha256_hex(b"") };
        Current { version: 0, files: vec![ListedFile { info, private_key: false }], bundle: Bundle::single(name, "") }
    }
}

/// The cluster's files at `version` (default: the latest; 0 when it has none).
pub(crate) fn current(api: &Api, cluster: &str, version: Option<i64>) -> Result<Current, ClientError> {
    let version = match version {
        Some(v) => v,
        None => super::rollout::latest_version(api, cluster)?.unwrap_or(0),
    };
    if version == 0 {
        let settings: fleet_core::ClusterSettings = serde_json::from_value(api.get(&cluster_path(cluster, ""))?["settings"].clone())
            .map_err(|e| ClientError::Answer(format!("cluster settings: {e}")))?;
        return Ok(Current::empty(&settings));
    }
    let listing: Listing = api.get_as(&cluster_path(cluster, &format!("/files?version={version}")))?;
    let (_, archive) = api.bytes(&cluster_path(cluster, &format!("/bundle?version={version}")))?;
    let configs: Vec<BundlePath> = listing.files.iter().filter(|f| f.info.kind == FileKind::Config && !f.private_key).map(|f| f.info.path.clone()).collect();
    let mut bundle = tar::read_tar(&archive, &configs).map_err(|e| ClientError::Answer(format!("the version's archive: {e}")))?;
    // Kinds and modes as the server lists them (the archive only suggests them).
    let files = bundle
        .into_files()
        .into_iter()
        .map(|mut f| {
            if let Some(listed) = listing.files.iter().find(|l| l.info.path == f.path) {
                f.kind = listed.info.kind;
                f.mode = listed.info.mode;
            }
            f
        })
        .collect();
    bundle = Bundle::new(files).map_err(|e| ClientError::Answer(format!("the version's files: {e}")))?;
    Ok(Current { version: listing.version.unwrap_or(version), files: listing.files, bundle })
}

fn pull(args: &PullArgs) -> Result<(), ClientError> {
    let api = args.conn.connect()?;
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from(&args.cluster));
    let not_empty = std::fs::read_dir(&dir).map(|mut entries| entries.next().is_some()).unwrap_or(false);
    if not_empty && !args.force {
        return Err(ClientError::Usage(format!("{} is not empty: pull into a new folder, or add --force", dir.display())));
    }
    let current = current(&api, &args.cluster, args.version)?;
    if current.version == 0 {
        return Err(ClientError::Usage(format!("cluster {} has no version yet: nothing to pull", args.cluster)));
    }
    write_tree(&dir, current.bundle.files())?;
    let withheld: Vec<&str> = current.files.iter().filter(|f| f.private_key).map(|f| f.info.path.as_str()).collect();
    if args.conn.json() {
        let files: Vec<&str> = current.bundle.files().iter().map(|f| f.path.as_str()).collect();
        print_json(&json!({"cluster": args.cluster, "version": current.version, "dir": dir, "files": files, "withheld": withheld}));
        return Ok(());
    }
    println!("pulled version {} of {} into {}: {} files", current.version, args.cluster, dir.display(), current.bundle.files().len());
    for path in withheld {
        println!("withheld (holds a private key; stays on the server, push leaves it alone): {path}");
    }
    Ok(())
}

fn push(args: &PushArgs) -> Result<(), ClientError> {
    let api = args.conn.connect()?;
    let local = read_tree(&args.dir)?;
    if local.is_empty() {
        return Err(ClientError::Usage(format!("{} holds no files", args.dir.display())));
    }
    let current = current(&api, &args.cluster, None)?;
    let plan = plan_push(&current.files, &local);
    if plan.is_empty() {
        let sentence = format!("nothing to push: {} matches version {} of {}", args.dir.display(), current.version, args.cluster);
        super::resources::done(args.conn.json(), &json!({"version": current.version, "changed": false}), &sentence);
        return Ok(());
    }
    let diff = preview(&current, &plan, &args.dir)?;
    if !args.conn.json() {
        print_diff(&diff);
        for path in &plan.kept {
            println!("kept on the server (holds a private key, not in {}): {path}", args.dir.display());
        }
    }
    if !args.yes && !confirm(&format!("push this as the next version of {}", args.cluster))? {
        return Err(ClientError::Failed("nothing pushed".into()));
    }
    let made = commit(&api, &args.cluster, current.version, &plan, &args.message)?;
    if args.conn.json() {
        print_json(&json!({"version": made["version"], "changed": true, "committed": made, "diff": diff}));
    } else {
        print_warnings(&made);
        println!("version {} of {} (not applied yet: fleet apply {} {} --wait)", made["version"], args.cluster, args.cluster, made["version"]);
    }
    Ok(())
}

/// The diff a push would make, computed with the server's own rules for file ops.
pub(crate) fn preview(current: &Current, plan: &PushPlan, dir: &Path) -> Result<Value, ClientError> {
    let new = after(current, plan, dir)?;
    let diff = diff_bundles(&current.bundle, &new, &format!("version {}", current.version), &dir.display().to_string());
    serde_json::to_value(diff).map_err(|e| ClientError::Answer(e.to_string()))
}

/// The bundle `plan` makes of `current` (files holding a private key left out, as pulled).
pub(crate) fn after(current: &Current, plan: &PushPlan, dir: &Path) -> Result<Bundle, ClientError> {
    let parsed = Arc::new(Parsed::parse(current.bundle.text()));
    fleet_core::ops::apply_to_bundle(&current.bundle, parsed, &plan.ops).map_err(|e| ClientError::Failed(format!("{}: {e}", dir.display())))
}

/// One transaction: begin at `base`, stage the ops, commit; discarded when a step fails.
pub(crate) fn commit(api: &Api, cluster: &str, base: i64, plan: &PushPlan, message: &str) -> Result<Value, ClientError> {
    let transaction = api.post(&cluster_path(cluster, &format!("/transactions?version={base}")), &json!({}))?;
    let tid = transaction["id"].clone();
    let ops = serde_json::to_value(&plan.ops).map_err(|e| ClientError::Answer(e.to_string()))?;
    let staged = api
        .post(&cluster_path(cluster, &format!("/transactions/{tid}/ops")), &ops)
        .and_then(|_| api.json(Method::PUT, &cluster_path(cluster, &format!("/transactions/{tid}?message={}", escape(message))), Body::None));
    if staged.is_err() {
        let _ = api.delete(&cluster_path(cluster, &format!("/transactions/{tid}")));
    }
    staged
}

fn print_warnings(made: &Value) {
    for w in made["warnings"].as_array().into_iter().flatten() {
        let file = w["file"].as_str().unwrap_or("config");
        eprintln!("{file}:{}:{}: warning: {}", w["position"]["line"], w["position"]["column"], w["message"].as_str().unwrap_or_default());
    }
}

/// The first line of every note `edit` puts above the file.
const NOTE: &str = "# fleet: ";

fn edit(args: &EditArgs) -> Result<(), ClientError> {
    let api = args.conn.connect()?;
    let base = super::rollout::latest_version(&api, &args.cluster)?
        .ok_or_else(|| ClientError::Usage(format!("cluster {} has no version yet: fleet config push {} DIR", args.cluster, args.cluster)))?;
    let (read, write, name) = match &args.file {
        Some(file) => {
            let file_path = format!("/files/{}", file.split('/').map(escape).collect::<Vec<_>>().join("/"));
            // The file keeps its kind and mode (a write without them would take the name's guess).
            let listing: Listing = api.get_as(&cluster_path(&args.cluster, &format!("/files?version={base}")))?;
            let listed = listing
                .files
                .iter()
                .find(|f| f.info.path.as_str() == file)
                .ok_or_else(|| ClientError::Usage(format!("version {base} of {} has no file {file}", args.cluster)))?;
            let (kind, mode) = (listed.info.kind, listed.info.mode);
            let write = format!("{file_path}?version={base}&kind={kind}&mode={mode:o}&message={}", escape(&args.message));
            (format!("{file_path}?version={base}"), write, file.rsplit('/').next().unwrap_or(file).to_string())
        }
        None => ("/config".to_string() + &format!("?version={base}"), format!("/config?version={base}&message={}", escape(&args.message)), "haproxy.cfg".to_string()),
    };
    let (_, bytes) = api.bytes(&cluster_path(&args.cluster, &read))?;
    let original = String::from_utf8(bytes).map_err(|_| ClientError::Usage("the file is not UTF-8 text: edit it with pull and push".into()))?;
    let folder = std::env::temp_dir().join(format!("fleet-edit-{}", std::process::id()));
    std::fs::create_dir_all(&folder).map_err(|source| ClientError::Io { path: folder.display().to_string(), source })?;
    let path = folder.join(&name);
    let mut text = original.clone();
    let mut note = String::new();
    loop {
        std::fs::write(&path, format!("{note}{text}")).map_err(|source| ClientError::Io { path: path.display().to_string(), source })?;
        run_editor(&path)?;
        let saved = std::fs::read_to_string(&path).map_err(|source| ClientError::Io { path: path.display().to_string(), source })?;
        let edited = strip_note(&saved, !note.is_empty());
        if edited == original {
            let _ = std::fs::remove_dir_all(&folder);
            super::resources::done(args.conn.json(), &json!({"version": base, "changed": false}), "no changes: nothing committed");
            return Ok(());
        }
        if !note.is_empty() && edited == text {
            return Err(ClientError::Failed(format!("edit cancelled: saved again with the same errors; your edit is kept in {}", path.display())));
        }
        text = edited.to_string();
        match api.json(Method::PUT, &cluster_path(&args.cluster, &write), Body::Text(&text)) {
            Ok(made) => {
                let _ = std::fs::remove_dir_all(&folder);
                if args.conn.json() {
                    print_json(&made);
                } else {
                    print_warnings(&made);
                    println!("version {} of {} (not applied yet: fleet apply {} {} --wait)", made["version"], args.cluster, args.cluster, made["version"]);
                }
                return Ok(());
            }
            Err(ClientError::Api { status: 422, message, body, .. }) => {
                eprintln!("fleet: the server refused the edit: {message}; opening it again");
                note = refusal_note(&message, &body);
            }
            Err(error) => {
                eprintln!("fleet: your edit is kept in {}", path.display());
                return Err(error);
            }
        }
    }
}

/// The note above a refused edit: the server's diagnostics, with the lines they have in the
/// file the editor shows (the note's own lines counted).
fn refusal_note(message: &str, body: &Value) -> String {
    let diagnostics: Vec<&Value> = body["error"]["diagnostics"].as_array().map(|d| d.iter().collect()).unwrap_or_default();
    let lines = 3 + diagnostics.len().max(1);
    let mut note = format!("{NOTE}the server refused this version: {message}\n");
    if diagnostics.is_empty() {
        note.push_str(&format!("{NOTE}(no line given)\n"));
    }
    for d in diagnostics {
        let line = d["line"].as_u64().unwrap_or(0) + lines as u64;
        note.push_str(&format!("{NOTE}line {line}:{}: {}: {}\n", d["column"], d["severity"].as_str().unwrap_or("error"), d["message"].as_str().unwrap_or_default()));
    }
    note.push_str(&format!("{NOTE}fix it and save to try again; save it unchanged to give up. These lines are removed.\n"));
    note.push_str("# fleet:\n");
    note
}

/// `saved` without the note `edit` put above it (only when it put one).
fn strip_note(saved: &str, noted: bool) -> &str {
    if !noted {
        return saved;
    }
    let mut rest = saved;
    while rest.starts_with("# fleet:") {
        match rest.find('\n') {
            Some(end) => rest = &rest[end + 1..],
            None => return "",
        }
    }
    rest
}

/// Runs `$VISUAL`, `$EDITOR` or `vi` on `path` (through `sh`, so `EDITOR="code --wait"` works).
fn run_editor(path: &Path) -> Result<(), ClientError> {
    let editor = ["VISUAL", "EDITOR"].iter().find_map(|v| std::env::var(v).ok().filter(|e| !e.trim().is_empty())).unwrap_or_else(|| "vi".into());
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("fleet-edit")
        .arg(path)
        .status()
        .map_err(|source| ClientError::Io { path: format!("editor {editor}"), source })?;
    if !status.success() {
        return Err(ClientError::Failed(format!("the editor ({editor}) failed with {status}: nothing committed; the file is kept in {}", path.display())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_counts_its_own_lines_and_comes_off() {
        let body = json!({"error": {"diagnostics": [{"line": 2, "column": 5, "severity": "error", "message": "unknown keyword"}]}});
        let note = refusal_note("configuration has 1 error", &body);
        assert_eq!(note.lines().count(), 4);
        assert!(note.contains("line 6:5: error: unknown keyword"), "{note}");
        let text = "global\n    nope\n";
        let shown = format!("{note}{text}");
        assert_eq!(shown.lines().nth(5), Some("    nope"), "line 6 in the editor");
        assert_eq!(strip_note(&shown, true), text);
        assert_eq!(strip_note("# fleet: mine\nglobal\n", false), "# fleet: mine\nglobal\n", "only a note edit put there");
    }
}
