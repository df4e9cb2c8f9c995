//! The failover probe on the node (see `fleet_core::failover::probe`): find the frontend's first
//! TCP bind in the configuration HAProxy runs, fetch the page through it, report what happened.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fleet_core::documents::Parsed;
use fleet_core::failover::{probe, Probe, ProbeReport};

/// Runs `probe` against the configuration files `configs` (in load order) and reports; never
/// fails, the report says why it did not pass.
pub(crate) async fn run(probe: &Probe, configs: &[PathBuf]) -> ProbeReport {
    let started = Instant::now();
    let elapsed = |started: Instant| u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let failed = |target: Option<String>, detail: String| ProbeReport { probe: probe.clone(), ok: false, target, status: None, detail, elapsed_ms: elapsed(started) };
    let parsed: Vec<Parsed> = configs.iter().filter_map(|path| std::fs::read_to_string(path).ok()).map(|text| Parsed::parse(&text)).collect();
    let documents: Vec<_> = parsed.iter().map(Parsed::document).collect();
    let target = match probe::target(&documents, &probe.frontend, &|name| std::env::var(name).ok()) {
        Ok(target) => target,
        Err(why) => return failed(None, why),
    };
    let host = probe.host.clone().unwrap_or_else(|| target.addr.ip().to_string());
    let scheme = if target.tls { "https" } else { "http" };
    let url = format!("{scheme}://{host}:{}{}", target.addr.port(), probe.path);
    let shown = format!("{url} via {}", target.addr);
    // The URL names the host (Host header, TLS server name); the connection goes to the bind.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(probe.timeout_ms))
        .resolve(&host, target.addr)
        .redirect(reqwest::redirect::Policy::none())
        .danger_accept_invalid_certs(true)
        .user_agent(concat!("fleet-agent/", env!("CARGO_PKG_VERSION"), " failover-probe"))
        .build();
    let client = match client {
        Ok(client) => client,
        Err(e) => return failed(Some(shown), format!("cannot build an http client: {e}")),
    };
    match client.get(&url).send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let ok = probe.passes(status);
            let detail = if ok { "ok".to_string() } else { format!("answered {status}, expected {}", probe.expect_status.map_or("2xx or 3xx".to_string(), |s| s.to_string())) };
            ProbeReport { probe: probe.clone(), ok, target: Some(shown), status: Some(status), detail, elapsed_ms: elapsed(started) }
        }
        Err(e) => failed(Some(shown), fleet_core::with_causes(&e)),
    }
}
