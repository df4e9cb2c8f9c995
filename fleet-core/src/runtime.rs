//! Runtime actions: changes to a running HAProxy made through its runtime API, without a reload
//! (drain / ready / maint a server, set its weight), and the runtime summary agents send with
//! their heartbeats.
//!
//! ```text
//! operator: POST /api/v1/clusters/{id}/runtime {backend, server, action, value}
//!    -> queued (store) -> every agent of the cluster: GET /api/v1/agent/runtime
//!    -> RuntimeRequest::command() on the master CLI (`@1 set server b/s state drain`)
//!    -> POST /api/v1/agent/runtime/results -> per-agent results on the action
//! ```
//!
//! Commands are built here, from validated names, so no caller can smuggle a second command
//! (`;` or a newline) into the runtime API.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Path an agent polls for the runtime actions it has not run yet.
pub const AGENT_RUNTIME_PATH: &str = "/api/v1/agent/runtime";
/// Path an agent posts its results to.
pub const AGENT_RUNTIME_RESULTS_PATH: &str = "/api/v1/agent/runtime/results";
/// How long a queued action stays pending for agents that have not run it (runtime state is
/// lost on a restart anyway; an agent that comes back an hour later must not replay it).
pub const ACTION_TTL_MS: i64 = 10 * 60 * 1000;

/// What to do to a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ServerAction {
    /// Finish current sessions, take no new ones (`state drain`).
    Drain,
    /// Back to normal (`state ready`).
    Ready,
    /// Maintenance: no traffic at all (`state maint`).
    Maint,
    /// Set the weight (`value`, 0..=256).
    Weight,
}

impl ServerAction {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            ServerAction::Drain => "drain",
            ServerAction::Ready => "ready",
            ServerAction::Maint => "maint",
            ServerAction::Weight => "weight",
        }
    }
}

impl std::str::FromStr for ServerAction {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "drain" => ServerAction::Drain,
            "ready" => ServerAction::Ready,
            "maint" => ServerAction::Maint,
            "weight" => ServerAction::Weight,
            other => return Err(Error::invalid(format!("unknown runtime action {other:?} (drain, ready, maint or weight)"))),
        })
    }
}

/// `{backend, server, action, value}` as an operator sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuntimeRequest {
    /// The backend's name.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9._:-]{1,200}$"))]
    pub backend: String,
    /// The server's name in it.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9._:-]{1,200}$"))]
    pub server: String,
    /// What to do.
    pub action: ServerAction,
    /// The weight, for `weight` only.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 256))]
    pub value: Option<i64>,
}

/// Names HAProxy accepts for proxies and servers (configuration.txt §2.3 / §4: letters,
/// digits, '-', '_', '.' and ':'), which also keeps `;`, blanks and newlines out of commands.
fn check_name(what: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!("invalid {what} name {name:?}: use letters, digits, '-', '_', '.' or ':'")))
    }
}

impl RuntimeRequest {
    /// Checks names and the value: a weight needs a value in 0..=256, other actions none.
    pub fn validate(&self) -> Result<()> {
        check_name("backend", &self.backend)?;
        check_name("server", &self.server)?;
        match (self.action, self.value) {
            (ServerAction::Weight, Some(v)) if (0..=256).contains(&v) => Ok(()),
            (ServerAction::Weight, Some(v)) => Err(Error::invalid(format!("weight {v} is out of range 0..256"))),
            (ServerAction::Weight, None) => Err(Error::invalid("action weight needs a value")),
            (_, None) => Ok(()),
            (action, Some(_)) => Err(Error::invalid(format!("action {} takes no value", action.as_str()))),
        }
    }

    /// The runtime API command (management.txt §9.3 `set server ... state`, `set weight`).
    pub fn command(&self) -> Result<String> {
        self.validate()?;
        let target = format!("{}/{}", self.backend, self.server);
        Ok(match (self.action, self.value) {
            (ServerAction::Weight, Some(v)) => format!("set weight {target} {v}"),
            (action, _) => format!("set server {target} state {}", action.as_str()),
        })
    }
}

/// A queued runtime action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuntimeAction {
    /// Random id below 2^53.
    pub id: i64,
    /// The cluster whose agents run it.
    pub cluster_id: i64,
    /// What to do.
    #[serde(flatten)]
    pub request: RuntimeRequest,
    /// Who asked.
    pub author: String,
    /// When.
    pub created_at: i64,
    /// Every agent's result so far.
    #[serde(default)]
    pub results: Vec<RuntimeResult>,
}

/// One agent's result for one action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuntimeResult {
    /// The agent.
    pub agent_id: i64,
    /// Its name.
    #[serde(default)]
    pub agent: String,
    /// True when HAProxy accepted the command.
    pub ok: bool,
    /// HAProxy's answer (empty on success for these commands).
    pub output: String,
    /// When it ran.
    pub at: i64,
}

/// What an agent posts after running actions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActionOutcome {
    /// The action.
    pub action_id: i64,
    /// True when HAProxy accepted it.
    pub ok: bool,
    /// HAProxy's answer.
    pub output: String,
}

