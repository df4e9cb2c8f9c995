//! `/metrics` with real data: agents whose heartbeats carry runtime summaries (with each
//! backend's and server's traffic counters, summed per cluster), apply reports, a
//! certificate; the bearer token (`--metrics-token-file`), the server cap
//! (`--metrics-max-servers`), `promtool check metrics` on the answer, the Grafana dashboard's
//! queries against the families the server renders, and how long a scrape of 1,000 agents × 50
//! servers takes.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use fleet_tests::pki::TestPki;
use reqwest::Method;
use serde_json::{json, Value};

use crate::serve_support::{fresh_postgres, start_on, Db, Server};
use crate::support::Scratch;

const CONFIG: &str = "frontend web\n    bind :8080\n    default_backend app\n\nbackend app\n    server s1 10.0.0.1:80\n";
const TOKEN: &str = "metrics-s3cret";
const DASHBOARD: &str = include_str!("../../grafana/fleet-dashboard.json");

crate::serve_tests!(metrics_describe_the_fleet);

/// A runtime summary as fleet-agent puts it in its heartbeat's facts.
fn runtime(servers: &[(&str, &str, i64)]) -> Value {
    let servers: serde_json::Map<String, Value> = servers
        .iter()
        .map(|(key, status, sessions)| {
            let traffic = json!({"status": status, "weight": 1, "sessions": sessions, "requests": 10 * sessions, "bytes_in": 100 * sessions,
                "bytes_out": 1000 * sessions, "responses_4xx": sessions, "responses_5xx": 1});
            (key.to_string(), traffic)
        })
        .collect();
    json!({
        "version": "2.8.5", "uptime_sec": 60, "current_connections": 9, "session_rate": 4, "request_rate": 3,
        "proxies": {"web/frontend": {"status": "OPEN", "sessions": 2, "total_sessions": 40},
            "app/backend": {"status": "UP", "sessions": 2, "total_sessions": 30, "requests": 25, "bytes_in": 2500, "bytes_out": 25000, "responses_4xx": 2, "responses_5xx": 1}},
        "servers": servers,
    })
}

async fn scrape(s: &Server, token: Option<&str>) -> crate::serve_support::Reply {
    let mut request = s.request(Method::GET, "/metrics", None);
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    s.send(request).await
}

