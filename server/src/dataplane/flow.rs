//! What every configuration route does around its resource, written once:
//!
//! ```text
//! read:  ?transaction_id=T -> what T would commit (Configuration-Version: T's base)
//!        ?version=N        -> version N;  neither -> the latest (0 and empty before the first)
//! write: ?transaction_id=T -> ops staged in T (fleet-core transactions)       -> 202
//!        ?version=N        -> ops committed as version N+1 (409 when N is not the latest), the
//!                             version applied to the cluster, then the rollout waited for
//!                             within --dataplane-wait-seconds: every node runs it -> 202 with
//!                             Reload-ID (upstream's answer), 200/201/204 with force_reload=true;
//!                             a node refused it -> 400 naming the nodes; still rolling -> 202
//!                             with Reload-ID (GET services/haproxy/reloads/{id} follows it)
//!        nothing to change -> the same statuses, no new version
//! ```
//!
//! Every commit is rolled out and waited for, with or without `force_reload`: it only picks
//! upstream's status for a finished rollout.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use fleet_core::convergence::{AgentProgress, Convergence};
use fleet_core::documents::Parsed;
use fleet_core::rbac::Permission;
use fleet_core::{EditOp, TextAt};
use haproxy_model::Document;
use serde::Deserialize;

use super::auth::Dp;
use super::errors::{DpError, DpResult};

/// The query of reads.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ReadQuery {
    transaction_id: Option<String>,
    version: Option<i64>,
    /// Upstream's `full_section`: a section with its child lists inline.
    #[serde(default)]
    full_section: bool,
}

impl ReadQuery {
    /// Whether `full_section=true` was asked.
    pub(crate) fn full_section(&self) -> bool {
        self.full_section
    }
}

/// The query of writes.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct WriteQuery {
    transaction_id: Option<String>,
    version: Option<i64>,
    #[serde(default)]
    force_reload: bool,
}

/// A transaction id as the surface writes it (our ids are integers, upstream's are strings);
/// `None` for text that cannot be one of ours.
pub(crate) fn transaction_number(id: &str) -> Option<i64> {
    id.parse().ok()
}

/// How a write ended.
pub(crate) enum Written {
    /// Staged in a transaction based on this version.
    Staged { base: i64 },
    /// Nothing to change; the latest version stays.
    Unchanged { version: i64, created_at: Option<i64>, force_reload: bool },
    /// Committed as `version`, applied, and where the rollout stands.
    Committed { version: i64, created_at: i64, rollout: Convergence, force_reload: bool },
}

impl Dp {
    /// The document a read addresses and the version it stands for (see the module docs).
    pub(crate) async fn read_doc(&self, query: &ReadQuery) -> DpResult<(i64, Arc<Parsed>)> {
        self.user(Permission::Read)?;
        let store = &self.state.store;
        match (&query.transaction_id, query.version) {
            (Some(_), Some(_)) => Err(DpError::bad_request("both version and transaction specified, specify only one")),
            (Some(t), None) => {
                let tid = self.open_transaction(t).await?;
                let base = store.cluster_transaction(self.cluster_id, tid).await?.base_version;
                Ok((base, store.document_at(self.cluster_id, TextAt::Transaction(tid)).await?))
            }
            (None, Some(n)) => Ok((n, store.document_at(self.cluster_id, TextAt::Version(n)).await?)),
            (None, None) => Ok(store.latest_document(self.cluster_id).await?),
        }
    }

    /// The number of transaction `id` of this cluster, open; 400 otherwise (upstream's
    /// "transaction does not exist").
    async fn open_transaction(&self, id: &str) -> DpResult<i64> {
        let missing = || DpError::bad_request(format!("transaction {id} does not exist"));
        let tid = transaction_number(id).ok_or_else(missing)?;
        match self.state.store.cluster_transaction(self.cluster_id, tid).await {
            Ok(t) if t.state == fleet_core::TransactionState::Open => Ok(tid),
            Ok(t) => Err(DpError::bad_request(format!("transaction {id} is {}", t.state))),
            Err(fleet_core::Error::NotFound(_)) => Err(missing()),
            Err(other) => Err(other.into()),
        }
    }

