//! The Data Plane API's runtime servers (`/dataplane/{cluster}/v3/services/haproxy/runtime/
//! backends/{parent}/servers[/{name}]`) on a real agent and HAProxy: a PUT drains a server and
//! sets a weight through runtime actions (HAProxy's `show servers state` shows them, no reload,
//! no new version), a read shows the node's state, HAProxy's refusal and a health change are
//! 400s. A runtime add or delete is a new version the node applies with `add server` / `del
//! server`, no reload.

use serde_json::{json, Value};

use crate::agent_harness::{bring_up, prerequisites, Server};
use crate::agent_runtime::{servers_state, FORCED_DRAIN};

const USER: &str = "dp-runtime";
const PASSWORD: &str = "dp-runtime-password";

fn surface(server: &Server, method: reqwest::Method, cluster: i64, rest: &str, body: Option<Value>) -> (u16, Value) {
    let url = format!("{}/dataplane/{cluster}/v3/services/haproxy/runtime/backends/{rest}", server.url);
    basic_call(method, &url, (USER, PASSWORD), body)
}

/// A request with HTTP Basic credentials: the status and the JSON body (null when not JSON).
pub(crate) fn basic_call(method: reqwest::Method, url: &str, (user, password): (&str, &str), body: Option<Value>) -> (u16, Value) {
    let mut request = reqwest::blocking::Client::new().request(method, url).basic_auth(user, Some(password));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    (status, serde_json::from_str(&response.text().unwrap()).unwrap_or(Value::Null))
}

#[test]
fn runtime_servers_drain_and_weigh_through_runtime_actions() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let (server, agent, cluster, _port, _dir) = bring_up("dp-runtime", &haproxy, &fleet, &agent_bin);
    server.post("/api/v1/users", &json!({"username": USER, "password": PASSWORD, "role": "operator", "pool_roles": []}));
    let version = server.latest(cluster);
    let reloads = agent.reloads();

    let (status, listed) = surface(&server, reqwest::Method::GET, cluster, "app/servers", None);
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");
    assert_eq!((listed[0]["name"].as_str(), listed[0]["admin_state"].as_str()), (Some("s1"), Some("ready")), "{listed}");

    let (status, s1) = surface(&server, reqwest::Method::PUT, cluster, "app/servers/s1", Some(json!({"admin_state": "drain", "weight": 42})));
    assert_eq!(status, 200, "{s1}");
    assert_eq!((s1["admin_state"].as_str(), s1["weight"].as_i64()), (Some("drain"), Some(42)), "{s1}");
    let state = &servers_state(&agent)[0];
    assert_eq!(state.1 & FORCED_DRAIN, FORCED_DRAIN, "s1 drains: {state:?}");
    assert_eq!(state.2, 42, "s1 weighs 42: {state:?}");

    // The next heartbeat's summary is what a read shows.
    server.wait_status(cluster, "s1 drained in the summary", |a| a["facts"]["runtime"]["servers"]["app/s1"]["status"].as_str().is_some_and(|s| s.starts_with("DRAIN")));
    let (status, s1) = surface(&server, reqwest::Method::GET, cluster, "app/servers/s1", None);
    assert_eq!(status, 200, "{s1}");
    assert_eq!((s1["admin_state"].as_str(), s1["weight"].as_i64()), (Some("drain"), Some(42)), "{s1}");

    // A health change is not an admin action; an unknown server is not found.
    let (status, answer) = surface(&server, reqwest::Method::PUT, cluster, "app/servers/s2", Some(json!({"operational_state": "down"})));
    assert_eq!(status, 400, "{answer}");
    let (status, answer) = surface(&server, reqwest::Method::PUT, cluster, "app/servers/nope", Some(json!({"admin_state": "maint"})));
    assert_eq!((status, answer["code"].as_i64()), (404, Some(404)), "{answer}");

    assert_eq!(server.latest(cluster), version, "runtime changes make no version");
    assert_eq!(agent.reloads(), reloads, "and no reload");
}

#[test]
fn runtime_add_and_delete_are_versions_the_node_applies_without_a_reload() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let (server, agent, cluster, _port, _dir) = bring_up("dp-runtime-add", &haproxy, &fleet, &agent_bin);
    server.post("/api/v1/users", &json!({"username": USER, "password": PASSWORD, "role": "operator", "pool_roles": []}));
    let version = server.latest(cluster).unwrap();
    let reloads = agent.reloads();

    // Added: a new version holding the line, which the node runs through `add server`.
    let body = json!({"name": "rt", "address": "127.0.0.1", "port": 9, "weight": 5, "check": "disabled"});
    let (status, added) = surface(&server, reqwest::Method::POST, cluster, "app/servers", Some(body.clone()));
    assert_eq!(status, 201, "{added}");
    assert_eq!((added["name"].as_str(), added["address"].as_str(), added["port"].as_i64()), (Some("rt"), Some("127.0.0.1"), Some(9)), "{added}");
    assert_eq!(server.latest(cluster), Some(version + 1), "the add is a version: it survives reloads");
    let text = server.get_text(&format!("/api/v1/clusters/{cluster}/config?version={}", version + 1));
    assert!(text.contains("    server rt 127.0.0.1:9 no-check weight 5\n"), "{text}");
    assert!(servers_state(&agent).iter().any(|(name, _, weight)| name == "rt" && *weight == 5), "{:?}", servers_state(&agent));
    assert_eq!(agent.reloads(), reloads, "added at runtime, no reload: {}", agent.log());
    let (status, read) = surface(&server, reqwest::Method::GET, cluster, "app/servers/rt", None);
    assert_eq!((status, read["port"].as_i64()), (200, Some(9)), "{read}");

    // The same name again, an unknown backend.
    let (status, answer) = surface(&server, reqwest::Method::POST, cluster, "app/servers", Some(body.clone()));
    assert_eq!(status, 409, "{answer}");
    let (status, answer) = surface(&server, reqwest::Method::POST, cluster, "nope/servers", Some(body));
    assert_eq!(status, 404, "{answer}");

    // Deleted: the next version, `del server` on the node.
    let (status, answer) = surface(&server, reqwest::Method::DELETE, cluster, "app/servers/rt", None);
    assert_eq!(status, 204, "{answer}");
    assert_eq!(server.latest(cluster), Some(version + 2));
    assert!(!servers_state(&agent).iter().any(|(name, _, _)| name == "rt"), "{:?}", servers_state(&agent));
    assert_eq!(agent.reloads(), reloads, "deleted at runtime, no reload");
    let (status, answer) = surface(&server, reqwest::Method::DELETE, cluster, "app/servers/rt", None);
    assert_eq!(status, 404, "{answer}");
}