async fn metrics_describe_the_fleet(db: Db) {
    let database = match db {
        Db::Sqlite => None,
        Db::Postgres => match fresh_postgres().await {
            Some(url) => Some(url),
            None => return,
        },
    };
    let scratch = Scratch::new();
    let token_file = scratch.file("metrics.token", format!("{TOKEN}\n"));
    let s = start_on(database, &["--metrics-token-file", &token_file, "--metrics-max-servers", "3"]);
    let admin = s.admin().await;

    // The token.
    let refused = scrape(&s, None).await;
    assert_eq!((refused.status.as_u16(), refused.code().as_str()), (401, "unauthorized"), "{}", refused.text);
    assert_eq!(scrape(&s, Some("metrics-s3cre")).await.status, 401);
    assert_eq!(scrape(&s, Some(&admin)).await.status, 401, "a session token is not the metrics token");

    let id = s.cluster(&admin, "edge").await;
    s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, CONFIG).await.expect(201);
    s.post(&format!("/api/v1/clusters/{id}/apply"), &admin, json!({"version": 1})).await.expect(200);
    let n1 = s.agent(&admin, id, "n1").await;
    let n2 = s.agent(&admin, id, "n2").await;
    s.post("/api/v1/agent/report", &n1, json!({"version": 1, "outcome": "applied"})).await.expect(200);
    s.post("/api/v1/agent/report", &n2, json!({"version": 1, "outcome": "rejected", "error": "[ALERT] x"})).await.expect(200);
    // Four servers against a cap of 3: the last in name order (web/z) is dropped. A quote in a
    // name (the summary is what the node said) is escaped.
    let weird = "app/we\"ird\\";
    s.post("/api/v1/agent/heartbeat", &n1, json!({"facts": {"runtime": runtime(&[("app/s1", "UP", 4), ("app/s2", "DOWN", 0), (weird, "no check", 1)])}}))
        .await
        .expect(200);
    s.post("/api/v1/agent/heartbeat", &n2, json!({"facts": {"runtime": runtime(&[("app/s1", "UP 1/3", 3), ("web/z", "MAINT", 0)])}})).await.expect(200);

    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let day = 86_400_000;
    let pki = TestPki::new("Metrics", now - 10 * day, now + 400 * day);
    let leaf = pki.leaf(&["www.example.test"], now - day, now + 30 * day);
    let body = json!({"name": "www", "certificate": format!("{}{}", leaf.cert_pem, pki.chain_pem()), "private_key": leaf.key_pem});
    s.post("/api/v1/certificates", &admin, body).await.expect(201);

    let reply = scrape(&s, Some(TOKEN)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let text = reply.text;
    for line in [
        "fleet_agents{cluster=\"edge\",state=\"online\"} 2\n",
        "fleet_agents{cluster=\"edge\",state=\"offline\"} 0\n",
        "fleet_agent_up{cluster=\"edge\",agent=\"n1\"} 1\n",
        "fleet_cluster_desired_version{cluster=\"edge\"} 1\n",
        "fleet_agent_applied_version{cluster=\"edge\",agent=\"n1\"} 1\n",
        "fleet_cluster_agents_converged{cluster=\"edge\"} 1\n",
        "fleet_cluster_apply_outcome_agents{cluster=\"edge\",outcome=\"applied\"} 1\n",
        "fleet_cluster_apply_outcome_agents{cluster=\"edge\",outcome=\"rejected\"} 1\n",
        "fleet_server_status{cluster=\"edge\",backend=\"app\",server=\"s1\",state=\"up\"} 2\n",
        "fleet_server_up{cluster=\"edge\",backend=\"app\",server=\"s1\"} 1\n",
        "fleet_server_up{cluster=\"edge\",backend=\"app\",server=\"s2\"} 0\n",
        "fleet_server_current_sessions{cluster=\"edge\",backend=\"app\",server=\"s1\"} 7\n",
        "fleet_server_up{cluster=\"edge\",backend=\"app\",server=\"we\\\"ird\\\\\"} 1\n",
        "fleet_proxy_sessions_total{cluster=\"edge\",proxy=\"web\",type=\"frontend\"} 80\n",
        "fleet_node_request_rate{cluster=\"edge\",agent=\"n2\"} 3\n",
        "fleet_metrics_servers_exported 3\n",
        "fleet_metrics_servers_dropped 1\n",
        "fleet_certificate_expiry_timestamp_seconds{certificate=\"www\",cluster=\"\"}",
        "fleet_http_requests_total{method=\"GET\",route=\"/metrics\",status=\"401\"} 3\n",
        // Traffic per backend and per server, summed over the two agents.
        "fleet_proxy_http_requests_total{cluster=\"edge\",proxy=\"app\",type=\"backend\"} 50\n",
        "fleet_proxy_bytes_in_total{cluster=\"edge\",proxy=\"app\",type=\"backend\"} 5000\n",
        "fleet_proxy_bytes_out_total{cluster=\"edge\",proxy=\"app\",type=\"backend\"} 50000\n",
        "fleet_proxy_http_responses_total{cluster=\"edge\",proxy=\"app\",type=\"backend\",code=\"4xx\"} 4\n",
        "fleet_proxy_http_responses_total{cluster=\"edge\",proxy=\"app\",type=\"backend\",code=\"5xx\"} 2\n",
        "fleet_proxy_http_requests_total{cluster=\"edge\",proxy=\"web\",type=\"frontend\"} 0\n",
        "fleet_server_http_requests_total{cluster=\"edge\",backend=\"app\",server=\"s1\"} 70\n",
        "fleet_server_bytes_in_total{cluster=\"edge\",backend=\"app\",server=\"s1\"} 700\n",
        "fleet_server_bytes_out_total{cluster=\"edge\",backend=\"app\",server=\"s1\"} 7000\n",
        "fleet_server_http_responses_total{cluster=\"edge\",backend=\"app\",server=\"s1\",code=\"4xx\"} 7\n",
        "fleet_server_http_responses_total{cluster=\"edge\",backend=\"app\",server=\"s2\",code=\"5xx\"} 1\n",
    ] {
        assert!(text.contains(line), "{line:?} missing in\n{text}");
    }
    assert!(!text.contains("server=\"z\""), "dropped by the cap, its traffic families too");
    // Seconds until notAfter: 30 days, give or take the test's own duration.
    let left: i64 = text
        .lines()
        .find_map(|l| l.strip_prefix("fleet_certificate_expiry_seconds{certificate=\"www\",cluster=\"\"} "))
        .expect("fleet_certificate_expiry_seconds")
        .parse()
        .unwrap();
    assert!((30 * 86_400 - 120..=30 * 86_400).contains(&left), "{left}");

    promtool_check(&text);
    check_dashboard(&text);
}

