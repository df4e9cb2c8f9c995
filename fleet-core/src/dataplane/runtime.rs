//! `services/haproxy/runtime/backends/{parent}/servers[/{name}]`: a server's live state across
//! a cluster's nodes as upstream's `runtime_server` model, and a change of it as the runtime
//! actions every node runs ([`crate::runtime`], no reload).
//!
//! ```text
//! read:  the backend's servers in the latest version (name, address, port, weight, disabled)
//!        + each node's runtime summary of its last heartbeat (`show stat`: status, weight)
//!        -> {name, address, port, admin_state, operational_state, weight} for the cluster:
//!           admin_state       maint if a node has it in maintenance, else drain if a node
//!                             drains it, else ready (what at least one node is doing)
//!           operational_state down if a node sees it down, else stopping, else up
//!           weight            the nodes' weight when they agree, else null; the
//!                             configured weight (1 without one) before any node reports
//! add:   a runtime_add_server body -> the same add_server op as a configuration POST: a new
//!        version every node applies runtime-first (`add server`), kept across reloads
//! del:   -> the same delete_server op as a configuration DELETE (`del server` on the nodes)
//! write: {admin_state?, weight?} -> a RuntimeRequest per field that differs from the read
//!        (admin_state -> ready | drain | maint, weight -> set weight); operational_state is
//!        measured by health checks, so a body asking to change it is refused
//!        -> queued for every node -> wait_runtime: every online node ran them (done), one
//!           refused (failed, with HAProxy's answer), or the bound passed (pending nodes)
//! ```

#[cfg(feature = "store")]
use std::time::Duration;

use haproxy_model::Document;
use serde_json::{Map, Value};

use super::children::parent;
use super::server::{add_server, delete_server, server, servers};
use crate::ops::EditOp;
use crate::error::{Error, Result};
#[cfg(feature = "store")]
use crate::monitor::NodeState;
use crate::runtime::{RuntimeAction, RuntimeRequest, RuntimeSummary, ServerAction};
#[cfg(feature = "store")]
use crate::store::Store;

/// How often [`wait_runtime`] reads the actions' results again.
#[cfg(feature = "store")]
const POLL: Duration = Duration::from_millis(100);

/// A server's admin state on one node, from `show stat`'s `status` (management.txt §9.1,
/// field 17: `UP`, `DOWN`, `NOLB`, `MAINT`, `MAINT(via)`, `MAINT(resolution)`, `DRAIN`,
/// `no check`, with `UP 1/3`-style transitions).
fn admin_state(status: &str) -> &'static str {
    if status.starts_with("MAINT") {
        "maint"
    } else if status.starts_with("DRAIN") {
        "drain"
    } else {
        "ready"
    }
}

/// The operational state on one node from the same `status` (`DOWN`, `DOWN 1/2` -> down;
/// `NOLB` -> stopping; a server in maintenance takes no traffic -> down).
fn operational_state(status: &str) -> &'static str {
    if status.starts_with("DOWN") || status.starts_with("MAINT") {
        "down"
    } else if status.starts_with("NOLB") {
        "stopping"
    } else {
        "up"
    }
}

/// The most severe of the nodes' states, by `order` (least severe first).
fn most_severe(states: impl Iterator<Item = &'static str>, order: &[&'static str]) -> Option<&'static str> {
    states.max_by_key(|s| order.iter().position(|o| o == s).unwrap_or(0))
}

