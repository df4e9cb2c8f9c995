//! Render documents back to text.
//!
//! ```text
//! Document --lossless--> the exact bytes it was parsed from (plus any edits)
//! Document --format----> canonical layout: indentation, single blanks, one blank line between sections
//! ```
//!
//! `lossless` is the identity on an untouched document; `format` is the only place that
//! normalises layout, keeps a valid configuration valid and is idempotent.
//!
//! [`highlight`] splits a line into syntax classes for colouring, byte for byte.
//!
//! Keepalived documents have their own renderers in [`keepalived`] (lossless, canonical format,
//! and the per-node configuration of a VRRP group).

mod format;
pub mod highlight;
pub mod keepalived;
mod lossless;

pub use format::format;
pub use lossless::{lossless, lossless_into};
