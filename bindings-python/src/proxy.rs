//! `Proxy`: a frontend, backend or listen section, found by side and name on each access.
//!
//! A `listen` section is both a frontend and a backend (as in `haproxy_model`), so
//! `doc.backend("l")` and `doc.frontend("l")` both find it.

use pyo3::exceptions::{PyKeyError, PyValueError};
use pyo3::prelude::*;

use crate::anchor::LineRef;
use crate::convert::{edit_error, lock};
use crate::document::Shared;
use crate::items::{condition_from_py, Acl, Bind, Rule, Server};
use haproxy_model::TimeValue;
use haproxy_model::Balance;
use haproxy_model::{ProxyMut, Side};

/// Where a proxy is: its side and name. Items (servers, binds ...) keep one to find their line.
#[derive(Debug, Clone)]
pub(crate) struct ProxyPath {
    pub(crate) side: Side,
    pub(crate) name: String,
}

impl ProxyPath {
    fn missing(&self) -> PyErr {
        edit_error(haproxy_model::EditError::NotFound { what: self.side.noun(), name: self.name.clone(), proxy: None })
    }

    /// Runs `f` on a read-only view of the proxy.
    pub(crate) fn read<R>(&self, doc: &Shared, f: impl FnOnce(haproxy_model::Proxy<'_>) -> PyResult<R>) -> PyResult<R> {
        let doc = lock(doc);
        let proxy = doc.proxy(self.side, &self.name).ok_or_else(|| self.missing())?;
        f(proxy)
    }

    /// Runs `f` on an editor of the proxy.
    pub(crate) fn edit<R>(&self, doc: &Shared, f: impl FnOnce(ProxyMut<'_>) -> PyResult<R>) -> PyResult<R> {
        let mut doc = lock(doc);
        let proxy = doc.proxy_mut(self.side, &self.name).ok_or_else(|| self.missing())?;
        f(proxy)
    }
}

/// A `frontend`, `backend` or `listen` section. Every property reads the document as it is now;
/// setters change only the words concerned, and new lines go next to their kin.
#[pyclass(module = "haproxy_fleet")]
pub(crate) struct Proxy {
    doc: Shared,
    path: ProxyPath,
}

impl Proxy {
    pub(crate) fn new(doc: Shared, side: Side, name: &str) -> Self {
        Proxy { doc, path: ProxyPath { side, name: name.to_string() } }
    }

    fn read<R>(&self, f: impl FnOnce(haproxy_model::Proxy<'_>) -> PyResult<R>) -> PyResult<R> {
        self.path.read(&self.doc, f)
    }

    fn edit<R>(&self, f: impl FnOnce(ProxyMut<'_>) -> PyResult<R>) -> PyResult<R> {
        self.path.edit(&self.doc, f)
    }

    fn server_view(&self, name: &str) -> Server {
        Server::new(self.doc.clone(), self.path.clone(), name)
    }

    /// A reference to line `index` of the section as it is now.
    fn line_ref(&self, p: &haproxy_model::Proxy<'_>, index: usize, what: &'static str) -> PyResult<LineRef> {
        let line = p.section().lines().get(index).ok_or_else(|| PyKeyError::new_err(format!("no line {index}")))?;
        Ok(LineRef::new(self.doc.clone(), self.path.clone(), line, index, what))
    }
}

fn owned(value: Option<std::borrow::Cow<'_, str>>) -> Option<String> {
    value.map(std::borrow::Cow::into_owned)
}

#[pymethods]
impl Proxy {
    /// The proxy's name; setting it renames the section.
    #[getter]
    fn name(&self) -> String {
        self.path.name.clone()
    }

    #[setter]
    fn set_name(&mut self, name: &str) -> PyResult<()> {
        lock(&self.doc).rename_proxy(self.path.side, &self.path.name, name).map_err(edit_error)?;
        self.path.name = name.to_string();
        Ok(())
    }

    /// `"frontend"`, `"backend"` or `"listen"`.
    #[getter]
    fn kind(&self) -> PyResult<String> {
        self.read(|p| Ok(p.kind().keyword().to_string()))
    }

    /// The `defaults` section named by `from`, or `None`; settable.
    #[getter]
    fn defaults(&self) -> PyResult<Option<String>> {
        self.read(|p| Ok(owned(p.from())))
    }

    #[setter]
    fn set_defaults(&self, name: Option<&str>) -> PyResult<()> {
        self.edit(|mut p| {
            p.set_from(name);
            Ok(())
        })
    }

    /// `mode` (`"http"`, `"tcp"`), or `None`; settable, `None` removes the line.
    #[getter]
    fn mode(&self) -> PyResult<Option<String>> {
        self.read(|p| Ok(owned(p.mode())))
    }

    #[setter]
    fn set_mode(&self, mode: Option<&str>) -> PyResult<()> {
        self.edit(|mut p| {
            p.set_mode(mode);
            Ok(())
        })
    }

    /// `balance` as written after the keyword (`"roundrobin"`, `"url_param uid"`), or `None`.
    #[getter]
    fn balance(&self) -> PyResult<Option<String>> {
        self.read(|p| Ok(p.balance().map(|b| std::iter::once(b.algorithm).chain(b.args).collect::<Vec<_>>().join(" "))))
    }

    #[setter]
    fn set_balance(&self, balance: Option<&str>) -> PyResult<()> {
        let balance = match balance {
            None => None,
            Some(text) => {
                let mut words = text.split_whitespace().map(str::to_string);
                let algorithm = words.next().ok_or_else(|| PyValueError::new_err("a balance algorithm cannot be empty"))?;
                Some(Balance { algorithm, args: words.collect() })
            }
        };
        self.edit(|mut p| {
            p.set_balance(balance.as_ref());
            Ok(())
        })
    }

    /// `maxconn`, or `None`; settable.
    #[getter]
    fn maxconn(&self) -> PyResult<Option<u32>> {
        self.read(|p| Ok(p.maxconn()))
    }

    #[setter]
    fn set_maxconn(&self, maxconn: Option<u32>) -> PyResult<()> {
        self.edit(|mut p| {
            p.set_maxconn(maxconn);
            Ok(())
        })
    }

    /// `default_backend`, or `None`; settable.
    #[getter]
    fn default_backend(&self) -> PyResult<Option<String>> {
        self.read(|p| Ok(owned(p.default_backend())))
    }

    #[setter]
    fn set_default_backend(&self, backend: Option<&str>) -> PyResult<()> {
        self.edit(|mut p| {
            p.set_default_backend(backend);
            Ok(())
        })
    }

    /// Every `timeout` as written: `{"connect": "5s", ...}` (the last line wins).
    fn timeouts(&self) -> PyResult<Vec<(String, String)>> {
        self.read(|p| {
            let section = p.section();
            Ok(p.timeouts()
                .into_iter()
                .map(|t| {
                    let raw = section.lines().get(t.index).and_then(|l| l.value(2)).map(|v| v.into_owned()).unwrap_or_default();
                    (t.name.into_owned(), raw)
                })
                .collect())
        })
    }

    /// `timeout <name>` as written (`"5s"`), or `None`.
    fn timeout(&self, name: &str) -> PyResult<Option<String>> {
        Ok(self.timeouts()?.into_iter().rev().find(|(n, _)| n == name).map(|(_, v)| v))
    }

    /// Sets `timeout <name> <value>` (`"5s"`, `"500ms"`, `"30000"`); `None` removes it.
    /// `ValueError` for a value HAProxy would not read.
    #[pyo3(signature = (name, value))]
    fn set_timeout(&self, name: &str, value: Option<&str>) -> PyResult<()> {
        let value = value.map(TimeValue::parse).transpose().map_err(|e| PyValueError::new_err(format!("timeout {name}: {e}")))?;
        self.edit(|mut p| {
            p.set_timeout(name, value.as_ref());
            Ok(())
        })
    }

    /// `True` for `option name`, `False` for `no option name`, `None` when not set here.
    fn option(&self, name: &str) -> PyResult<Option<bool>> {
        self.read(|p| Ok(p.option(name)))
    }

    /// `True` writes `option name`, `False` `no option name`, `None` removes it.
    #[pyo3(signature = (name, state))]
    fn set_option(&self, name: &str, state: Option<bool>) -> PyResult<()> {
        self.edit(|mut p| {
            p.set_option(name, state);
            Ok(())
        })
    }

    /// The `server` lines.
    fn servers(&self) -> PyResult<Vec<Server>> {
        let names: Vec<String> = self.read(|p| Ok(p.servers().iter().filter_map(|s| owned(s.name())).collect()))?;
        Ok(names.iter().map(|n| self.server_view(n)).collect())
    }

    /// The server `name`; `KeyError` when there is none.
    fn server(&self, name: &str) -> PyResult<Server> {
        let found = self.read(|p| Ok(p.server(name).is_some()))?;
        if !found {
            return Err(PyKeyError::new_err(format!("no server named {name:?} in {} {:?}", self.path.side.noun(), self.path.name)));
        }
        Ok(self.server_view(name))
    }

    /// Adds `server <name> <address> [params...]` after the last server. `ValueError` for a name
    /// or address HAProxy would not read, or a server of that name already there.
    #[pyo3(signature = (name, address, params = Vec::new()))]
    fn add_server(&self, name: &str, address: &str, params: Vec<String>) -> PyResult<Server> {
        self.edit(|mut p| p.add_server(name, address, &params).map(drop).map_err(edit_error))?;
        Ok(self.server_view(name))
    }

    /// Removes the server `name`; `KeyError` when there is none.
    fn remove_server(&self, name: &str) -> PyResult<()> {
        self.edit(|mut p| p.remove_server(name).map(drop).map_err(edit_error))
    }

    /// The `bind` lines, in order.
    fn binds(&self) -> PyResult<Vec<Bind>> {
        self.read(|p| p.binds().iter().map(|b| Ok(Bind::new(self.line_ref(&p, b.index(), "bind")?))).collect())
    }

    /// Adds `bind <address> [params...]` after the last bind; `ValueError` for a bad address or
    /// a bind on the same address already there.
    #[pyo3(signature = (address, params = Vec::new()))]
    fn add_bind(&self, address: &str, params: Vec<String>) -> PyResult<Bind> {
        let index = self.edit(|mut p| p.add_bind(address, &params).map(|b| b.view().index()).map_err(edit_error))?;
        self.read(|p| Ok(Bind::new(self.line_ref(&p, index, "bind")?)))
    }

    /// Removes the `n`th bind line (0-based); `KeyError` when there is none.
    fn remove_bind(&self, n: usize) -> PyResult<()> {
        self.edit(|mut p| p.remove_bind(n).map(drop).map_err(edit_error))
    }

    /// The `acl` lines, in order.
    fn acls(&self) -> PyResult<Vec<Acl>> {
        self.read(|p| p.acls().iter().map(|a| Ok(Acl::new(self.line_ref(&p, a.index(), "acl")?))).collect())
    }

    /// Adds `acl <name> <criterion> [flags and patterns...]` after the last ACL (before the first
    /// rule when there is none). `ValueError` for a name HAProxy would not read or no criterion.
    #[pyo3(signature = (name, criterion, patterns = Vec::new()))]
    fn add_acl(&self, name: &str, criterion: &str, patterns: Vec<String>) -> PyResult<Acl> {
        let index = self.edit(|mut p| p.add_acl(name, criterion, &patterns).map(|a| a.view().index()).map_err(edit_error))?;
        self.read(|p| Ok(Acl::new(self.line_ref(&p, index, "acl")?)))
    }

    /// Removes every line declaring ACL `name`; returns how many; `KeyError` when none.
    fn remove_acl(&self, name: &str) -> PyResult<usize> {
        self.edit(|mut p| p.remove_acl(name).map_err(edit_error))
    }

    /// Every rule (`http-request`, `use_backend`, `tcp-request` ...), in order.
    fn rules(&self) -> PyResult<Vec<Rule>> {
        self.read(|p| p.rules().iter().map(|r| Ok(Rule::new(self.line_ref(&p, r.index(), "rule")?))).collect())
    }

    /// Adds `<keyword> <args...> [condition]` after the last rule with that keyword.
    /// `condition` is text (`"if is_api"`, `"unless { src 10.0.0.0/8 }"`) or a list of words.
    /// `ValueError` when `keyword` is not a rule keyword.
    #[pyo3(signature = (keyword, args, condition = None))]
    fn add_rule(&self, keyword: &str, args: Vec<String>, condition: Option<&Bound<'_, PyAny>>) -> PyResult<Rule> {
        let condition = condition.map(condition_from_py).transpose()?;
        let index =
            self.edit(|mut p| p.add_rule(keyword, &args, condition.as_ref()).map(|r| r.view().index()).map_err(edit_error))?;
        self.read(|p| Ok(Rule::new(self.line_ref(&p, index, "rule")?)))
    }

    /// Adds `use_backend <backend> [condition]` after the last one.
    #[pyo3(signature = (backend, condition = None))]
    fn add_use_backend(&self, backend: &str, condition: Option<&Bound<'_, PyAny>>) -> PyResult<Rule> {
        let condition = condition.map(condition_from_py).transpose()?;
        let index =
            self.edit(|mut p| p.add_use_backend(backend, condition.as_ref()).map(|r| r.view().index()).map_err(edit_error))?;
        self.read(|p| Ok(Rule::new(self.line_ref(&p, index, "rule")?)))
    }

    /// Removes a rule (a `Rule` from `rules()`); `KeyError` when its line is no longer a rule.
    fn remove_rule(&self, rule: PyRef<'_, Rule>) -> PyResult<()> {
        let index = rule.current_index()?;
        self.edit(|mut p| {
            p.remove_rule(index).map(drop).ok_or_else(|| PyKeyError::new_err(format!("line {index} of the section is not a rule")))
        })
    }

    /// The section's text as it renders now.
    fn __str__(&self) -> PyResult<String> {
        self.read(|p| {
            let section = p.section();
            let mut out = String::new();
            section.header().render_into(&mut out);
            section.lines().iter().for_each(|l| l.render_into(&mut out));
            Ok(out)
        })
    }

    fn __repr__(&self) -> String {
        format!("<haproxy_fleet.Proxy {} {:?}>", self.path.side.noun(), self.path.name)
    }
}
