//! Agent token lookups in batches ([`super::batch`]): right after an apply, every agent of a
//! cluster presents its token within moments, twice (its apply report, its next long-poll), on
//! top of 2,000 heartbeats a second at 10,000 agents. One `IN (...)` query per batch answers them
//! all, exactly as one query per token would (nothing is cached: a revoked token fails at once).
//! It reads only who the agent is ([`AgentPrincipal`]): its facts and reports, parsed for each
//! request, were most of the cost of a lookup.

use std::collections::HashMap;

use sqlx::Row;

use super::batch::Batched;
use super::Store;
use crate::error::Result;
use crate::model::AgentPrincipal;

/// The sha256 (hex) of an agent token.
pub(crate) struct TokenLookup(pub(crate) String);

impl Batched for TokenLookup {
    /// The agent holding that token; none for an unknown token.
    type Done = Option<AgentPrincipal>;

    async fn run<'a>(store: &'a Store, batch: &'a [Self]) -> Result<Vec<Option<AgentPrincipal>>> {
        let mut found: HashMap<String, AgentPrincipal> = HashMap::with_capacity(batch.len());
        let backend = store.backend();
        for chunk in super::rows::statements(backend, batch) {
            let sql = format!("SELECT token_hash, id, cluster_id, name, hostname FROM agents WHERE token_hash {}", super::rows::in_list(backend, chunk.len(), "TEXT"));
            let query = super::rows::bind_list(backend, sqlx::query(&sql), chunk.iter().map(|lookup| lookup.0.as_str()).collect())?;
            for row in query.fetch_all(store.pool()).await? {
                let agent = AgentPrincipal { id: row.try_get("id")?, cluster_id: row.try_get("cluster_id")?, name: row.try_get("name")?, hostname: row.try_get("hostname")? };
                found.insert(row.try_get("token_hash")?, agent);
            }
        }
        Ok(batch.iter().map(|lookup| found.get(&lookup.0).cloned()).collect())
    }
}
