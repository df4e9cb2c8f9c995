//! Pools and clusters.

use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::audit::Audit;
use super::{json_column, to_json, unique_to_conflict, Store};
use crate::error::{Error, Result};
use crate::auth::privileged;
use crate::model::{Actor, Cluster, ClusterSettings, Pool};

fn check_entity_name(what: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "invalid {what} name {name:?}: use 1-100 letters, digits, '-', '_' or '.'"
        )))
    }
}

fn pool_from_row(row: &AnyRow) -> Result<Pool> {
    Ok(Pool {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        created_at: row.try_get("created_at")?,
    })
}

fn cluster_from_row(row: &AnyRow) -> Result<Cluster> {
    Ok(Cluster {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        pool_id: row.try_get("pool_id")?,
        settings: json_column(row, "settings")?,
        desired_version: row.try_get("desired_version")?,
        created_at: row.try_get("created_at")?,
    })
}

const CLUSTER_COLUMNS: &str = "id, name, pool_id, settings, desired_version, created_at";

impl Store {
    /// Creates a pool.
    pub async fn create_pool(&self, actor: &str, name: &str, description: &str) -> Result<Pool> {
        check_entity_name("pool", name)?;
        let pool = Pool { id: self.new_id()?, name: name.into(), description: description.into(), created_at: self.now() };
        let mut tx = self.write_tx().await?;
        sqlx::query("INSERT INTO pools (id, name, description, created_at) VALUES ($1, $2, $3, $4)")
            .bind(pool.id)
            .bind(&pool.name)
            .bind(&pool.description)
            .bind(pool.created_at)
            .execute(&mut *tx)
            .await
            .map_err(|e| unique_to_conflict(e, || format!("pool {name:?} already exists")))?;
        let details = json!({"pool_id": pool.id, "name": name});
        self.audit(&mut tx, Audit { actor, action: "pool.create", cluster_id: None, version: None, details }).await?;
        tx.commit().await?;
        Ok(pool)
    }

    /// Every pool, by name.
    pub async fn pools(&self) -> Result<Vec<Pool>> {
        let rows = sqlx::query("SELECT id, name, description, created_at FROM pools ORDER BY name")
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(pool_from_row).collect()
    }

