//! Traffic rules at rest (migration 0029; see [`crate::rules`]).
//!
//! ```text
//! create/update/delete/entries: validate -> the cluster's rules after the change
//!   -> rules::with_rules(latest bundle) (regions, stick tables, list files) -> one new version
//!      through the gate (haproxy -c where configured), retried on a concurrent commit
//!   -> then the rule's row
//! ```
//!
//! The version comes first and the row after it, as VIPs and certificate deployments do: the
//! regions are always rendered from every stored row, so a row write lost to a race is corrected
//! by the next change, and a refused version leaves the rows as they were.

use serde_json::json;
use sqlx::any::AnyRow;

use super::versions::Made;
use super::{json_column, to_json, unique_to_conflict, Store};
use crate::error::{Error, Result};
use crate::model::{Actor, Committed};
use crate::rules::{with_rules, Rule};

/// What a change to a rule made: the rule after it (none after a delete) and the version that
/// carries every rule.
#[derive(Debug, Clone)]
pub struct RuleChange {
    /// The rule.
    pub rule: Option<Rule>,
    /// The new version.
    pub committed: Committed,
}

fn rule_from_row(row: &AnyRow) -> Result<Rule> {
    json_column(row, "spec")
}

impl Store {
    /// Every rule of a cluster, in the order they run (priority, then name); 404 for an
    /// unknown cluster.
    pub async fn rules(&self, cluster_id: i64) -> Result<Vec<Rule>> {
        self.cluster(cluster_id).await?;
        let rows = sqlx::query("SELECT spec FROM traffic_rules WHERE cluster_id = $1 ORDER BY name")
            .bind(cluster_id)
            .fetch_all(self.pool())
            .await?;
        let rules: Vec<Rule> = rows.iter().map(rule_from_row).collect::<Result<_>>()?;
        Ok(crate::rules::spec::ordered(&rules).into_iter().cloned().collect())
    }

    /// Rule `name` of the cluster.
    pub async fn rule(&self, cluster_id: i64, name: &str) -> Result<Rule> {
        self.rules(cluster_id)
            .await?
            .into_iter()
            .find(|r| r.name == name)
            .ok_or_else(|| Error::not_found(format!("rule {name} of cluster {cluster_id}")))
    }

    /// Adds a rule: one new version with it rendered. 409 when the name is taken; 422 for a bad
    /// rule or a configuration the gate refuses. Nothing is stored then.
    pub async fn create_rule(&self, actor: Actor<'_>, cluster_id: i64, rule: &Rule) -> Result<RuleChange> {
        let mut all = self.rules(cluster_id).await?;
        rule.validate()?;
        if all.iter().any(|r| r.name == rule.name) {
            return Err(Error::Conflict(format!("rule {} already exists in cluster {cluster_id}", rule.name)));
        }
        all.push(rule.clone());
        let committed = self.commit_rules(actor, cluster_id, &all, "rule.create", &format!("rule {} created", rule.name)).await?;
        let now = self.now();
        sqlx::query("INSERT INTO traffic_rules (id, cluster_id, name, spec, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)")
            .bind(self.new_id()?)
            .bind(cluster_id)
            .bind(&rule.name)
            .bind(to_json(rule)?)
            .bind(actor.name)
            .bind(now)
            .execute(self.pool())
            .await
            .map_err(|e| unique_to_conflict(e, || format!("rule {} already exists", rule.name)))?;
        Ok(RuleChange { rule: Some(rule.clone()), committed })
    }

    /// Replaces rule `name` (the body's name must be the same). Errors as
    /// [`Store::create_rule`], 404 for an unknown rule.
    pub async fn update_rule(&self, actor: Actor<'_>, cluster_id: i64, name: &str, rule: &Rule) -> Result<RuleChange> {
        let all = self.rules_with(cluster_id, name, Some(rule)).await?;
        if rule.name != name {
            return Err(Error::invalid(format!("the body names rule {}, the path {name}: a rule is not renamed", rule.name)));
        }
        rule.validate()?;
        let committed = self.commit_rules(actor, cluster_id, &all, "rule.update", &format!("rule {name} updated")).await?;
        self.write_rule(cluster_id, rule).await?;
        Ok(RuleChange { rule: Some(rule.clone()), committed })
    }

