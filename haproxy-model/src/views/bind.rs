//! `bind` lines (configuration.txt §4.2 "bind", §5.1):
//! `bind [<address>]:<port_range> [, ...] [param*]` or `bind /<path> [, ...] [param*]`.

use std::borrow::Cow;

use super::params::{self, Param};
use crate::address::{Address, AddressError};
use crate::keywords::bind::arity;
use crate::Line;

/// Index of the first parameter word.
const PARAMS: usize = 2;

/// A read-only view of a `bind` line.
#[derive(Debug, Clone, Copy)]
pub struct Bind<'a> {
    line: &'a Line,
    index: usize,
}

impl<'a> Bind<'a> {
    /// A view of `line` (at `index` in its section) when it is a `bind` line.
    pub fn new(line: &'a Line, index: usize) -> Option<Self> {
        (line.keyword()? == "bind").then_some(Bind { line, index })
    }

    /// The line.
    pub fn line(&self) -> &'a Line {
        self.line
    }

    /// Index of the line in its section.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The address word's value (`:80,:443`, `ipv6@[::]:80`).
    pub fn address_text(&self) -> Option<Cow<'a, str>> {
        self.line.value(1)
    }

    /// Every address of the comma-separated list, or why one cannot be read.
    pub fn addresses(&self) -> Result<Vec<Address>, AddressError> {
        Address::parse_bind_list(&self.address_text().unwrap_or_default())
    }

    /// The parameters in order.
    pub fn params(&self) -> Vec<Param> {
        params::read(self.line, PARAMS, arity)
    }

    /// The last occurrence of parameter `keyword`.
    pub fn param(&self, keyword: &str) -> Option<Param> {
        params::find(self.line, PARAMS, arity, keyword)
    }

    /// The value of parameter `keyword`.
    pub fn param_value(&self, keyword: &str) -> Option<String> {
        self.param(keyword).and_then(|p| p.value)
    }

    /// True when flag `keyword` is present.
    pub fn has_flag(&self, keyword: &str) -> bool {
        params::has(self.line, PARAMS, arity, keyword)
    }

    /// TLS is terminated here (`ssl`).
    pub fn is_ssl(&self) -> bool {
        self.has_flag("ssl")
    }

    /// Every `crt` value, in order (a bind may load several certificates).
    pub fn certificates(&self) -> Vec<String> {
        self.params().into_iter().filter(|p| p.keyword == "crt").filter_map(|p| p.value).collect()
    }

    /// The `alpn` protocol list, split at commas.
    pub fn alpn(&self) -> Vec<String> {
        self.param_value("alpn").map(|v| v.split(',').map(str::to_string).collect()).unwrap_or_default()
    }

    /// The `name` parameter.
    pub fn name(&self) -> Option<String> {
        self.param_value("name")
    }
}

/// An editor for a `bind` line.
#[derive(Debug)]
pub struct BindMut<'a> {
    line: &'a mut Line,
    index: usize,
}

impl<'a> BindMut<'a> {
    /// An editor of a line the caller just built with the right keyword.
    pub(crate) fn at(line: &'a mut Line, index: usize) -> Self {
        BindMut { line, index }
    }

    /// An editor of `line` (at `index` in its section) when it is a `bind` line.
    pub fn new(line: &'a mut Line, index: usize) -> Option<Self> {
        (line.keyword()? == "bind").then_some(BindMut { line, index })
    }

    /// A read-only view of the line as it is now.
    pub fn view(&self) -> Bind<'_> {
        Bind { line: self.line, index: self.index }
    }

    /// Replaces the address list with `text` after checking it reads as one.
    pub fn set_address_text(&mut self, text: &str) -> Result<(), AddressError> {
        Address::parse_bind_list(text)?;
        if self.line.words().len() < 2 {
            self.line.push_word(text);
        } else {
            self.line.set_value(1, text);
        }
        Ok(())
    }

    /// Replaces the address list.
    pub fn set_addresses(&mut self, addresses: &[Address]) -> Result<(), AddressError> {
        let text: Vec<String> = addresses.iter().map(ToString::to_string).collect();
        self.set_address_text(&text.join(","))
    }

    /// Replaces every parameter with `words` (keywords and values, as they would be written).
    pub fn set_params<S: AsRef<str>>(&mut self, words: &[S]) {
        super::directive::set_args(self.line, PARAMS.min(self.line.words().len()), words);
    }

    /// Sets `keyword value`, or removes the parameter with `None`.
    pub fn set_param(&mut self, keyword: &str, value: Option<&str>) {
        params::set(self.line, PARAMS, arity, keyword, value);
    }

    /// Adds or removes a flag such as `ssl`, `accept-proxy`, `v4v6`.
    pub fn set_flag(&mut self, keyword: &str, on: bool) {
        params::set_flag(self.line, PARAMS, arity, keyword, on);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::{Host, PortSpec};

    #[test]
    fn reads_addresses_and_params() {
        let l = Line::statement("  ", &["bind", ":443,[::]:443", "ssl", "crt", "/a.pem", "crt", "/b.pem", "alpn", "h2,http/1.1"]);
        let b = Bind::new(&l, 3).unwrap();
        let addresses = b.addresses().unwrap();
        assert_eq!(addresses.len(), 2);
        assert_eq!(addresses[1].host, Host::Ipv6("::".parse().unwrap()));
        assert!(b.is_ssl());
        assert_eq!(b.certificates(), vec!["/a.pem", "/b.pem"]);
        assert_eq!(b.alpn(), vec!["h2", "http/1.1"]);
        assert_eq!(b.index(), 3);
    }

    #[test]
    fn edits_in_place() {
        let mut l = Line::statement("  ", &["bind", ":80", "name", "web"]);
        let mut b = BindMut::new(&mut l, 0).unwrap();
        b.set_addresses(&[Address::new(Host::Any, Some(PortSpec::Single(8080)))]).unwrap();
        b.set_flag("accept-proxy", true);
        b.set_param("name", None);
        assert!(b.set_address_text("10.0.0.1").is_err());
        assert_eq!(l.text(), "  bind :8080 accept-proxy");
        BindMut::new(&mut l, 0).unwrap().set_params(&["ssl", "crt", "/x.pem"]);
        assert_eq!(l.text(), "  bind :8080 ssl crt /x.pem");
    }
}
