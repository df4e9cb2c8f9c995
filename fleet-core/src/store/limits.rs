//! The store's side of [`crate::limits`]: counting what a user holds before the pure decision.

use super::Store;
use crate::error::Result;

impl Store {
    /// Refuses with [`crate::Error::TooMany`] when `author` already holds as many open
    /// transactions as the limit allows (index `transactions_author_open`, migration 0008).
    pub(crate) async fn admit_transaction(&self, author: &str) -> Result<()> {
        let open: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM transactions WHERE author = $1 AND state = 'open'")
            .bind(author)
            .fetch_one(self.pool())
            .await?;
        self.shared.limits.admit_transaction(author, usize::try_from(open).unwrap_or(usize::MAX))
    }
}
