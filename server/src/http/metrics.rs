//! Prometheus metrics in the text exposition format, kept by hand: this server's own families
//! (requests by method, route template and status; the agents' requests by HTTP version; agents
//! holding a long-poll now; versions
//! committed through this server) here, the fleet families in [`fleet_core::metrics`].

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

/// The counters, and the settings of `/metrics` (`fleet serve --metrics-*`).
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    /// Requests to the agents' routes (`/api/v1/agent/...`) over HTTP/1.x, HTTP/2.
    agent_requests: [AtomicU64; 2],
    agents_connected: AtomicI64,
    versions_committed: AtomicU64,
    /// The bearer token `/metrics` asks for; none: open.
    pub(crate) token: Option<String>,
    /// The fleet families' settings (the server cap).
    pub(crate) options: fleet_core::metrics::MetricsOptions,
}

/// Counts one connected agent while alive (the long-poll's future holds it, so a client that
/// goes away is uncounted when axum drops the future).
pub(crate) struct Connected(Arc<Metrics>);

impl Drop for Connected {
    fn drop(&mut self) {
        self.0.agents_connected.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    /// No counts yet; `/metrics` asks for `token` when there is one.
    pub(crate) fn new(token: Option<String>, options: fleet_core::metrics::MetricsOptions) -> Metrics {
        Metrics { token, options, ..Metrics::default() }
    }

    pub(crate) fn agent_connected(self: &Arc<Self>) -> Connected {
        self.agents_connected.fetch_add(1, Ordering::Relaxed);
        Connected(self.clone())
    }

    pub(crate) fn version_committed(&self) {
        self.versions_committed.fetch_add(1, Ordering::Relaxed);
    }

    fn request(&self, method: &str, route: &str, status: u16) {
        let mut requests = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
        *requests.entry((method.to_string(), route.to_string(), status)).or_insert(0) += 1;
    }

    /// The exposition text.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP fleet_http_requests_total HTTP requests answered, by method, route and status.\n");
        out.push_str("# TYPE fleet_http_requests_total counter\n");
        let requests = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
        for ((method, route, status), count) in requests.iter() {
            let _ = writeln!(
                out,
                "fleet_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {count}",
                fleet_core::metrics::escape_label(route)
            );
        }
        drop(requests);
        out.push_str("# HELP fleet_agent_requests_total Requests to the agents' routes, by HTTP version (2: streams sharing connections).\n");
        out.push_str("# TYPE fleet_agent_requests_total counter\n");
        for (version, count) in ["1.1", "2"].iter().zip(&self.agent_requests) {
            let _ = writeln!(out, "fleet_agent_requests_total{{http_version=\"{version}\"}} {}", count.load(Ordering::Relaxed));
        }
        out.push_str("# HELP fleet_agents_connected Agents holding a desired-state long-poll now.\n");
        out.push_str("# TYPE fleet_agents_connected gauge\n");
        let _ = writeln!(out, "fleet_agents_connected {}", self.agents_connected.load(Ordering::Relaxed));
        out.push_str("# HELP fleet_versions_committed_total Configuration versions created through this server.\n");
        out.push_str("# TYPE fleet_versions_committed_total counter\n");
        let _ = writeln!(out, "fleet_versions_committed_total {}", self.versions_committed.load(Ordering::Relaxed));
        out
    }
}

/// Middleware: counts every answered request under its route template (`/api/v1/clusters/{id}`),
/// or `unmatched` for paths no route serves, so ids do not explode the label set.
pub(crate) async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    // Known methods only: a client inventing methods must not grow the label set.
    let method = match request.method().as_str() {
        m @ ("GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS") => m,
        _ => "OTHER",
    }
    .to_string();
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_string();
    if route.starts_with("/api/v1/agent/") {
        let h2 = request.version() >= axum::http::Version::HTTP_2;
        metrics.agent_requests[usize::from(h2)].fetch_add(1, Ordering::Relaxed);
    }
    let response = next.run(request).await;
    metrics.request(&method, &route, response.status().as_u16());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_three_families() {
        let metrics = Arc::new(Metrics::default());
        metrics.request("GET", "/api/v1/clusters/{id}", 200);
        metrics.request("GET", "/api/v1/clusters/{id}", 200);
        metrics.version_committed();
        let guard = metrics.agent_connected();
        let text = metrics.render();
        assert!(text.contains("fleet_http_requests_total{method=\"GET\",route=\"/api/v1/clusters/{id}\",status=\"200\"} 2\n"));
        assert!(text.contains("fleet_agents_connected 1\n"));
        assert!(text.contains("fleet_agent_requests_total{http_version=\"2\"} 0\n"));
        assert!(text.contains("fleet_versions_committed_total 1\n"));
        drop(guard);
        assert!(metrics.render().contains("fleet_agents_connected 0\n"));
    }
}
