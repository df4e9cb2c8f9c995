//! How a long-poll's answer is encoded: the JSON body of a desired state is built once per
//! (cluster, target bundle, base bundle) and shared, byte for byte, by every agent that needs it.
//!
//! ```text
//! wait() -> Arc<DesiredState> (the target) -> answer(known, delta)
//!   no delta asked, or no known, or known unknown -> the whole state's JSON   (cached per target)
//!   delta asked, known is a version of the cluster -> BundleDelta base->target (cached per pair)
//!                                                     or the whole state when not smaller
//! ```
//!
//! When 10,000 agents wake for one apply, the first one to ask builds the body (one database
//! read of the base bundle, one line diff) while the others wait on the same cell; the rest is
//! a reference-counted copy. Entries of a target that is no longer current are dropped when the
//! cache is full; a cell that failed is dropped so the next agent tries again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OnceCell;

use super::Store;
use crate::error::{Error, Result};
use crate::wire::DesiredState;

/// Encoded bodies kept at most (a few targets during a staged rollout, times their bases).
const MAX_ENTRIES: usize = 64;

/// A JSON body ready to send.
pub(crate) type Body = Arc<[u8]>;

/// (cluster, target digest, base digest or none for the whole state).
type Key = (i64, String, Option<String>);

/// The cache of encoded answers (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct Answers(Mutex<HashMap<Key, Arc<OnceCell<Body>>>>);

impl Answers {
    fn cell(&self, key: Key) -> Arc<OnceCell<Body>> {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_ENTRIES && !map.contains_key(&key) {
            // Keep the bodies of this target; the others belong to versions agents left.
            let target = key.1.clone();
            map.retain(|k, _| k.1 == target);
        }
        map.entry(key).or_default().clone()
    }

    fn forget(&self, key: &Key) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
    }
}

fn encode(state: &DesiredState) -> Result<Body> {
    Ok(serde_json::to_vec(state).map_err(|e| Error::Corrupt(format!("desired state: {e}")))?.into())
}

impl super::DesiredWatch {
    /// The JSON body telling an agent that runs `known` about `state`: the changes from
    /// `known` when the agent accepts a delta (`delta`), the server has that bundle and the
    /// changes are smaller, else the whole state. Built once and shared (see the module docs).
    pub async fn answer(&self, state: &Arc<DesiredState>, known: Option<&str>, delta: bool) -> Result<Arc<[u8]>> {
        let base = known.filter(|k| delta && state.is_news_to(Some(k))).map(str::to_ascii_lowercase);
        if let Some(base) = base {
            let key = (state.cluster_id, state.sha256.clone(), Some(base.clone()));
            let cell = self.answers.cell(key.clone());
            let built = cell.get_or_try_init(|| delta_body(&self.store, state, &base)).await;
            match built {
                Ok(body) if !body.is_empty() => return Ok(body.clone()),
                // No delta for this base: the whole state below.
                Ok(_) => {}
                Err(error) => {
                    self.answers.forget(&key);
                    return Err(error);
                }
            }
        }
        let key = (state.cluster_id, state.sha256.clone(), None);
        let cell = self.answers.cell(key.clone());
        match cell.get_or_try_init(|| async { encode(state) }).await {
            Ok(body) => Ok(body.clone()),
            Err(error) => {
                self.answers.forget(&key);
                Err(error)
            }
        }
    }
}

/// The delta answer from the bundle with digest `base`, or an empty body when there is none
/// (an unknown base, or changes no smaller than the bundle).
async fn delta_body(store: &Store, state: &DesiredState, base: &str) -> Result<Body> {
    let Some(number) = store.version_with_digest(state.cluster_id, base).await? else { return Ok(Body::from([])) };
    let base = store.bundle(state.cluster_id, number).await?;
    let target = state.bundle().map_err(|e| Error::Corrupt(e.to_string()))?;
    match state.as_delta_from(&base, &target) {
        Some(delta) => encode(&delta),
        None => Ok(Body::from([])),
    }
}
