//! `fleet map ...`: a cluster's map files (`/api/v1/clusters/{id}/maps`): list them, show one's
//! entries, set and remove entries. A change is one version whose only change is the map file,
//! which agents apply through HAProxy's runtime API, without a reload.

use serde_json::json;

use super::http::{cluster_path, escape};
use super::resources::{done, list};
use super::table::{cell, print_json, print_table};
use super::{ClientError, Conn};

/// `fleet map`.
#[derive(Debug, clap::Args)]
pub(crate) struct MapArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    command: MapCommand,
}

#[derive(Debug, clap::Subcommand)]
enum MapCommand {
    /// The map files of the latest version, with the config lines that load them.
    Ls {
        /// The cluster (name or id).
        cluster: String,
    },
    /// A map file's entries, as HAProxy loads them.
    Show {
        /// The cluster (name or id).
        cluster: String,
        /// The file's path in the bundle (`maps/hosts.map`).
        path: String,
    },
    /// Set an entry: every entry with KEY gets VALUE, or it is added at the end of the file.
    Set {
        /// The cluster (name or id).
        cluster: String,
        /// The file's path in the bundle.
        path: String,
        /// The key (one word).
        key: String,
        /// The value (the rest of the line).
        value: String,
        /// Only commit the version.
        #[arg(long)]
        no_apply: bool,
    },
    /// Remove every entry with these keys.
    Rm {
        /// The cluster (name or id).
        cluster: String,
        /// The file's path in the bundle.
        path: String,
        /// Keys to remove.
        #[arg(required = true)]
        keys: Vec<String>,
        /// Only commit the version.
        #[arg(long)]
        no_apply: bool,
    },
}

/// The route of map file `path` (its slashes escaped: one path parameter).
fn map_route(cluster: &str, path: &str) -> String {
    cluster_path(cluster, &format!("/maps/{}", escape(path.trim_start_matches('/'))))
}

fn changed(path: &str, answer: &serde_json::Value) -> String {
    let entries = answer["entries"].as_array().map_or(0, Vec::len);
    match (&answer["version"], answer["applied"].as_bool()) {
        (serde_json::Value::Null, _) => format!("{path}: {entries} entries, unchanged (no version)"),
        (version, Some(true)) => format!("{path}: {entries} entries, version {} (applied)", cell(version)),
        (version, _) => format!("{path}: {entries} entries, version {} (not applied: {})", cell(version), cell(&answer["not_applied"])),
    }
}

/// Runs `fleet map ...`.
pub(crate) fn map(args: MapArgs) -> Result<(), ClientError> {
    let api = args.conn.connect()?;
    let json = args.conn.json();
    match args.command {
        MapCommand::Ls { cluster } => {
            let listing = api.get(&cluster_path(&cluster, "/maps"))?;
            if json {
                print_json(&listing);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list(&listing["maps"])
                .iter()
                .map(|m| {
                    let used: Vec<String> = list(&m["used_by"]).iter().map(|u| format!("{}:{} {}", cell(&u["file"]), cell(&u["line"]), cell(&u["keyword"]))).collect();
                    let used = if used.is_empty() { "(not loaded)".to_string() } else { used.join(", ") };
                    vec![cell(&m["path"]), cell(&m["entries"]), cell(&m["size"]), used]
                })
                .collect();
            print_table(&["PATH", "ENTRIES", "BYTES", "LOADED BY"], &rows);
        }
        MapCommand::Show { cluster, path } => {
            let entries = api.get(&map_route(&cluster, &path))?;
            if json {
                print_json(&entries);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list(&entries).iter().map(|e| vec![cell(&e["key"]), cell(&e["value"])]).collect();
            print_table(&["KEY", "VALUE"], &rows);
        }
        MapCommand::Set { cluster, path, key, value, no_apply } => {
            let route = format!("{}?apply={}", map_route(&cluster, &path), !no_apply);
            let answer = api.post(&route, &json!({"set": [{"key": key, "value": value}]}))?;
            done(json, &answer, &changed(&path, &answer));
        }
        MapCommand::Rm { cluster, path, keys, no_apply } => {
            let route = format!("{}?apply={}", map_route(&cluster, &path), !no_apply);
            let answer = api.post(&route, &json!({"remove": keys}))?;
            done(json, &answer, &changed(&path, &answer));
        }
    }
    Ok(())
}
