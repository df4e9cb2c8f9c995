//! Views of single lines inside a proxy: `Server` (found by name), `Bind`, `Acl` and `Rule`
//! (found again through an anchor: see `crate::anchor`).
//!
//! Each access re-resolves the path and edits through `ServerMut`, `BindMut`, `AclMut` or
//! `RuleMut`, which touch only their words: `server.weight = 7` rewrites the weight value and
//! nothing else on the line.
//!
//! `Bind`, `Acl` and `Rule` differ only in the typed view they put on their anchored line, so
//! finding the line, checking it is still that kind of line and the `KeyError` when it is not
//! are written once ([`read_as`], [`edit_as`]); each class names its view and its methods.

use pyo3::exceptions::{PyKeyError, PyValueError};
use pyo3::prelude::*;

use crate::anchor::LineRef;
use crate::document::Shared;
use crate::proxy::ProxyPath;
use haproxy_model::{AclMut, BindMut, Param, RuleMut, ServerMut};
use haproxy_model::{Address, Condition, Host, Line, PortSpec};

fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

fn pairs(params: Vec<Param>) -> Vec<(String, Option<String>)> {
    params.into_iter().map(|p| (p.keyword, p.value)).collect()
}

/// A condition given as text (`"if is_api"`, split like an HAProxy line) or a list of words.
pub(crate) fn condition_from_py(value: &Bound<'_, PyAny>) -> PyResult<Condition> {
    let words: Vec<String> = match value.extract::<String>() {
        Ok(text) => {
            let line = haproxy_parse::parse_line(&text).map_err(|diagnostics| {
                let first = diagnostics.first().map(|d| d.message.clone()).unwrap_or_default();
                PyValueError::new_err(format!("condition {text:?}: {first}"))
            })?;
            line.values().into_iter().map(|v| v.into_owned()).collect()
        }
        Err(_) => value.extract::<Vec<String>>().map_err(|_| PyValueError::new_err("a condition is a str or a list of str"))?,
    };
    Condition::parse(&words).map_err(|e| PyValueError::new_err(format!("condition {:?}: {e}", words.join(" "))))
}

fn no_longer(kind: &str) -> PyErr {
    PyKeyError::new_err(format!("the line is no longer {kind}"))
}

/// Reads the anchored line through the view `view` builds and applies to it; `view` answers
/// `None` when the line is no longer `kind` (`"a bind"`), which raises `KeyError`.
fn read_as<R>(line: &LineRef, kind: &str, view: impl FnOnce(&Line, usize) -> Option<PyResult<R>>) -> PyResult<R> {
    line.read(|line, index| view(line, index).unwrap_or_else(|| Err(no_longer(kind))))
}

/// [`read_as`] for edits.
fn edit_as<R>(line: &LineRef, kind: &str, view: impl FnOnce(&mut Line, usize) -> Option<PyResult<R>>) -> PyResult<R> {
    line.edit(|line, index| view(line, index).unwrap_or_else(|| Err(no_longer(kind))))
}

/// `<haproxy_fleet.Bind in frontend "web">`.
fn line_repr(class: &str, line: &LineRef) -> String {
    format!("<haproxy_fleet.{class} in {} {:?}>", line.proxy.side.noun(), line.proxy.name)
}

/// A `server` line of a backend or listen, found by name on each access.
#[pyclass(module = "haproxy_fleet")]
pub(crate) struct Server {
    doc: Shared,
    proxy: ProxyPath,
    name: String,
}

impl Server {
    pub(crate) fn new(doc: Shared, proxy: ProxyPath, name: &str) -> Self {
        Server { doc, proxy, name: name.to_string() }
    }

    fn missing(&self) -> PyErr {
        PyKeyError::new_err(format!("no server named {:?} in {} {:?}", self.name, self.proxy.side.noun(), self.proxy.name))
    }

