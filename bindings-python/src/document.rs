//! `Document`, `parse`, `check` and `diff`: whole-file operations.
//!
//! Parsing, checking and rendering release the GIL (`allow_threads`): on a 20,000-backend file
//! they take tens of milliseconds, during which other Python threads keep running. The mutex
//! is only taken inside the GIL-free closures or for short edits, never while waiting for the
//! GIL, so the two locks cannot deadlock.

use std::sync::{Arc, Mutex};

use pyo3::exceptions::{PyKeyError, PyValueError};
use pyo3::prelude::*;

use crate::convert::{self, lock, Diagnostic};
use crate::input::with_text;
use crate::proxy::Proxy;
use haproxy_model::Side;

/// The document shared by a `Document` and every view made from it.
pub(crate) type Shared = Arc<Mutex<haproxy_model::Document>>;

/// A lossless HAProxy configuration. `render()` gives back the exact text it was parsed from,
/// plus the edits made through its views.
#[pyclass(module = "haproxy_fleet", frozen)]
pub(crate) struct Document {
    pub(crate) inner: Shared,
}

impl Document {
    fn wrap(document: haproxy_model::Document) -> Self {
        Document { inner: Arc::new(Mutex::new(document)) }
    }

    fn proxy(&self, side: Side, name: &str) -> PyResult<Proxy> {
        let found = lock(&self.inner).proxy_index(side, name).is_some();
        if found {
            Ok(Proxy::new(self.inner.clone(), side, name))
        } else {
            Err(crate::convert::edit_error(haproxy_model::EditError::NotFound { what: side.noun(), name: name.to_string(), proxy: None }))
        }
    }

    fn proxies(&self, side: Side) -> Vec<Proxy> {
        let names: Vec<String> = {
            let doc = lock(&self.inner);
            doc.proxy_names(side)
        };
        names.iter().map(|name| Proxy::new(self.inner.clone(), side, name)).collect()
    }

    fn add(&self, kind: haproxy_model::SectionKind, name: &str) -> PyResult<Proxy> {
        let side = if kind == haproxy_model::SectionKind::Frontend { Side::Frontend } else { Side::Backend };
        {
            let mut doc = lock(&self.inner);
            let added = match kind {
                haproxy_model::SectionKind::Frontend => doc.add_frontend(name).map(drop),
                haproxy_model::SectionKind::Listen => doc.add_listen(name).map(drop),
                _ => doc.add_backend(name).map(drop),
            };
            added.map_err(crate::convert::edit_error)?;
        }
        Ok(Proxy::new(self.inner.clone(), side, name))
    }
}

/// Parses text, releasing the GIL; `ParseError` when it has syntax errors and `strict`.
fn parse_text(py: Python<'_>, text: &str, strict: bool) -> PyResult<haproxy_model::Document> {
    let parsed = py.allow_threads(|| haproxy_parse::parse(text));
    if strict && parsed.has_errors() {
        return Err(convert::parse_error(py, &parsed.diagnostics));
    }
    Ok(parsed.document)
}

/// The text of a `str` or a `Document`.
fn text_of(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(document) = value.downcast::<Document>() {
        return Ok(document.get().render(py));
    }
    value.extract::<String>().map_err(|_| PyValueError::new_err("expected a str or a Document"))
}

#[pymethods]
impl Document {
    /// An empty document; add sections with `add_backend()` / `add_frontend()`.
    #[new]
    fn new() -> Self {
        Document::wrap(haproxy_model::Document::new())
    }

    /// Parses `text`; same as `haproxy_fleet.parse(text, strict=...)`.
    #[staticmethod]
    #[pyo3(signature = (text, *, strict = true))]
    fn parse(py: Python<'_>, text: &Bound<'_, PyAny>, strict: bool) -> PyResult<Self> {
        with_text(text, |text| parse_text(py, text, strict)).map(Document::wrap)
    }

    /// The text, byte for byte as parsed, with the edits made since.
    fn render(&self, py: Python<'_>) -> String {
        let inner = &self.inner;
        py.allow_threads(|| haproxy_render::lossless(&lock(inner)))
    }

    /// The canonical layout (indentation, single blanks, one blank line between sections).
    fn format(&self, py: Python<'_>) -> String {
        let inner = &self.inner;
        py.allow_threads(|| haproxy_render::format(&lock(inner)))
    }

    /// The typed reading of every statement (`haproxy_model::export`), as plain dicts and lists.
    fn to_dict(&self, py: Python<'_>) -> PyResult<PyObject> {
        let inner = &self.inner;
        let model = py.allow_threads(|| haproxy_model::export::to_model(&lock(inner)));
        convert::to_py(py, &model)
    }

