//! Editing a proxy section. Setters change only the words they must; new lines are placed
//! next to their kin (a server after the last server, an ACL after the last ACL or before the
//! first rule, since HAProxy resolves ACL names when it reads a rule) and take their indent.

use std::time::Duration;

use super::directive;
use super::edit_error::{check_bind_address, check_name, check_server_address, check_server_params, check_values};
use super::{AclMut, Balance, BindMut, EditError, HashType, Proxy, RuleMut, ServerMut, RULE_KEYWORDS};
use crate::condition::Condition;
use crate::duration::TimeValue;
use crate::{Line, Section};

/// Keywords a new server line goes after.
const SERVER_KEYWORDS: &[&str] = &["server", "server-template", "default-server"];

/// The words of `keyword args [condition]`.
fn rule_words<S: AsRef<str>>(keyword: &str, args: &[S], condition: Option<&Condition>) -> Vec<String> {
    let mut values = vec![keyword.to_string()];
    values.extend(args.iter().map(|a| a.as_ref().to_string()));
    values.extend(condition.map(Condition::to_words).unwrap_or_default());
    values
}

/// An editor for a `defaults`, `frontend`, `backend` or `listen` section.
#[derive(Debug)]
pub struct ProxyMut<'a> {
    section: &'a mut Section,
}

impl<'a> ProxyMut<'a> {
    /// An editor of `section` when it is a proxy or a `defaults` section.
    pub fn new(section: &'a mut Section) -> Option<Self> {
        Proxy::new(section)?;
        Some(ProxyMut { section })
    }

    /// An editor of a section the caller knows to be a proxy.
    pub(crate) fn of(section: &'a mut Section) -> Self {
        ProxyMut { section }
    }

