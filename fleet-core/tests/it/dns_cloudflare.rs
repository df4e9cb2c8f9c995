//! The Cloudflare provider against a local **stand-in** for the Cloudflare API v4: the real API
//! cannot be reached from the tests (no account, no network), so this stand-in plays it from
//! Cloudflare's public documentation (developers.cloudflare.com/api: Zones "List Zones", DNS
//! Records "List / Create / Overwrite / Delete DNS Record"). It checks every request against
//! what is documented — method and path, `Authorization: Bearer <token>`, query parameters,
//! JSON body fields and their types — answers in the v4 envelope, and records anything
//! undocumented as a violation that fails the test. What it cannot prove is that Cloudflare
//! itself behaves as documented.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fleet_core::dns::{test_connection, Cloudflare, DnsError, DnsProvider, Propagation, RecordSet, RecordType};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "cf-test-token-0123456789";
const ZONE_ID: &str = "023e105f4ecef8ad9ca31a8372d0c353";

#[derive(Debug, Default)]
struct State {
    records: BTreeMap<String, Value>,
    next: u32,
    /// `METHOD path` of every request that changed something.
    writes: Vec<String>,
    /// Requests the documentation does not describe.
    violations: Vec<String>,
}

struct StandIn {
    base: String,
    state: Arc<Mutex<State>>,
}

impl StandIn {
    async fn start() -> StandIn {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/client/v4", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else { return };
                let state = shared.clone();
                tokio::spawn(async move {
                    let Some((method, target, headers, body)) = read_request(&mut socket).await else { return };
                    let (status, answer) = answer(&mut state.lock().unwrap(), &method, &target, &headers, &body);
                    let text = answer.to_string();
                    let response = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                        text.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        StandIn { base, state }
    }

    fn provider(&self, token: &str, zone: &str, proxied: bool) -> Cloudflare {
        Cloudflare::new(&self.base, zone, token, proxied).unwrap().with_timeout(Duration::from_secs(5)).unwrap()
    }

    /// `(content, ttl, proxied)` of every record of `name`/`type`, sorted.
    fn records(&self, name: &str, record_type: &str) -> Vec<(String, u64, Option<bool>)> {
        let state = self.state.lock().unwrap();
        let mut found: Vec<_> = state
            .records
            .values()
            .filter(|r| r["name"] == name && r["type"] == record_type)
            .map(|r| (r["content"].as_str().unwrap().to_string(), r["ttl"].as_u64().unwrap(), r["proxied"].as_bool()))
            .collect();
        found.sort();
        found
    }

    fn take_writes(&self) -> Vec<String> {
        std::mem::take(&mut self.state.lock().unwrap().writes)
    }

    fn violations(&self) -> Vec<String> {
        self.state.lock().unwrap().violations.clone()
    }
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<(String, String, BTreeMap<String, String>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.lines();
    let mut first = lines.next()?.split(' ');
    let (method, target) = (first.next()?.to_string(), first.next()?.to_string());
    let headers: BTreeMap<String, String> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string())).collect();
    let length: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
    while buf.len() < head_end + length {
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    Some((method, target, headers, buf[head_end..head_end + length].to_vec()))
}

fn envelope(result: Value) -> Value {
    json!({"success": true, "errors": [], "messages": [], "result": result})
}

fn failure(code: u32, message: &str) -> Value {
    json!({"success": false, "errors": [{"code": code, "message": message}], "messages": [], "result": null})
}

fn query(target: &str) -> (String, BTreeMap<String, String>) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let pairs = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), v.replace("%2E", ".").replace("%5F", "_"))
        })
        .collect();
    (path.to_string(), pairs)
}