    /// Adds `add` to the list of rule `name` and removes `remove` (ip_allow, ip_deny,
    /// geo_block, geo_allow): a version whose only change is the rule's list file, which agents
    /// take through the runtime API without a reload. 422 for another kind or a bad entry.
    pub async fn rule_entries(&self, actor: Actor<'_>, cluster_id: i64, name: &str, add: &[String], remove: &[String]) -> Result<RuleChange> {
        let rule = self.rule(cluster_id, name).await?.with_entries(add, remove)?;
        let all = self.rules_with(cluster_id, name, Some(&rule)).await?;
        let message = format!("rule {name}: {} entries added, {} removed", add.len(), remove.len());
        let committed = self.commit_rules(actor, cluster_id, &all, "rule.entries", &message).await?;
        self.write_rule(cluster_id, &rule).await?;
        Ok(RuleChange { rule: Some(rule), committed })
    }

    /// Deletes rule `name`: a version without it (with no rule left, the operator's own text).
    pub async fn delete_rule(&self, actor: Actor<'_>, cluster_id: i64, name: &str) -> Result<RuleChange> {
        let all = self.rules_with(cluster_id, name, None).await?;
        let committed = self.commit_rules(actor, cluster_id, &all, "rule.delete", &format!("rule {name} deleted")).await?;
        sqlx::query("DELETE FROM traffic_rules WHERE cluster_id = $1 AND name = $2")
            .bind(cluster_id)
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(RuleChange { rule: None, committed })
    }

    /// Stores the geo map geo rules read at `path` (`geo/countries.map` by default in a rule),
    /// converted from a DB-IP country CSV ([`crate::rules::csv_to_map`]): one new version of the
    /// latest bundle. 422 for a line the converter cannot read (its number named), a bad path, or
    /// a path under `fleet-rules/`.
    pub async fn put_geo_map(&self, actor: Actor<'_>, cluster_id: i64, path: &str, csv: &str) -> Result<Committed> {
        if self.latest_version(cluster_id).await?.is_none() {
            return Err(Error::Conflict(format!("cluster {cluster_id} has no version yet: import its configuration before its geo map")));
        }
        let map = crate::rules::csv_to_map(csv).map_err(|e| Error::invalid(format!("geo CSV {e}")))?;
        let path = crate::bundle::BundlePath::new(path).map_err(|e| Error::invalid(format!("geo map path {path:?}: {e}")))?;
        if path.as_str().starts_with(&format!("{}/", crate::rules::GENERATED_DIR)) {
            return Err(Error::invalid(format!("geo map path {path}: {}/ holds the rules' own files", crate::rules::GENERATED_DIR)));
        }
        let networks = map.lines().count();
        let file = crate::bundle::BundleFile::new(path, crate::bundle::FileKind::Map, map.into_bytes());
        self.put_file(actor, cluster_id, None, file, &format!("geo map: {networks} networks from a country CSV")).await
    }

    /// The cluster's rules with rule `name` replaced by `by` (removed when `None`); 404 when
    /// there is no such rule.
    async fn rules_with(&self, cluster_id: i64, name: &str, by: Option<&Rule>) -> Result<Vec<Rule>> {
        let mut all = self.rules(cluster_id).await?;
        let index = all.iter().position(|r| r.name == name).ok_or_else(|| Error::not_found(format!("rule {name} of cluster {cluster_id}")))?;
        match by {
            Some(rule) => all[index] = rule.clone(),
            None => {
                all.remove(index);
            }
        }
        Ok(all)
    }

    async fn write_rule(&self, cluster_id: i64, rule: &Rule) -> Result<()> {
        sqlx::query("UPDATE traffic_rules SET spec = $1, updated_at = $2 WHERE cluster_id = $3 AND name = $4")
            .bind(to_json(rule)?)
            .bind(self.now())
            .bind(cluster_id)
            .bind(&rule.name)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Commits the latest bundle with `rules` rendered as one version.
    async fn commit_rules(&self, actor: Actor<'_>, cluster_id: i64, rules: &[Rule], action: &str, message: &str) -> Result<Committed> {
        if self.latest_version(cluster_id).await?.is_none() {
            return Err(Error::Conflict(format!("cluster {cluster_id} has no version yet: import its configuration before adding rules")));
        }
        let made = Made::new(action, message, json!({"rules": rules.iter().map(|r| &r.name).collect::<Vec<_>>()}));
        self.change_latest(actor, cluster_id, made, |bundle| with_rules(bundle, rules)).await
    }
}
