//! Conversions shared by every binding: diagnostics, `ParseError`, JSON values to Python
//! objects, and locking the shared document.
//!
//! `to_dict()` goes through `serde_json::Value` because the Rust side already defines the
//! serialised shape (`haproxy_model::export`, `fleet_core::diff`); the bindings only carry it
//! over, so the dictionaries match `fleet config parse --emit json` and the HTTP API.

use std::sync::{Mutex, MutexGuard, PoisonError};

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::Value;

create_exception!(
    haproxy_fleet,
    ParseError,
    PyValueError,
    "The text does not parse. `.line` and `.column` locate the first error (1-based), \
     `.diagnostics` lists every diagnostic."
);

/// One finding about a configuration: severity, 1-based line and column, message.
#[pyclass(module = "haproxy_fleet", frozen, get_all)]
#[derive(Debug, Clone)]
pub(crate) struct Diagnostic {
    /// `"error"` or `"warning"`.
    severity: String,
    /// 1-based line.
    line: u32,
    /// 1-based column.
    column: u32,
    /// Lowercase, without a final period.
    message: String,
}

#[pymethods]
impl Diagnostic {
    fn is_error(&self) -> bool {
        self.severity == "error"
    }

    fn __str__(&self) -> String {
        format!("{}:{}: {}: {}", self.line, self.column, self.severity, self.message)
    }

    fn __repr__(&self) -> String {
        format!("<Diagnostic {}:{} {}: {:?}>", self.line, self.column, self.severity, self.message)
    }

    fn __eq__(&self, other: &Self) -> bool {
        (self.line, self.column, &self.severity, &self.message) == (other.line, other.column, &other.severity, &other.message)
    }
}

impl From<&haproxy_model::Diagnostic> for Diagnostic {
    fn from(d: &haproxy_model::Diagnostic) -> Self {
        Diagnostic {
            severity: d.severity.to_string(),
            line: d.position.line,
            column: d.position.column,
            message: d.message.clone(),
        }
    }
}

/// The diagnostics as Python objects.
pub(crate) fn diagnostics(list: &[haproxy_model::Diagnostic]) -> Vec<Diagnostic> {
    list.iter().map(Diagnostic::from).collect()
}

/// A `ParseError` naming the first error (`line:column: message`), carrying every diagnostic.
pub(crate) fn parse_error(py: Python<'_>, list: &[haproxy_model::Diagnostic]) -> PyErr {
    let first = list.iter().find(|d| d.is_error()).or(list.first());
    let (line, column, message) = match first {
        Some(d) => (d.position.line, d.position.column, d.message.as_str()),
        None => (0, 0, "unknown error"),
    };
    let errors = list.iter().filter(|d| d.is_error()).count();
    let more = if errors > 1 { format!(" (and {} more errors)", errors - 1) } else { String::new() };
    let err = ParseError::new_err(format!("{line}:{column}: {message}{more}"));
    let value = err.value(py);
    let set = || -> PyResult<()> {
        value.setattr("line", line)?;
        value.setattr("column", column)?;
        value.setattr("diagnostics", diagnostics(list))?;
        Ok(())
    };
    match set() {
        Ok(()) => err,
        Err(e) => e,
    }
}

/// A JSON value as the equivalent Python object (dict, list, str, int, float, bool, None).
pub(crate) fn json_to_py(py: Python<'_>, value: &Value) -> PyResult<PyObject> {
    Ok(match value {
        Value::Null => py.None(),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any().unbind(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any().unbind(),
            (None, Some(u)) => u.into_pyobject(py)?.into_any().unbind(),
            _ => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any().unbind(),
        },
        Value::String(s) => s.into_pyobject(py)?.into_any().unbind(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_any().unbind()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (key, item) in map {
                dict.set_item(key, json_to_py(py, item)?)?;
            }
            dict.into_any().unbind()
        }
    })
}

/// Any serialisable Rust value as a Python object.
pub(crate) fn to_py<T: serde::Serialize>(py: Python<'_>, value: &T) -> PyResult<PyObject> {
    let json = serde_json::to_value(value).map_err(|e| PyValueError::new_err(format!("cannot serialise: {e}")))?;
    json_to_py(py, &json)
}

/// Locks a shared document. A panic while locked cannot leave a half-edited line (edits are
/// single `Vec` operations), so a poisoned lock is simply taken over.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A refused typed edit as the Python exception that fits: `KeyError` for something missing,
/// `IndexError` for a position out of range, `ValueError` for the rest. The model's
/// [`haproxy_model::EditError`] decides what is refused, so Python and the HTTP API agree.
pub(crate) fn edit_error(error: haproxy_model::EditError) -> PyErr {
    use haproxy_model::EditError;
    match error {
        EditError::NotFound { .. } => pyo3::exceptions::PyKeyError::new_err(error.to_string()),
        EditError::PositionOutOfRange { .. } => pyo3::exceptions::PyIndexError::new_err(error.to_string()),
        _ => pyo3::exceptions::PyValueError::new_err(error.to_string()),
    }
}