/// `promtool check metrics` (Debian package prometheus, scripts/setup.d/50-promtool.sh) reads
/// the exposition on stdin: parse errors and lint problems (names, help, counters) fail.
fn promtool_check(text: &str) {
    use std::io::Write;
    let bin = std::env::var("FLEET_PROMTOOL_BIN").unwrap_or_else(|_| "promtool".into());
    let child = std::process::Command::new(&bin)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) => {
            eprintln!("cannot run {bin}: {error} (scripts/setup.d/50-promtool.sh installs it)");
            // A skip, or a failure with FLEET_REQUIRE_TOOLS=1.
            fleet_tests::require(None::<()>, "promtool");
            return;
        }
    };
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success() && said.trim().is_empty(), "promtool check metrics:\n{said}\non\n{text}");
    eprintln!("promtool check metrics: clean ({} lines)", text.lines().count());
}

/// Metric names a PromQL expression reads: identifiers outside strings, label matchers,
/// ranges and grouping lists that are not functions, keywords or numbers.
fn promql_metrics(expr: &str) -> BTreeSet<String> {
    // Strings, then {...} and [...], go first (labels, regexes, $__rate_interval).
    let mut plain = String::new();
    let (mut quote, mut depth) = (None, 0);
    let mut chars = expr.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), '\\') if q == '"' || q == '\'' => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'' | '`') => quote = Some(c),
            (None, '{' | '[') => depth += 1,
            (None, '}' | ']') => depth -= 1,
            (None, c) if depth == 0 => plain.push(c),
            (None, _) => {}
        }
    }
    const KEYWORDS: &[&str] = &["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset"];
    // Aggregations may come before their argument: `sum by (x) (...)`.
    const AGGREGATIONS: &[&str] = &["sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio"];
    let mut names = BTreeSet::new();
    let mut rest = plain.as_str();
    let mut skip_group = false;
    while let Some(start) = rest.find(|c: char| c.is_ascii_alphabetic() || c == '_' || c == ':') {
        let before = &rest[..start];
        let tail = &rest[start..];
        let len = tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')).unwrap_or(tail.len());
        let word = &tail[..len];
        let after = tail[len..].trim_start();
        let is_number = before.ends_with(|c: char| c.is_ascii_digit() || c == '.');
        if skip_group {
            // Inside `by (...)`: label names up to the closing parenthesis.
            if before.contains(')') {
                skip_group = false;
            }
        }
        if !skip_group && !is_number {
            if KEYWORDS.contains(&word) {
                skip_group = matches!(word, "by" | "without" | "on" | "ignoring" | "group_left" | "group_right") && after.starts_with('(');
            } else if !after.starts_with('(') && !AGGREGATIONS.contains(&word) {
                names.insert(word.to_string());
            }
        }
        rest = &tail[len..];
    }
    names
}