/// One server of the configuration (its `server` model) as the cluster runs it.
fn runtime_view(backend: &str, configured: &Value, nodes: &[&RuntimeSummary]) -> Value {
    let name = configured.get("name").and_then(Value::as_str).unwrap_or_default();
    let key = format!("{backend}/{name}");
    let live: Vec<_> = nodes.iter().filter_map(|n| n.servers.get(&key)).collect();
    let mut out = Map::new();
    out.insert("name".into(), Value::from(name));
    out.insert("id".into(), Value::from(name));
    out.insert("backend_name".into(), Value::from(backend));
    for field in ["address", "port"] {
        if let Some(value) = configured.get(field) {
            out.insert(field.into(), value.clone());
        }
    }
    let disabled = configured.get("maintenance").and_then(Value::as_str) == Some("enabled");
    let admin = most_severe(live.iter().map(|s| admin_state(&s.status)), &["ready", "drain", "maint"]).unwrap_or(if disabled { "maint" } else { "ready" });
    let operational = most_severe(live.iter().map(|s| operational_state(&s.status)), &["up", "stopping", "down"]).unwrap_or(if disabled { "down" } else { "up" });
    out.insert("admin_state".into(), Value::from(admin));
    out.insert("operational_state".into(), Value::from(operational));
    let weight = match live.first() {
        Some(first) if live.iter().all(|s| s.weight == first.weight) => Value::from(first.weight),
        Some(_) => Value::Null,
        None => configured.get("weight").cloned().unwrap_or(Value::from(1)),
    };
    out.insert("weight".into(), weight);
    Value::Object(out)
}

/// Every server of `backend` in `doc` as the nodes run it (see the module docs). Errors:
/// [`Error::NotFound`] for a backend `doc` does not have.
pub fn runtime_servers(doc: &Document, backend: &str, nodes: &[&RuntimeSummary]) -> Result<Vec<Value>> {
    Ok(servers(doc, &parent("backend", backend))?.iter().map(|s| runtime_view(backend, s, nodes)).collect())
}

/// One server of `backend` as the nodes run it. Errors: [`Error::NotFound`].
pub fn runtime_server(doc: &Document, backend: &str, name: &str, nodes: &[&RuntimeSummary]) -> Result<Value> {
    Ok(runtime_view(backend, &server(doc, &parent("backend", backend), name)?, nodes))
}

/// The op a runtime add (`POST .../runtime/backends/{backend}/servers`, a `runtime_add_server`
/// body) makes: the server is added to the cluster's configuration, as a configuration POST
/// does, and every node applies that version runtime-first (the agent's `add server` where
/// HAProxy can, management.txt "add server"), so the server survives reloads, unlike
/// upstream's runtime-only add. Errors: [`Error::NotFound`] for an unknown backend,
/// [`Error::Conflict`] for a name it has, [`Error::Invalid`] for a body this surface cannot write.
pub fn runtime_add(doc: &Document, backend: &str, body: &Map<String, Value>) -> Result<EditOp> {
    add_server(doc, &parent("backend", backend), body)
}

/// The op a runtime delete makes: the server leaves the configuration (the agents' `del server`
/// where HAProxy can). Errors: [`Error::NotFound`] for an unknown backend or server.
pub fn runtime_delete(doc: &Document, backend: &str, name: &str) -> Result<EditOp> {
    delete_server(doc, &parent("backend", backend), name)
}

/// The runtime actions that make `current` (a [`runtime_server`] read) what `body` asks:
/// one per field that differs, admin state first. Errors: [`Error::Invalid`] for an unknown
/// admin state, a weight outside 0..=256, a change of `operational_state`, or a field this
/// surface cannot change at runtime (address, port ...: a configuration change).
pub fn runtime_requests(backend: &str, name: &str, current: &Value, body: &Map<String, Value>) -> Result<Vec<RuntimeRequest>> {
    let request = |action, value| RuntimeRequest { backend: backend.into(), server: name.into(), action, value };
    let mut out = Vec::new();
    for (field, value) in body {
        if value.is_null() || current.get(field) == Some(value) {
            continue;
        }
        match field.as_str() {
            "admin_state" | "weight" | "operational_state" => {}
            // Read-only fields of the model, echoed back by a client that sends what it read.
            "id" | "name" | "backend_name" => {}
            other => return Err(Error::invalid(format!("{other} cannot change at runtime: change the server's configuration (services/haproxy/configuration/backends/{backend}/servers/{name})"))),
        }
    }
    if let Some(state) = body.get("admin_state").filter(|v| !v.is_null() && current.get("admin_state") != Some(v)) {
        let action = match state.as_str() {
            Some("ready") => ServerAction::Ready,
            Some("drain") => ServerAction::Drain,
            Some("maint") => ServerAction::Maint,
            _ => return Err(Error::invalid(format!("admin_state {state} is not one of ready, drain, maint"))),
        };
        out.push(request(action, None));
    }
    if let Some(weight) = body.get("weight").filter(|v| !v.is_null() && current.get("weight") != Some(v)) {
        let weight = weight.as_i64().ok_or_else(|| Error::invalid(format!("weight {weight} is not an integer")))?;
        out.push(request(ServerAction::Weight, Some(weight)));
    }
    if let Some(state) = body.get("operational_state").filter(|v| !v.is_null() && current.get("operational_state") != Some(v)) {
        return Err(Error::invalid(format!("operational_state {state}: a server's health is measured by its checks; set admin_state (ready, drain, maint) instead")));
    }
    for r in &out {
        r.validate()?;
    }
    Ok(out)
}

