//! What each node's HAProxy serves (`show ssl cert`, from its heartbeats), which the
//! certificate status compares with the store ([`super::certificates`]).

use std::collections::HashSet;

use super::batch::{delete_for_agents, latest_per_agent, values};
use super::heartbeats::Part;
use super::{Backend, Tx};
use crate::error::Result;
use crate::wire::ServedCertificate;

/// Records what the agents of a batch of heartbeats serve: each agent's rows are replaced by
/// its last list (a file named twice in one: its first), fingerprints and serials in
/// uppercase, stamped with the heartbeat's time.
pub(super) async fn write(backend: Backend, tx: &mut Tx, served: &[Part<'_, Vec<ServedCertificate>>]) -> Result<()> {
    let latest = latest_per_agent(served);
    delete_for_agents(backend, tx, "served_certificates", latest.keys().copied()).await?;
    let mut rows = Vec::new();
    for (agent_id, part) in &latest {
        let mut seen = HashSet::new();
        rows.extend(part.value.iter().filter(|c| seen.insert(&c.filename)).map(|c| (*agent_id, c, part.at)));
    }
    for chunk in super::batch::statements(backend, &rows) {
        let sql = format!(
            "INSERT INTO served_certificates (agent_id, filename, sha1, serial, reported_at) VALUES {}",
            values(backend, chunk.len(), &["BIGINT", "TEXT", "TEXT", "TEXT", "BIGINT"])
        );
        let mut query = sqlx::query(&sql);
        for (agent_id, cert, at) in chunk {
            query = query.bind(*agent_id).bind(&cert.filename).bind(cert.sha1.to_ascii_uppercase()).bind(cert.serial.to_ascii_uppercase()).bind(*at);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}