/// The documented DNS record body: `type`, `name`, `content`, `ttl` (1 or 30..86400),
/// `proxied` (a boolean, only where it applies: A, AAAA, CNAME); nothing else we send.
fn check_record_body(body: &[u8], headers: &BTreeMap<String, String>, violations: &mut Vec<String>) -> Option<Value> {
    if headers.get("content-type").map(String::as_str) != Some("application/json") {
        violations.push(format!("body without Content-Type: application/json: {headers:?}"));
    }
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else {
        violations.push(format!("body is not a JSON object: {}", String::from_utf8_lossy(body)));
        return None;
    };
    for key in fields.keys() {
        if !["type", "name", "content", "ttl", "proxied"].contains(&key.as_str()) {
            violations.push(format!("undocumented body field {key}"));
        }
    }
    let record_type = fields.get("type").and_then(Value::as_str).unwrap_or_default();
    if !["A", "AAAA", "TXT"].contains(&record_type) {
        violations.push(format!("type {record_type:?}"));
    }
    if !fields.get("name").is_some_and(Value::is_string) || !fields.get("content").is_some_and(Value::is_string) {
        violations.push(format!("name and content must be strings: {fields:?}"));
    }
    match fields.get("ttl").and_then(Value::as_u64) {
        Some(1) | Some(30..=86400) => {}
        other => violations.push(format!("ttl {other:?}: 1 (automatic) or 30..86400")),
    }
    match fields.get("proxied") {
        None => {}
        Some(Value::Bool(_)) if record_type != "TXT" => {}
        Some(other) => violations.push(format!("proxied {other} on a {record_type} record (only A, AAAA, CNAME can be proxied)")),
    }
    Some(Value::Object(fields))
}

fn answer(state: &mut State, method: &str, target: &str, headers: &BTreeMap<String, String>, body: &[u8]) -> (u16, Value) {
    let (path, params) = query(target);
    let Some(path) = path.strip_prefix("/client/v4") else {
        state.violations.push(format!("{method} {target}: not under /client/v4"));
        return (404, failure(7000, "No route for that URI"));
    };
    match headers.get("authorization") {
        Some(value) if value == &format!("Bearer {TOKEN}") => {}
        Some(value) if value.starts_with("Bearer ") => return (403, failure(10000, "Authentication error")),
        other => {
            state.violations.push(format!("{method} {target}: Authorization {other:?} is not `Bearer <token>`"));
            return (400, failure(6003, "Invalid request headers"));
        }
    }
    let records_path = format!("/zones/{ZONE_ID}/dns_records");
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        ("GET", ["zones"]) => {
            if params.keys().any(|k| k != "name") || !params.contains_key("name") {
                state.violations.push(format!("GET {target}: expected ?name= only"));
            }
            let zones = if params.get("name").map(String::as_str) == Some("fleet-test.example") {
                json!([{"id": ZONE_ID, "name": "fleet-test.example", "status": "active", "name_servers": ["ns1.example.net"]}])
            } else {
                json!([])
            };
            let mut answer = envelope(zones.clone());
            answer["result_info"] = json!({"page": 1, "per_page": 20, "count": zones.as_array().unwrap().len(), "total_count": zones.as_array().unwrap().len(), "total_pages": 1});
            (200, answer)
        }
        (_, ["zones", zone, ..]) if *zone != ZONE_ID => (404, failure(7003, "Could not route to /zones, perhaps your object identifier is invalid?")),
        ("GET", ["zones", _, "dns_records"]) => {
            for key in params.keys() {
                if !["type", "name", "per_page", "page"].contains(&key.as_str()) {
                    state.violations.push(format!("GET {target}: undocumented parameter {key}"));
                }
            }
            let per_page: usize = params.get("per_page").and_then(|p| p.parse().ok()).unwrap_or(100);
            let page: usize = params.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
            if !(5..=5000).contains(&per_page) || page == 0 {
                state.violations.push(format!("GET {target}: per_page 5..5000, page from 1"));
            }
            let matching: Vec<Value> = state
                .records
                .values()
                .filter(|r| params.get("type").is_none_or(|t| r["type"] == t.as_str()))
                .filter(|r| params.get("name").is_none_or(|n| r["name"] == n.as_str()))
                .cloned()
                .collect();
            let total_pages = matching.len().div_ceil(per_page).max(1);
            let shown: Vec<Value> = matching.iter().skip((page - 1) * per_page).take(per_page).cloned().collect();
            let mut answer = envelope(json!(shown));
            answer["result_info"] =
                json!({"page": page, "per_page": per_page, "count": shown.len(), "total_count": matching.len(), "total_pages": total_pages});
            (200, answer)
        }
        ("POST", ["zones", _, "dns_records"]) => {
            let Some(mut record) = check_record_body(body, headers, &mut state.violations) else { return (400, failure(1004, "DNS Validation Error")) };
            state.next += 1;
            let id = format!("rec{:04}", state.next);
            record["id"] = json!(id);
            record["proxied"] = json!(record.get("proxied").and_then(Value::as_bool).unwrap_or(false));
            state.records.insert(id, record.clone());
            state.writes.push(format!("POST {records_path}"));
            (200, envelope(record))
        }
        ("PUT", ["zones", _, "dns_records", id]) => {
            let Some(mut record) = check_record_body(body, headers, &mut state.violations) else { return (400, failure(1004, "DNS Validation Error")) };
            if !state.records.contains_key(*id) {
                return (404, failure(81044, "Record does not exist."));
            }
            record["id"] = json!(id);
            record["proxied"] = json!(record.get("proxied").and_then(Value::as_bool).unwrap_or(false));
            state.records.insert(id.to_string(), record.clone());
            state.writes.push(format!("PUT {records_path}/{id}"));
            (200, envelope(record))
        }
        ("DELETE", ["zones", _, "dns_records", id]) => {
            if !body.is_empty() {
                state.violations.push(format!("DELETE {target} with a body"));
            }
            if state.records.remove(*id).is_none() {
                return (404, failure(81044, "Record does not exist."));
            }
            state.writes.push(format!("DELETE {records_path}/{id}"));
            (200, envelope(json!({"id": id})))
        }
        _ => {
            state.violations.push(format!("{method} {target}: not a documented route"));
            (404, failure(7000, "No route for that URI"))
        }
    }
}

