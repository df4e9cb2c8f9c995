//! ACME accounts and orders at rest (migration 0010; see [`crate::certs::acme`]): accounts with
//! their credentials sealed, orders with their events, the lease a server task holds on an
//! order, and the versions an order makes in its clusters.

use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::audit::Audit;
use super::versions::Made;
use super::{json_column, to_json, Store};
use crate::bundle::{Bundle, BundlePath};
use crate::certs::acme::{
    account_secret_name, client, dns01_record_name, http01, order_key_secret_name, AcmeAccount, AcmeOrder, ChallengeKind, KeyType, NewAccount,
    NewOrder, OrderEvent, OrderStatus,
};
use crate::error::{Error, Result};
use crate::model::{Actor, Committed, Role};
use crate::secrets::{Keyring, Purpose};

/// At most this many names in one order (Let's Encrypt's limit).
pub const MAX_ORDER_NAMES: usize = 100;

const ACCOUNT_COLUMNS: &str = "id, directory_url, contact, ca_pem, eab_kid, account_url, created_by, created_at";
const ORDER_COLUMNS: &str = "id, account_id, names, challenge, clusters, frontends, certificate_id, path, key_type, auto_apply, \
                             dns_provider_id, status, order_url, error, certificate_pem, created_by, created_at, updated_at";

fn account_from_row(row: &AnyRow) -> Result<AcmeAccount> {
    Ok(AcmeAccount {
        id: row.try_get("id")?,
        directory_url: row.try_get("directory_url")?,
        contact: json_column(row, "contact")?,
        private_ca: row.try_get::<Option<String>, _>("ca_pem")?.is_some(),
        eab_kid: row.try_get("eab_kid")?,
        account_url: row.try_get("account_url")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
    })
}

fn order_from_row(row: &AnyRow) -> Result<AcmeOrder> {
    let status: String = row.try_get("status")?;
    let challenge: String = row.try_get("challenge")?;
    let key_type: String = row.try_get("key_type")?;
    Ok(AcmeOrder {
        id: row.try_get("id")?,
        status: OrderStatus::parse(&status).ok_or_else(|| Error::Corrupt(format!("acme order status {status:?}")))?,
        account_id: row.try_get("account_id")?,
        names: json_column(row, "names")?,
        challenge: serde_json::from_value(json!(challenge)).map_err(|_| Error::Corrupt(format!("acme challenge {challenge:?}")))?,
        clusters: json_column(row, "clusters")?,
        frontends: json_column(row, "frontends")?,
        certificate_id: row.try_get("certificate_id")?,
        path: row.try_get("path")?,
        key_type: KeyType::parse(&key_type).ok_or_else(|| Error::Corrupt(format!("acme key type {key_type:?}")))?,
        auto_apply: row.try_get::<i64, _>("auto_apply")? != 0,
        dns_provider_id: row.try_get("dns_provider_id")?,
        order_url: row.try_get("order_url")?,
        error: row.try_get("error")?,
        certificate_pem: row.try_get("certificate_pem")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        events: Vec::new(),
    })
}

/// What a step of the driver changes on an order besides its status and event.
#[derive(Debug, Default, Clone)]
pub struct OrderUpdate {
    /// The order's URL at the CA.
    pub order_url: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// The issued chain.
    pub certificate_pem: Option<String>,
    /// The certificate store's entry it went into.
    pub certificate_id: Option<i64>,
}

/// A checked order request: its names deduplicated, its path and frontends settled.
struct Checked {
    names: Vec<String>,
    path: BundlePath,
    frontends: Vec<String>,
}

