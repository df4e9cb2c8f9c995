//! `fleet serve`'s resource limits (issue 12 §5): request bodies, open transactions per user,
//! ops per transaction, long-polls per agent. Each refusal is a 4xx naming its flag; see
//! `fleet_core::limits` and `http::limits` for what each one guards.

use fleet_core::limits::{
    Limits, DEFAULT_LONG_POLLS_PER_AGENT, DEFAULT_OPEN_TRANSACTIONS_PER_USER, DEFAULT_OPS_PER_TRANSACTION,
};

use crate::http::limits::{BodyLimits, DEFAULT_BODY_BYTES};

/// The limit flags of `fleet serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct LimitArgs {
    /// Largest request body, in bytes, on every route but the uploads below (413 beyond).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_BODY_BYTES)]
    max_body_bytes: usize,
    /// Largest request body, in bytes, on the upload routes: `POST .../import` (text or tar),
    /// `PUT .../config` and `.../files/...` (413 beyond). Default: a bundle's limit.
    #[arg(long, value_name = "BYTES", default_value_t = fleet_core::bundle::MAX_BUNDLE_BYTES)]
    max_upload_bytes: usize,
    /// Open transactions one user may hold (429 beyond: commit or discard one).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_OPEN_TRANSACTIONS_PER_USER)]
    max_open_transactions: usize,
    /// Ops one transaction may stage in total (413 beyond).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_OPS_PER_TRANSACTION)]
    max_ops_per_transaction: usize,
    /// Long-polls (`GET /api/v1/agent/desired`) one agent may have waiting (429 beyond).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_LONG_POLLS_PER_AGENT)]
    max_long_polls_per_agent: usize,
}

impl LimitArgs {
    /// The domain's limits, for the store.
    pub(crate) fn store(&self) -> Limits {
        Limits {
            open_transactions_per_user: self.max_open_transactions,
            ops_per_transaction: self.max_ops_per_transaction,
        }
    }

    /// The body limits, for the router.
    pub(crate) fn bodies(&self) -> BodyLimits {
        BodyLimits { body_bytes: self.max_body_bytes, upload_bytes: self.max_upload_bytes }
    }

    /// Long-polls per agent.
    pub(crate) fn long_polls_per_agent(&self) -> usize {
        self.max_long_polls_per_agent
    }
}