/// Every PromQL expression of the dashboard (panel targets and the template's query) names
/// only families `/metrics` rendered, and names at least one.
fn check_dashboard(text: &str) {
    let exported: BTreeSet<String> = text.lines().filter_map(|l| l.strip_prefix("# TYPE ")).filter_map(|l| l.split(' ').next()).map(String::from).collect();
    for family in fleet_core::metrics::FAMILIES {
        assert!(exported.contains(*family), "{family} is not rendered");
    }
    let dashboard: Value = serde_json::from_str(DASHBOARD).expect("the dashboard is JSON");
    let mut expressions: Vec<String> = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            expressions.push(target["expr"].as_str().expect("expr").to_string());
        }
    }
    for variable in dashboard["templating"]["list"].as_array().unwrap() {
        if let Some(query) = variable["query"]["query"].as_str() {
            // label_values(metric, label): the metric is its first argument.
            let inner = query.strip_prefix("label_values(").and_then(|q| q.split(',').next()).unwrap_or(query);
            expressions.push(inner.to_string());
        }
    }
    assert!(expressions.len() >= 10, "{expressions:?}");
    for expr in &expressions {
        let names = promql_metrics(expr);
        assert!(!names.is_empty(), "{expr} names no metric");
        for name in &names {
            assert!(exported.contains(name), "the dashboard's {expr:?} reads {name}, which /metrics does not export");
        }
    }
    // The extraction itself.
    assert_eq!(
        promql_metrics("sum by (cluster, outcome) (rate(fleet_a{x=~\"y|z\"}[5m])) / on(cluster) group_left fleet_b > 0.5 or vector(0)"),
        BTreeSet::from(["fleet_a".to_string(), "fleet_b".to_string()])
    );
    assert!(promql_metrics("nope_metric").contains("nope_metric"));
}

/// 1,000 agents in 20 clusters, each heartbeat with 50 servers: how long `/metrics` takes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_of_1000_agents_with_50_servers() {
    let s = start_on(None, &[]);
    let admin = s.admin().await;
    let servers: Vec<(String, &str, i64)> = (0..50).map(|i| (format!("app/s{i:02}"), if i % 10 == 0 { "DOWN" } else { "UP" }, i)).collect();
    let servers: Vec<(&str, &str, i64)> = servers.iter().map(|(k, st, n)| (k.as_str(), *st, *n)).collect();
    let heartbeat = json!({"facts": {"runtime": runtime(&servers)}});
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..20 {
        let id = s.cluster(&admin, &format!("c{c:02}")).await;
        for a in 0..50 {
            let (base, client, admin, heartbeat) = (s.base.clone(), s.client.clone(), admin.clone(), heartbeat.clone());
            tasks.spawn(async move {
                let enrolment: Value = client
                    .post(format!("{base}/api/v1/clusters/{id}/enrollments"))
                    .bearer_auth(&admin)
                    .json(&json!({"name": format!("n{a:02}")}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let body = json!({"secret": enrolment["secret"], "hostname": "node", "facts": {}});
                let enrolled: Value = client.post(format!("{base}/api/v1/agent/enroll")).json(&body).send().await.unwrap().json().await.unwrap();
                let token = enrolled["token"].as_str().expect("enrolled").to_string();
                let status = client.post(format!("{base}/api/v1/agent/heartbeat")).bearer_auth(&token).json(&heartbeat).send().await.unwrap().status();
                assert!(status.is_success(), "{status}");
            });
            while tasks.len() >= 8 {
                tasks.join_next().await.unwrap().unwrap();
            }
        }
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    eprintln!("1,000 agents enrolled and heartbeating in {:?}", started.elapsed());

    let mut times = Vec::new();
    let mut text = String::new();
    for _ in 0..5 {
        let started = Instant::now();
        let reply = scrape(&s, None).await;
        times.push(started.elapsed());
        assert_eq!(reply.status, 200);
        text = reply.text;
    }
    times.sort();
    let median = times[times.len() / 2];
    eprintln!(
        "/metrics with 1,000 agents x 50 servers (20 clusters, 1,000 server keys): median {median:?} of 5 (min {:?}, max {:?}), {} bytes, {} lines",
        times[0],
        times[times.len() - 1],
        text.len(),
        text.lines().count()
    );
    assert!(text.contains("fleet_metrics_servers_exported 1000\n"), "{}", &text[..2000.min(text.len())]);
    assert_eq!(text.lines().filter(|l| l.starts_with("fleet_agent_up{")).count(), 1000);
    assert!(text.contains("fleet_server_status{cluster=\"c07\",backend=\"app\",server=\"s10\",state=\"down\"} 50\n"));
    assert!(median < Duration::from_secs(2), "a scrape must stay well under a Prometheus scrape timeout: {median:?}");
}
