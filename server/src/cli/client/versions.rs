//! `fleet versions`, `fleet diff`, `fleet restore`.

use serde_json::{json, Value};

use super::http::{cluster_path, escape};
use super::resources::{done, list};
use super::table::{cell, print_json, print_table, time};
use super::{ClientError, Conn};

/// `fleet versions CLUSTER`.
#[derive(Debug, clap::Args)]
pub(crate) struct VersionsArgs {
    #[command(flatten)]
    conn: Conn,
    /// The cluster's name (or id).
    cluster: String,
}

/// Lists the versions, oldest first.
pub(crate) fn list_versions(args: &VersionsArgs) -> Result<(), ClientError> {
    let api = args.conn.connect()?;
    let versions = api.get(&cluster_path(&args.cluster, "/versions"))?;
    if args.conn.json() {
        print_json(&versions);
        return Ok(());
    }
    let desired = api.get(&cluster_path(&args.cluster, ""))?["desired_version"].clone();
    let rows: Vec<Vec<String>> = list(&versions)
        .iter()
        .map(|v| {
            let mark = if v["number"] == desired { "*" } else { "" };
            vec![format!("{}{mark}", v["number"]), cell(&v["author"]), time(&v["created_at"]), cell(&v["message"])]
        })
        .collect();
    print_table(&["VERSION", "AUTHOR", "CREATED", "MESSAGE"], &rows);
    Ok(())
}

/// `fleet diff CLUSTER N [M]`.
#[derive(Debug, clap::Args)]
pub(crate) struct DiffArgs {
    #[command(flatten)]
    conn: Conn,
    /// The cluster's name (or id).
    cluster: String,
    /// The older version (alone: the version whose changes to show).
    from: i64,
    /// The newer version.
    to: Option<i64>,
}

/// Prints what changed from `from` to `to` (or what version `from` changed).
pub(crate) fn diff(args: &DiffArgs) -> Result<(), ClientError> {
    let api = args.conn.connect()?;
    let path = match args.to {
        Some(to) => cluster_path(&args.cluster, &format!("/versions/{to}/diff?against={}", args.from)),
        None => cluster_path(&args.cluster, &format!("/versions/{}/diff", args.from)),
    };
    let diff = api.get(&path)?;
    if args.conn.json() {
        print_json(&diff);
    } else {
        print_diff(&diff);
    }
    Ok(())
}

/// Prints a bundle diff (`fleet_core::bundle::BundleDiff` as JSON): each file that differs, with
/// its unified diff or what changed about it.
pub(crate) fn print_diff(diff: &Value) {
    let files = list(&diff["files"]);
    if files.is_empty() {
        println!("no differences");
        return;
    }
    for file in files {
        let sign = match file["change"].as_str() {
            Some("added") => "+",
            Some("removed") => "-",
            _ => "~",
        };
        println!("{sign} {} ({})", cell(&file["path"]), cell(&file["kind"]));
        let unified = file["unified"].as_str().unwrap_or_default();
        if !unified.is_empty() {
            print!("{unified}");
            if !unified.ends_with('\n') {
                println!();
            }
        } else if let Some(certs) = file["certificates"].as_array() {
            println!("  certificates: {} -> {}", certs.first().map(Value::to_string).unwrap_or_default(), certs.get(1).map(Value::to_string).unwrap_or_default());
        } else if file["mode"][0] != file["mode"][1] {
            println!("  mode {} -> {}", mode(&file["mode"][0]), mode(&file["mode"][1]));
        }
    }
}

fn mode(value: &Value) -> String {
    value.as_u64().map(|m| format!("{m:o}")).unwrap_or_else(|| "-".into())
}

/// `fleet restore CLUSTER N`.
#[derive(Debug, clap::Args)]
pub(crate) struct RestoreArgs {
    #[command(flatten)]
    conn: Conn,
    /// The cluster's name (or id).
    cluster: String,
    /// The version whose files come back.
    version: i64,
    /// Why (stored with the new version).
    #[arg(long, short = 'm', default_value = "")]
    message: String,
}

/// Makes a new version carrying version N's files (not applied).
pub(crate) fn restore(args: &RestoreArgs) -> Result<(), ClientError> {
    let api = args.conn.connect()?;
    let path = cluster_path(&args.cluster, &format!("/versions/{}/restore?message={}", args.version, escape(&args.message)));
    let made = api.post(&path, &json!({}))?;
    let sentence = format!("version {} restores version {} (not applied yet: fleet apply {} {} --wait)", made["version"], args.version, args.cluster, made["version"]);
    done(args.conn.json(), &made, &sentence);
    Ok(())
}
