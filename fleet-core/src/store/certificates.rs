//! The certificate store (tables in `migrations/0009_certificates.sql`; the rules in
//! [`crate::certs`]). The API other rooms use (ACME stores what it issues here):
//!
//! ```text
//! put_certificate(actor, ring, NewCertificate { name, cluster_id, upload })  -> Certificate
//! replace_certificate(actor, ring, id, upload)   -> Replaced { certificate, rollouts: one per deployment }
//! deploy_certificate(actor, ring, id, cluster_id, path, crt_list) -> Deployed { deployment, committed }
//! undeploy_certificate(actor, id, cluster_id, path) -> Committed;  delete_certificate(actor, id)
//! certificate(id) | certificate_by_name(name) | certificates() | deployments(id)
//! certificate_status(id) | expiry_warnings() (what nodes serve: [`super::served`])
//! ```
//!
//! Private keys live sealed in `sealed_secrets` (`certificate/<id>`, purpose
//! `certificate-key:<id>`) and are opened only to build the combined file a bundle ships to
//! agents; no method here returns one.
//!
//! A replacement first stores the new revision (one database transaction with its audit entry),
//! then writes it into each cluster that uses it, one new version per cluster through the same
//! path as every file write (`change_latest` -> `commit_bundle`: the gate, the audit entry in
//! the version's transaction). A cluster whose gate refuses the new file keeps its version and is
//! reported in [`Rollout::error`]; its deployment keeps the old revision, which the status shows.

use serde::Serialize;
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::audit::Audit;
use super::versions::Made;
use super::{is_unique_violation, json_column, to_json, Store, Tx};
use crate::bundle::{Bundle, BundleFile, BundlePath, FileKind};
use crate::certs::record::{self, check_name, warning_due, warning_text};
use crate::certs::{inspect, pem, Certificate, CertificateFacts, CertificateStatus, CrtListEntry, Deployment, DeploymentStatus, NodeServes, Upload};
use crate::error::{Error, Result};
use crate::model::{Actor, Committed};
use crate::secrets::{Keyring, Purpose};

/// A certificate to store.
#[derive(Debug, Clone, Copy)]
pub struct NewCertificate<'a> {
    /// Unique name ([`record::check_name`]).
    pub name: &'a str,
    /// `None`: global; else the one cluster that may use it.
    pub cluster_id: Option<i64>,
    /// The PEM texts.
    pub upload: Upload<'a>,
}

/// What one cluster got from a replacement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rollout {
    /// The cluster.
    pub cluster_id: i64,
    /// The path in its bundle.
    pub path: BundlePath,
    /// The new version, when one was made.
    pub version: Option<i64>,
    /// Why none was made (the gate's or the database's words).
    pub error: Option<String>,
}

/// A replaced certificate and the versions it made.
#[derive(Debug, Clone, PartialEq)]
pub struct Replaced {
    /// The new revision's record.
    pub certificate: Certificate,
    /// One per deployment.
    pub rollouts: Vec<Rollout>,
}

/// A deploy's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployed {
    /// Where it is now.
    pub deployment: Deployment,
    /// The version that placed it.
    pub committed: Committed,
}

/// Where a write puts a certificate.
#[derive(Debug, Clone, Copy)]
struct Placement<'a> {
    cluster_id: i64,
    path: &'a BundlePath,
    /// The crt-list file, and `Some(options)` to set the certificate's line there (`None`
    /// keeps the line as it is).
    crt_list: Option<(&'a BundlePath, Option<&'a str>)>,
}

/// The `sealed_secrets` name of a certificate's key.
pub(super) fn secret_name(id: i64) -> String {
    format!("certificate/{id}")
}

fn key_purpose(id: i64) -> Purpose {
    Purpose::new("certificate-key", &id.to_string())
}

const COLUMNS: &str = "id, name, cluster_id, facts, revision, created_at, updated_at";

