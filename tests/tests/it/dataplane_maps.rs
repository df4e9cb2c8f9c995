//! Map entries on a real agent and HAProxy, through the Data Plane API's runtime maps
//! (`/dataplane/{cluster}/v3/services/haproxy/runtime/maps/...`), fleet's own
//! `/api/v1/clusters/{id}/maps/...` and `fleet map`: each change is a version whose only change
//! is the map file, which the agent takes through HAProxy's runtime API (no reload), and the
//! file on the node is the one the next reload loads.

use std::time::Duration;

use serde_json::{json, Value};

use crate::agent_harness::{bring_up, prerequisites, wait_served, PASSWORD};
use crate::client_e2e::client;
use crate::dataplane_runtime::basic_call;

const USER: &str = "dp-maps";
const USER_PASSWORD: &str = "dp-maps-password";

/// Answers `v <the map's value for Host>` on `port` (`none` when the key is not in the map).
fn map_config(port: u16) -> String {
    format!(
        "global\n    log stderr local0 notice\n\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    \
         http-request return status 200 content-type text/plain lf-string \"v %[req.hdr(host),map_str(maps/hosts.map,none)]\"\n    \
         default_backend app\n\nbackend app\n    server s1 127.0.0.1:9\n"
    )
}

fn surface(url: &str, method: reqwest::Method, cluster: i64, rest: &str, body: Option<Value>) -> (u16, Value) {
    basic_call(method, &format!("{url}/dataplane/{cluster}/v3/services/haproxy/runtime/maps{rest}"), (USER, USER_PASSWORD), body)
}

#[test]
fn map_entries_change_at_runtime_through_every_surface() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let (server, agent, cluster, port, dir) = bring_up("dp-maps", &haproxy, &fleet, &agent_bin);
    let hosts = "# the operator's hosts\nother.example be_other\n";
    let v2 = server.commit_files(cluster, &[("haproxy.cfg", "config", map_config(port).as_bytes()), ("maps/hosts.map", "map", hosts.as_bytes())]);
    server.apply(cluster, v2);
    server.wait_status(cluster, "the map's version applied", |a| a["applied_version"] == json!(v2));
    wait_served(port, "v none", Duration::from_secs(10));
    server.post("/api/v1/users", &json!({"username": USER, "password": USER_PASSWORD, "role": "operator", "pool_roles": []}));
    let reloads = agent.reloads();
    let on_node = || std::fs::read_to_string(agent.config.parent().unwrap().join("maps/hosts.map")).unwrap();

    // The Data Plane API: the map listed with the line loading it, an entry added, read, set,
    // added twice (409), deleted.
    let (status, maps) = surface(&server.url, reqwest::Method::GET, cluster, "", None);
    assert_eq!(status, 200, "{maps}");
    assert_eq!(maps[0]["storage_name"], json!("hosts.map"), "{maps}");
    assert!(maps[0]["description"].as_str().unwrap().contains("map_str at file 'haproxy.cfg' line"), "{maps}");
    let (status, added) = surface(&server.url, reqwest::Method::POST, cluster, "/hosts.map/entries", Some(json!({"key": "test", "value": "be_test"})));
    assert_eq!((status, added), (201, json!({"id": "test", "key": "test", "value": "be_test"})));
    wait_served(port, "v be_test", Duration::from_secs(2));
    let (status, entries) = surface(&server.url, reqwest::Method::GET, cluster, "/hosts/entries", None);
    assert_eq!((status, entries.as_array().map(Vec::len)), (200, Some(2)), "{entries}");
    let (status, set) = surface(&server.url, reqwest::Method::PUT, cluster, "/hosts.map/entries/test", Some(json!({"value": "be_new"})));
    assert_eq!((status, set["value"].as_str()), (200, Some("be_new")), "{set}");
    wait_served(port, "v be_new", Duration::from_secs(2));
    assert_eq!(on_node(), format!("{hosts}test be_new\n"), "the file matches what runs, for the next reload");
    let (status, again) = surface(&server.url, reqwest::Method::POST, cluster, "/hosts.map/entries", Some(json!({"key": "test", "value": "x"})));
    assert_eq!(status, 409, "{again}");
    let (status, _) = surface(&server.url, reqwest::Method::DELETE, cluster, "/hosts.map/entries/test", None);
    assert_eq!(status, 204);
    wait_served(port, "v none", Duration::from_secs(2));
    let (status, missing) = surface(&server.url, reqwest::Method::GET, cluster, "/hosts.map/entries/test", None);
    assert_eq!(status, 404, "{missing}");

    // Fleet's API and client.
    let answer = server.post(&format!("/api/v1/clusters/{cluster}/maps/maps%2Fhosts.map"), &json!({"set": [{"key": "test", "value": "be_api"}]}));
    assert_eq!(answer["applied"], json!(true), "{answer}");
    wait_served(port, "v be_api", Duration::from_secs(2));
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let run = |args: &[&str]| client(&fleet, &home, &[("FLEET_PASSWORD", PASSWORD)], args);
    run(&["login", "--server", &server.url, "--username", "admin"]).ok();
    let listed = run(&["map", "ls", "dp-maps"]).ok().stdout;
    assert!(listed.contains("maps/hosts.map") && listed.contains("haproxy.cfg:"), "{listed}");
    run(&["map", "set", "dp-maps", "maps/hosts.map", "test", "be_cli"]).ok();
    wait_served(port, "v be_cli", Duration::from_secs(2));
    let shown = run(&["map", "show", "dp-maps", "maps/hosts.map", "-o", "json"]).ok().json();
    assert_eq!(shown, json!([{"key": "other.example", "value": "be_other"}, {"key": "test", "value": "be_cli"}]));
    run(&["map", "rm", "dp-maps", "maps/hosts.map", "test"]).ok();
    wait_served(port, "v none", Duration::from_secs(2));
    assert_eq!(on_node(), hosts, "the operator's file again, byte for byte");

    let latest = server.latest(cluster);
    server.wait_status(cluster, "the last change applied at runtime", |a| a["applied_version"] == json!(latest) && a["last_outcome"] == json!("applied_runtime"));
    assert_eq!(agent.reloads(), reloads, "no reload for any entry change");
}
