//! `fleet rule ...`: a cluster's traffic rules (`/api/v1/clusters/{id}/rules`): list, show, add,
//! remove, change a list's entries, and upload a geo map converted from a country CSV.

use reqwest::Method;
use serde_json::{json, Map, Value};

use super::http::{cluster_path, escape, Body};
use super::resources::{done, list};
use super::table::{cell, print_json, print_table};
use super::{ClientError, Conn};

/// `fleet rule`.
#[derive(Debug, clap::Args)]
pub(crate) struct RuleArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    command: RuleCommand,
}

#[derive(Debug, clap::Subcommand)]
enum RuleCommand {
    /// The cluster's rules, in the order they run.
    Ls {
        /// The cluster (name or id).
        cluster: String,
    },
    /// One rule, as JSON.
    Show {
        /// The cluster (name or id).
        cluster: String,
        /// The rule's name.
        name: String,
    },
    /// Add a rule: `fleet rule add edge api rate_limit --set limit=10 --set period_seconds=10`.
    /// A new version is made and applied (unless --no-apply).
    Add {
        /// The cluster (name or id).
        cluster: String,
        /// 1-48 of A-Z a-z 0-9 _ -.
        name: String,
        /// rate_limit, ip_allow, ip_deny, geo_block, geo_allow, header_filter, path_filter,
        /// method_allow, body_size_limit, user_agent_block or custom.
        kind: String,
        /// A kind field, `KEY=VALUE` (VALUE read as JSON when it is, else as a string):
        /// `limit=10`, `methods=["GET","HEAD"]`, `match=prefix`.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// An entry of a list rule (CIDR or country), repeatable.
        #[arg(long = "entry")]
        entries: Vec<String>,
        /// A frontend it applies to, repeatable (none: every frontend).
        #[arg(long = "frontend")]
        frontends: Vec<String>,
        /// Lower runs first.
        #[arg(long, default_value_t = 100)]
        priority: i32,
        /// Add the header X-Fleet-Rule-Dry-Run instead of denying.
        #[arg(long)]
        dry_run: bool,
        /// Keep it but render nothing.
        #[arg(long)]
        disabled: bool,
        /// Only commit the version.
        #[arg(long)]
        no_apply: bool,
    },
    /// Remove a rule (with no rule left, the configuration is the operator's text again).
    Rm {
        /// The cluster (name or id).
        cluster: String,
        /// The rule's name.
        name: String,
    },
    /// Add or remove entries of a list rule: applied through HAProxy's runtime API, no reload.
    Entries {
        /// The cluster (name or id).
        cluster: String,
        /// The rule's name.
        name: String,
        /// Entries to add.
        #[arg(long)]
        add: Vec<String>,
        /// Entries to remove.
        #[arg(long)]
        remove: Vec<String>,
    },
    /// Convert a DB-IP country CSV (`start_ip,end_ip,country`) into the geo map file geo rules
    /// read, and store it in the cluster's bundle.
    GeoMap {
        /// The cluster (name or id).
        cluster: String,
        /// The CSV file.
        csv: std::path::PathBuf,
        /// Where the map goes in the bundle.
        #[arg(long, default_value = "geo/countries.map")]
        path: String,
    },
}

fn value_of(raw: &str) -> Value {
    serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()))
}

fn changed(answer: &Value) -> String {
    let applied = if answer["applied"].as_bool() == Some(true) {
        "applied".to_string()
    } else {
        format!("not applied: {}", cell(&answer["not_applied"]))
    };
    format!("version {} ({applied})", cell(&answer["version"]))
}

/// Runs `fleet rule ...`.
pub(crate) fn rule(args: RuleArgs) -> Result<(), ClientError> {
    let api = args.conn.connect()?;
    let json = args.conn.json();
    match args.command {
        RuleCommand::Ls { cluster } => {
            let rules = api.get(&cluster_path(&cluster, "/rules"))?;
            if json {
                print_json(&rules);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list(&rules)
                .iter()
                .map(|r| {
                    let frontends = r["frontends"].as_array().filter(|f| !f.is_empty()).map_or("(all)".to_string(), |f| f.iter().map(cell).collect::<Vec<_>>().join(","));
                    let mode = match (r["enabled"].as_bool(), r["dry_run"].as_bool()) {
                        (Some(false), _) => "disabled",
                        (_, Some(true)) => "dry run",
                        _ => "enforced",
                    };
                    vec![cell(&r["priority"]), cell(&r["name"]), cell(&r["kind"]), frontends, mode.to_string()]
                })
                .collect();
            print_table(&["PRIORITY", "NAME", "KIND", "FRONTENDS", "MODE"], &rows);
        }
        RuleCommand::Show { cluster, name } => {
            // The rule, with each node's latest reading of its table (rate limits; [] for the rest).
            let path = cluster_path(&cluster, &format!("/rules/{}", escape(&name)));
            let mut rule = api.get(&path)?;
            rule["hits"] = api.get(&format!("{path}/hits"))?;
            print_json(&rule);
        }
        RuleCommand::Add { cluster, name, kind, set, entries, frontends, priority, dry_run, disabled, no_apply } => {
            let mut body = Map::new();
            for pair in &set {
                let (key, raw) = pair.split_once('=').ok_or_else(|| ClientError::Usage(format!("--set {pair:?}: expected KEY=VALUE")))?;
                body.insert(key.to_string(), value_of(raw));
            }
            if !entries.is_empty() {
                body.insert("entries".into(), json!(entries));
            }
            body.insert("name".into(), json!(name));
            body.insert("kind".into(), json!(kind));
            body.insert("frontends".into(), json!(frontends));
            body.insert("priority".into(), json!(priority));
            body.insert("dry_run".into(), json!(dry_run));
            body.insert("enabled".into(), json!(!disabled));
            let path = cluster_path(&cluster, &format!("/rules?apply={}", !no_apply));
            let answer = api.post(&path, &Value::Object(body))?;
            done(json, &answer, &format!("added rule {name}: {}", changed(&answer)));
        }
        RuleCommand::Rm { cluster, name } => {
            let answer = api.delete(&cluster_path(&cluster, &format!("/rules/{}", escape(&name))))?;
            done(json, &answer, &format!("removed rule {name}: {}", changed(&answer)));
        }
        RuleCommand::Entries { cluster, name, add, remove } => {
            if add.is_empty() && remove.is_empty() {
                return Err(ClientError::Usage("give --add or --remove".into()));
            }
            let answer = api.post(&cluster_path(&cluster, &format!("/rules/{}/entries", escape(&name))), &json!({"entries": add, "remove": remove}))?;
            let now = answer["entries"].as_array().map_or(0, Vec::len);
            done(json, &answer, &format!("rule {name}: {now} entries, {}", changed(&answer)));
        }
        RuleCommand::GeoMap { cluster, csv, path } => {
            let text = std::fs::read_to_string(&csv).map_err(|source| ClientError::Io { path: csv.display().to_string(), source })?;
            let answer = api.json(Method::PUT, &cluster_path(&cluster, &format!("/geo-map?path={}", escape(&path))), Body::Text(&text))?;
            done(json, &answer, &format!("wrote {path}: version {}", cell(&answer["version"])));
        }
    }
    Ok(())
}
