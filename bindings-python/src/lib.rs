//! Python bindings for HAProxy Fleet: the `haproxy_fleet._native` extension module.
//!
//! ```text
//! Python str --parse (GIL released)--> Document (Arc<Mutex<haproxy_model::Document>>)
//!   doc.backend("app")            -> Proxy  { doc, side, name }          resolved on each access
//!   doc.backend("app").server("a") -> Server { doc, side, proxy, name }   resolved on each access
//!   doc.render() / doc.format()   --(GIL released)--> str
//! ```
//!
//! The bindings are thin: every decision (parsing, quoting, where a new line goes, which word an
//! edit touches) is made by the Rust crates (`haproxy-model` views and editors, `haproxy-parse`,
//! `haproxy-render`, `fleet-core::diff`). A view object holds the shared document and a *path*
//! (proxy name, server name, or for binds, ACLs and rules a line anchor: see the `anchor` module) rather
//! than a borrow, so Python can keep it as long as it likes; each property access locks the
//! document, finds the item and reads or edits only the words concerned. A path that no longer
//! resolves raises `KeyError`.
//!
//! The pure-Python half of the package (`python/haproxy_fleet/`) re-exports these classes and
//! adds the HTTP client for `fleet serve`.

mod anchor;
mod convert;
mod document;
mod input;
mod items;
mod keepalived;
mod proxy;

use pyo3::prelude::*;

/// The Rust side of the extension allocates through mimalloc rather than the process's glibc
/// malloc. A Python process has always freed some large block before it parses (reading a
/// 12 MB file does), and after that glibc raises its trim threshold and hands the whole parse
/// heap back to the kernel each time a document is dropped, so the next parse faults every
/// page in again: measured on the 20,000-backend benchmark file, 3x the page faults and about
/// 1.5x the time of the same parse in a fresh Rust process. mimalloc keeps its pages warm
/// whatever the process did before, and is what other large pyo3 extensions ship with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The extension module; `haproxy_fleet/__init__.py` re-exports it.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("ParseError", py.get_type::<convert::ParseError>())?;
    m.add_class::<convert::Diagnostic>()?;
    m.add_class::<document::Document>()?;
    m.add_class::<proxy::Proxy>()?;
    m.add_class::<items::Server>()?;
    m.add_class::<items::Bind>()?;
    m.add_class::<items::Acl>()?;
    m.add_class::<items::Rule>()?;
    m.add_class::<keepalived::KeepalivedDocument>()?;
    m.add_function(wrap_pyfunction!(document::parse, m)?)?;
    m.add_function(wrap_pyfunction!(document::check, m)?)?;
    m.add_function(wrap_pyfunction!(document::diff, m)?)?;
    m.add_function(wrap_pyfunction!(keepalived::keepalived_parse, m)?)?;
    m.add_function(wrap_pyfunction!(keepalived::keepalived_check, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
