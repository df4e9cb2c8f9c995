//! Queued runtime actions and each agent's result (see [`crate::runtime`]). An action is
//! pending for an agent of its cluster that enrolled before it was queued, has not posted a
//! result for it, and while it is younger than [`ACTION_TTL_MS`].

use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::audit::Audit;
use super::Store;
use crate::error::{Error, Result};
use crate::runtime::{ActionOutcome, RuntimeAction, RuntimeRequest, RuntimeResult, ServerAction, ACTION_TTL_MS};

const ACTION_COLUMNS: &str = "id, cluster_id, backend, server, action, value, author, created_at";

fn action_from_row(row: &AnyRow) -> Result<RuntimeAction> {
    let action: String = row.try_get("action")?;
    Ok(RuntimeAction {
        id: row.try_get("id")?,
        cluster_id: row.try_get("cluster_id")?,
        request: RuntimeRequest {
            backend: row.try_get("backend")?,
            server: row.try_get("server")?,
            action: action.parse::<ServerAction>().map_err(|e| Error::Corrupt(e.to_string()))?,
            value: row.try_get("value")?,
        },
        author: row.try_get("author")?,
        created_at: row.try_get("created_at")?,
        results: Vec::new(),
    })
}

impl Store {
    /// Queues a runtime action for every agent of a cluster.
    pub async fn queue_runtime_action(&self, actor: &str, cluster_id: i64, request: RuntimeRequest) -> Result<RuntimeAction> {
        request.validate()?;
        let action = RuntimeAction {
            id: self.new_id()?,
            cluster_id,
            request,
            author: actor.into(),
            created_at: self.now(),
            results: Vec::new(),
        };
        let mut tx = self.write_tx().await?;
        self.require_cluster(&mut tx, cluster_id).await?;
        sqlx::query(&format!("INSERT INTO runtime_actions ({ACTION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"))
            .bind(action.id)
            .bind(cluster_id)
            .bind(&action.request.backend)
            .bind(&action.request.server)
            .bind(action.request.action.as_str())
            .bind(action.request.value)
            .bind(actor)
            .bind(action.created_at)
            .execute(&mut *tx)
            .await?;
        let details = json!({"action_id": action.id, "request": action.request});
        self.audit(&mut tx, Audit { actor, action: "runtime.queue", cluster_id: Some(cluster_id), version: None, details })
            .await?;
        tx.commit().await?;
        Ok(action)
    }

    /// One action of a cluster with every agent's result.
    pub async fn runtime_action(&self, cluster_id: i64, action_id: i64) -> Result<RuntimeAction> {
        let row = sqlx::query(&format!("SELECT {ACTION_COLUMNS} FROM runtime_actions WHERE id = $1 AND cluster_id = $2"))
            .bind(action_id)
            .bind(cluster_id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| Error::not_found(format!("runtime action {action_id}")))?;
        let mut action = action_from_row(&row)?;
        let rows = sqlx::query(
            "SELECT r.agent_id, a.name, r.ok, r.output, r.at FROM runtime_results r JOIN agents a ON a.id = r.agent_id \
             WHERE r.action_id = $1 ORDER BY a.name",
        )
        .bind(action_id)
        .fetch_all(self.pool())
        .await?;
        for row in rows {
            let ok: i64 = row.try_get("ok")?;
            action.results.push(RuntimeResult {
                agent_id: row.try_get("agent_id")?,
                agent: row.try_get("name")?,
                ok: ok != 0,
                output: row.try_get("output")?,
                at: row.try_get("at")?,
            });
        }
        Ok(action)
    }

    /// The actions an agent has still to run, oldest first.
    pub async fn pending_runtime_actions(&self, agent_id: i64) -> Result<Vec<RuntimeAction>> {
        let agent = self.agent(agent_id).await?;
        let since = self.now().saturating_sub(ACTION_TTL_MS).max(agent.created_at);
        let rows = sqlx::query(&format!(
            "SELECT {ACTION_COLUMNS} FROM runtime_actions WHERE cluster_id = $1 AND created_at >= $2 \
             AND NOT EXISTS (SELECT 1 FROM runtime_results r WHERE r.action_id = runtime_actions.id AND r.agent_id = $3) \
             ORDER BY created_at, id"
        ))
        .bind(agent.cluster_id)
        .bind(since)
        .bind(agent_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(action_from_row).collect()
    }

    /// Records an agent's results; results for actions of other clusters are refused, a repeated
    /// result is ignored (the first one counts).
    pub async fn record_runtime_results(&self, agent_id: i64, outcomes: &[ActionOutcome]) -> Result<()> {
        let agent = self.agent(agent_id).await?;
        let now = self.now();
        let mut tx = self.write_tx().await?;
        for outcome in outcomes {
            let cluster: Option<i64> = sqlx::query("SELECT cluster_id FROM runtime_actions WHERE id = $1")
                .bind(outcome.action_id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|row| row.try_get("cluster_id"))
                .transpose()?;
            if cluster != Some(agent.cluster_id) {
                return Err(Error::not_found(format!("runtime action {}", outcome.action_id)));
            }
            sqlx::query(
                "INSERT INTO runtime_results (action_id, agent_id, ok, output, at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (action_id, agent_id) DO NOTHING",
            )
            .bind(outcome.action_id)
            .bind(agent_id)
            .bind(i64::from(outcome.ok))
            .bind(&outcome.output)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
