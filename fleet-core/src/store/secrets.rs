//! Sealed secrets at rest (table `sealed_secrets`, migration 0007) and the key-ring checks and
//! rotation around them (see [`crate::secrets`] for the format and the reasons).
//!
//! ```text
//! start:  key file --load--> ring | missing: create, unless rows exist (SecretError::Missing)
//!         every row opened with the ring (a wrong key fails here, never re-created)
//! rotate: file [new, old] -> one transaction: every row resealed under new -> file [new]
//! ```
//!
//! Besides the `sealed_secrets` rows, users' TOTP secrets are sealed in place (`users.totp_*`,
//! see `mfa.rs`): opened with the others, resealed with them. Bundle files holding a private
//! key are `sealed_secrets` rows `blob/<sha256>` (see `bundles.rs`), so they are opened at
//! start and resealed like any other.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::mfa::{open_totp, totp_purpose};
use super::Store;
use crate::certs::self_signed::{SelfSignedCa, CA_SECRET_NAME};
use crate::error::Result;
use crate::secrets::{KeyFile, Keyring, MasterKey, Purpose, Sealed, SecretError};

/// A stored sealed secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSecret {
    /// What it is (`tls/ca`).
    pub name: String,
    /// The associated data it is sealed with.
    pub purpose: Purpose,
    /// Its public half, when it has one (a CA certificate in PEM).
    pub public: Option<String>,
    /// The sealed private half.
    pub sealed: Sealed,
}

fn secret_from_row(row: &AnyRow) -> Result<StoredSecret> {
    let purpose: String = row.try_get("purpose")?;
    let sealed: String = row.try_get("sealed")?;
    Ok(StoredSecret {
        name: row.try_get("name")?,
        purpose: Purpose::from_stored(&purpose),
        public: row.try_get("public")?,
        sealed: Sealed::parse(&sealed)?,
    })
}