    fn read<R>(&self, f: impl FnOnce(haproxy_model::Server<'_>) -> PyResult<R>) -> PyResult<R> {
        self.proxy.read(&self.doc, |p| f(p.server(&self.name).ok_or_else(|| self.missing())?))
    }

    fn edit<R>(&self, f: impl FnOnce(ServerMut<'_>) -> PyResult<R>) -> PyResult<R> {
        self.proxy.edit(&self.doc, |mut p| f(p.server_mut(&self.name).ok_or_else(|| self.missing())?))
    }
}

#[pymethods]
impl Server {
    /// The server's name; setting it renames the server on its line.
    #[getter]
    fn name(&self) -> String {
        self.name.clone()
    }

    #[setter]
    fn set_name(&mut self, name: &str) -> PyResult<()> {
        if name.is_empty() {
            return Err(PyValueError::new_err("a server name cannot be empty"));
        }
        if !self.edit(|mut s| Ok(s.set_name(name)))? {
            return Err(value_error(format!("server {} cannot be renamed", self.name)));
        }
        self.name = name.to_string();
        Ok(())
    }

    /// The address as written (`"10.0.0.1:8080"`, `"ipv6@[::1]:80"`); settable (validated).
    #[getter]
    fn address(&self) -> PyResult<Option<String>> {
        self.read(|s| Ok(s.address_text().map(|a| a.into_owned())))
    }

    #[setter]
    fn set_address(&self, address: &str) -> PyResult<()> {
        Address::parse_server(address).map_err(|e| value_error(format!("server {}: {e}", self.name)))?;
        self.edit(|mut s| {
            if s.set_address_text(address) {
                Ok(())
            } else {
                Err(value_error(format!("server {} has no address word to set", self.name)))
            }
        })
    }

    /// The host part of the address (`None` for `*` or no host); settable (the port and
    /// prefix stay).
    #[getter]
    fn host(&self) -> PyResult<Option<String>> {
        self.read(|s| {
            Ok(s.address().and_then(Result::ok).and_then(|a| match a.host {
                Host::Any => None,
                Host::Ipv4(ip) => Some(ip.to_string()),
                Host::Ipv6(ip) => Some(ip.to_string()),
                Host::Name(text) | Host::Path(text) | Host::Fd(text) => Some(text),
            }))
        })
    }

    #[setter]
    fn set_host(&self, host: &str) -> PyResult<()> {
        self.edit(|mut s| s.set_address(host).map_err(value_error))
    }

    /// The port, or `None` (no port, a range or an offset); settable, `None` removes it.
    #[getter]
    fn port(&self) -> PyResult<Option<u16>> {
        self.read(|s| Ok(match s.port() {
            Some(PortSpec::Single(port)) => Some(port),
            _ => None,
        }))
    }

    #[setter]
    fn set_port(&self, port: Option<u16>) -> PyResult<()> {
        self.edit(|mut s| s.set_port(port.map(PortSpec::Single)).map_err(value_error))
    }

    /// `weight`, or `None`; settable, `None` removes it.
    #[getter]
    fn weight(&self) -> PyResult<Option<u32>> {
        self.read(|s| Ok(s.weight()))
    }

    #[setter]
    fn set_weight(&self, weight: Option<u32>) -> PyResult<()> {
        self.edit(|mut s| match weight {
            Some(weight) => s.set_weight(weight).map_err(crate::convert::edit_error),
            None => {
                s.set_param("weight", None);
                Ok(())
            }
        })
    }

    /// `maxconn`, or `None`; settable.
    #[getter]
    fn maxconn(&self) -> PyResult<Option<u32>> {
        self.read(|s| Ok(s.maxconn()))
    }

    #[setter]
    fn set_maxconn(&self, maxconn: Option<u32>) -> PyResult<()> {
        self.edit(|mut s| {
            s.set_param("maxconn", maxconn.map(|m| m.to_string()).as_deref());
            Ok(())
        })
    }

    /// `backup` flag (the last of `backup` / `no-backup` wins); settable.
    #[getter]
    fn backup(&self) -> PyResult<bool> {
        self.read(|s| Ok(s.is_backup()))
    }

    #[setter]
    fn set_backup(&self, backup: bool) -> PyResult<()> {
        self.edit(|mut s| {
            s.set_backup(backup);
            Ok(())
        })
    }

    /// `disabled` flag; settable.
    #[getter]
    fn disabled(&self) -> PyResult<bool> {
        self.read(|s| Ok(s.is_disabled()))
    }

    #[setter]
    fn set_disabled(&self, disabled: bool) -> PyResult<()> {
        self.edit(|mut s| {
            if disabled {
                s.disable();
            } else {
                s.enable();
            }
            Ok(())
        })
    }

    /// `check` flag; settable.
    #[getter]
    fn check(&self) -> PyResult<bool> {
        self.read(|s| Ok(s.has_check()))
    }

    #[setter]
    fn set_check(&self, check: bool) -> PyResult<()> {
        self.edit(|mut s| {
            s.set_check(check);
            Ok(())
        })
    }

    /// Every parameter after the address, in order: `[("check", None), ("weight", "10")]`.
    #[getter]
    fn params(&self) -> PyResult<Vec<(String, Option<String>)>> {
        self.read(|s| Ok(pairs(s.params())))
    }

    /// The value of parameter `keyword` (the last one wins), or `None`.
    fn param(&self, keyword: &str) -> PyResult<Option<String>> {
        self.read(|s| Ok(s.param_value(keyword)))
    }

    /// Sets `keyword value`, in place when present; `None` removes every occurrence.
    #[pyo3(signature = (keyword, value))]
    fn set_param(&self, keyword: &str, value: Option<&str>) -> PyResult<()> {
        self.edit(|mut s| {
            s.set_param(keyword, value);
            Ok(())
        })
    }

    /// Adds (`on=True`) or removes a flag such as `ssl`, `check`, `send-proxy`.
    fn set_flag(&self, keyword: &str, on: bool) -> PyResult<()> {
        self.edit(|mut s| {
            s.set_flag(keyword, on);
            Ok(())
        })
    }

    /// The whole line as it renders now (without its line ending).
    #[getter]
    fn text(&self) -> PyResult<String> {
        self.read(|s| Ok(s.line().text()))
    }

    fn __repr__(&self) -> String {
        format!("<haproxy_fleet.Server {:?} in {} {:?}>", self.name, self.proxy.side.noun(), self.proxy.name)
    }
}

/// A `bind` line of a frontend or listen (see `anchor` for how it is found again).
#[pyclass(module = "haproxy_fleet")]
pub(crate) struct Bind {
    line: LineRef,
}

impl Bind {
    pub(crate) fn new(line: LineRef) -> Self {
        Bind { line }
    }

    fn read<R>(&self, f: impl FnOnce(&haproxy_model::Bind<'_>) -> PyResult<R>) -> PyResult<R> {
        read_as(&self.line, "a bind", |line, index| haproxy_model::Bind::new(line, index).map(|v| f(&v)))
    }

    fn edit<R>(&self, f: impl FnOnce(BindMut<'_>) -> PyResult<R>) -> PyResult<R> {
        edit_as(&self.line, "a bind", |line, index| BindMut::new(line, index).map(f))
    }
}

#[pymethods]
impl Bind {
    /// The address list as written (`":443"`, `"[::]:80,:80"`); settable (validated).
    #[getter]
    fn address(&self) -> PyResult<Option<String>> {
        self.read(|b| Ok(b.address_text().map(|a| a.into_owned())))
    }

    #[setter]
    fn set_address(&self, address: &str) -> PyResult<()> {
        self.edit(|mut b| b.set_address_text(address).map_err(value_error))
    }

    /// Every parameter after the address, in order.
    #[getter]
    fn params(&self) -> PyResult<Vec<(String, Option<String>)>> {
        self.read(|b| Ok(pairs(b.params())))
    }

    /// True when the bind has `ssl`.
    #[getter]
    fn ssl(&self) -> PyResult<bool> {
        self.read(|b| Ok(b.is_ssl()))
    }

    /// The `crt` values, in order.
    #[getter]
    fn certificates(&self) -> PyResult<Vec<String>> {
        self.read(|b| Ok(b.certificates()))
    }

    /// The value of parameter `keyword` (the last one wins), or `None`.
    fn param(&self, keyword: &str) -> PyResult<Option<String>> {
        self.read(|b| Ok(b.param_value(keyword)))
    }

    /// Sets `keyword value`, in place when present; `None` removes it.
    #[pyo3(signature = (keyword, value))]
    fn set_param(&self, keyword: &str, value: Option<&str>) -> PyResult<()> {
        self.edit(|mut b| {
            b.set_param(keyword, value);
            Ok(())
        })
    }

    /// Adds (`on=True`) or removes a flag such as `ssl`, `accept-proxy`.
    fn set_flag(&self, keyword: &str, on: bool) -> PyResult<()> {
        self.edit(|mut b| {
            b.set_flag(keyword, on);
            Ok(())
        })
    }

    /// The line's index in its section now.
    #[getter]
    fn index(&self) -> PyResult<usize> {
        self.line.index()
    }

    /// The whole line as it renders now.
    #[getter]
    fn text(&self) -> PyResult<String> {
        self.line.text()
    }

    fn __repr__(&self) -> String {
        line_repr("Bind", &self.line)
    }
}

/// An `acl` line (see `anchor` for how it is found again).
#[pyclass(module = "haproxy_fleet")]
pub(crate) struct Acl {
    line: LineRef,
}

impl Acl {
    pub(crate) fn new(line: LineRef) -> Self {
        Acl { line }
    }

    fn read<R>(&self, f: impl FnOnce(haproxy_model::Acl<'_>) -> PyResult<R>) -> PyResult<R> {
        read_as(&self.line, "an acl", |line, index| haproxy_model::Acl::new(line, index).map(f))
    }

    fn edit<R>(&self, f: impl FnOnce(AclMut<'_>) -> PyResult<R>) -> PyResult<R> {
        edit_as(&self.line, "an acl", |line, index| AclMut::new(line, index).map(f))
    }
}

#[pymethods]
impl Acl {
    /// The ACL's name; settable.
    #[getter]
    fn name(&self) -> PyResult<Option<String>> {
        self.read(|a| Ok(a.name().map(|n| n.into_owned())))
    }

    #[setter]
    fn set_name(&self, name: &str) -> PyResult<()> {
        self.edit(|mut a| if a.set_name(name) { Ok(()) } else { Err(value_error("this acl line has no name word to set")) })
    }

    /// The criterion (`path_beg`, `src`, `hdr(host)`); settable.
    #[getter]
    fn criterion(&self) -> PyResult<Option<String>> {
        self.read(|a| Ok(a.criterion().map(|c| c.into_owned())))
    }

    #[setter]
    fn set_criterion(&self, criterion: &str) -> PyResult<()> {
        self.edit(|mut a| {
            if a.set_criterion(criterion) {
                Ok(())
            } else {
                Err(value_error("this acl line has no criterion word to set"))
            }
        })
    }

    /// The flags before the patterns: `[("-i", None), ("-m", "beg")]`.
    #[getter]
    fn flags(&self) -> PyResult<Vec<(String, Option<String>)>> {
        self.read(|a| Ok(a.flags().into_iter().map(|f| (f.flag, f.value)).collect()))
    }

    /// The patterns; settable (the criterion and flags stay as written).
    #[getter]
    fn patterns(&self) -> PyResult<Vec<String>> {
        self.read(|a| Ok(a.patterns().into_iter().map(|p| p.into_owned()).collect()))
    }

    #[setter]
    fn set_patterns(&self, patterns: Vec<String>) -> PyResult<()> {
        self.edit(|mut a| {
            a.set_patterns(&patterns);
            Ok(())
        })
    }

    /// The line's index in its section now.
    #[getter]
    fn index(&self) -> PyResult<usize> {
        self.line.index()
    }

    /// The whole line as it renders now.
    #[getter]
    fn text(&self) -> PyResult<String> {
        self.line.text()
    }

    fn __repr__(&self) -> String {
        line_repr("Acl", &self.line)
    }
}

/// A rule line (`http-request`, `use_backend`, `tcp-request` ...; see `anchor` for how it is
/// found again).
#[pyclass(module = "haproxy_fleet")]
pub(crate) struct Rule {
    line: LineRef,
}

impl Rule {
    pub(crate) fn new(line: LineRef) -> Self {
        Rule { line }
    }

    fn read<R>(&self, f: impl FnOnce(haproxy_model::Rule<'_>) -> PyResult<R>) -> PyResult<R> {
        read_as(&self.line, "a rule", |line, index| haproxy_model::Rule::new(line, index).map(f))
    }

    fn edit<R>(&self, f: impl FnOnce(RuleMut<'_>) -> PyResult<R>) -> PyResult<R> {
        edit_as(&self.line, "a rule", |line, index| RuleMut::new(line, index).map(f))
    }

    /// The rule's line index now (for removal).
    pub(crate) fn current_index(&self) -> PyResult<usize> {
        self.read(|r| Ok(r.index()))
    }
}

#[pymethods]
impl Rule {
    /// `http-request`, `use_backend` ...
    #[getter]
    fn keyword(&self) -> PyResult<String> {
        self.read(|r| Ok(r.keyword().into_owned()))
    }

    /// The action (`deny`, `set-header` ...), or `None` for rules without one.
    #[getter]
    fn action(&self) -> PyResult<Option<String>> {
        self.read(|r| Ok(r.action().map(|a| a.into_owned())))
    }

    /// The target of `use_backend` / `default_backend` / `use-server`; settable.
    #[getter]
    fn target(&self) -> PyResult<Option<String>> {
        self.read(|r| Ok(r.target().map(|t| t.into_owned())))
    }

    #[setter]
    fn set_target(&self, target: &str) -> PyResult<()> {
        self.edit(|mut r| {
            if r.set_target(target) {
                Ok(())
            } else {
                Err(PyValueError::new_err("this rule has no target"))
            }
        })
    }

    /// The words after the action and before the condition.
    #[getter]
    fn args(&self) -> PyResult<Vec<String>> {
        self.read(|r| Ok(r.args().into_iter().map(|a| a.into_owned()).collect()))
    }

    /// The condition as text (`"if is_api !is_admin"`), or `None`; settable with text, a list of
    /// words or `None` (removes it). The words before the condition stay as written.
    #[getter]
    fn condition(&self) -> PyResult<Option<String>> {
        self.read(|r| {
            let Some(at) = r.condition_word() else { return Ok(None) };
            Ok(Some(r.line().values()[at..].join(" ")))
        })
    }

    #[setter]
    fn set_condition(&self, condition: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let condition = condition.filter(|c| !c.is_none()).map(condition_from_py).transpose()?;
        self.edit(|mut r| {
            r.set_condition(condition.as_ref());
            Ok(())
        })
    }

    /// The line's index in its section now.
    #[getter]
    fn index(&self) -> PyResult<usize> {
        self.current_index()
    }

    /// The whole line as it renders now.
    #[getter]
    fn text(&self) -> PyResult<String> {
        self.line.text()
    }

    fn __repr__(&self) -> String {
        line_repr("Rule", &self.line)
    }
}
