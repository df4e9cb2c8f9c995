//! The Data Plane API (v3) compatibility surface's rules: its resources as views of the lossless
//! document and as typed edit ops, so the server's handlers only extract, call and map.
//!
//! ```text
//! GET:  Document (a version, a transaction's candidate) -> sections / servers -> JSON models
//! PUT:  Document + JSON body -> directives::plan / params::edit -> [EditOp] (only what differs)
//!       -> Store::edit (one write = one version) or Store::stage (a transaction)
//! then  rollout::wait_rollout: what every node made of the version, within a bound
//! ```
//!
//! Field names and values follow client-native's models (upstream's specification, v3): times
//! in milliseconds, toggles as `"enabled"`/`"disabled"`. Only the fields of the tables in
//! [`params`] and [`directives`] are mapped; a body setting another one is refused rather than
//! dropped, and words no field maps are kept as written.

mod children;
mod directives;
mod logs;
mod params;
#[cfg(feature = "store")]
mod rollout;
mod rules;
mod runtime;
mod runtime_maps;
mod sections;
mod server;
mod storage;
mod value;

pub use children::{add_bind, bind, binds, delete_bind, delete_rule, insert_rule, parent, replace_bind, replace_rule, replace_rules, rule, rules};
pub use directives::Model;
pub use rules::RuleKind;
#[cfg(feature = "store")]
pub use rollout::{rollout, wait_rollout};
#[cfg(feature = "store")]
pub use runtime::{online_nodes, wait_runtime};
pub use runtime_maps::{map_entries_body, map_entry_body, map_value_body, runtime_map, runtime_map_entry, runtime_map_path, runtime_maps};
pub use runtime::{runtime_add, runtime_delete, runtime_progress, runtime_requests, runtime_server, runtime_servers, RuntimeProgress};
pub use sections::{add_section, delete_section, full_section, full_sections, global, replace_global, replace_section, section, sections};
pub use server::{add_server, delete_server, replace_server, server, servers};
pub use storage::{delete_storage, put_storage, storage_entries, storage_entry, Storage};
