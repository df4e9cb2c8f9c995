//! What each node's HAProxy serves (`show ssl cert`, from its heartbeats), which the
//! certificate status compares with the store ([`super::certificates`]).

use std::collections::HashSet;

use super::batch::latest_per_agent;
use super::rows::{bind_rows, delete_for_agents, rows, statements};
use super::heartbeats::Part;
use super::{Backend, Tx};
use crate::error::Result;
use crate::wire::ServedCertificate;

/// Records what the agents of a batch of heartbeats serve: each agent's rows are replaced by
/// its last list (a file named twice in one: its first), fingerprints and serials in
/// uppercase, stamped with the heartbeat's time.
pub(super) async fn write(backend: Backend, tx: &mut Tx, parts: &[Part<'_, Vec<ServedCertificate>>]) -> Result<()> {
    let latest = latest_per_agent(parts);
    delete_for_agents(backend, tx, "served_certificates", latest.keys().copied()).await?;
    let mut served = Vec::new();
    for (agent_id, part) in &latest {
        let mut seen = HashSet::new();
        served.extend(part.value.iter().filter(|c| seen.insert(&c.filename)).map(|c| (*agent_id, c, part.at)));
    }
    for chunk in statements(backend, &served) {
        let sql = format!(
            "INSERT INTO served_certificates (agent_id, filename, sha1, serial, reported_at) {}",
            rows(backend, chunk.len(), &["BIGINT", "TEXT", "TEXT", "TEXT", "BIGINT"])
        );
        let cells = chunk.iter().map(|(agent_id, c, at)| (*agent_id, c.filename.as_str(), c.sha1.to_ascii_uppercase(), c.serial.to_ascii_uppercase(), *at));
        bind_rows(backend, sqlx::query(&sql), cells.collect())?.execute(&mut **tx).await?;
    }
    Ok(())
}