    /// The offline semantic checks on the document as it is now.
    fn check(&self, py: Python<'_>) -> Vec<Diagnostic> {
        let inner = &self.inner;
        let found = py.allow_threads(|| haproxy_parse::check::check_document(&lock(inner)));
        convert::diagnostics(&found)
    }

    /// An independent copy: edits to one do not show in the other.
    fn copy(&self) -> Self {
        Document::wrap(lock(&self.inner).clone())
    }

    /// Every section as `(kind, name)`, in file order (`name` is `None` for `global`).
    fn sections(&self) -> Vec<(String, Option<String>)> {
        lock(&self.inner)
            .sections()
            .iter()
            .map(|s| (s.kind().keyword().to_string(), s.name().map(|n| n.into_owned())))
            .collect()
    }

    /// Backends and listens, in file order.
    fn backends(&self) -> Vec<Proxy> {
        self.proxies(Side::Backend)
    }

    /// Frontends and listens, in file order.
    fn frontends(&self) -> Vec<Proxy> {
        self.proxies(Side::Frontend)
    }

    /// The backend or listen named `name`; `KeyError` when there is none.
    fn backend(&self, name: &str) -> PyResult<Proxy> {
        self.proxy(Side::Backend, name)
    }

    /// The frontend or listen named `name`; `KeyError` when there is none.
    fn frontend(&self, name: &str) -> PyResult<Proxy> {
        self.proxy(Side::Frontend, name)
    }

    /// Appends `backend <name>`; `ValueError` for a name HAProxy would not read or one a backend
    /// or listen already has.
    fn add_backend(&self, name: &str) -> PyResult<Proxy> {
        self.add(haproxy_model::SectionKind::Backend, name)
    }

    /// Appends `frontend <name>`; `ValueError` for a name HAProxy would not read or one a
    /// frontend or listen already has (a frontend may share a backend's name, as in HAProxy).
    fn add_frontend(&self, name: &str) -> PyResult<Proxy> {
        self.add(haproxy_model::SectionKind::Frontend, name)
    }

    /// Appends `listen <name>`; `ValueError` for a name HAProxy would not read or one any proxy
    /// already has.
    fn add_listen(&self, name: &str) -> PyResult<Proxy> {
        self.add(haproxy_model::SectionKind::Listen, name)
    }

    /// Removes the `backend` section `name` (not a listen); `KeyError` when there is none.
    fn remove_backend(&self, name: &str) -> PyResult<()> {
        lock(&self.inner).remove_backend(name).map(drop).ok_or_else(|| PyKeyError::new_err(format!("no backend named {name:?}")))
    }

    /// Removes the `frontend` section `name` (not a listen); `KeyError` when there is none.
    fn remove_frontend(&self, name: &str) -> PyResult<()> {
        lock(&self.inner).remove_frontend(name).map(drop).ok_or_else(|| PyKeyError::new_err(format!("no frontend named {name:?}")))
    }

    /// Removes the `listen` section `name`; `KeyError` when there is none.
    fn remove_listen(&self, name: &str) -> PyResult<()> {
        lock(&self.inner).remove_listen(name).map(drop).ok_or_else(|| PyKeyError::new_err(format!("no listen named {name:?}")))
    }

    fn __str__(&self, py: Python<'_>) -> String {
        self.render(py)
    }

    fn __repr__(&self) -> String {
        format!("<haproxy_fleet.Document with {} sections>", lock(&self.inner).sections().len())
    }
}

/// Parses an HAProxy configuration (`str`, or UTF-8 `bytes` read in place); raises
/// `ParseError` on syntax errors unless `strict` is false (the document then still holds every
/// line, and renders back to `text`).
#[pyfunction]
#[pyo3(signature = (text, *, strict = true))]
pub(crate) fn parse(py: Python<'_>, text: &Bound<'_, PyAny>, strict: bool) -> PyResult<Document> {
    with_text(text, |text| parse_text(py, text, strict)).map(Document::wrap)
}

/// Every diagnostic of `text`: syntax errors, then the offline semantic checks, by position.
#[pyfunction]
pub(crate) fn check(py: Python<'_>, text: &Bound<'_, PyAny>) -> PyResult<Vec<Diagnostic>> {
    let parsed = with_text(text, |text| Ok(py.allow_threads(|| haproxy_parse::check(text))))?;
    Ok(convert::diagnostics(&parsed.diagnostics))
}

/// The difference between two configurations (each a `str` or a `Document`):
/// `{"unified": str, "summary": [{"change", "section", "directives": [...]}]}`.
#[pyfunction]
pub(crate) fn diff(py: Python<'_>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<PyObject> {
    let (a, b) = (text_of(py, a)?, text_of(py, b)?);
    let result = py.allow_threads(|| fleet_core::diff::diff(&a, &b));
    convert::to_py(py, &result)
}
