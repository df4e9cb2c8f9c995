//! Server backups through the real binary (issue 18): a server populated with every kind of
//! entity is backed up with `fleet backup create --data DIR` while it runs, its database wiped,
//! restored with `fleet backup restore`, and served again: every documented GET route (lists and
//! details, filled with the ids made here) answers exactly as before. On SQLite and PostgreSQL.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use fleet_tests::pki::TestPki;
use fleet_tests::FleetServe;
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::{Connection, Executor};

use crate::serve_support::{fresh_postgres, Db, Server, ADMIN_PASSWORD};

crate::serve_tests!(backup_wipe_restore_gives_the_same_answers);

const CONFIG: &str = "global\n    maxconn 100\n\ndefaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\n\
frontend web\n    bind 127.0.0.1:18080\n    default_backend app\n    acl is_api path_beg /api\n    use_backend app if is_api\n\nbackend app\n    server s1 127.0.0.1:8080\n";

const DAY: i64 = 86_400_000;

fn fleet() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_fleet"))
}

fn serve(data: &Path, database: Option<&str>) -> Server {
    let mut args = vec!["--grace-seconds", "3"];
    if let Some(url) = database {
        args.extend(["--database", url]);
    }
    let process = FleetServe::start(fleet(), "127.0.0.1:0", Some(data), ADMIN_PASSWORD, args);
    let base = process.base.clone();
    Server { process, base, client: reqwest::Client::new(), database: database.map(str::to_string) }
}

/// Ids made by [`populate`], to fill the routes' parameters.
#[derive(Debug, Default)]
struct Made {
    clusters: Vec<i64>,
    pools: Vec<i64>,
    ids: BTreeMap<&'static str, i64>,
}