fn a(values: &[&str], ttl: u32) -> RecordSet {
    RecordSet { name: "www.fleet-test.example".into(), record_type: RecordType::A, ttl, values: values.iter().map(|v| v.to_string()).collect() }
}

#[tokio::test]
async fn records_are_made_equal_to_the_values_with_documented_requests_only() {
    let api = StandIn::start().await;
    let cf = api.provider(TOKEN, "fleet-test.example", false);
    assert_eq!(cf.zone(), "fleet-test.example.");
    let records = format!("/zones/{ZONE_ID}/dns_records");

    cf.replace(&a(&["192.0.2.1"], 60)).await.unwrap();
    assert_eq!(api.records("www.fleet-test.example", "A"), vec![("192.0.2.1".into(), 60, Some(false))]);
    assert_eq!(api.take_writes(), vec![format!("POST {records}")]);
    cf.replace(&a(&["192.0.2.1"], 60)).await.unwrap();
    assert_eq!(api.take_writes(), Vec::<String>::new(), "a repeated replace writes nothing");

    // Two values: the record is reused (PUT), the second created; then one goes (DELETE only).
    cf.replace(&a(&["192.0.2.2", "192.0.2.3"], 60)).await.unwrap();
    assert_eq!(api.take_writes(), vec![format!("PUT {records}/rec0001"), format!("POST {records}")]);
    cf.replace(&a(&["192.0.2.3"], 60)).await.unwrap();
    assert_eq!(api.take_writes(), vec![format!("DELETE {records}/rec0001")]);
    assert_eq!(api.records("www.fleet-test.example", "A"), vec![("192.0.2.3".into(), 60, Some(false))]);
    // Another TTL only: the record is overwritten in place.
    cf.replace(&a(&["192.0.2.3"], 120)).await.unwrap();
    assert_eq!(api.take_writes(), vec![format!("PUT {records}/rec0002")]);

    let read = cf.read("www.fleet-test.example.", RecordType::A).await.unwrap().unwrap();
    assert_eq!((read.values.clone(), read.ttl), (vec!["192.0.2.3".to_string()], 120));
    let check = Propagation { timeout: Duration::from_secs(2), interval: Duration::from_millis(50), query_timeout: Duration::from_secs(1) };
    assert_eq!(cf.authorities().await.unwrap(), vec![]);
    assert_eq!(check.confirm(&cf, &read).await.unwrap(), "the provider's API read-back (no DNS server to ask)");
    let quick = Propagation { timeout: Duration::from_millis(200), ..check };
    let never = quick.confirm(&cf, &a(&["192.0.2.99"], 120)).await.unwrap_err().to_string();
    assert!(never.contains("the provider's API") && never.contains("192.0.2.3"), "{never}");

    // The proxied setting reaches A records; TXT never carries `proxied`.
    let orange = api.provider(TOKEN, "fleet-test.example", true);
    orange.replace(&a(&["192.0.2.3"], 120)).await.unwrap();
    assert_eq!(api.records("www.fleet-test.example", "A"), vec![("192.0.2.3".into(), 120, Some(true))]);
    let txt = RecordSet::txt("_acme-challenge.fleet-test.example", 60, ["token-a".to_string(), "token-b".to_string()]);
    orange.replace(&txt).await.unwrap();
    assert_eq!(orange.read(&txt.name, RecordType::Txt).await.unwrap().unwrap().value_set(), txt.value_set());
    orange.delete(&txt.name, RecordType::Txt).await.unwrap();
    assert_eq!(orange.read(&txt.name, RecordType::Txt).await.unwrap(), None);
    orange.delete(&txt.name, RecordType::Txt).await.unwrap();

    let test = test_connection(&cf).await;
    assert!(test.ok && test.detail.contains(ZONE_ID) && test.detail.contains("active"), "{test:?}");
    assert_eq!(api.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn a_refused_token_an_unknown_zone_and_no_api_are_said_in_words() {
    let api = StandIn::start().await;
    let cf = api.provider(TOKEN, "fleet-test.example", false);
    cf.replace(&a(&["192.0.2.1"], 60)).await.unwrap();
    api.take_writes();

    let wrong = api.provider("someone-elses-token", "fleet-test.example", false);
    let error = wrong.replace(&a(&["192.0.2.9"], 60)).await.unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, DnsError::ApiRefused { status: 403, .. }), "{message}");
    assert!(message.contains("the API token is refused") && message.contains("10000 Authentication error"), "{message}");
    assert_eq!(api.records("www.fleet-test.example", "A"), vec![("192.0.2.1".into(), 60, Some(false))], "unchanged");
    assert!(api.take_writes().is_empty());
    let test = test_connection(&wrong).await;
    assert!(!test.ok && test.detail.contains("the API token is refused"), "{test:?}");

    let elsewhere = api.provider(TOKEN, "nowhere.example", false);
    let message = elsewhere.delete("www.nowhere.example", RecordType::A).await.unwrap_err().to_string();
    assert!(message.contains("zone nowhere.example is not in this account"), "{message}");
    let test = test_connection(&elsewhere).await;
    assert!(!test.ok && test.detail.contains("not in this account"), "{test:?}");

    let gone = Cloudflare::new("http://127.0.0.1:1/client/v4", "fleet-test.example", TOKEN, false).unwrap();
    let test = test_connection(&gone).await;
    assert!(!test.ok && test.detail.starts_with("http://127.0.0.1:1/client/v4 unreachable"), "{test:?}");
    assert_eq!(api.violations(), Vec::<String>::new());
}
