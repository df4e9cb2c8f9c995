//! Keepalived documents: `haproxy_fleet.keepalived.parse / check`, lossless render, canonical
//! format and the typed reading (VRRP instances, scripts, sync groups, virtual servers).

use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{self, lock, Diagnostic};
use crate::input::with_text;

/// A lossless keepalived.conf: `render()` gives back the exact text it was parsed from.
#[pyclass(module = "haproxy_fleet.keepalived", frozen)]
pub(crate) struct KeepalivedDocument {
    inner: Arc<Mutex<haproxy_model::keepalived::Document>>,
}

#[pymethods]
impl KeepalivedDocument {
    /// The text, byte for byte as parsed.
    fn render(&self, py: Python<'_>) -> String {
        let inner = &self.inner;
        py.allow_threads(|| haproxy_render::keepalived::lossless(&lock(inner)))
    }

    /// The canonical layout.
    fn format(&self, py: Python<'_>) -> String {
        let inner = &self.inner;
        py.allow_threads(|| haproxy_render::keepalived::format(&lock(inner)))
    }

    /// The `vrrp_instance` blocks, as dicts.
    fn vrrp_instances(&self, py: Python<'_>) -> PyResult<PyObject> {
        convert::to_py(py, &lock(&self.inner).vrrp_instances())
    }

    /// The typed reading: `global_defs`, `vrrp_scripts`, `vrrp_instances`, `vrrp_sync_groups`,
    /// `virtual_servers`.
    fn to_dict(&self, py: Python<'_>) -> PyResult<PyObject> {
        let doc = lock(&self.inner);
        let dict = PyDict::new(py);
        dict.set_item("global_defs", convert::to_py(py, &doc.global_defs())?)?;
        dict.set_item("vrrp_scripts", convert::to_py(py, &doc.vrrp_scripts())?)?;
        dict.set_item("vrrp_instances", convert::to_py(py, &doc.vrrp_instances())?)?;
        dict.set_item("vrrp_sync_groups", convert::to_py(py, &doc.vrrp_sync_groups())?)?;
        dict.set_item("virtual_servers", convert::to_py(py, &doc.virtual_servers())?)?;
        Ok(dict.into_any().unbind())
    }

    /// The offline checks on the document.
    fn check(&self, py: Python<'_>) -> Vec<Diagnostic> {
        let inner = &self.inner;
        let found = py.allow_threads(|| haproxy_parse::keepalived::check::check_document(&lock(inner)));
        convert::diagnostics(&found)
    }

    fn __str__(&self, py: Python<'_>) -> String {
        self.render(py)
    }

    fn __repr__(&self) -> String {
        format!("<haproxy_fleet.keepalived.Document with {} statements>", lock(&self.inner).statements().len())
    }
}

/// Parses a keepalived.conf; raises `ParseError` on syntax errors (unbalanced braces ...)
/// unless `strict` is false.
#[pyfunction]
#[pyo3(signature = (text, *, strict = true))]
pub(crate) fn keepalived_parse(py: Python<'_>, text: &Bound<'_, PyAny>, strict: bool) -> PyResult<KeepalivedDocument> {
    let parsed = with_text(text, |text| Ok(py.allow_threads(|| haproxy_parse::keepalived::parse(text))))?;
    if strict && parsed.has_errors() {
        return Err(convert::parse_error(py, &parsed.diagnostics));
    }
    Ok(KeepalivedDocument { inner: Arc::new(Mutex::new(parsed.document)) })
}

/// Every diagnostic of a keepalived.conf: syntax, then the offline checks.
#[pyfunction]
pub(crate) fn keepalived_check(py: Python<'_>, text: &Bound<'_, PyAny>) -> PyResult<Vec<Diagnostic>> {
    let parsed = with_text(text, |text| Ok(py.allow_threads(|| haproxy_parse::keepalived::check(text))))?;
    Ok(convert::diagnostics(&parsed.diagnostics))
}
