//! What each node's HAProxy serves (`show ssl cert`, from its heartbeats), which the
//! certificate status compares with the store ([`super::certificates`]).

use std::collections::HashSet;

use sqlx::Row;

use super::batch::latest_per_agent;
use super::heartbeats::Part;
use super::rows::{bind_rows, fetch_in, rows, statements};
use super::{Backend, Tx};
use crate::error::Result;
use crate::wire::ServedCertificate;

/// Records what the agents of a batch of heartbeats serve: each agent's rows become its last
/// list (a file named twice in one: its first), fingerprints and serials in uppercase, stamped
/// with the heartbeat's time.
///
/// Upserted in place, and only the files no longer listed deleted: nodes report the same list
/// heartbeat after heartbeat, and deleting and inserting every row (each insert an index entry
/// and a foreign-key check) was a sixth of PostgreSQL's time for heartbeats at 10,000 agents.
pub(super) async fn write(backend: Backend, tx: &mut Tx, parts: &[Part<'_, Vec<ServedCertificate>>]) -> Result<()> {
    let latest = latest_per_agent(parts);
    let mut served = Vec::new();
    let mut listed = HashSet::new();
    for (agent_id, part) in &latest {
        let mut seen = HashSet::new();
        for cert in part.value.iter().filter(|c| seen.insert(&c.filename)) {
            listed.insert((*agent_id, cert.filename.as_str()));
            served.push((*agent_id, cert, part.at));
        }
    }
    let stored = fetch_in(backend, tx, latest.keys().copied(), |one_of| format!("SELECT agent_id, filename FROM served_certificates WHERE agent_id {one_of}")).await?;
    let mut gone = Vec::new();
    for row in stored {
        let (agent_id, filename): (i64, String) = (row.try_get("agent_id")?, row.try_get("filename")?);
        if !listed.contains(&(agent_id, filename.as_str())) {
            gone.push((agent_id, filename));
        }
    }
    for chunk in statements(backend, &gone) {
        let sql = format!(
            "DELETE FROM served_certificates WHERE (agent_id, filename) IN (SELECT column1, column2 FROM ({}) AS v)",
            rows(backend, chunk.len(), &["BIGINT", "TEXT"])
        );
        let cells = chunk.iter().map(|(agent_id, filename)| (*agent_id, filename.as_str()));
        bind_rows(backend, sqlx::query(&sql), cells.collect())?.execute(&mut **tx).await?;
    }
    for chunk in statements(backend, &served) {
        let sql = format!(
            "INSERT INTO served_certificates (agent_id, filename, sha1, serial, reported_at) {} \
             ON CONFLICT (agent_id, filename) DO UPDATE SET sha1 = excluded.sha1, serial = excluded.serial, reported_at = excluded.reported_at",
            rows(backend, chunk.len(), &["BIGINT", "TEXT", "TEXT", "TEXT", "BIGINT"])
        );
        let cells = chunk.iter().map(|(agent_id, c, at)| (*agent_id, c.filename.as_str(), c.sha1.to_ascii_uppercase(), c.serial.to_ascii_uppercase(), *at));
        bind_rows(backend, sqlx::query(&sql), cells.collect())?.execute(&mut **tx).await?;
    }
    Ok(())
}
