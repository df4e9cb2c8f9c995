//! `fleet serve --demo`: where `haproxy` is installed, the server also runs a local
//! `fleet-agent` in process mode on a `demo` cluster with a small loopback configuration, so a
//! newcomer sees the whole loop (version -> apply -> agent -> HAProxy reload -> status) from
//! one command. Everything lives under `<data>/demo`; a second start reuses the cluster and the
//! agent's token.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fleet_core::{ClusterSettings, DesiredWatch, ReloadMode, Store};
use rustix::process::{kill_process, Pid, Signal};
use tokio::process::{Child, Command};

const CLUSTER: &str = "demo";
const ACTOR: &str = "demo";

/// The demo agent, stopped with the server.
pub(crate) struct Demo {
    agent: Child,
}

fn haproxy() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("FLEET_HAPROXY_BIN").map(PathBuf::from).filter(|p| p.exists()) {
        return Some(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|dir| dir.join("haproxy"))
        .find(|candidate| candidate.is_file())
}

/// The demo's configuration: a loopback frontend answering by itself, and a backend whose
/// servers the runtime actions can drain and weigh.
fn demo_config(port: u16) -> String {
    format!(
        "# HAProxy Fleet demo: edit me through the API, apply, and watch the agent reload HAProxy.\n\
         global\n    log stderr local0 notice\n\n\
         defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n\n\
         frontend demo\n    bind 127.0.0.1:{port}\n    http-request return status 200 content-type text/plain string \"hello from HAProxy Fleet\"\n    default_backend app\n\n\
         backend app\n    balance roundrobin\n    server s1 127.0.0.1:9 weight 10\n    server s2 127.0.0.1:9 weight 10\n"
    )
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Sets up the demo cluster (once) and starts its agent; `Ok(None)` with a message when
/// haproxy or the `fleet-agent` binary is missing.
pub(crate) async fn start(store: &Store, desired: &DesiredWatch, data: &Path, local: SocketAddr) -> Result<Option<Demo>, String> {
    let Some(haproxy) = haproxy() else {
        super::serve::say("demo: haproxy is not installed: serving without the demo agent");
        return Ok(None);
    };
    let agent_bin = std::env::current_exe().ok().and_then(|exe| exe.parent().map(|dir| dir.join("fleet-agent")));
    let Some(agent_bin) = agent_bin.filter(|p| p.is_file()) else {
        super::serve::say("demo: no fleet-agent binary next to fleet: serving without the demo agent");
        return Ok(None);
    };
    let dir = std::path::absolute(data.join("demo")).map_err(|e| format!("demo: {e}"))?;
    std::fs::create_dir_all(&dir).map_err(|e| format!("demo: cannot create {}: {e}", dir.display()))?;
    // The managed directory (the config's folder) becomes the agent's symlink to its current
    // release, so it is a folder of its own, beside the agent's state directory.
    let config_path = dir.join("etc").join("haproxy.cfg");
    let state_dir = dir.join("agent");
    let cluster = match store.cluster_by_name(CLUSTER).await {
        Ok(cluster) => cluster,
        Err(fleet_core::Error::NotFound(_)) => {
            let pool = store.create_pool(ACTOR, CLUSTER, "the fleet serve --demo cluster").await.map_err(|e| e.to_string())?;
            let settings = ClusterSettings {
                config_path: config_path.display().to_string(),
                reload_mode: ReloadMode::Process,
                ..ClusterSettings::default()
            };
            let cluster = store.create_cluster(ACTOR, CLUSTER, pool.id, settings).await.map_err(|e| e.to_string())?;
            let port = free_port().map_err(|e| format!("demo: no free port: {e}"))?;
            let committed = store.import(fleet_core::Actor::new(ACTOR, fleet_core::Role::Operator), cluster.id, &demo_config(port), "demo configuration").await.map_err(|e| e.to_string())?;
            desired.apply(ACTOR, cluster.id, committed.version.number).await.map_err(|e| e.to_string())?;
            super::serve::say(&format!("demo: HAProxy will answer on http://127.0.0.1:{port}/ (cluster {CLUSTER}, id {})", cluster.id));
            cluster
        }
        Err(e) => return Err(e.to_string()),
    };
    let host = if local.ip().is_unspecified() { "127.0.0.1".to_string() } else { local.ip().to_string() };
    let server_url = format!("http://{}", SocketAddr::new(host.parse().map_err(|e| format!("demo: {e}"))?, local.port()));
    let mut command = Command::new(&agent_bin);
    command
        .arg("--server")
        .arg(&server_url)
        .arg("--state-dir")
        .arg(&state_dir)
        .arg("--config-path")
        .arg(&config_path)
        .arg("--haproxy-bin")
        .arg(&haproxy)
        .args(["--haproxy-mode", "process", "--heartbeat-seconds", "2", "--stop-haproxy-on-exit"])
        .stdin(Stdio::null());
    if !state_dir.join("token").exists() {
        let (_, secret) = store
            .create_enrolment(ACTOR, cluster.id, "demo-node", Vec::new(), 3_600_000)
            .await
            .map_err(|e| e.to_string())?;
        command.arg("--enroll-secret").arg(secret);
    }
    let agent = command.spawn().map_err(|e| format!("demo: cannot start {}: {e}", agent_bin.display()))?;
    super::serve::say(&format!(
        "demo: agent started (state in {}); see GET /api/v1/clusters/{}/status",
        state_dir.display(),
        cluster.id
    ));
    Ok(Some(Demo { agent }))
}

impl Demo {
    /// SIGTERM (the agent stops its HAProxy), SIGKILL after 10 s.
    pub(crate) async fn stop(mut self) {
        if let Some(pid) = self.agent.id().and_then(|id| i32::try_from(id).ok()).and_then(Pid::from_raw) {
            let _ = kill_process(pid, Signal::TERM);
        }
        if tokio::time::timeout(Duration::from_secs(10), self.agent.wait()).await.is_err() {
            let _ = self.agent.kill().await;
        }
    }
}
