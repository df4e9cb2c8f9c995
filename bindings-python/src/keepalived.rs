//! Keepalived documents: `haproxy_fleet.keepalived.parse / check`, lossless render, canonical
//! format and the typed reading (VRRP instances, scripts, sync groups, virtual servers).

use std::sync::{Arc, Mutex};

use pyo3::exceptions::{PyKeyError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use haproxy_model::keepalived::{Block, Document, Statement};

use crate::convert::{self, lock, Diagnostic};
use crate::input::with_text;

/// A lossless keepalived.conf: `render()` gives back the exact text it was parsed from.
#[pyclass(module = "haproxy_fleet.keepalived", frozen)]
pub(crate) struct KeepalivedDocument {
    inner: Arc<Mutex<Document>>,
}

/// True when `statement` is the block header `block` (`"vrrp_instance VI_1"`: keyword and
/// arguments as values, compared word by word).
fn is_header(statement: &Statement, block: &[&str]) -> bool {
    statement.block().is_some()
        && statement.keyword().as_deref() == block.first().copied()
        && statement.arg_values().iter().map(String::as_str).eq(block.iter().skip(1).copied())
}

/// The top-level block named by `block`; `KeyError` when there is none.
fn find_block<'a>(doc: &'a mut Document, block: &str) -> PyResult<&'a mut Block> {
    let words: Vec<&str> = block.split_whitespace().collect();
    doc.statements_mut()
        .iter_mut()
        .find(|s| is_header(s, &words))
        .and_then(Statement::block_mut)
        .ok_or_else(|| PyKeyError::new_err(format!("no block {block:?}")))
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

    /// The first argument of `keyword` inside the top-level block `block`
    /// (`value("vrrp_instance VI_1", "priority")` -> `"150"`), or `None`; `KeyError` when the
    /// block does not exist.
    fn value(&self, block: &str, keyword: &str) -> PyResult<Option<String>> {
        let mut doc = lock(&self.inner);
        Ok(find_block(&mut doc, block)?.value(keyword).map(|v| v.into_owned()))
    }

    /// Sets the first argument of the existing `keyword` statement inside `block`, rewriting
    /// only that word (comments and layout stay); `KeyError` when the block or the statement is
    /// missing, `ValueError` when the statement has no argument.
    fn set_value(&self, block: &str, keyword: &str, value: &str) -> PyResult<()> {
        let mut doc = lock(&self.inner);
        let statement =
            find_block(&mut doc, block)?.find_mut(keyword).ok_or_else(|| PyKeyError::new_err(format!("no {keyword:?} in {block:?}")))?;
        if statement.set_arg(0, value) {
            Ok(())
        } else {
            Err(PyValueError::new_err(format!("{keyword:?} in {block:?} has no argument to set")))
        }
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