/// Where runtime actions stand on a cluster's online nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuntimeProgress {
    /// Every online node ran every action (or the cluster has no online node).
    Done,
    /// Nodes whose HAProxy refused an action: `(node, HAProxy's answer)`.
    Failed(Vec<(String, String)>),
    /// Nodes that have not run them yet.
    Pending(Vec<String>),
}

/// Where `actions` stand on `online` nodes (`(agent id, name)`): a refusal anywhere first, then
/// nodes still to run one, else done.
pub fn runtime_progress(actions: &[RuntimeAction], online: &[(i64, String)]) -> RuntimeProgress {
    let failed: Vec<(String, String)> = actions
        .iter()
        .flat_map(|a| a.results.iter().filter(|r| !r.ok))
        .map(|r| (if r.agent.is_empty() { r.agent_id.to_string() } else { r.agent.clone() }, r.output.trim().to_string()))
        .collect();
    if !failed.is_empty() {
        return RuntimeProgress::Failed(failed);
    }
    let pending: Vec<String> = online
        .iter()
        .filter(|(id, _)| actions.iter().any(|a| !a.results.iter().any(|r| r.agent_id == *id)))
        .map(|(_, name)| name.clone())
        .collect();
    if pending.is_empty() {
        RuntimeProgress::Done
    } else {
        RuntimeProgress::Pending(pending)
    }
}

#[cfg(feature = "store")]
/// The online nodes' runtime summaries and `(id, name)` of `cluster_id` (an offline node's last
/// summary is stale: it is left out).
pub async fn online_nodes(store: &Store, cluster_id: i64) -> Result<(Vec<RuntimeSummary>, Vec<(i64, String)>)> {
    let status = store.status(cluster_id).await?;
    let online: Vec<_> = status.agents.iter().filter(|a| a.state == NodeState::Online).collect();
    let summaries = online.iter().filter_map(|a| a.facts.get("runtime").and_then(|r| serde_json::from_value(r.clone()).ok())).collect();
    Ok((summaries, online.iter().map(|a| (a.id, a.name.clone())).collect()))
}

