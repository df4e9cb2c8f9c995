//! Agent token lookups in batches ([`super::batch`]): right after an apply, every agent of a
//! cluster presents its token within moments, twice (its apply report, its next long-poll), on
//! top of 2,000 heartbeats a second at 10,000 agents. One `IN (...)` query per batch answers them
//! all, exactly as one query per token would (nothing is cached: a revoked token fails at once).

use std::collections::HashMap;

use sqlx::Row;

use super::agents::{agent_from_row, AGENT_COLUMNS};
use super::batch::Batched;
use super::Store;
use crate::error::Result;
use crate::model::Agent;

/// The sha256 (hex) of an agent token.
pub(crate) struct TokenLookup(pub(crate) String);

impl Batched for TokenLookup {
    /// The agent holding that token, as of now; none for an unknown token.
    type Done = Option<Box<Agent>>;

    async fn run<'a>(store: &'a Store, batch: &'a [Self]) -> Result<Vec<Option<Box<Agent>>>> {
        let now = store.now();
        let mut found: HashMap<String, Agent> = HashMap::with_capacity(batch.len());
        for chunk in super::batch::statements(store.backend(), batch) {
            let sql = format!("SELECT token_hash, {AGENT_COLUMNS} FROM agents WHERE token_hash IN ({})", super::batch::placeholders(store.backend(), chunk.len()));
            let mut query = sqlx::query(&sql);
            for lookup in chunk {
                query = query.bind(lookup.0.as_str());
            }
            for row in query.fetch_all(store.pool()).await? {
                found.insert(row.try_get("token_hash")?, agent_from_row(&row, now)?);
            }
        }
        Ok(batch.iter().map(|lookup| found.get(&lookup.0).cloned().map(Box::new)).collect())
    }
}
