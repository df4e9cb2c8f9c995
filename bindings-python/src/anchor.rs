//! Finding a line again after other edits moved it.
//!
//! `Bind`, `Acl` and `Rule` objects have no name to look up, so each keeps an anchor: the
//! line's index in its section and its word values when last seen. On each access the line at
//! that index must still carry those words; if lines were inserted or removed before it, the
//! line with the same words nearest to the old index is taken instead (and the anchor moves).
//! Edits made through the object update the anchor, so a view never silently lands on a
//! different rule; a line removed or changed through another object raises `KeyError`.

use std::sync::Mutex;

use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;

use crate::convert::lock;
use crate::document::Shared;
use crate::proxy::ProxyPath;
use haproxy_model::Line;

/// Where a line was and what it said.
#[derive(Debug, Clone)]
struct Anchor {
    index: usize,
    values: Vec<String>,
}

fn values(line: &Line) -> Vec<String> {
    line.values().into_iter().map(|v| v.into_owned()).collect()
}

impl Anchor {
    fn matches(&self, line: &Line) -> bool {
        line.values().iter().map(|v| v.as_ref()).eq(self.values.iter().map(String::as_str))
    }

    /// The line's index now, if it is still there.
    fn find(&self, lines: &[Line]) -> Option<usize> {
        if lines.get(self.index).is_some_and(|l| self.matches(l)) {
            return Some(self.index);
        }
        (0..lines.len()).filter(|&i| self.matches(&lines[i])).min_by_key(|&i| i.abs_diff(self.index))
    }
}

/// A line of a proxy section, found again on each access.
#[derive(Debug)]
pub(crate) struct LineRef {
    doc: Shared,
    pub(crate) proxy: ProxyPath,
    anchor: Mutex<Anchor>,
    what: &'static str,
}

impl LineRef {
    /// A reference to `line`, now at `index` of the proxy's section; `what` names it in errors.
    pub(crate) fn new(doc: Shared, proxy: ProxyPath, line: &Line, index: usize, what: &'static str) -> Self {
        LineRef { doc, proxy, anchor: Mutex::new(Anchor { index, values: values(line) }), what }
    }

    fn missing(&self, anchor: &Anchor) -> PyErr {
        PyKeyError::new_err(format!(
            "the {} {:?} is no longer in {} {:?}",
            self.what,
            anchor.values.join(" "),
            self.proxy.side.noun(),
            self.proxy.name
        ))
    }

    /// Runs `f` on the line and its current index.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&Line, usize) -> PyResult<R>) -> PyResult<R> {
        let mut anchor = lock(&self.anchor);
        self.proxy.read(&self.doc, |p| {
            let lines = p.section().lines();
            let index = anchor.find(lines).ok_or_else(|| self.missing(&anchor))?;
            anchor.index = index;
            f(&lines[index], index)
        })
    }

    /// Runs `f` on the line for editing, then remembers what the line says now.
    pub(crate) fn edit<R>(&self, f: impl FnOnce(&mut Line, usize) -> PyResult<R>) -> PyResult<R> {
        let mut anchor = lock(&self.anchor);
        self.proxy.edit(&self.doc, |mut p| {
            let lines = p.section_mut().lines_mut();
            let index = anchor.find(lines).ok_or_else(|| self.missing(&anchor))?;
            let line = &mut lines[index];
            let result = f(line, index);
            *anchor = Anchor { index, values: values(line) };
            result
        })
    }

    /// The line's index in its section now.
    pub(crate) fn index(&self) -> PyResult<usize> {
        self.read(|_, index| Ok(index))
    }

    /// The line as it renders now, without its line ending.
    pub(crate) fn text(&self) -> PyResult<String> {
        self.read(|line, _| Ok(line.text()))
    }
}
