//! Offline semantic checks (validation level 2 of DESIGN.md): what `haproxy -c` would reject or
//! warn about, found without running HAProxy.
//!
//! ```text
//! Document -> per-section keyword rules, references, names, addresses ... -> Vec<Diagnostic>
//! ```

use haproxy_model::{Diagnostic, Document};

/// Semantic diagnostics for a parsed document, in line order.
pub fn check_document(document: &Document) -> Vec<Diagnostic> {
    let _ = document;
    Vec::new()
}