#[cfg(feature = "store")]
/// [`runtime_progress`] of the queued `actions` once it is final, or as it stands when `bound`
/// has passed.
pub async fn wait_runtime(store: &Store, cluster_id: i64, actions: &[RuntimeAction], bound: Duration) -> Result<RuntimeProgress> {
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        let (_, online) = online_nodes(store, cluster_id).await?;
        let mut fresh = Vec::with_capacity(actions.len());
        for action in actions {
            fresh.push(store.runtime_action(cluster_id, action.id).await?);
        }
        let progress = runtime_progress(&fresh, &online);
        if !matches!(progress, RuntimeProgress::Pending(_)) || tokio::time::Instant::now() >= deadline {
            return Ok(progress);
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::ServerSummary;
    use serde_json::json;

    fn doc() -> Document {
        let text = "backend be\n    server s1 10.0.0.1:80 check weight 5\n    server s2 10.0.0.2:80 disabled\n";
        haproxy_parse::parse(text).document
    }

    fn node(servers: &[(&str, &str, i64)]) -> RuntimeSummary {
        RuntimeSummary {
            servers: servers.iter().map(|(k, status, weight)| (k.to_string(), ServerSummary { status: status.to_string(), weight: *weight, ..ServerSummary::default() })).collect(),
            ..RuntimeSummary::default()
        }
    }

    #[test]
    fn before_any_node_reports_the_configuration_answers() {
        let all = runtime_servers(&doc(), "be", &[]).unwrap();
        assert_eq!(all[0], json!({"name": "s1", "id": "s1", "backend_name": "be", "address": "10.0.0.1", "port": 80, "admin_state": "ready", "operational_state": "up", "weight": 5}));
        assert_eq!(all[1]["admin_state"], "maint");
        assert_eq!(all[1]["weight"], 1);
    }

    #[test]
    fn the_most_severe_state_of_the_nodes_wins_and_weights_must_agree() {
        let a = node(&[("be/s1", "UP", 5), ("be/s2", "MAINT", 1)]);
        let b = node(&[("be/s1", "DRAIN", 5), ("be/s2", "DOWN 1/2", 3)]);
        let s1 = runtime_server(&doc(), "be", "s1", &[&a, &b]).unwrap();
        assert_eq!((s1["admin_state"].as_str(), s1["operational_state"].as_str(), s1["weight"].as_i64()), (Some("drain"), Some("up"), Some(5)));
        let s2 = runtime_server(&doc(), "be", "s2", &[&a, &b]).unwrap();
        assert_eq!((s2["admin_state"].as_str(), s2["operational_state"].as_str()), (Some("maint"), Some("down")));
        assert_eq!(s2["weight"], Value::Null, "nodes disagree on the weight");
    }

    #[test]
    fn unknown_backends_and_servers_are_not_found() {
        assert!(matches!(runtime_servers(&doc(), "nope", &[]), Err(Error::NotFound(_))));
        assert!(matches!(runtime_server(&doc(), "be", "nope", &[]), Err(Error::NotFound(_))));
    }

    #[test]
    fn progress_is_a_refusal_first_then_the_nodes_still_to_run() {
        use crate::runtime::RuntimeResult;
        let result = |agent_id: i64, ok: bool| RuntimeResult { agent_id, agent: format!("n{agent_id}"), ok, output: if ok { String::new() } else { "No such server.\n".into() }, at: 0 };
        let action = |results: Vec<RuntimeResult>| RuntimeAction {
            id: 1,
            cluster_id: 1,
            request: RuntimeRequest { backend: "be".into(), server: "s1".into(), action: ServerAction::Drain, value: None },
            author: "u".into(),
            created_at: 0,
            results,
        };
        let online = [(1, "n1".to_string()), (2, "n2".to_string())];
        assert_eq!(runtime_progress(&[action(vec![result(1, true)])], &online), RuntimeProgress::Pending(vec!["n2".into()]));
        assert_eq!(runtime_progress(&[action(vec![result(1, true), result(2, true)])], &online), RuntimeProgress::Done);
        assert_eq!(runtime_progress(&[action(vec![result(2, false)])], &online), RuntimeProgress::Failed(vec![("n2".into(), "No such server.".into())]));
        assert_eq!(runtime_progress(&[action(vec![])], &[]), RuntimeProgress::Done, "no online node: nothing to wait for");
    }

    #[test]
    fn a_body_becomes_the_actions_of_what_differs() {
        let current = runtime_server(&doc(), "be", "s1", &[]).unwrap();
        let body = |v: Value| v.as_object().cloned().unwrap();
        // What a read shows changes nothing.
        assert!(runtime_requests("be", "s1", &current, current.as_object().unwrap()).unwrap().is_empty());
        let actions = runtime_requests("be", "s1", &current, &body(json!({"admin_state": "drain", "weight": 7}))).unwrap();
        let commands: Vec<String> = actions.iter().map(|a| a.command().unwrap()).collect();
        assert_eq!(commands, ["set server be/s1 state drain", "set weight be/s1 7"]);
        for (refused, why) in [
            (json!({"weight": 300}), "out of range"),
            (json!({"admin_state": "gone"}), "not one of"),
            (json!({"operational_state": "down"}), "measured by its checks"),
            (json!({"address": "10.9.9.9"}), "cannot change at runtime"),
        ] {
            let error = runtime_requests("be", "s1", &current, &body(refused)).unwrap_err().to_string();
            assert!(error.contains(why), "{error}");
        }
    }
}