    /// One pool.
    pub async fn pool_by_id(&self, id: i64) -> Result<Pool> {
        let row = sqlx::query("SELECT id, name, description, created_at FROM pools WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| Error::not_found(format!("pool {id}")))?;
        pool_from_row(&row)
    }

    /// One pool, by name.
    pub async fn pool_by_name(&self, name: &str) -> Result<Pool> {
        let row = sqlx::query("SELECT id, name, description, created_at FROM pools WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| Error::not_found(format!("pool {name:?}")))?;
        pool_from_row(&row)
    }

    /// Creates a cluster in a pool.
    pub async fn create_cluster(&self, actor: &str, name: &str, pool_id: i64, settings: ClusterSettings) -> Result<Cluster> {
        check_entity_name("cluster", name)?;
        if settings.config_path.is_empty() || !settings.config_path.starts_with('/') {
            return Err(Error::invalid(format!("config_path {:?} must be an absolute path", settings.config_path)));
        }
        if !settings.allowed_privileges.is_empty() {
            // Creating a cluster needs only the write permission: the allowance is an admin's
            // settings update, audited on its own.
            return Err(Error::invalid(
                "allowed_privileges cannot be set when creating a cluster: an admin sets it with a settings update",
            ));
        }
        let cluster = Cluster {
            id: self.new_id()?,
            name: name.into(),
            pool_id,
            settings,
            desired_version: None,
            created_at: self.now(),
        };
        let mut tx = self.write_tx().await?;
        let pool_exists = sqlx::query("SELECT id FROM pools WHERE id = $1").bind(pool_id).fetch_optional(&mut *tx).await?;
        if pool_exists.is_none() {
            return Err(Error::not_found(format!("pool {pool_id}")));
        }
        sqlx::query(
            "INSERT INTO clusters (id, name, pool_id, settings, desired_version, created_at) \
             VALUES ($1, $2, $3, $4, NULL, $5)",
        )
        .bind(cluster.id)
        .bind(&cluster.name)
        .bind(pool_id)
        .bind(to_json(&cluster.settings)?)
        .bind(cluster.created_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| unique_to_conflict(e, || format!("cluster {name:?} already exists")))?;
        let details = json!({"name": name, "pool_id": pool_id, "settings": cluster.settings});
        self.audit(&mut tx, Audit { actor, action: "cluster.create", cluster_id: Some(cluster.id), version: None, details })
            .await?;
        tx.commit().await?;
        Ok(cluster)
    }

    /// Every cluster, by name; only a pool's when `pool_id` is given.
    pub async fn clusters(&self, pool_id: Option<i64>) -> Result<Vec<Cluster>> {
        let rows = match pool_id {
            Some(pool) => {
                sqlx::query(&format!("SELECT {CLUSTER_COLUMNS} FROM clusters WHERE pool_id = $1 ORDER BY name"))
                    .bind(pool)
                    .fetch_all(self.pool())
                    .await?
            }
            None => {
                sqlx::query(&format!("SELECT {CLUSTER_COLUMNS} FROM clusters ORDER BY name"))
                    .fetch_all(self.pool())
                    .await?
            }
        };
        rows.iter().map(cluster_from_row).collect()
    }

    /// One cluster.
    pub async fn cluster(&self, id: i64) -> Result<Cluster> {
        let row = sqlx::query(&format!("SELECT {CLUSTER_COLUMNS} FROM clusters WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| Error::not_found(format!("cluster {id}")))?;
        cluster_from_row(&row)
    }

    /// Why version `number` of the cluster should not be applied on its own, `None` when it
    /// may: the agents run the version just before it, so applying it rolls out this change
    /// and nothing else (a change made by a feature, such as a VIP or a certificate, never
    /// carries someone's unapplied edits out with it).
    pub async fn apply_blocker(&self, cluster_id: i64, number: i64) -> Result<Option<String>> {
        let cluster = self.cluster(cluster_id).await?;
        Ok(match cluster.desired_version {
            None => Some(format!("cluster {} has no applied version yet: apply version {number} when ready", cluster.name)),
            Some(runs) if runs + 1 == number => None,
            Some(runs) => Some(format!("cluster {} runs version {runs}; versions after it are not applied yet: apply version {number} to roll them all out", cluster.name)),
        })
    }

    /// One cluster, by name.
    pub async fn cluster_by_name(&self, name: &str) -> Result<Cluster> {
        let row = sqlx::query(&format!("SELECT {CLUSTER_COLUMNS} FROM clusters WHERE name = $1"))
            .bind(name)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| Error::not_found(format!("cluster {name:?}")))?;
        cluster_from_row(&row)
    }

    /// Replaces a cluster's settings. Changing `allowed_privileges` needs the admin role
    /// ([`privileged::authorize_allowance`]).
    pub async fn update_cluster_settings(&self, actor: Actor<'_>, id: i64, settings: ClusterSettings) -> Result<Cluster> {
        if !settings.config_path.starts_with('/') {
            return Err(Error::invalid(format!("config_path {:?} must be an absolute path", settings.config_path)));
        }
        let mut tx = self.write_tx().await?;
        let old = self.settings_in(&mut tx, id).await?;
        privileged::authorize_allowance(actor.role, &old.allowed_privileges, &settings.allowed_privileges)?;
        let actor = actor.name;
        let updated = sqlx::query("UPDATE clusters SET settings = $1 WHERE id = $2")
            .bind(to_json(&settings)?)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if updated.rows_affected() == 0 {
            return Err(Error::not_found(format!("cluster {id}")));
        }
        let details = json!({"settings": settings});
        self.audit(&mut tx, Audit { actor, action: "cluster.settings", cluster_id: Some(id), version: None, details })
            .await?;
        tx.commit().await?;
        self.cluster(id).await
    }

    /// The settings of cluster `id`, inside `tx`.
    pub(crate) async fn settings_in(&self, tx: &mut super::Tx, id: i64) -> Result<ClusterSettings> {
        let row = sqlx::query("SELECT settings FROM clusters WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| Error::not_found(format!("cluster {id}")))?;
        json_column(&row, "settings")
    }

    /// Checks that cluster `id` exists, inside `tx`.
    pub(crate) async fn require_cluster(&self, tx: &mut super::Tx, id: i64) -> Result<()> {
        sqlx::query("SELECT id FROM clusters WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .map(|_| ())
            .ok_or_else(|| Error::not_found(format!("cluster {id}")))
    }
}
