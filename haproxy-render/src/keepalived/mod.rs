//! Render keepalived documents: the lossless identity, the canonical layout, and the
//! configuration of each node of a VRRP group.
//!
//! ```text
//! keepalived::Document --lossless--> the exact bytes it was parsed from (plus edits)
//! keepalived::Document --format----> canonical layout (idempotent, same meaning)
//! VrrpGroup ------render_vrrp_group--> one keepalived.conf per node
//! ```

mod format;
mod group;
mod node;

use haproxy_model::keepalived::Document;

pub use format::{format, INDENT};
pub use group::{render_vrrp_group, NodeConfig};
pub use node::render_node;

/// Renders `document` exactly as held: for a parsed document, the input byte for byte.
pub fn lossless(document: &Document) -> String {
    let mut out = String::new();
    document.render_into(&mut out);
    out
}