/// True when the runtime API's answer to a `set` command means success: these commands print
/// nothing on success and a message on failure (`No such server.`, `Backend is using a static
/// LB algorithm ...`).
pub fn command_succeeded(answer: &str) -> bool {
    answer.trim().is_empty()
}

/// A compact summary of `show info` and `show stat` for heartbeats.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuntimeSummary {
    /// Version from `show info`.
    pub version: Option<String>,
    /// Seconds since the worker started.
    pub uptime_sec: Option<i64>,
    /// Current connections.
    pub current_connections: Option<i64>,
    /// Sessions per second.
    pub session_rate: Option<i64>,
    /// HTTP requests per second over every frontend (`req_rate` of `show stat`).
    pub request_rate: Option<i64>,
    /// Per proxy (`frontend`/`backend` rows): status and current sessions.
    pub proxies: BTreeMap<String, ProxySummary>,
    /// Per server, `backend/server`: status, weight, current sessions.
    pub servers: BTreeMap<String, ServerSummary>,
}

/// A frontend's or backend's live figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxySummary {
    /// `OPEN`, `UP`, `DOWN` ...
    pub status: String,
    /// Current sessions.
    pub sessions: i64,
    /// Total sessions.
    pub total_sessions: i64,
    /// What it carried since the worker started (absent from older agents' summaries: 0).
    #[serde(flatten)]
    pub traffic: Traffic,
}

/// A row's cumulative traffic counters (`show stat`, management.txt §9.1 field names in
/// brackets), since the worker started: they restart at 0 on a reload.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Traffic {
    /// HTTP requests (`req_tot`); for a server, which has none, the HTTP responses it gave
    /// (`hrsp_1xx` .. `hrsp_5xx` + `hrsp_other`), as the stats history counts them.
    #[serde(default)]
    pub requests: i64,
    /// Bytes received from clients (`bin`).
    #[serde(default)]
    pub bytes_in: i64,
    /// Bytes sent to clients (`bout`).
    #[serde(default)]
    pub bytes_out: i64,
    /// HTTP 4xx responses (`hrsp_4xx`).
    #[serde(default)]
    pub responses_4xx: i64,
    /// HTTP 5xx responses (`hrsp_5xx`).
    #[serde(default)]
    pub responses_5xx: i64,
}

/// A server's live figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerSummary {
    /// `UP`, `DOWN`, `DRAIN`, `MAINT`, `no check` ...
    pub status: String,
    /// Effective weight.
    pub weight: i64,
    /// Current sessions.
    pub sessions: i64,
    /// What it carried since the worker started (absent from older agents' summaries: 0).
    #[serde(flatten)]
    pub traffic: Traffic,
}

