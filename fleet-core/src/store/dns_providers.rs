//! DNS providers at rest (table `dns_providers`, migration 0011): settings as JSON, the secret
//! sealed in `sealed_secrets` (see [`crate::dns`] for the model and its checks).
//!
//! ```text
//! create: check (nothing written on bad input) -> seal secret -> one transaction:
//!         provider row + sealed row `dns-provider/<id>` + audit `dns_provider.create`
//! delete: one transaction: both rows + audit `dns_provider.delete`
//! provider(id, ring): row + sealed secret opened with the ring -> Box<dyn DnsProvider>
//! ```

use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::audit::Audit;
use super::{json_column, to_json, unique_to_conflict, Store};
use crate::dns::{open, test_connection, ConnectionTest, DnsProvider, DnsProviderInfo, DnsProviderSettings, NewDnsProvider};
use crate::error::{Error, Result};
use crate::secrets::{Keyring, Purpose};

const COLUMNS: &str = "id, name, zone, settings, secret_name, created_by, created_at";

/// What a provider's secret is sealed as: bound to its id, so it opens for no other provider.
fn purpose(id: i64) -> Purpose {
    Purpose::new("dns-provider", &id.to_string())
}

fn info_from_row(row: &AnyRow) -> Result<DnsProviderInfo> {
    Ok(DnsProviderInfo {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        zone: row.try_get("zone")?,
        settings: json_column::<DnsProviderSettings>(row, "settings")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
    })
}

fn kind(settings: &DnsProviderSettings) -> &'static str {
    settings.kind()
}

impl Store {
    /// Stores a provider after checking it (422 on bad input, 409 on a taken name; nothing is
    /// written then), its secret sealed with `ring`. Returns what users see of it.
    pub async fn create_dns_provider(&self, actor: &str, ring: &Keyring, new: &NewDnsProvider) -> Result<DnsProviderInfo> {
        let (zone, settings, secret) = new.check()?;
        let id = self.new_id()?;
        let info = DnsProviderInfo {
            id,
            name: new.name.trim().to_string(),
            zone,
            settings,
            created_by: actor.to_string(),
            created_at: self.now(),
        };
        let sealed = ring.seal(&purpose(id), secret.as_bytes(), self.random())?;
        let secret_name = format!("dns-provider/{id}");
        let mut tx = self.write_tx().await?;
        sqlx::query(&format!("INSERT INTO dns_providers ({COLUMNS}, kind) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"))
            .bind(info.id)
            .bind(&info.name)
            .bind(&info.zone)
            .bind(to_json(&info.settings)?)
            .bind(&secret_name)
            .bind(&info.created_by)
            .bind(info.created_at)
            .bind(kind(&info.settings))
            .execute(&mut *tx)
            .await
            .map_err(|e| unique_to_conflict(e, || format!("dns provider {:?} already exists", info.name)))?;
        sqlx::query(
            "INSERT INTO sealed_secrets (name, purpose, public, sealed, created_at, updated_at) VALUES ($1, $2, NULL, $3, $4, $4)",
        )
        .bind(&secret_name)
        .bind(purpose(id).as_str())
        .bind(sealed.as_str())
        .bind(info.created_at)
        .execute(&mut *tx)
        .await?;
        let details = json!({"dns_provider_id": id, "name": info.name, "kind": kind(&info.settings), "zone": info.zone});
        self.audit(&mut tx, Audit { actor, action: "dns_provider.create", cluster_id: None, version: None, details }).await?;
        tx.commit().await?;
        Ok(info)
    }

    /// Every provider, by name (no secrets).
    pub async fn dns_providers(&self) -> Result<Vec<DnsProviderInfo>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM dns_providers ORDER BY name")).fetch_all(self.pool()).await?;
        rows.iter().map(info_from_row).collect()
    }

    /// One provider (no secret); 404 when unknown.
    pub async fn dns_provider(&self, id: i64) -> Result<DnsProviderInfo> {
        info_from_row(&self.dns_provider_row(id).await?)
    }

    async fn dns_provider_row(&self, id: i64) -> Result<AnyRow> {
        sqlx::query(&format!("SELECT {COLUMNS} FROM dns_providers WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| Error::not_found(format!("dns provider {id}")))
    }

    /// Deletes a provider and its sealed secret; 404 when unknown.
    pub async fn delete_dns_provider(&self, actor: &str, id: i64) -> Result<()> {
        let info = self.dns_provider(id).await?;
        let mut tx = self.write_tx().await?;
        let deleted = sqlx::query("DELETE FROM dns_providers WHERE id = $1").bind(id).execute(&mut *tx).await?;
        if deleted.rows_affected() == 0 {
            return Err(Error::not_found(format!("dns provider {id}")));
        }
        sqlx::query("DELETE FROM sealed_secrets WHERE name = $1").bind(format!("dns-provider/{id}")).execute(&mut *tx).await?;
        let details = json!({"dns_provider_id": id, "name": info.name});
        self.audit(&mut tx, Audit { actor, action: "dns_provider.delete", cluster_id: None, version: None, details }).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The provider that changes `name`: `explicit` when given (it must hold the name), else
    /// the one whose zone is the longest suffix of `name`. Errors: [`Error::Invalid`] naming
    /// the name when no provider holds it; [`Error::NotFound`] for an unknown `explicit`.
    pub async fn dns_provider_for(&self, name: &str, explicit: Option<i64>) -> Result<DnsProviderInfo> {
        if let Some(id) = explicit {
            let info = self.dns_provider(id).await?;
            if !crate::dns::in_zone(name, &info.zone) {
                return Err(Error::invalid(format!("dns_provider_id: {name} is not in zone {} of dns provider {}", info.zone, info.name)));
            }
            return Ok(info);
        }
        self.dns_providers()
            .await?
            .into_iter()
            .filter(|p| crate::dns::in_zone(name, &p.zone))
            .max_by_key(|p| p.zone.trim_end_matches('.').len())
            .ok_or_else(|| Error::invalid(format!("no dns provider holds {name}: add one for its zone (POST /api/v1/dns-providers) or give dns_provider_id")))
    }

    /// The provider `id`, ready to change DNS: its secret opened with `ring`. 404 when unknown;
    /// a crypto error when the ring cannot open the secret.
    pub async fn open_dns_provider(&self, id: i64, ring: &Keyring) -> Result<Box<dyn DnsProvider>> {
        let row = self.dns_provider_row(id).await?;
        let info = info_from_row(&row)?;
        let secret_name: String = row.try_get("secret_name")?;
        let stored = self.sealed_secret(&secret_name).await?.ok_or_else(|| Error::Corrupt(format!("dns provider {id}: secret missing")))?;
        let secret = ring.open(&purpose(id), &stored.sealed)?;
        let secret = String::from_utf8(secret).map_err(|_| Error::Corrupt(format!("dns provider {id}: secret is not text")))?;
        open(&info.zone, &info.settings, &secret).map_err(|e| Error::Corrupt(format!("dns provider {id}: {e}")))
    }

    /// "Test connection" of provider `id` ([`crate::dns::DnsProvider::check`]): the zone read
    /// through the provider with its stored credentials. A failing provider is an answer
    /// (`ok: false` with the reason), not an error. Errors: 404 for an unknown id; the ring
    /// cannot open the secret.
    pub async fn test_dns_provider(&self, id: i64, ring: &Keyring) -> Result<ConnectionTest> {
        let provider = self.open_dns_provider(id, ring).await?;
        Ok(test_connection(provider.as_ref()).await)
    }
}
