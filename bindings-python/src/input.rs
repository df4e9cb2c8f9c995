//! Configuration text from Python: a `str`, or UTF-8 `bytes` read in place.
//!
//! An abi3 module for CPython 3.9 has no zero-copy UTF-8 view of a `str` (that API is 3.10+),
//! so a `str` is copied once (a few milliseconds for 12 MB); `bytes`, as read from a file
//! opened in binary mode, are only validated.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

/// Calls `f` with the text of `value`, a `str` or UTF-8 `bytes`.
pub(crate) fn with_text<R>(value: &Bound<'_, PyAny>, f: impl FnOnce(&str) -> PyResult<R>) -> PyResult<R> {
    if let Ok(bytes) = value.downcast::<PyBytes>() {
        let text = std::str::from_utf8(bytes.as_bytes())
            .map_err(|e| PyValueError::new_err(format!("the configuration is not valid utf-8: {e}")))?;
        return f(text);
    }
    match value.downcast::<PyString>() {
        Ok(text) => f(&text.to_cow()?),
        Err(_) => Err(PyTypeError::new_err(format!(
            "expected the configuration as str or bytes, not {}",
            value.get_type().name().map(|n| n.to_string()).unwrap_or_default()
        ))),
    }
}