impl Store {
    /// Registers an account at `request.directory_url` ([`client::register`]) and stores it,
    /// its credentials sealed with `ring`. The CA's refusal is [`Error::Invalid`] with its
    /// problem detail; nothing is stored then.
    pub async fn create_acme_account(&self, ring: &Keyring, actor: &str, request: &NewAccount) -> Result<AcmeAccount> {
        let registered = client::register(request).await?;
        let id = self.new_id()?;
        let name = account_secret_name(id);
        let purpose = Purpose::new("acme-account", &id.to_string());
        let sealed = ring.seal(&purpose, registered.credentials_json.as_bytes(), self.random())?;
        let now = self.now();
        let contact = request.contact.urls();
        let mut tx = self.write_tx().await?;
        sqlx::query("INSERT INTO sealed_secrets (name, purpose, public, sealed, created_at, updated_at) VALUES ($1, $2, NULL, $3, $4, $4)")
            .bind(&name)
            .bind(purpose.as_str())
            .bind(sealed.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(&format!("INSERT INTO acme_accounts ({ACCOUNT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"))
            .bind(id)
            .bind(request.directory_url.trim())
            .bind(to_json(&contact)?)
            .bind(request.ca_pem.as_deref())
            .bind(request.eab_kid.as_deref().map(str::trim))
            .bind(&registered.account_url)
            .bind(actor)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let details = json!({"id": id, "directory_url": request.directory_url, "account_url": registered.account_url, "eab_kid": request.eab_kid});
        self.audit(&mut tx, Audit { actor, action: "acme.account.create", cluster_id: None, version: None, details }).await?;
        tx.commit().await?;
        self.acme_account(id).await
    }

    /// Every ACME account, oldest first (never their credentials).
    pub async fn acme_accounts(&self) -> Result<Vec<AcmeAccount>> {
        let rows = sqlx::query(&format!("SELECT {ACCOUNT_COLUMNS} FROM acme_accounts ORDER BY created_at, id"))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(account_from_row).collect()
    }

    /// One ACME account.
    pub async fn acme_account(&self, id: i64) -> Result<AcmeAccount> {
        let row = sqlx::query(&format!("SELECT {ACCOUNT_COLUMNS} FROM acme_accounts WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| Error::not_found(format!("acme account {id}")))?;
        account_from_row(&row)
    }

    /// The private root account `id` trusts for its directory, if any.
    pub async fn acme_account_ca_pem(&self, id: i64) -> Result<Option<String>> {
        let row = sqlx::query("SELECT ca_pem FROM acme_accounts WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| Error::not_found(format!("acme account {id}")))?;
        Ok(row.try_get("ca_pem")?)
    }

    /// The account's unsealed credentials and the private root it trusts.
    pub(crate) async fn acme_account_secret(&self, ring: &Keyring, id: i64) -> Result<(String, Option<String>)> {
        let ca_pem = self.acme_account_ca_pem(id).await?;
        let stored = self
            .sealed_secret(&account_secret_name(id))
            .await?
            .ok_or_else(|| Error::Corrupt(format!("acme account {id}: credentials missing")))?;
        let plain = ring.open(&stored.purpose, &stored.sealed)?;
        let credentials = String::from_utf8(plain).map_err(|_| Error::Corrupt(format!("acme account {id}: credentials are not text")))?;
        Ok((credentials, ca_pem))
    }

    /// Checks an order request against the stored account and clusters: names (DNS, at most
    /// [`MAX_ORDER_NAMES`], duplicates dropped), the challenge (`http-01`: no wildcard, the
    /// frontends in each cluster's latest configuration; `dns-01`: a DNS provider whose zone
    /// holds each name's `_acme-challenge` record), the key type and the path.
    async fn check_order(&self, request: &NewOrder) -> Result<Checked> {
        let names = crate::certs::acme::normalized_names(&request.names);
        if names.is_empty() {
            return Err(Error::invalid("names: at least one DNS name"));
        }
        if names.len() > MAX_ORDER_NAMES {
            return Err(Error::invalid(format!("names: at most {MAX_ORDER_NAMES} names in one order")));
        }
        if let Some(bad) = names.iter().find(|n| !crate::certs::acme::valid_dns_name(n)) {
            return Err(Error::invalid(format!("names: {bad:?} is not a DNS name")));
        }
        match request.challenge {
            ChallengeKind::Http01 => {
                if let Some(wildcard) = names.iter().find(|n| n.starts_with("*.")) {
                    return Err(Error::invalid(format!("names: {wildcard} needs dns-01 (http-01 cannot prove a wildcard)")));
                }
                if request.dns_provider_id.is_some() {
                    return Err(Error::invalid("dns_provider_id: only for challenge dns-01"));
                }
            }
            ChallengeKind::Dns01 => {
                if !request.frontends.is_empty() {
                    return Err(Error::invalid("frontends: only for challenge http-01 (dns-01 needs no frontend)"));
                }
                for name in &names {
                    self.dns_provider_for(&dns01_record_name(name), request.dns_provider_id).await?;
                }
            }
        }
        self.acme_account(request.account_id).await?;
        if let Some(id) = request.certificate_id {
            let certificate = self.certificate(id).await?;
            for &cluster in &request.clusters {
                certificate.usable_in(cluster)?;
            }
        }
        if request.clusters.is_empty() {
            return Err(Error::invalid("clusters: at least one cluster"));
        }
        let default_path = format!("certs/{}.pem", names[0]);
        let raw_path = request.path.as_deref().unwrap_or(&default_path);
        let path = BundlePath::new(raw_path).map_err(|e| Error::invalid(format!("path: {e}")))?;
        let frontends: Vec<String> = request.frontends.iter().map(|f| f.trim().to_string()).collect();
        for &cluster in &request.clusters {
            let latest = self.latest_version(cluster).await?.ok_or_else(|| Error::invalid(format!("clusters: cluster {cluster} has no version yet")))?;
            if request.challenge == ChallengeKind::Dns01 {
                continue;
            }
            let parsed = self.parsed_text(&latest.text).await?;
            let doc = parsed.document();
            if frontends.is_empty() {
                if http01::frontends_with_rule(doc).is_empty() {
                    return Err(Error::invalid(format!(
                        "frontends: name the HTTP frontends of cluster {cluster} that the CA reaches on port 80 (none carries the acme rule yet)"
                    )));
                }
            } else {
                http01::rule_ops(doc, &frontends).map_err(|e| match e {
                    Error::Invalid { message, diagnostics } => Error::Invalid { message: format!("cluster {cluster}: {message}"), diagnostics },
                    other => other,
                })?;
            }
        }
        Ok(Checked { names, path, frontends })
    }

    /// Accepts an order: checked ([`Store::check_order`]), stored `pending` with its first event,
    /// for the driver to take. Bad input is [`Error::Invalid`] and stores nothing.
    pub async fn create_acme_order(&self, actor: &str, request: &NewOrder) -> Result<AcmeOrder> {
        let checked = self.check_order(request).await?;
        let id = self.new_id()?;
        let now = self.now();
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO acme_orders (id, account_id, names, challenge, clusters, frontends, certificate_id, path, key_type, auto_apply, \
             dns_provider_id, status, lease_until, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'pending', 0, $12, $13, $13)",
        )
        .bind(id)
        .bind(request.account_id)
        .bind(to_json(&checked.names)?)
        .bind(request.challenge.as_str())
        .bind(to_json(&request.clusters)?)
        .bind(to_json(&checked.frontends)?)
        .bind(request.certificate_id)
        .bind(checked.path.as_str())
        .bind(request.key_type.as_str())
        .bind(i64::from(request.auto_apply))
        .bind(request.dns_provider_id)
        .bind(actor)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO acme_order_events (order_id, seq, at, status, message) VALUES ($1, 1, $2, 'pending', $3)")
            .bind(id)
            .bind(now)
            .bind(format!("order accepted for {}", checked.names.join(", ")))
            .execute(&mut *tx)
            .await?;
        let details = json!({"id": id, "names": checked.names, "clusters": request.clusters, "path": checked.path});
        self.audit(&mut tx, Audit { actor, action: "acme.order.create", cluster_id: None, version: None, details }).await?;
        tx.commit().await?;
        self.acme_order(id).await
    }

    /// The newest valid order that filled certificate `certificate_id` (its renewal proves
    /// control the same way), without events; `None` when no order did.
    pub async fn last_valid_order_of(&self, certificate_id: i64) -> Result<Option<AcmeOrder>> {
        let row = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM acme_orders WHERE certificate_id = $1 AND status = 'valid' ORDER BY updated_at DESC, id DESC LIMIT 1"
        ))
        .bind(certificate_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(order_from_row).transpose()
    }

    /// Every order with its events, oldest first (`GET /api/v1/acme/orders`).
    pub async fn acme_orders(&self) -> Result<Vec<AcmeOrder>> {
        let ids = sqlx::query("SELECT id FROM acme_orders ORDER BY created_at, id").fetch_all(self.pool()).await?;
        let mut orders = Vec::with_capacity(ids.len());
        for row in &ids {
            orders.push(self.acme_order(row.try_get("id")?).await?);
        }
        Ok(orders)
    }

    /// One order with its events.
    pub async fn acme_order(&self, id: i64) -> Result<AcmeOrder> {
        let row = sqlx::query(&format!("SELECT {ORDER_COLUMNS} FROM acme_orders WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| Error::not_found(format!("acme order {id}")))?;
        let mut order = order_from_row(&row)?;
        let events = sqlx::query("SELECT at, status, message FROM acme_order_events WHERE order_id = $1 ORDER BY seq")
            .bind(id)
            .fetch_all(self.pool())
            .await?;
        for event in &events {
            let status: String = event.try_get("status")?;
            order.events.push(OrderEvent {
                at: event.try_get("at")?,
                status: OrderStatus::parse(&status).ok_or_else(|| Error::Corrupt(format!("acme event status {status:?}")))?,
                message: event.try_get("message")?,
            });
        }
        Ok(order)
    }

    /// Takes the lease of one unfinished order whose lease ran out (or was never taken), until
    /// `now + lease_ms`: a conditional update, so of several replicas exactly one wins.
    pub async fn claim_acme_order(&self, lease_ms: i64) -> Result<Option<i64>> {
        let now = self.now();
        let candidates = sqlx::query(
            "SELECT id FROM acme_orders WHERE status IN ('pending', 'ready', 'processing') AND lease_until <= $1 ORDER BY created_at LIMIT 5",
        )
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        for row in &candidates {
            let id: i64 = row.try_get("id")?;
            let taken = sqlx::query(
                "UPDATE acme_orders SET lease_until = $1 WHERE id = $2 AND lease_until <= $3 AND status IN ('pending', 'ready', 'processing')",
            )
            .bind(now + lease_ms)
            .bind(id)
            .bind(now)
            .execute(self.pool())
            .await?;
            if taken.rows_affected() == 1 {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    /// Records a step: the new status, `update`'s fields when set, an event, and the lease
    /// extended by `lease_ms` (given back, 0, once the order is final).
    pub async fn acme_order_step(&self, id: i64, status: OrderStatus, message: &str, update: OrderUpdate, lease_ms: i64) -> Result<()> {
        let now = self.now();
        let lease = if status.is_final() { 0 } else { now + lease_ms };
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "UPDATE acme_orders SET status = $1, order_url = COALESCE($2, order_url), error = COALESCE($3, error), \
             certificate_pem = COALESCE($4, certificate_pem), lease_until = $5, updated_at = $6, \
             certificate_id = COALESCE($8, certificate_id) WHERE id = $7",
        )
        .bind(status.as_str())
        .bind(update.order_url)
        .bind(update.error)
        .bind(update.certificate_pem)
        .bind(lease)
        .bind(now)
        .bind(id)
        .bind(update.certificate_id)
        .execute(&mut *tx)
        .await?;
        let seq: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM acme_order_events WHERE order_id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("next")?;
        sqlx::query("INSERT INTO acme_order_events (order_id, seq, at, status, message) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(seq)
            .bind(now)
            .bind(status.as_str())
            .bind(message)
            .execute(&mut *tx)
            .await?;
        if status.is_final() {
            let details = json!({"id": id, "status": status.as_str(), "message": message});
            self.audit(&mut tx, Audit { actor: "acme", action: "acme.order.finish", cluster_id: None, version: None, details }).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Seals and stores an order's certificate key (made before the CSR is sent), or returns
    /// the one stored before (an order resumed after finalisation keeps its key).
    pub(crate) async fn acme_order_key(&self, ring: &Keyring, id: i64, make: impl FnOnce() -> Result<String>) -> Result<String> {
        let name = order_key_secret_name(id);
        let stored = match self.sealed_secret(&name).await? {
            Some(stored) => stored,
            None => {
                let key = make()?;
                let purpose = Purpose::new("acme-order-key", &id.to_string());
                let sealed = ring.seal(&purpose, key.as_bytes(), self.random())?;
                let secret = super::StoredSecret { name: name.clone(), purpose, public: None, sealed };
                self.insert_sealed_secret(&secret).await?
            }
        };
        let plain = ring.open(&stored.purpose, &stored.sealed)?;
        String::from_utf8(plain).map_err(|_| Error::Corrupt(format!("acme order {id}: key is not PEM text")))
    }

    /// A new version of `cluster_id` made by `change` on its latest bundle (retried when another
    /// writer got in between), for the ACME driver. Refused when the cluster's latest version
    /// is not the one its agents run: applying it would roll out someone's unapplied change.
    pub(crate) async fn acme_version(
        &self,
        order_id: i64,
        cluster_id: i64,
        message: &str,
        change: impl Fn(&Bundle) -> Result<Bundle>,
    ) -> Result<Committed> {
        let cluster = self.cluster(cluster_id).await?;
        let latest = self.latest_version(cluster_id).await?.map_or(0, |v| v.info.number);
        if let Some(desired) = cluster.desired_version {
            if desired != latest {
                return Err(Error::Conflict(format!(
                    "cluster {} runs version {desired} but its latest is {latest}: apply or restore first, the acme order would roll out the unapplied change",
                    cluster.name
                )));
            }
        }
        let actor_name = format!("acme:order:{order_id}");
        let actor = Actor::new(&actor_name, Role::Operator);
        let made = Made::new("acme.version", message, json!({"order_id": order_id}));
        self.change_latest(actor, cluster_id, made, change).await
    }
}
