//! `fleet schedule ...`: schedules (`/api/v1/schedules`): list, show, create, enable, disable,
//! remove, their runs, and the preview of an expression's next run times.

use clap::Subcommand;
use reqwest::Method;
use serde_json::{json, Value};

use super::http::{escape, Api, Body};
use super::resources::{done, list};
use super::table::{cell, print_json, print_table, time};
use super::{ClientError, Conn};

/// `fleet schedule`.
#[derive(Debug, clap::Args)]
pub(crate) struct ScheduleArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    command: ScheduleCommand,
}

#[derive(Debug, Subcommand)]
enum ScheduleCommand {
    /// Every schedule you can see, with its next run time.
    Ls,
    /// One schedule and its latest runs.
    Show {
        /// The schedule's name (or id).
        schedule: String,
    },
    /// Create a schedule that runs a job on a cluster (--cluster, --job) or backs the server up
    /// (--server-backup, admin).
    Create {
        /// 1-100 letters, digits, blanks, `-`, `_` or `.`.
        name: String,
        /// Five cron fields, quoted: `"*/5 * * * *"`, `"30 2 * * MON-FRI"`, `@daily`.
        #[arg(long)]
        cron: String,
        /// IANA time zone the times are read in (`Europe/Paris`; default UTC).
        #[arg(long, default_value = "UTC")]
        timezone: String,
        /// The cluster the job runs on (name or id).
        #[arg(long, requires = "job", conflicts_with = "server_backup")]
        cluster: Option<String>,
        /// The job: a kind (`diagnostics`) or its JSON (`{"kind":"install-haproxy","version":"2.8"}`).
        #[arg(long, requires = "cluster")]
        job: Option<String>,
        /// Back the whole server up to this absolute folder of the server or `s3://BUCKET/PREFIX`.
        #[arg(long, value_name = "DEST", required_unless_present = "cluster")]
        server_backup: Option<String>,
        /// With --server-backup: how many backups to keep there.
        #[arg(long, default_value_t = 7, requires = "server_backup")]
        retention: u32,
        /// Run times missed while no server ran: `skip` or `run_once`.
        #[arg(long, default_value = "skip")]
        missed: String,
        /// A run time while the previous run runs: `forbid` (skip it) or `allow`.
        #[arg(long, default_value = "forbid")]
        concurrency: String,
        /// Create it disabled.
        #[arg(long)]
        disabled: bool,
    },
    /// Enable a schedule (its next run time counts from now).
    Enable {
        /// The schedule's name (or id).
        schedule: String,
    },
    /// Disable a schedule (it keeps its history).
    Disable {
        /// The schedule's name (or id).
        schedule: String,
    },
    /// Remove a schedule and its history.
    Rm {
        /// The schedule's name (or id).
        schedule: String,
    },
    /// A schedule's runs, newest first.
    Runs {
        /// The schedule's name (or id).
        schedule: String,
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// The next run times of a cron expression (nothing is stored).
    Preview {
        /// Five cron fields, quoted.
        cron: String,
        /// IANA time zone (default UTC).
        #[arg(long, default_value = "UTC")]
        timezone: String,
        /// How many (1-100).
        #[arg(long, default_value_t = 5)]
        count: u32,
    },
}

/// The id of the schedule named `name` (or with that id).
fn schedule_id(api: &Api, name: &str) -> Result<i64, ClientError> {
    let schedules = api.get("/schedules")?;
    let found = list(&schedules).into_iter().find(|s| s["name"].as_str() == Some(name)).and_then(|s| s["id"].as_i64());
    match (found, name.parse::<i64>()) {
        (Some(id), _) | (None, Ok(id)) => Ok(id),
        (None, Err(_)) => Err(ClientError::Usage(format!("no schedule named {name:?} (fleet schedule ls)"))),
    }
}

/// The target column: `job diagnostics on cluster 12`.
fn target(schedule: &Value) -> String {
    let target = &schedule["target"];
    match target["type"].as_str() {
        Some("job") => format!("{} on cluster {}", cell(&target["job"]["kind"]), cell(&target["cluster_id"])),
        Some("server_backup") => format!("server backup to {} (keep {})", cell(&target["destination"]), cell(&target["retention"])),
        _ => cell(&target["type"]),
    }
}

fn print_runs(runs: &Value) {
    let rows: Vec<Vec<String>> = list(runs)
        .iter()
        .map(|r| {
            let created = if r["created"].is_null() { "-".into() } else { r["created"].to_string() };
            vec![time(&r["scheduled_for"]), cell(&r["outcome"]), time(&r["started_at"]), time(&r["finished_at"]), created, cell(&r["detail"])]
        })
        .collect();
    print_table(&["SCHEDULED FOR", "OUTCOME", "STARTED", "FINISHED", "CREATED", "DETAIL"], &rows);
}

/// Runs `fleet schedule ...`.
pub(crate) fn schedule(args: ScheduleArgs) -> Result<(), ClientError> {
    let api = args.conn.connect()?;
    let json = args.conn.json();
    match args.command {
        ScheduleCommand::Ls => {
            let schedules = api.get("/schedules")?;
            if json {
                print_json(&schedules);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list(&schedules)
                .iter()
                .map(|s| {
                    let enabled = if s["enabled"].as_bool() == Some(false) { "disabled".to_string() } else { time(&s["next_run_at"]) };
                    vec![cell(&s["name"]), cell(&s["id"]), cell(&s["cron"]), cell(&s["timezone"]), target(s), enabled]
                })
                .collect();
            print_table(&["NAME", "ID", "CRON", "TIMEZONE", "TARGET", "NEXT RUN (UTC)"], &rows);
        }
        ScheduleCommand::Show { schedule } => {
            let id = schedule_id(&api, &schedule)?;
            let found = api.get(&format!("/schedules/{id}"))?;
            let runs = api.get(&format!("/schedules/{id}/runs?limit=10"))?;
            if json {
                print_json(&json!({"schedule": found, "runs": runs}));
                return Ok(());
            }
            println!("name:        {}", cell(&found["name"]));
            println!("id:          {}", cell(&found["id"]));
            println!("cron:        {} ({})", cell(&found["cron"]), cell(&found["timezone"]));
            println!("target:      {}", target(&found));
            println!("missed:      {}", cell(&found["missed"]));
            println!("concurrency: {}", cell(&found["concurrency"]));
            println!("enabled:     {}", cell(&found["enabled"]));
            println!("next run:    {} UTC", time(&found["next_run_at"]));
            println!();
            print_runs(&runs);
        }
        ScheduleCommand::Create { name, cron, timezone, cluster, job, server_backup, retention, missed, concurrency, disabled } => {
            let target = match (cluster, job, server_backup) {
                (Some(cluster), Some(job), _) => {
                    let cluster_id = api.get(&format!("/clusters/{}", escape(&cluster)))?["id"].clone();
                    let job: Value = if job.trim_start().starts_with('{') {
                        serde_json::from_str(&job).map_err(|e| ClientError::Usage(format!("--job: not JSON: {e}")))?
                    } else {
                        json!({"kind": job})
                    };
                    json!({"type": "job", "cluster_id": cluster_id, "job": job})
                }
                (_, _, Some(destination)) => json!({"type": "server_backup", "destination": destination, "retention": retention}),
                _ => return Err(ClientError::Usage("give --cluster and --job, or --server-backup".into())),
            };
            let body = json!({"name": name, "cron": cron, "timezone": timezone, "missed": missed, "concurrency": concurrency,
                "enabled": !disabled, "target": target});
            let created = api.post("/schedules", &body)?;
            done(json, &created, &format!("created schedule {name} (id {}), next run {} UTC", created["id"], time(&created["next_run_at"])));
        }
        ScheduleCommand::Enable { schedule } => toggle(&api, json, &schedule, true)?,
        ScheduleCommand::Disable { schedule } => toggle(&api, json, &schedule, false)?,
        ScheduleCommand::Rm { schedule } => {
            let id = schedule_id(&api, &schedule)?;
            api.delete(&format!("/schedules/{id}"))?;
            done(json, &json!({"deleted": id}), &format!("removed schedule {schedule}"));
        }
        ScheduleCommand::Runs { schedule, limit } => {
            let id = schedule_id(&api, &schedule)?;
            let runs = api.get(&format!("/schedules/{id}/runs?limit={limit}"))?;
            if json {
                print_json(&runs);
            } else {
                print_runs(&runs);
            }
        }
        ScheduleCommand::Preview { cron, timezone, count } => {
            let answer = api.get(&format!("/schedules/preview?cron={}&timezone={}&count={count}", escape(&cron), escape(&timezone)))?;
            if json {
                print_json(&answer);
            } else {
                let local = list(&answer["local"]);
                let rows: Vec<Vec<String>> =
                    list(&answer["runs"]).iter().enumerate().map(|(i, utc)| vec![time(utc), local.get(i).map_or_else(|| "-".into(), |l| cell(l))]).collect();
                print_table(&["UTC", &format!("LOCAL ({timezone})")], &rows);
            }
        }
    }
    Ok(())
}

/// Enables or disables a schedule: its definition sent back with `enabled` changed.
fn toggle(api: &Api, json: bool, schedule: &str, enabled: bool) -> Result<(), ClientError> {
    let id = schedule_id(api, schedule)?;
    let mut body = api.get(&format!("/schedules/{id}"))?;
    let Some(fields) = body.as_object_mut() else { return Err(ClientError::Answer(format!("/schedules/{id}: not an object"))) };
    for computed in ["id", "next_run_at", "created_by", "created_at", "updated_at"] {
        fields.remove(computed);
    }
    fields.insert("enabled".into(), Value::Bool(enabled));
    let updated = api.json(Method::PUT, &format!("/schedules/{id}"), Body::Json(&body))?;
    let state = if enabled { format!("enabled, next run {} UTC", time(&updated["next_run_at"])) } else { "disabled".into() };
    done(json, &updated, &format!("schedule {schedule} {state}"));
    Ok(())
}