async fn heartbeat(s: &Server, token: &str, address: &str) {
    let body = json!({"interfaces": [{"name": "eth0", "up": true, "addresses": [format!("{address}/24")]}],
        "keepalived": {"running": true, "instances": [], "track_file": "/var/lib/fleet-agent/keepalived/haproxy.track",
            "notify_fifo": "/var/lib/fleet-agent/keepalived/notify.fifo"}});
    let reply = s.send(s.request(Method::POST, "/api/v1/agent/heartbeat", Some(token)).json(&body)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

/// Clusters, pools, versions, bundle files, agents, enrolments, users, tokens, certificates, a
/// DNS provider, failover, a VIP, alert rules, an open transaction, a runtime action, security
/// settings, and the audit entries all of it wrote.
async fn populate(s: &Server, admin: &str) -> Made {
    let mut made = Made::default();
    for name in ["edge", "core"] {
        let id = s.cluster(admin, name).await;
        s.post_text(&format!("/api/v1/clusters/{id}/import"), admin, CONFIG).await.expect(201);
        let put = s.request(Method::PUT, &format!("/api/v1/clusters/{id}/files/maps/hosts.map?version=1&message=map"), Some(admin));
        s.send(put.body("a.example.com app\n")).await.expect(200);
        s.post(&format!("/api/v1/clusters/{id}/apply"), admin, json!({"version": 2})).await.expect(200);
        made.clusters.push(id);
        let cluster = s.get(&format!("/api/v1/clusters/{id}"), admin).await.expect(200);
        made.pools.push(cluster["pool_id"].as_i64().unwrap());
    }
    let edge = made.clusters[0];
    let lb1 = s.agent(admin, edge, "lb1").await;
    heartbeat(s, &lb1, "198.18.0.11").await;
    s.post(&format!("/api/v1/clusters/{edge}/enrollments"), admin, json!({"name": "lb2"})).await.expect(201);
    let agents = s.get(&format!("/api/v1/clusters/{edge}/agents"), admin).await.expect(200);
    made.ids.insert("agent", agents[0]["id"].as_i64().unwrap());
    let user = s.post("/api/v1/users", admin, json!({"username": "ada", "password": "glacier-tuba-quarry", "role": "viewer"})).await.expect(201);
    made.ids.insert("user", user["id"].as_i64().unwrap());
    s.post("/api/v1/tokens", admin, json!({"name": "ci"})).await.expect(201);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let pki = TestPki::new("Backup", t - 10 * DAY, t + 400 * DAY);
    let leaf = pki.leaf(&["www.example.test"], t - DAY, t + 60 * DAY);
    let chain = format!("{}{}", leaf.cert_pem, pki.chain_pem());
    let cert = s.post("/api/v1/certificates", admin, json!({"name": "www", "certificate": chain, "private_key": leaf.key_pem})).await.expect(201);
    made.ids.insert("certificate", cert["id"].as_i64().unwrap());
    let provider = json!({"name": "zone", "kind": "rfc2136", "zone": "example.com", "server": "127.0.0.1:1", "tsig_key_name": "k",
        "tsig_algorithm": "hmac-sha256", "tsig_secret": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"});
    let provider = s.post("/api/v1/dns-providers", admin, provider).await.expect(201);
    let provider_id = provider["id"].as_i64().unwrap();
    made.ids.insert("provider", provider_id);
    let pool = made.pools[0];
    s.put(&format!("/api/v1/pools/{pool}/failover"), admin, json!({"hostname": "www.example.com", "provider_id": provider_id})).await.expect(200);
    let vip = json!({"name": "web", "addresses": ["198.18.0.50/24"], "vrid": 51, "interface": "eth0", "nodes": [{"agent": "lb1", "priority": 150}]});
    let vip = s.post(&format!("/api/v1/clusters/{edge}/vips"), admin, vip).await.expect(201);
    made.ids.insert("vip", vip["id"].as_i64().unwrap());
    let rule = s.post("/api/v1/alerts/rules", admin, json!({"name": "offline", "condition": {"kind": "agent_offline"}})).await.expect(201);
    made.ids.insert("rule", rule["id"].as_i64().unwrap());
    let base = vip["version"].as_i64().unwrap();
    let tx = s.post(&format!("/api/v1/clusters/{edge}/transactions?version={base}"), admin, json!(null)).await.expect(201);
    made.ids.insert("tx", tx["id"].as_i64().unwrap());
    let action = s.post(&format!("/api/v1/clusters/{edge}/runtime"), admin, json!({"backend": "app", "server": "s1", "action": "drain"})).await;
    assert!(action.status.is_success(), "{}", action.text);
    made.ids.insert("action", action.json()["id"].as_i64().unwrap_or(1));
    s.put("/api/v1/settings/security", admin, json!({"mfa_required_for_admins": false})).await.expect(200);
    made
}

/// Every documented GET route's paths, filled with the ids of `made` (every cluster for
/// `/clusters/{id}...`, every pool for `/pools/{id}...`).
fn paths(document: &Value, made: &Made) -> Vec<String> {
    let mut out = Vec::new();
    for (template, item) in document["paths"].as_object().unwrap() {
        if item.get("get").is_none()
            || ["/api/v1/agent/", "/api/v1/events", "/install/", "/metrics", "/api/v1/system/backup", "/api/v1/openapi.json"]
                .iter()
                .any(|skip| template.starts_with(skip))
        {
            continue;
        }
        let ids: Vec<i64> = if template.starts_with("/api/v1/clusters/{id}") {
            made.clusters.clone()
        } else if template.starts_with("/api/v1/pools/{id}") {
            made.pools.clone()
        } else if template.starts_with("/api/v1/alerts/rules/{id}") {
            vec![made.ids["rule"]]
        } else if template.starts_with("/api/v1/dns-providers/{id}") {
            vec![made.ids["provider"]]
        } else if template.starts_with("/api/v1/certificates/{id}") {
            vec![made.ids["certificate"]]
        } else {
            vec![1]
        };
        for id in ids {
            out.push(
                template
                    .replace("{id}", &id.to_string())
                    .replace("{user_id}", &made.ids["user"].to_string())
                    .replace("{agent_id}", &made.ids["agent"].to_string())
                    .replace("{tid}", &made.ids["tx"].to_string())
                    .replace("{vip_id}", &made.ids["vip"].to_string())
                    .replace("{action_id}", &made.ids["action"].to_string())
                    .replace("{n}", "1")
                    .replace("{number}", "1")
                    .replace("{name}", "app")
                    .replace("{server}", "s1")
                    .replace("{path}", "maps%2Fhosts.map"),
            );
        }
    }
    out
}

/// Drops what moves by itself between two reads with nobody changing anything: the admin's own
/// session use, agents' liveness as computed against the clock, the stats window (the last hour
/// before now).
fn steady(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for moving in ["last_used_at", "online", "seconds_since_heartbeat", "heartbeat_age_ms", "now", "timestamps", "from", "to"] {
                map.remove(moving);
            }
            map.values_mut().for_each(steady);
        }
        Value::Array(items) => items.iter_mut().for_each(steady),
        _ => {}
    }
}

async fn answers(s: &Server, admin: &str, paths: &[String]) -> BTreeMap<String, (u16, Value)> {
    let mut out = BTreeMap::new();
    for path in paths {
        let reply = s.get(path, admin).await;
        let mut body = serde_json::from_str(&reply.text).unwrap_or_else(|_| Value::String(reply.text.clone()));
        steady(&mut body);
        out.insert(path.clone(), (reply.status.as_u16(), body));
    }
    out
}

fn run(args: &[&str]) -> String {
    run_with(args, &[])
}

fn run_with(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(fleet()).args(args).envs(env.iter().copied()).env_remove("FLEET_SERVER").output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "fleet {args:?}: {text}");
    text
}

async fn backup_wipe_restore_gives_the_same_answers(db: Db) {
    let database = match db {
        Db::Sqlite => None,
        Db::Postgres => match fresh_postgres().await {
            Some(url) => Some(url),
            None => return,
        },
    };
    let dir = std::env::temp_dir().join(fleet_tests::unique_name("fleet-backup-test-"));
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let file = dir.join("fleet.tar");
    let mut db_args: Vec<&str> = vec!["--data", data.to_str().unwrap()];
    if let Some(url) = &database {
        db_args.extend(["--database", url.as_str()]);
    }

    let s = serve(&data, database.as_deref());
    let admin = s.admin().await;
    let made = populate(&s, &admin).await;
    let document = s.get("/api/v1/openapi.json", &admin).await.expect(200);
    let paths = paths(&document, &made);
    let before = answers(&s, &admin, &paths).await;
    let ok = before.values().filter(|(status, _)| *status == 200).count();
    assert!(ok >= 40, "only {ok} of {} routes answered 200: the comparison would say little", before.len());

    // While the server runs: the CLI on its database, and the API as an admin.
    let started = std::time::Instant::now();
    let mut create = vec!["backup", "create"];
    create.extend(&db_args);
    create.push(file.to_str().unwrap());
    let said = run(&create);
    eprintln!("{said} (wall {} ms, {} bytes)", started.elapsed().as_millis(), std::fs::metadata(&file).unwrap().len());
    let through_api = dir.join("api.tar");
    let said = run_with(&["backup", "create", "--server", &s.base, through_api.to_str().unwrap()], &[("FLEET_TOKEN", &admin)]);
    assert!(said.contains("backed up"), "{said}");
    let viewer = s.login("ada", "glacier-tuba-quarry").await;
    assert_eq!(s.get("/api/v1/system/backup", &viewer).await.status, 403, "only admins take backups");
    // A running server is not restored under.
    let mut restore = vec!["backup", "restore"];
    restore.extend(&db_args);
    restore.push(file.to_str().unwrap());
    let refused = Command::new(fleet()).args(&restore).output().unwrap();
    assert_eq!(refused.status.code(), Some(1), "{}", String::from_utf8_lossy(&refused.stderr));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("stop the server"), "{}", String::from_utf8_lossy(&refused.stderr));
    drop(s);

    // Wipe: the SQLite files, or every table of the PostgreSQL database. The key file stays.
    match &database {
        None => {
            for entry in std::fs::read_dir(&data).unwrap() {
                let path = entry.unwrap().path();
                if path.file_name().unwrap().to_string_lossy().starts_with("fleet.db") {
                    std::fs::remove_file(path).unwrap();
                }
            }
        }
        Some(url) => {
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public").await.unwrap();
            conn.close().await.unwrap();
        }
    }
    let said = run(&restore);
    assert!(said.contains("opens all"), "the key file opens the sealed secrets: {said}");
    eprintln!("{said}");

    let restarted_at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let s = serve(&data, database.as_deref());
    let admin = s.admin().await;
    let mut after = answers(&s, &admin, &paths).await;
    for (_, body) in after.values_mut() {
        // What happened after the restart (this login in the audit log, the failover decider's
        // first verdict in the pool's events) is new, not restored.
        if let Value::Array(items) = body {
            items.retain(|item| item["at"].as_i64().is_none_or(|at| at < restarted_at));
        }
    }
    let mut differ = Vec::new();
    for (path, answer) in &before {
        if after.get(path) != Some(answer) {
            differ.push(format!("{path}:\n  before {}\n  after  {}", answer.1, after.get(path).map(|a| a.1.to_string()).unwrap_or_default()));
        }
    }
    assert!(differ.is_empty(), "{} of {} routes answer differently after the restore:\n{}", differ.len(), before.len(), differ.join("\n"));
    eprintln!("{} GET routes ({ok} answering 200) answer the same after backup, wipe and restore", before.len());
    // The backup taken through the API restores too (its rows are newer: a login in between).
    drop(s);
    let mut restore_api = vec!["backup", "restore"];
    restore_api.extend(&db_args);
    restore_api.push(through_api.to_str().unwrap());
    assert!(run(&restore_api).contains("restored"));
    let _ = std::fs::remove_dir_all(&dir);
}