impl RuntimeSummary {
    /// Builds the summary from the text answers of `show info` (`Name: value` lines) and
    /// `show stat` (CSV with a `# pxname,svname,...` header). Unknown or missing fields stay
    /// empty: the summary is informative, never a reason to fail a heartbeat.
    pub fn from_show(info: &str, stat: &str) -> RuntimeSummary {
        let mut summary = RuntimeSummary::default();
        for line in info.lines() {
            let Some((name, value)) = line.split_once(':') else { continue };
            let value = value.trim();
            let number = value.parse::<i64>().ok();
            match name.trim() {
                "Version" => summary.version = Some(value.to_string()),
                "Uptime_sec" => summary.uptime_sec = number,
                "CurrConns" => summary.current_connections = number,
                "SessRate" => summary.session_rate = number,
                _ => {}
            }
        }
        let mut lines = stat.lines();
        let Some(header) = lines.next().and_then(|h| h.strip_prefix("# ")) else { return summary };
        let columns: Vec<&str> = header.split(',').collect();
        let index = |name: &str| columns.iter().position(|c| *c == name);
        let req_rate = index("req_rate");
        let at = |name: &str| index(name).unwrap_or(usize::MAX);
        let (req_tot, bin, bout, h4, h5) = (at("req_tot"), at("bin"), at("bout"), at("hrsp_4xx"), at("hrsp_5xx"));
        let responses = ["hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other"].map(at);
        let (Some(px), Some(sv), Some(status), Some(scur), Some(stot), Some(weight)) =
            (index("pxname"), index("svname"), index("status"), index("scur"), index("stot"), index("weight"))
        else {
            return summary;
        };
        for line in lines {
            let fields: Vec<&str> = line.split(',').collect();
            let field = |i: usize| fields.get(i).copied().unwrap_or("");
            let int = |i: usize| field(i).parse::<i64>().unwrap_or(0);
            let traffic = |requests: i64| Traffic { requests, bytes_in: int(bin), bytes_out: int(bout), responses_4xx: int(h4), responses_5xx: int(h5) };
            match field(sv) {
                "" => {}
                "FRONTEND" | "BACKEND" => {
                    if let (true, Some(rate)) = (field(sv) == "FRONTEND", req_rate) {
                        summary.request_rate = Some(summary.request_rate.unwrap_or(0) + int(rate));
                    }
                    let key = format!("{}/{}", field(px), field(sv).to_ascii_lowercase());
                    summary.proxies.insert(
                        key,
                        ProxySummary { status: field(status).to_string(), sessions: int(scur), total_sessions: int(stot), traffic: traffic(int(req_tot)) },
                    );
                }
                server => {
                    summary.servers.insert(
                        format!("{}/{server}", field(px)),
                        ServerSummary {
                            status: field(status).to_string(),
                            weight: int(weight),
                            sessions: int(scur),
                            traffic: traffic(responses.iter().map(|i| int(*i)).sum()),
                        },
                    );
                }
            }
        }
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(action: ServerAction, value: Option<i64>) -> RuntimeRequest {
        RuntimeRequest { backend: "app".into(), server: "s1".into(), action, value }
    }

    #[test]
    fn commands_follow_the_management_guide() {
        assert_eq!(request(ServerAction::Drain, None).command().unwrap(), "set server app/s1 state drain");
        assert_eq!(request(ServerAction::Ready, None).command().unwrap(), "set server app/s1 state ready");
        assert_eq!(request(ServerAction::Maint, None).command().unwrap(), "set server app/s1 state maint");
        assert_eq!(request(ServerAction::Weight, Some(20)).command().unwrap(), "set weight app/s1 20");
    }

    #[test]
    fn bad_requests_are_refused() {
        assert!(request(ServerAction::Weight, None).command().is_err());
        assert!(request(ServerAction::Weight, Some(257)).command().is_err());
        assert!(request(ServerAction::Drain, Some(1)).command().is_err());
        let injected = RuntimeRequest { server: "s1; shutdown sessions".into(), ..request(ServerAction::Ready, None) };
        let err = injected.command().unwrap_err().to_string();
        assert!(err.contains("invalid server name"), "{err}");
        assert!("pause".parse::<ServerAction>().is_err());
        let json: RuntimeRequest =
            serde_json::from_str(r#"{"backend":"b","server":"s","action":"weight","value":5}"#).unwrap();
        assert_eq!(json.command().unwrap(), "set weight b/s 5");
    }

    #[test]
    fn show_answers_are_summarised() {
        let info = "Name: HAProxy\nVersion: 2.6.12\nUptime_sec: 42\nCurrConns: 3\nSessRate: 7\n";
        let stat = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,req_rate\n\
            fe,FRONTEND,,,2,5,100,40,0,0,0,0,0,,,,,OPEN,,9\n\
            app,s1,0,0,1,2,,20,0,0,,0,,0,0,0,0,DRAIN,3,\n\
            app,BACKEND,0,0,1,2,10,20,0,0,0,0,,0,0,0,0,UP,3,\n";
        let summary = RuntimeSummary::from_show(info, stat);
        assert_eq!(summary.version.as_deref(), Some("2.6.12"));
        assert_eq!((summary.uptime_sec, summary.current_connections, summary.request_rate), (Some(42), Some(3), Some(9)));
        assert_eq!(summary.proxies["fe/frontend"], ProxySummary { status: "OPEN".into(), sessions: 2, total_sessions: 40, ..Default::default() });
        assert_eq!(summary.servers["app/s1"], ServerSummary { status: "DRAIN".into(), weight: 3, sessions: 1, ..Default::default() });
        assert_eq!(RuntimeSummary::from_show("", "garbage"), RuntimeSummary::default());
    }

    #[test]
    fn traffic_counters_are_summarised() {
        let stat = "# pxname,svname,scur,stot,bin,bout,status,weight,req_tot,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other\n\
            app,BACKEND,1,20,1000,5000,UP,3,18,0,14,1,2,1,0\n\
            app,s1,1,20,900,4000,UP,3,,1,10,1,2,1,1\n";
        let summary = RuntimeSummary::from_show("", stat);
        let backend = Traffic { requests: 18, bytes_in: 1000, bytes_out: 5000, responses_4xx: 2, responses_5xx: 1 };
        assert_eq!(summary.proxies["app/backend"].traffic, backend);
        let server = Traffic { requests: 16, bytes_in: 900, bytes_out: 4000, responses_4xx: 2, responses_5xx: 1 };
        assert_eq!(summary.servers["app/s1"].traffic, server, "a server's requests are the responses it gave");
        // Flattened in the heartbeat; an older agent's summary without them reads 0.
        let json = serde_json::to_value(&summary.servers["app/s1"]).unwrap();
        assert_eq!((json["requests"].as_i64(), json["responses_5xx"].as_i64()), (Some(16), Some(1)));
        let old: ServerSummary = serde_json::from_value(serde_json::json!({"status": "UP", "weight": 1, "sessions": 2})).unwrap();
        assert_eq!(old.traffic, Traffic::default());
    }

    #[test]
    fn success_is_an_empty_answer() {
        assert!(command_succeeded("\n"));
        assert!(!command_succeeded("No such server.\n"));
    }
}