    /// A read-only view of the section as it is now.
    pub fn view(&self) -> Proxy<'_> {
        Proxy::of(self.section)
    }

    /// The section, for edits no typed setter covers.
    pub fn section_mut(&mut self) -> &mut Section {
        self.section
    }

    /// Renames the proxy.
    pub fn set_name(&mut self, name: &str) -> bool {
        self.section.set_name(name)
    }

    /// Sets or removes `from <defaults>`.
    pub fn set_from(&mut self, from: Option<&str>) {
        self.section.set_from(from);
    }

    /// Sets or removes `mode`.
    pub fn set_mode(&mut self, mode: Option<&str>) {
        directive::set(self.section, &["mode"], mode.map(|m| vec![m]).as_deref());
    }

    /// Sets or removes `balance`.
    pub fn set_balance(&mut self, balance: Option<&Balance>) {
        let words = balance.map(|b| std::iter::once(b.algorithm.clone()).chain(b.args.iter().cloned()).collect::<Vec<_>>());
        directive::set(self.section, &["balance"], words.as_deref());
    }

    /// Sets or removes `hash-type`.
    pub fn set_hash_type(&mut self, hash_type: Option<&HashType>) {
        let words = hash_type.map(|h| {
            std::iter::once(h.method.clone()).chain(h.function.iter().cloned()).chain(h.modifier.iter().cloned()).collect::<Vec<_>>()
        });
        directive::set(self.section, &["hash-type"], words.as_deref());
    }

    /// Sets or removes `maxconn`.
    pub fn set_maxconn(&mut self, maxconn: Option<u32>) {
        directive::set(self.section, &["maxconn"], maxconn.map(|m| vec![m.to_string()]).as_deref());
    }

    /// Sets or removes `default_backend`.
    pub fn set_default_backend(&mut self, backend: Option<&str>) {
        directive::set(self.section, &["default_backend"], backend.map(|b| vec![b]).as_deref());
    }

    /// Sets or removes `timeout <name>`; the value is written as given (`5s`, `5000`).
    pub fn set_timeout(&mut self, name: &str, value: Option<&TimeValue>) {
        directive::set(self.section, &["timeout", name], value.map(|v| vec![v.raw.as_str()]).as_deref());
    }

    /// Sets `timeout <name>` to `duration`, written in the largest exact unit.
    pub fn set_timeout_duration(&mut self, name: &str, duration: Duration) {
        self.set_timeout(name, Some(&TimeValue::from_duration(duration)));
    }

    /// `Some(true)` writes `option name`, `Some(false)` writes `no option name`, `None`
    /// removes every line about it. An existing line is flipped by adding or removing `no`.
    pub fn set_option(&mut self, name: &str, state: Option<bool>) {
        let Some(enabled) = state else {
            directive::remove_all(self.section, &["option", name]);
            directive::remove_all(self.section, &["no", "option", name]);
            return;
        };
        let last = self.view().options().into_iter().rev().find(|o| o.name == name).map(|o| (o.index, o.enabled));
        match last {
            Some((_, current)) if current == enabled => {}
            Some((index, _)) => {
                if let Some(line) = self.section.lines_mut().get_mut(index) {
                    if enabled {
                        line.remove_word(0);
                    } else {
                        line.insert_word(0, "no");
                    }
                }
            }
            None if enabled => {
                self.section.push_statement(&["option", name]);
            }
            None => {
                self.section.push_statement(&["no", "option", name]);
            }
        }
    }

    /// Appends a `log` line after the last one.
    pub fn add_log<S: AsRef<str>>(&mut self, args: &[S]) -> usize {
        let mut values = vec!["log"];
        values.extend(args.iter().map(AsRef::as_ref));
        directive::insert_near(self.section, &["log"], &[], &values)
    }

    /// `backend "app"`, for messages.
    fn label(&self) -> Option<String> {
        let view = self.view();
        Some(format!("{} {:?}", super::Side::kind_noun(view.kind()), view.name()?))
    }

    /// Adds `server <name> <address> [params]` after the last `server` line (else after the
    /// last `server-template` / `default-server`, else at the end). Refused, with nothing
    /// changed, for a name or address HAProxy would not read, a parameter holding a line break,
    /// or a server of that name already in the proxy.
    pub fn add_server<S: AsRef<str>>(&mut self, name: &str, address: &str, params: &[S]) -> Result<ServerMut<'_>, EditError> {
        check_name("server", name)?;
        check_server_address(address)?;
        check_server_params(params)?;
        if self.view().server(name).is_some() {
            return Err(EditError::Duplicate { what: "server", name: name.to_string(), proxy: self.label() });
        }
        let mut values = vec!["server", name, address];
        values.extend(params.iter().map(AsRef::as_ref));
        let after: &[&str] = if self.view().servers().is_empty() { SERVER_KEYWORDS } else { &["server"] };
        let index = directive::insert_near(self.section, after, &[], &values);
        Ok(self.line_editor(index, ServerMut::at))
    }

    /// The server named `name`, for editing.
    pub fn server_mut(&mut self, name: &str) -> Option<ServerMut<'_>> {
        let index = self.view().server(name)?.index();
        self.section.lines_mut().get_mut(index).and_then(|l| ServerMut::new(l, index))
    }

    /// The last `default-server` line for editing, created (after the last server-related line,
    /// else at the end) when there is none.
    pub fn default_server_mut(&mut self) -> ServerMut<'_> {
        let index = match self.view().default_server() {
            Some(s) => s.index(),
            None => directive::insert_near(self.section, &["default-server"], &["server", "server-template"], &["default-server"]),
        };
        self.line_editor(index, ServerMut::at)
    }

    /// Removes the server named `name`; returns its line.
    pub fn remove_server(&mut self, name: &str) -> Result<Line, EditError> {
        let missing = EditError::NotFound { what: "server", name: name.to_string(), proxy: self.label() };
        let Some(index) = self.view().server(name).map(|s| s.index()) else {
            return Err(missing);
        };
        self.section.remove_line(index).ok_or(missing)
    }

    /// Adds `server-template <prefix> <range> <address> [params]` after the last server line.
    pub fn add_server_template<S: AsRef<str>>(&mut self, prefix: &str, range: &str, address: &str, params: &[S]) -> ServerMut<'_> {
        let mut values = vec!["server-template", prefix, range, address];
        values.extend(params.iter().map(AsRef::as_ref));
        let index = directive::insert_near(self.section, SERVER_KEYWORDS, &[], &values);
        self.line_editor(index, ServerMut::at)
    }

    /// Adds `bind <address> [params]` after the last bind line (else at the start of the body).
    /// Refused, with nothing changed, for an address HAProxy would not read, a parameter holding
    /// a line break, or a bind on the same address already in the proxy (binds are named by
    /// their address).
    pub fn add_bind<S: AsRef<str>>(&mut self, address: &str, params: &[S]) -> Result<BindMut<'_>, EditError> {
        check_bind_address(address)?;
        check_values(params)?;
        if self.bind_position(address).is_some() {
            return Err(EditError::Duplicate { what: "bind", name: address.to_string(), proxy: self.label() });
        }
        let mut values = vec!["bind", address];
        values.extend(params.iter().map(AsRef::as_ref));
        let first_statement = self.section.lines().iter().position(|l| !l.is_trivia());
        let index = if self.view().binds().is_empty() {
            let at = first_statement.unwrap_or(self.section.lines().len());
            if first_statement.is_some() {
                self.section.insert_line(at, Line::statement("", &values));
                at
            } else {
                self.section.push_statement(&values)
            }
        } else {
            directive::insert_near(self.section, &["bind"], &[], &values)
        };
        Ok(self.line_editor(index, BindMut::at))
    }

    /// The position among the binds (0-based) of the one listening on `address` as written.
    pub fn bind_position(&self, address: &str) -> Option<usize> {
        self.view().binds().iter().position(|b| b.address_text().as_deref() == Some(address))
    }

    /// The `n`th bind line (0-based), for editing.
    pub fn bind_mut(&mut self, n: usize) -> Option<BindMut<'_>> {
        let index = self.view().binds().get(n)?.index();
        self.section.lines_mut().get_mut(index).and_then(|l| BindMut::new(l, index))
    }

    /// Removes the `n`th bind line (0-based).
    pub fn remove_bind(&mut self, n: usize) -> Result<Line, EditError> {
        let missing = EditError::NotFound { what: "bind", name: format!("number {n}"), proxy: self.label() };
        let Some(index) = self.view().binds().get(n).map(|b| b.index()) else {
            return Err(missing);
        };
        self.section.remove_line(index).ok_or(missing)
    }

    /// Removes the bind listening on `address` (as written).
    pub fn remove_bind_at(&mut self, address: &str) -> Result<Line, EditError> {
        let n = self
            .bind_position(address)
            .ok_or_else(|| EditError::NotFound { what: "bind", name: address.to_string(), proxy: self.label() })?;
        self.remove_bind(n)
    }

    /// Adds `acl <name> <criterion> [flags and patterns]` after the last ACL, or before the
    /// first rule so that rules can use it. Several lines may declare one ACL (HAProxy ORs
    /// them, §7.1), so an existing name is fine; refused, with nothing changed, for a name
    /// HAProxy would not read, an empty criterion or a value holding a line break.
    pub fn add_acl<S: AsRef<str>>(&mut self, name: &str, criterion: &str, rest: &[S]) -> Result<AclMut<'_>, EditError> {
        check_name("acl", name)?;
        if criterion.is_empty() {
            return Err(EditError::Missing("the acl criterion"));
        }
        check_values(&[criterion])?;
        check_values(rest)?;
        let mut values = vec!["acl", name, criterion];
        values.extend(rest.iter().map(AsRef::as_ref));
        let index = directive::insert_near(self.section, &["acl"], RULE_KEYWORDS, &values);
        Ok(self.line_editor(index, AclMut::at))
    }

    /// The first line declaring ACL `name`, for editing.
    pub fn acl_mut(&mut self, name: &str) -> Option<AclMut<'_>> {
        let index = self.view().acls().into_iter().find(|a| a.name().as_deref() == Some(name))?.index();
        self.section.lines_mut().get_mut(index).and_then(|l| AclMut::new(l, index))
    }

    /// Removes every line declaring ACL `name`; returns how many ([`EditError::NotFound`] for none).
    pub fn remove_acl(&mut self, name: &str) -> Result<usize, EditError> {
        match directive::remove_all(self.section, &["acl", name]) {
            0 => Err(EditError::NotFound { what: "acl", name: name.to_string(), proxy: self.label() }),
            n => Ok(n),
        }
    }

    /// Adds `<keyword> <args> [if|unless ...]` after the last rule with the same keyword, else
    /// at the end. Returns its editor (its [`super::Rule::index`] is the line's index).
    /// Refused, with nothing changed, when `keyword` is not one of [`RULE_KEYWORDS`] or a value
    /// holds a line break.
    pub fn add_rule<S: AsRef<str>>(&mut self, keyword: &str, args: &[S], condition: Option<&Condition>) -> Result<RuleMut<'_>, EditError> {
        let count = directive::indexes(self.section, &[keyword]).len();
        self.insert_rule(keyword, count, args, condition)
    }

    /// Inserts a rule so that it becomes the `position`th (0-based) of its keyword, which is the
    /// order HAProxy evaluates them in; `position` equal to the number of such rules appends after
    /// the last one. Refused, with nothing changed, when `keyword` is not one of
    /// [`RULE_KEYWORDS`], a value holds a line break, or `position` is past the end.
    pub fn insert_rule<S: AsRef<str>>(
        &mut self,
        keyword: &str,
        position: usize,
        args: &[S],
        condition: Option<&Condition>,
    ) -> Result<RuleMut<'_>, EditError> {
        if !RULE_KEYWORDS.contains(&keyword) {
            return Err(EditError::NotARuleKeyword(keyword.to_string()));
        }
        check_values(args)?;
        let existing = directive::indexes(self.section, &[keyword]);
        let values = rule_words(keyword, args, condition);
        let index = match existing.get(position) {
            Some(&index) => {
                self.section.insert_line(index, Line::statement("", &values));
                index
            }
            None if position == existing.len() => directive::insert_near(self.section, &[keyword], &[], &values),
            None => {
                return Err(EditError::PositionOutOfRange {
                    proxy: self.label(),
                    keyword: keyword.to_string(),
                    position,
                    count: existing.len(),
                })
            }
        };
        Ok(self.line_editor(index, RuleMut::at))
    }

    /// Adds `use_backend <backend> [condition]` after the last one; refused for a backend name
    /// HAProxy would not read (a name built at run time, `%[...]`, is taken as written).
    pub fn add_use_backend(&mut self, backend: &str, condition: Option<&Condition>) -> Result<RuleMut<'_>, EditError> {
        if backend.contains("%[") {
            check_values(&[backend])?;
        } else {
            check_name("backend", backend)?;
        }
        self.add_rule("use_backend", &[backend], condition)
    }

    /// The rule on line `index`, for editing.
    pub fn rule_mut(&mut self, index: usize) -> Option<RuleMut<'_>> {
        self.section.lines_mut().get_mut(index).and_then(|l| RuleMut::new(l, index))
    }

    /// Removes the rule on line `index` (as given by [`super::Rule::index`]); `None` when that
    /// line is not a rule.
    pub fn remove_rule(&mut self, index: usize) -> Option<Line> {
        super::Rule::new(self.section.lines().get(index)?, index)?;
        self.section.remove_line(index)
    }

    /// Removes the `position`th (0-based) rule of `keyword`.
    pub fn remove_rule_at(&mut self, keyword: &str, position: usize) -> Result<Line, EditError> {
        let rules = self.view().rules_of(keyword);
        let out_of_range =
            EditError::PositionOutOfRange { proxy: self.label(), keyword: keyword.to_string(), position, count: rules.len() };
        let Some(index) = rules.get(position).map(|r| r.index()) else {
            return Err(out_of_range);
        };
        self.remove_rule(index).ok_or(out_of_range)
    }

    /// Removes line `index`, whatever it is.
    pub fn remove_line(&mut self, index: usize) -> Option<Line> {
        self.section.remove_line(index)
    }

    /// An editor of line `index`, which the caller just created with the right keyword.
    fn line_editor<'s, T>(&'s mut self, index: usize, make: fn(&'s mut Line, usize) -> T) -> T {
        make(&mut self.section.lines_mut()[index], index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Document, SectionKind};

    fn text(section: &Section) -> String {
        let mut out = String::new();
        section.header().render_into(&mut out);
        section.lines().iter().for_each(|l| l.render_into(&mut out));
        out
    }

    #[test]
    fn option_tri_state_flips_in_place() {
        let mut doc = Document::new();
        let mut p = doc.add_backend("b").unwrap();
        p.set_option("redispatch", Some(true));
        p.set_option("httpchk", Some(false));
        assert_eq!((p.view().option("redispatch"), p.view().option("httpchk")), (Some(true), Some(false)));
        p.set_option("redispatch", Some(false));
        p.set_option("httpchk", Some(true));
        p.set_option("httpchk", Some(true));
        assert_eq!(text(p.view().section()), "backend b\n    no option redispatch\n    option httpchk\n");
        p.set_option("redispatch", None);
        assert_eq!(p.view().option("redispatch"), None);
        assert_eq!(text(p.view().section()), "backend b\n    option httpchk\n");
    }

    #[test]
    fn single_directives_are_set_replaced_and_removed() {
        let mut section = Section::new(SectionKind::Defaults, None);
        section.push_statement(&["mode", "tcp"]);
        section.push_statement(&["balance", "url_param", "uid", "check_post"]);
        let mut p = ProxyMut::new(&mut section).unwrap();
        p.set_mode(Some("http"));
        p.set_balance(Some(&Balance::new("leastconn")));
        p.set_maxconn(Some(100));
        p.set_timeout_duration("connect", Duration::from_secs(5));
        p.set_timeout_duration("connect", Duration::from_millis(5500));
        p.set_hash_type(Some(&HashType { method: "consistent".into(), function: None, modifier: None }));
        assert_eq!(p.view().maxconn(), Some(100));
        assert_eq!(p.view().timeout("connect").unwrap().unwrap().as_millis(), 5500);
        assert_eq!(
            text(p.view().section()),
            "defaults\n    mode http\n    balance leastconn\n    maxconn 100\n    timeout connect 5500ms\n    hash-type consistent\n"
        );
        p.set_mode(None);
        p.set_timeout("connect", None);
        assert_eq!(p.view().mode(), None);
        assert!(p.view().timeouts().is_empty());
    }

    #[test]
    fn new_lines_go_next_to_their_kin() {
        let mut doc = Document::new();
        let mut p = doc.add_listen("l").unwrap();
        p.set_mode(Some("http"));
        p.add_rule("http-request", &["deny"], None).unwrap();
        p.add_server_template("srv", "3", "app.local:80", &["check"]);
        p.add_server("a", "10.0.0.1:80", &[] as &[&str]).unwrap();
        p.add_bind(":80", &[] as &[&str]).unwrap();
        p.add_acl("x", "src", &["10.0.0.0/8"]).unwrap();
        p.add_rule("http-request", &["allow"], None).unwrap();
        p.default_server_mut().set_param("inter", Some("1s"));
        p.add_log(&["global"]);
        assert_eq!(p.add_rule("frobnicate", &["x"], None).unwrap_err(), EditError::NotARuleKeyword("frobnicate".into()));
        assert!(p.insert_rule("frobnicate", 0, &["y"], None).is_err());
        assert!(matches!(p.insert_rule("http-request", 3, &["y"], None), Err(EditError::PositionOutOfRange { count: 2, .. })));
        let first = p.insert_rule("http-request", 0, &["tarpit"], None).unwrap().view().index();
        assert_eq!(p.view().rules_of("http-request")[0].index(), first);
        assert_eq!(p.view().rules_of("http-request")[0].action().as_deref(), Some("tarpit"));
        p.remove_rule(first);
        assert_eq!(
            text(p.view().section()),
            "listen l\n    bind :80\n    mode http\n    acl x src 10.0.0.0/8\n    http-request deny\n    \
             http-request allow\n    default-server inter 1s\n    server-template srv 3 app.local:80 check\n    \
             server a 10.0.0.1:80\n    log global\n"
        );
    }

    #[test]
    fn refused_edits_change_nothing() {
        let mut doc = Document::new();
        let mut p = doc.add_backend("b").unwrap();
        p.add_server("a", "10.0.0.1:80", &[] as &[&str]).unwrap();
        let before = text(p.view().section());
        assert!(matches!(p.add_server("a", "10.0.0.2:80", &[] as &[&str]), Err(EditError::Duplicate { what: "server", .. })));
        assert!(matches!(p.add_server("a/b", "10.0.0.2:80", &[] as &[&str]), Err(EditError::InvalidName { .. })));
        assert!(matches!(p.add_server("c", "10.0.0.2:1-5", &[] as &[&str]), Err(EditError::InvalidAddress { .. })));
        assert!(matches!(p.add_server("c", "10.0.0.2:80", &["check\ninter"]), Err(EditError::InvalidValue(_))));
        assert!(p.add_bind(":80", &[] as &[&str]).is_ok());
        assert!(matches!(p.add_bind(":80", &[] as &[&str]), Err(EditError::Duplicate { what: "bind", .. })));
        assert!(matches!(p.add_bind("10.0.0.1", &[] as &[&str]), Err(EditError::InvalidAddress { .. })));
        p.remove_bind_at(":80").unwrap();
        assert!(matches!(p.add_acl("x", "", &[] as &[&str]), Err(EditError::Missing(_))));
        assert!(matches!(p.remove_acl("nope"), Err(EditError::NotFound { what: "acl", .. })));
        assert!(matches!(p.remove_server("nope"), Err(EditError::NotFound { what: "server", .. })));
        assert_eq!(text(p.view().section()), before);
        assert!(matches!(doc.add_backend("b"), Err(EditError::Duplicate { .. })));
        assert!(doc.add_frontend("b").is_ok(), "a frontend may share a backend's name");
        assert!(matches!(doc.add_listen("b"), Err(EditError::Duplicate { .. })));
    }
}