    /// Makes the change `plan` computes from the addressed document (see the module docs).
    pub(crate) async fn write(
        &self,
        query: &WriteQuery,
        what: &str,
        plan: impl FnOnce(&Document) -> fleet_core::Result<Vec<EditOp>>,
    ) -> DpResult<Written> {
        let user = self.user(Permission::Write)?.clone();
        let store = &self.state.store;
        match (&query.transaction_id, query.version) {
            (Some(_), _) if query.force_reload => Err(DpError::bad_request("both force_reload and transaction specified, specify only one")),
            (Some(_), Some(_)) => Err(DpError::bad_request("both version and transaction specified, specify only one")),
            (Some(t), None) => {
                let tid = self.open_transaction(t).await?;
                let transaction = store.cluster_transaction(self.cluster_id, tid).await?;
                let parsed = store.document_at(self.cluster_id, TextAt::Transaction(tid)).await?;
                let ops = plan(parsed.document())?;
                if !ops.is_empty() {
                    store.stage_in(&user.username, self.cluster_id, tid, ops).await?;
                }
                Ok(Written::Staged { base: transaction.base_version })
            }
            (None, None) => Err(DpError::bad_request("version or transaction not specified")),
            (None, Some(base)) => self.commit(&user, Some(base), what, query.force_reload, plan).await,
        }
    }

    /// Makes the change `plan` computes from the latest version as the next one, whatever the
    /// latest is (the runtime routes: upstream's runtime API has no version), and waits for its
    /// rollout as a write with `force_reload` does.
    pub(crate) async fn write_latest(&self, what: &str, plan: impl FnOnce(&Document) -> fleet_core::Result<Vec<EditOp>>) -> DpResult<Written> {
        let user = self.user(Permission::Write)?.clone();
        self.commit(&user, None, what, true, plan).await
    }

    /// Commits `plan`'s ops on the latest version (which must be `base` when given), applies the
    /// new version and waits for its rollout.
    async fn commit(
        &self,
        user: &fleet_core::User,
        base: Option<i64>,
        what: &str,
        force_reload: bool,
        plan: impl FnOnce(&Document) -> fleet_core::Result<Vec<EditOp>>,
    ) -> DpResult<Written> {
        let store = &self.state.store;
        let (latest, parsed) = store.latest_document(self.cluster_id).await?;
        let base = base.unwrap_or(latest);
        if base != latest {
            return Err(fleet_core::Error::Outdated { base, latest }.into());
        }
        let ops = plan(parsed.document())?;
        if ops.is_empty() {
            let created_at = match latest {
                0 => None,
                n => Some(store.version_info(self.cluster_id, n).await?.created_at),
            };
            return Ok(Written::Unchanged { version: latest, created_at, force_reload });
        }
        let message = format!("Data Plane API: {what}");
        let committed = store.edit(user.into(), self.cluster_id, base, ops, &message).await?;
        self.roll_out(&user.username, committed.version.number, committed.version.created_at, force_reload).await
    }

    /// Applies `version` to the cluster and waits for its rollout within `--dataplane-wait-seconds`.
    pub(crate) async fn roll_out(&self, actor: &str, version: i64, created_at: i64, force_reload: bool) -> DpResult<Written> {
        self.state.desired.apply(actor, self.cluster_id, version).await?;
        let rollout = fleet_core::dataplane::wait_rollout(&self.state.store, self.cluster_id, version, self.state.dataplane_wait).await?;
        Ok(Written::Committed { version, created_at, rollout, force_reload })
    }
}