impl Store {
    /// The sealed secret called `name`, if stored.
    pub async fn sealed_secret(&self, name: &str) -> Result<Option<StoredSecret>> {
        let row = sqlx::query("SELECT name, purpose, public, sealed FROM sealed_secrets WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(secret_from_row).transpose()
    }

    /// Every sealed secret, by name.
    pub async fn sealed_secrets(&self) -> Result<Vec<StoredSecret>> {
        let rows = sqlx::query("SELECT name, purpose, public, sealed FROM sealed_secrets ORDER BY name")
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(secret_from_row).collect()
    }

    /// Stores `secret` unless one of that name exists; returns the one stored under the name
    /// afterwards (a replica that lost the race gets the winner's, so all share one CA).
    pub async fn insert_sealed_secret(&self, secret: &StoredSecret) -> Result<StoredSecret> {
        let now = self.now();
        let inserted = sqlx::query(
            "INSERT INTO sealed_secrets (name, purpose, public, sealed, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(&secret.name)
        .bind(secret.purpose.as_str())
        .bind(secret.public.as_deref())
        .bind(secret.sealed.as_str())
        .bind(now)
        .execute(self.pool())
        .await;
        match inserted {
            Ok(_) => Ok(secret.clone()),
            Err(e) if super::is_unique_violation(&e) => {
                self.sealed_secret(&secret.name).await?.ok_or_else(|| crate::Error::NotFound(format!("secret {}", secret.name)))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The key ring of `file` for this database: loaded, or created (0600) when the file is
    /// missing and no secret is stored; then every stored secret is opened with it, so a wrong
    /// or missing key file stops the server at start, naming the key ids, and is never
    /// replaced by a new key. Secrets stored before they were sealed are sealed now (TOTP
    /// secrets, bundle files holding a private key), and the store keeps the ring
    /// ([`Store::use_keyring`]) to seal and open bundle files.
    pub async fn keyring(&self, file: &KeyFile) -> Result<Keyring> {
        let stored = self.sealed_secrets().await?;
        let ring = match file.load()? {
            Some(ring) => ring,
            None => match stored.first() {
                Some(first) => {
                    return Err(SecretError::Missing {
                        path: file.path().display().to_string(),
                        count: stored.len(),
                        key_id: first.sealed.key_id()?.to_string(),
                    }
                    .into())
                }
                None => file.create(self.random())?,
            },
        };
        for secret in &stored {
            ring.open(&secret.purpose, &secret.sealed)?;
        }
        self.seal_plain_totp(&ring).await?;
        self.seal_plain_blobs(&ring).await?;
        self.use_keyring(ring.clone());
        Ok(ring)
    }

    /// Opens every sealed value with `ring` (the `sealed_secrets` rows, bundle files among
    /// them, and users' TOTP secrets) without changing anything; returns how many. A backup's
    /// restore asks it of the key file ([`crate::backup::check_key`]). Errors: the first value
    /// the ring does not open ([`crate::Error::Crypto`], naming the key ids).
    pub async fn open_every_sealed(&self, ring: &Keyring) -> Result<usize> {
        let mut count = 0;
        for secret in self.sealed_secrets().await? {
            ring.open(&secret.purpose, &secret.sealed)?;
            count += 1;
        }
        let rows = sqlx::query("SELECT id, totp_secret, totp_pending FROM users WHERE totp_secret IS NOT NULL OR totp_pending IS NOT NULL")
            .fetch_all(self.pool())
            .await?;
        for row in &rows {
            let id: i64 = row.try_get("id")?;
            for column in ["totp_secret", "totp_pending"] {
                let Some(value) = row.try_get::<Option<String>, _>(column)? else { continue };
                if Sealed::parse(&value).is_ok() {
                    drop(open_totp(ring, id, &value)?);
                    count += 1;
                }
            }
        }
        Ok(count)
    }

    /// Seals TOTP secrets stored before they were sealed (plain base32 in `users.totp_*`).
    /// Sealed ones are opened, so a wrong key stops the start here too.
    pub(super) async fn seal_plain_totp(&self, ring: &Keyring) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let rows = sqlx::query("SELECT id, totp_secret, totp_pending FROM users WHERE totp_secret IS NOT NULL OR totp_pending IS NOT NULL")
            .fetch_all(&mut *tx)
            .await?;
        for row in &rows {
            let id: i64 = row.try_get("id")?;
            for column in ["totp_secret", "totp_pending"] {
                let Some(value) = row.try_get::<Option<String>, _>(column)? else { continue };
                match Sealed::parse(&value) {
                    Ok(_) => drop(open_totp(ring, id, &value)?),
                    Err(_) => {
                        let sealed = ring.seal(&totp_purpose(id), value.as_bytes(), self.random())?;
                        sqlx::query(&format!("UPDATE users SET {column} = $1 WHERE id = $2 AND {column} = $3"))
                            .bind(sealed.as_str())
                            .bind(id)
                            .bind(&value)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// `fleet secrets rotate`: a new master key replaces the one in `file`, and every stored
    /// secret is resealed under it. The file first holds the new and the old keys, then the
    /// rows change in one transaction, then the file keeps only the new key: stopped at any
    /// point, every row opens with the file. Returns the new ring and how many were resealed.
    pub async fn rotate_master_key(&self, file: &KeyFile) -> Result<(Keyring, usize)> {
        let old = self.keyring(file).await?;
        let new = Keyring::new(MasterKey::generate(self.random())?);
        let during = Keyring::with_older(new.primary().clone(), old.keys().iter().cloned());
        file.write(&during)?;
        // What this store seals from now on is sealed under the new key (and resealed below
        // if it lands before the transaction reads the rows).
        self.use_keyring(during.clone());
        let mut tx = self.write_tx().await?;
        let rows = sqlx::query("SELECT name, purpose, public, sealed FROM sealed_secrets ORDER BY name")
            .fetch_all(&mut *tx)
            .await?;
        let now = self.now();
        let mut count = 0;
        for row in &rows {
            let secret = secret_from_row(row)?;
            let resealed = during.reseal(&new, &secret.purpose, &secret.sealed, self.random())?;
            sqlx::query("UPDATE sealed_secrets SET sealed = $1, updated_at = $2 WHERE name = $3")
                .bind(resealed.as_str())
                .bind(now)
                .bind(&secret.name)
                .execute(&mut *tx)
                .await?;
            count += 1;
        }
        let users = sqlx::query("SELECT id, totp_secret, totp_pending FROM users WHERE totp_secret IS NOT NULL OR totp_pending IS NOT NULL")
            .fetch_all(&mut *tx)
            .await?;
        for row in &users {
            let id: i64 = row.try_get("id")?;
            for column in ["totp_secret", "totp_pending"] {
                let Some(value) = row.try_get::<Option<String>, _>(column)? else { continue };
                let resealed = during.reseal(&new, &totp_purpose(id), &Sealed::parse(&value)?, self.random())?;
                sqlx::query(&format!("UPDATE users SET {column} = $1 WHERE id = $2"))
                    .bind(resealed.as_str())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                count += 1;
            }
        }
        tx.commit().await?;
        file.write(&new)?;
        self.use_keyring(new.clone());
        Ok((new, count))
    }

    /// The server's self-signed CA (`fleet serve --tls-self-signed`): read back and unsealed
    /// with `ring`, or made now, its key sealed, and stored (a replica that loses the race to
    /// store it uses the winner's).
    pub async fn self_signed_ca(&self, ring: &Keyring) -> Result<SelfSignedCa> {
        let purpose = Purpose::tls_ca_key();
        let stored = match self.sealed_secret(CA_SECRET_NAME).await? {
            Some(stored) => stored,
            None => {
                let ca = SelfSignedCa::generate(self.now())?;
                let sealed = ring.seal(&purpose, ca.key_pem().as_bytes(), self.random())?;
                let secret = StoredSecret {
                    name: CA_SECRET_NAME.into(),
                    purpose: purpose.clone(),
                    public: Some(ca.cert_pem().to_string()),
                    sealed,
                };
                self.insert_sealed_secret(&secret).await?
            }
        };
        let key = ring.open(&stored.purpose, &stored.sealed)?;
        let key = String::from_utf8(key).map_err(|_| crate::Error::Corrupt(format!("secret {CA_SECRET_NAME}: key is not PEM text")))?;
        let cert = stored.public.ok_or_else(|| crate::Error::Corrupt(format!("secret {CA_SECRET_NAME}: no certificate")))?;
        Ok(SelfSignedCa::from_stored(&cert, &key)?)
    }
}