fn certificate_from_row(row: &AnyRow) -> Result<Certificate> {
    Ok(Certificate {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        cluster_id: row.try_get("cluster_id")?,
        revision: row.try_get("revision")?,
        facts: json_column::<CertificateFacts>(row, "facts")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn deployment_from_row(row: &AnyRow) -> Result<Deployment> {
    let path: String = row.try_get("path")?;
    let crt_list: Option<String> = row.try_get("crt_list")?;
    let corrupt = |e: crate::bundle::PathError| Error::Corrupt(format!("stored deployment path: {e}"));
    Ok(Deployment {
        certificate_id: row.try_get("certificate_id")?,
        cluster_id: row.try_get("cluster_id")?,
        path: BundlePath::new(&path).map_err(corrupt)?,
        crt_list: crt_list.map(|p| BundlePath::new(&p).map_err(corrupt)).transpose()?,
        version: row.try_get("version")?,
        revision: row.try_get("revision")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl Store {
    /// Stores a new certificate after [`inspect`] (every refusal is [`Error::Invalid`], and
    /// nothing is stored): its facts and chain in `certificates`, its key sealed with `ring`,
    /// an audit entry `certificate.create`. A taken name is [`Error::Conflict`]; an unknown
    /// `cluster_id` [`Error::NotFound`].
    pub async fn put_certificate(&self, actor: Actor<'_>, ring: &Keyring, new: NewCertificate<'_>) -> Result<Certificate> {
        check_name(new.name)?;
        let inspected = inspect(&new.upload, self.now())?;
        if let Some(cluster_id) = new.cluster_id {
            self.cluster(cluster_id).await?;
        }
        let id = self.new_id()?;
        let sealed = ring.seal(&key_purpose(id), inspected.key.pem().as_bytes(), self.random())?;
        let now = self.now();
        let mut tx = self.write_tx().await?;
        let inserted = sqlx::query(
            "INSERT INTO certificates (id, name, cluster_id, chain_pem, facts, not_after, fingerprint_sha256, revision, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8)",
        )
        .bind(id)
        .bind(new.name)
        .bind(new.cluster_id)
        .bind(&inspected.chain_pem)
        .bind(to_json(&inspected.facts)?)
        .bind(inspected.facts.not_after)
        .bind(&inspected.facts.fingerprint_sha256)
        .bind(now)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Err(Error::Conflict(format!("a certificate named {} exists", new.name))),
            Err(e) => return Err(e.into()),
        }
        sqlx::query(
            "INSERT INTO sealed_secrets (name, purpose, public, sealed, created_at, updated_at) VALUES ($1, $2, NULL, $3, $4, $4)",
        )
        .bind(secret_name(id))
        .bind(key_purpose(id).as_str())
        .bind(sealed.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let details = json!({
            "certificate_id": id, "name": new.name, "scope_cluster_id": new.cluster_id,
            "fingerprint_sha256": inspected.facts.fingerprint_sha256, "not_after": inspected.facts.not_after,
        });
        self.audit(&mut tx, Audit { actor: actor.name, action: "certificate.create", cluster_id: new.cluster_id, version: None, details })
            .await?;
        tx.commit().await?;
        self.certificate(id).await
    }

    /// Certificate `id` ([`Error::NotFound`] when there is none).
    pub async fn certificate(&self, id: i64) -> Result<Certificate> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM certificates WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| Error::not_found(format!("certificate {id}")))?;
        certificate_from_row(&row)
    }

    /// The certificate called `name`, if any.
    pub async fn certificate_by_name(&self, name: &str) -> Result<Option<Certificate>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM certificates WHERE name = $1"))
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(certificate_from_row).transpose()
    }

    /// Every certificate, by name.
    pub async fn certificates(&self) -> Result<Vec<Certificate>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM certificates ORDER BY name")).fetch_all(self.pool()).await?;
        rows.iter().map(certificate_from_row).collect()
    }

    /// Where certificate `id` is deployed, by cluster and path.
    pub async fn deployments(&self, id: i64) -> Result<Vec<Deployment>> {
        let rows = sqlx::query(
            "SELECT certificate_id, cluster_id, path, crt_list, version, revision, updated_at FROM certificate_deployments \
             WHERE certificate_id = $1 ORDER BY cluster_id, path",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(deployment_from_row).collect()
    }

    /// The combined file (chain then key) of certificate `id`'s current revision, the key
    /// opened with `ring`. Crate-only: it holds the private key.
    async fn combined_file(&self, ring: &Keyring, id: i64) -> Result<String> {
        let row = sqlx::query("SELECT chain_pem FROM certificates WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| Error::not_found(format!("certificate {id}")))?;
        let chain: String = row.try_get("chain_pem")?;
        let key = self.certificate_key(ring, id).await?;
        Ok(crate::certs::combined_pem(&chain, &key))
    }

    async fn certificate_key(&self, ring: &Keyring, id: i64) -> Result<String> {
        let secret = self
            .sealed_secret(&secret_name(id))
            .await?
            .ok_or_else(|| Error::Corrupt(format!("certificate {id} has no sealed key")))?;
        let key = ring.open(&secret.purpose, &secret.sealed)?;
        String::from_utf8(key).map_err(|_| Error::Corrupt(format!("certificate {id}: key is not PEM text")))
    }

    /// Replaces certificate `id` with a new revision (checked like an upload; without a key in
    /// the upload the stored key is kept, as for a renewal on the same key), then writes it
    /// into every cluster that uses it: one new version each (see the module docs).
    pub async fn replace_certificate(&self, actor: Actor<'_>, ring: &Keyring, id: i64, upload: Upload<'_>) -> Result<Replaced> {
        let old = self.certificate(id).await?;
        let stored_key;
        let mut upload = upload;
        let texts: Vec<(&str, &str)> = [Some(("certificate", upload.certificate)), upload.chain.map(|c| ("chain", c)), upload.private_key.map(|k| ("private_key", k))]
            .into_iter()
            .flatten()
            .collect();
        if pem::split(&texts)?.key.is_none() {
            stored_key = self.certificate_key(ring, id).await?;
            upload.private_key = Some(&stored_key);
        }
        let inspected = inspect(&upload, self.now())?;
        let sealed = ring.seal(&key_purpose(id), inspected.key.pem().as_bytes(), self.random())?;
        let now = self.now();
        let mut tx = self.write_tx().await?;
        let updated = sqlx::query(
            "UPDATE certificates SET chain_pem = $1, facts = $2, not_after = $3, fingerprint_sha256 = $4, revision = revision + 1, \
             warned_days = NULL, updated_at = $5 WHERE id = $6 AND revision = $7",
        )
        .bind(&inspected.chain_pem)
        .bind(to_json(&inspected.facts)?)
        .bind(inspected.facts.not_after)
        .bind(&inspected.facts.fingerprint_sha256)
        .bind(now)
        .bind(id)
        .bind(old.revision)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(Error::Conflict(format!("certificate {} was replaced meanwhile: try again", old.name)));
        }
        sqlx::query("UPDATE sealed_secrets SET sealed = $1, updated_at = $2 WHERE name = $3")
            .bind(sealed.as_str())
            .bind(now)
            .bind(secret_name(id))
            .execute(&mut *tx)
            .await?;
        let details = json!({
            "certificate_id": id, "name": old.name, "revision": old.revision + 1,
            "fingerprint_sha256": inspected.facts.fingerprint_sha256, "previous_fingerprint_sha256": old.facts.fingerprint_sha256,
            "not_after": inspected.facts.not_after,
        });
        self.audit(&mut tx, Audit { actor: actor.name, action: "certificate.replace", cluster_id: old.cluster_id, version: None, details })
            .await?;
        tx.commit().await?;
        let certificate = self.certificate(id).await?;
        let combined = inspected.combined_pem();
        let mut rollouts = Vec::new();
        for deployment in self.deployments(id).await? {
            let message = format!("certificate {} revision {}", certificate.name, certificate.revision);
            let placement = Placement {
                cluster_id: deployment.cluster_id,
                path: &deployment.path,
                crt_list: deployment.crt_list.as_ref().map(|p| (p, None)),
            };
            let written = self.write_certificate(actor, &certificate, placement, &combined, "certificate.replace", &message).await;
            rollouts.push(match written {
                Ok(committed) => Rollout { cluster_id: deployment.cluster_id, path: deployment.path, version: Some(committed.version.number), error: None },
                Err(e) => Rollout { cluster_id: deployment.cluster_id, path: deployment.path, version: None, error: Some(e.to_string()) },
            });
        }
        Ok(Replaced { certificate, rollouts })
    }

    /// Places certificate `id` into cluster `cluster_id`'s bundle at `path` (default
    /// `certs/<name>.pem`) as HAProxy's combined file (mode 0600), and, with `crt_list`, sets
    /// its line in that crt-list file: one new version on the latest, audited
    /// `certificate.deploy`. Refused: a certificate bound to another cluster
    /// ([`Error::Invalid`]), a path holding another stored certificate ([`Error::Conflict`]).
    pub async fn deploy_certificate(
        &self,
        actor: Actor<'_>,
        ring: &Keyring,
        id: i64,
        cluster_id: i64,
        path: Option<BundlePath>,
        crt_list: Option<&CrtListEntry>,
    ) -> Result<Deployed> {
        let certificate = self.certificate(id).await?;
        certificate.usable_in(cluster_id)?;
        self.cluster(cluster_id).await?;
        let path = match path {
            Some(path) => path,
            None => certificate.default_path()?,
        };
        let list = crt_list.map(|entry| BundlePath::new(&entry.path).map(|p| (p, Some(entry.options.as_str())))).transpose()?;
        if let Some(holder) = self.deployment_at(cluster_id, &path).await? {
            if holder.certificate_id != id {
                return Err(Error::Conflict(format!(
                    "{path} in cluster {cluster_id} holds certificate {}: undeploy it first",
                    holder.certificate_id
                )));
            }
        }
        let combined = self.combined_file(ring, id).await?;
        let message = format!("deploy certificate {} revision {}", certificate.name, certificate.revision);
        let committed = self
            .write_certificate(
                actor,
                &certificate,
                Placement { cluster_id, path: &path, crt_list: list.as_ref().map(|(p, o)| (p, *o)) },
                &combined,
                "certificate.deploy",
                &message,
            )
            .await?;
        let deployment = self.deployment_at(cluster_id, &path).await?.ok_or_else(|| Error::Corrupt(format!("deployment of {path} vanished")))?;
        Ok(Deployed { deployment, committed })
    }

    async fn deployment_at(&self, cluster_id: i64, path: &BundlePath) -> Result<Option<Deployment>> {
        let row = sqlx::query(
            "SELECT certificate_id, cluster_id, path, crt_list, version, revision, updated_at FROM certificate_deployments \
             WHERE cluster_id = $1 AND path = $2",
        )
        .bind(cluster_id)
        .bind(path.as_str())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(deployment_from_row).transpose()
    }

    /// Writes `combined` at the placement's path (and its crt-list line) into the cluster's
    /// latest bundle as one new version, then records the deployment.
    async fn write_certificate(
        &self,
        actor: Actor<'_>,
        certificate: &Certificate,
        placement: Placement<'_>,
        combined: &str,
        action: &str,
        message: &str,
    ) -> Result<Committed> {
        let Placement { cluster_id, path, crt_list } = placement;
        let settings = self.cluster(cluster_id).await?.settings;
        let served_name = format!("{}/{}", settings.managed_dir().trim_end_matches('/'), path);
        let details = json!({
            "certificate_id": certificate.id, "name": certificate.name, "revision": certificate.revision, "path": path,
            "crt_list": crt_list.map(|(p, _)| p), "fingerprint_sha256": certificate.facts.fingerprint_sha256,
        });
        let file = BundleFile::new(path.clone(), FileKind::Certificate, combined.as_bytes().to_vec());
        let change = |latest: &Bundle| -> Result<Bundle> {
            let mut bundle = latest.with_file(file.clone())?;
            if let Some((list, Some(options))) = crt_list {
                let old = bundle.file(list).and_then(|f| f.text()).unwrap_or_default().to_string();
                let content = record::crt_list_with(&old, &served_name, options);
                bundle = bundle.with_file(BundleFile::new(list.clone(), FileKind::CrtList, content.into_bytes()))?;
            }
            Ok(bundle)
        };
        let committed = self.change_latest(actor, cluster_id, Made::new(action, message, details), change).await?;
        let now = self.now();
        let mut tx = self.write_tx().await?;
        self.upsert_deployment(&mut tx, certificate, cluster_id, path, crt_list.map(|(p, _)| p), committed.version.number, now).await?;
        tx.commit().await?;
        Ok(committed)
    }

    #[allow(clippy::too_many_arguments)]
    async fn upsert_deployment(
        &self,
        tx: &mut Tx,
        certificate: &Certificate,
        cluster_id: i64,
        path: &BundlePath,
        crt_list: Option<&BundlePath>,
        version: i64,
        now: i64,
    ) -> Result<()> {
        let updated = sqlx::query(
            "UPDATE certificate_deployments SET certificate_id = $1, crt_list = COALESCE($2, crt_list), version = $3, revision = $4, updated_at = $5 \
             WHERE cluster_id = $6 AND path = $7",
        )
        .bind(certificate.id)
        .bind(crt_list.map(BundlePath::as_str))
        .bind(version)
        .bind(certificate.revision)
        .bind(now)
        .bind(cluster_id)
        .bind(path.as_str())
        .execute(&mut **tx)
        .await?;
        if updated.rows_affected() == 0 {
            sqlx::query(
                "INSERT INTO certificate_deployments (cluster_id, path, certificate_id, crt_list, version, revision, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
            )
            .bind(cluster_id)
            .bind(path.as_str())
            .bind(certificate.id)
            .bind(crt_list.map(BundlePath::as_str))
            .bind(version)
            .bind(certificate.revision)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }
}

/// A certificate whose expiry threshold was reached and written to the audit log now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpiryWarning {
    /// The certificate.
    pub certificate_id: i64,
    /// Its name.
    pub name: String,
    /// Whole days left (negative once expired).
    pub days_left: i64,
    /// The threshold reached: 30, 14, 7, or 0 (expired).
    pub threshold_days: i64,
    /// The sentence logged.
    pub message: String,
}

impl Store {
    /// Removes certificate `id` from `path` in cluster `cluster_id`: the file (and its crt-list
    /// line) leave the bundle in one new version, audited `certificate.undeploy`.
    pub async fn undeploy_certificate(&self, actor: Actor<'_>, id: i64, cluster_id: i64, path: &BundlePath) -> Result<Committed> {
        let certificate = self.certificate(id).await?;
        let deployment = self
            .deployment_at(cluster_id, path)
            .await?
            .filter(|d| d.certificate_id == id)
            .ok_or_else(|| Error::not_found(format!("deployment of certificate {id} at {path} in cluster {cluster_id}")))?;
        let settings = self.cluster(cluster_id).await?.settings;
        let served_name = format!("{}/{}", settings.managed_dir().trim_end_matches('/'), path);
        let details = json!({"certificate_id": id, "name": certificate.name, "path": path});
        let message = format!("undeploy certificate {}", certificate.name);
        let change = |latest: &Bundle| -> Result<Bundle> {
            let mut bundle = match latest.without_file(path) {
                Some(bundle) => bundle?,
                None => latest.clone(),
            };
            if let Some(list) = &deployment.crt_list {
                if let Some(text) = bundle.file(list).and_then(|f| f.text()) {
                    let kept: String =
                        text.split_inclusive('\n').filter(|l| l.split_whitespace().next() != Some(served_name.as_str())).collect();
                    bundle = bundle.with_file(BundleFile::new(list.clone(), FileKind::CrtList, kept.into_bytes()))?;
                }
            }
            Ok(bundle)
        };
        let committed = self.change_latest(actor, cluster_id, Made::new("certificate.undeploy", &message, details), change).await?;
        sqlx::query("DELETE FROM certificate_deployments WHERE cluster_id = $1 AND path = $2 AND certificate_id = $3")
            .bind(cluster_id)
            .bind(path.as_str())
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(committed)
    }

    /// Deletes certificate `id` and its sealed key, audited `certificate.delete`. Refused with
    /// [`Error::Conflict`] while it is deployed anywhere (undeploy first: deleting it would
    /// leave clusters serving a certificate nobody tracks).
    pub async fn delete_certificate(&self, actor: Actor<'_>, id: i64) -> Result<()> {
        let certificate = self.certificate(id).await?;
        let mut tx = self.write_tx().await?;
        let used = sqlx::query("SELECT cluster_id, path FROM certificate_deployments WHERE certificate_id = $1 ORDER BY cluster_id, path")
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
        if let Some(row) = used.first() {
            let (cluster_id, path): (i64, String) = (row.try_get("cluster_id")?, row.try_get("path")?);
            return Err(Error::Conflict(format!(
                "certificate {} is deployed ({} place(s), e.g. cluster {cluster_id} at {path}): undeploy it first",
                certificate.name,
                used.len()
            )));
        }
        sqlx::query("DELETE FROM certificates WHERE id = $1").bind(id).execute(&mut *tx).await?;
        // A deleted certificate is no longer renewed (certs::renewal).
        sqlx::query("DELETE FROM renewals WHERE certificate_id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM sealed_secrets WHERE name = $1").bind(secret_name(id)).execute(&mut *tx).await?;
        let details = json!({"certificate_id": id, "name": certificate.name, "fingerprint_sha256": certificate.facts.fingerprint_sha256});
        self.audit(&mut tx, Audit { actor: actor.name, action: "certificate.delete", cluster_id: certificate.cluster_id, version: None, details })
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Certificate `id`'s expiry and rollout: days left, the warning reached, each deployment
    /// with the version holding it and what each of the cluster's nodes serves at its path.
    pub async fn certificate_status(&self, id: i64) -> Result<CertificateStatus> {
        let certificate = self.certificate(id).await?;
        let now = self.now();
        let days_left = record::days_left(certificate.facts.not_after, now);
        let warning_days = record::threshold_reached(certificate.facts.not_after, now);
        let mut deployments = Vec::new();
        for deployment in self.deployments(id).await? {
            let rows = sqlx::query(
                "SELECT s.agent_id, a.name, s.filename, s.sha1, s.serial, s.reported_at FROM served_certificates s \
                 JOIN agents a ON a.id = s.agent_id WHERE a.cluster_id = $1 ORDER BY a.name, s.filename",
            )
            .bind(deployment.cluster_id)
            .fetch_all(self.pool())
            .await?;
            let mut nodes = Vec::new();
            for row in &rows {
                let filename: String = row.try_get("filename")?;
                if !record::serves_path(&filename, &deployment.path) {
                    continue;
                }
                let sha1: String = row.try_get("sha1")?;
                nodes.push(NodeServes {
                    agent_id: row.try_get("agent_id")?,
                    agent: row.try_get("name")?,
                    filename,
                    current: sha1.eq_ignore_ascii_case(&certificate.facts.fingerprint_sha1),
                    sha1,
                    serial: row.try_get("serial")?,
                    reported_at: row.try_get("reported_at")?,
                });
            }
            let current = deployment.revision == certificate.revision;
            deployments.push(DeploymentStatus { deployment, current, nodes });
        }
        let renewal = self.renewal(id).await?.map(|r| r.status(now));
        Ok(CertificateStatus {
            warning: warning_days.map(|t| warning_text(&certificate.name, days_left, t)),
            certificate,
            days_left,
            warning_days,
            deployments,
            renewal,
        })
    }

    /// Writes an audit entry `certificate.expiry_warning` for each certificate that reached an
    /// expiry threshold (30, 14, 7 days, expired) it was not yet warned about in this revision,
    /// and returns them (the server logs them). A conditional update claims each warning, so
    /// several server replicas write it once.
    pub async fn expiry_warnings(&self) -> Result<Vec<ExpiryWarning>> {
        let now = self.now();
        let rows = sqlx::query("SELECT id, name, cluster_id, not_after, warned_days, revision FROM certificates ORDER BY name")
            .fetch_all(self.pool())
            .await?;
        let mut warnings = Vec::new();
        for row in &rows {
            let (id, not_after): (i64, i64) = (row.try_get("id")?, row.try_get("not_after")?);
            let Some(threshold) = warning_due(not_after, now, row.try_get("warned_days")?) else { continue };
            let name: String = row.try_get("name")?;
            let days_left = record::days_left(not_after, now);
            let message = warning_text(&name, days_left, threshold);
            let mut tx = self.write_tx().await?;
            let claimed = sqlx::query(
                "UPDATE certificates SET warned_days = $1 WHERE id = $2 AND revision = $3 AND (warned_days IS NULL OR warned_days > $1)",
            )
            .bind(threshold)
            .bind(id)
            .bind(row.try_get::<i64, _>("revision")?)
            .execute(&mut *tx)
            .await?;
            if claimed.rows_affected() == 0 {
                continue;
            }
            let details = json!({"certificate_id": id, "name": name, "days_left": days_left, "threshold_days": threshold, "not_after": not_after, "message": message});
            let cluster_id = row.try_get("cluster_id")?;
            self.audit(&mut tx, Audit { actor: "system", action: "certificate.expiry_warning", cluster_id, version: None, details }).await?;
            tx.commit().await?;
            warnings.push(ExpiryWarning { certificate_id: id, name, days_left, threshold_days: threshold, message });
        }
        Ok(warnings)
    }

    /// `(certificate name, cluster name, notAfter ms)` of every deployment, and of every
    /// certificate deployed nowhere with an empty cluster: the metric
    /// `fleet_certificate_expiry_timestamp_seconds{certificate,cluster}`.
    pub async fn certificate_expiries(&self) -> Result<Vec<(String, String, i64)>> {
        let rows = sqlx::query(
            "SELECT c.name AS certificate, COALESCE(k.name, '') AS cluster, c.not_after FROM certificates c \
             LEFT JOIN certificate_deployments d ON d.certificate_id = c.id LEFT JOIN clusters k ON k.id = d.cluster_id \
             ORDER BY c.name, k.name",
        )
        .fetch_all(self.pool())
        .await?;
        let mut out: Vec<(String, String, i64)> = Vec::with_capacity(rows.len());
        for row in &rows {
            let entry = (row.try_get("certificate")?, row.try_get("cluster")?, row.try_get("not_after")?);
            // One series per certificate and cluster, however many paths it has there.
            if out.last() != Some(&entry) {
                out.push(entry);
            }
        }
        Ok(out)
    }
}