/// `Configuration-Version: N`.
pub(crate) fn version_header(headers: &mut HeaderMap, version: i64) {
    if let Ok(value) = HeaderValue::from_str(&version.to_string()) {
        headers.insert("configuration-version", value);
    }
}

/// The reload id of version `version` made at `created_at` (Unix ms): `YYYY-MM-DD-N`, the
/// form upstream's `reload` model requires, with the version's number as the sequence.
pub(crate) fn reload_id(created_at: i64, version: i64) -> String {
    let days = created_at.div_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}-{version}")
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// One line per node of a rollout: `name: applied`, `name: waiting`, `name: rejected: why`.
pub(crate) fn rollout_lines(rollout: &Convergence) -> Vec<String> {
    rollout
        .agents
        .iter()
        .map(|a| match &a.progress {
            AgentProgress::Waiting => format!("{}: waiting", a.name),
            AgentProgress::Applied { .. } => format!("{}: applied", a.name),
            AgentProgress::Failed { outcome, error } => {
                let outcome = serde_json::to_value(outcome).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
                format!("{}: {outcome}: {}", a.name, error.as_deref().unwrap_or(""))
            }
        })
        .collect()
}

/// What a write answers with.
pub(crate) enum Payload {
    /// Nothing (204, and upstream's deletes).
    None,
    /// The resource as written.
    Json(serde_json::Value),
    /// A configuration text.
    Text(String),
}

/// The answer to a write: `done` (200, 201 or 204) with `body` when it is final, succeeded and
/// `force_reload` was asked, else 202 (with a reload id outside transactions), 400 when a node
/// refused the version (see the module docs).
pub(crate) fn answer(written: Written, done: StatusCode, body: Payload) -> Response {
    // Upstream's statuses: with force_reload the final one (200/201/204), else 202 and a
    // reload id; either way a refusal seen within the wait is a 400, and a rollout still going
    // on when the wait ends a 202.
    let (status, version, reload) = match &written {
        Written::Staged { base } => (StatusCode::ACCEPTED, *base, None),
        Written::Unchanged { version, force_reload: true, .. } => (done, *version, None),
        Written::Unchanged { version, created_at, force_reload: false } => (StatusCode::ACCEPTED, *version, created_at.map(|at| reload_id(at, *version))),
        Written::Committed { version, created_at, rollout, force_reload } => {
            let id = reload_id(*created_at, *version);
            if !rollout.finished() {
                (StatusCode::ACCEPTED, *version, Some(id))
            } else if rollout.agents.is_empty() || rollout.succeeded() {
                match force_reload {
                    true => (done, *version, None),
                    false => (StatusCode::ACCEPTED, *version, Some(id)),
                }
            } else {
                let message = format!(
                    "version {version} was committed and applied, but not every node runs it ({}); GET services/haproxy/reloads/{id} follows it",
                    rollout_lines(rollout).join("; ")
                );
                let mut response = DpError::bad_request(message).into_response();
                version_header(response.headers_mut(), *version);
                if let Ok(value) = HeaderValue::from_str(&id) {
                    response.headers_mut().insert("reload-id", value);
                }
                return response;
            }
        }
    };
    let mut response = match (status, body) {
        (StatusCode::NO_CONTENT, _) | (_, Payload::None) => status.into_response(),
        (status, Payload::Json(body)) => (status, axum::Json(body)).into_response(),
        (status, Payload::Text(text)) => (status, [(axum::http::header::CONTENT_TYPE, "text/plain")], text).into_response(),
    };
    version_header(response.headers_mut(), version);
    if let Some(id) = reload.and_then(|id| HeaderValue::from_str(&id).ok()) {
        response.headers_mut().insert("reload-id", id);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reload_ids_have_upstreams_shape() {
        assert_eq!(reload_id(0, 1), "1970-01-01-1");
        // 2026-12-02T00:30:00Z
        assert_eq!(reload_id(1_796_171_400_000, 42), "2026-12-02-42");
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
