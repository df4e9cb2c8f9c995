//! `acl <name> <criterion> [flags] [operator] [<value>] ...` (configuration.txt §7.1).
//!
//! Flags come right after the criterion: `-i`, `-n`, `-M`, `-f <file>`, `-m <method>`,
//! `-u <id>`; `--` ends them. Every word after the flags is a pattern (operators such as `gt`
//! included: they are part of what is matched against).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::keywords::acl::VALUE_FLAGS;
use crate::Line;

/// One ACL flag with its value for `-f`, `-m`, `-u`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AclFlag {
    /// `-i`, `-f` ...
    pub flag: String,
    /// The value of `-f`, `-m`, `-u`.
    pub value: Option<String>,
}

/// A read-only view of an `acl` line.
#[derive(Debug, Clone, Copy)]
pub struct Acl<'a> {
    line: &'a Line,
    index: usize,
}

/// Index of the first pattern word, and the flags before it.
fn split_flags(line: &Line) -> (Vec<AclFlag>, usize) {
    let mut flags = Vec::new();
    let mut i = 3;
    while let Some(word) = line.value(i) {
        if word == "--" {
            flags.push(AclFlag { flag: word.into_owned(), value: None });
            i += 1;
            break;
        }
        if !word.starts_with('-') || word.len() < 2 {
            break;
        }
        let takes_value = VALUE_FLAGS.contains(&word.as_ref());
        let value = if takes_value { line.value(i + 1).map(Cow::into_owned) } else { None };
        flags.push(AclFlag { flag: word.into_owned(), value });
        i += if takes_value { 2 } else { 1 };
    }
    (flags, i.min(line.words().len()))
}

impl<'a> Acl<'a> {
    /// A view of `line` (at `index` in its section) when it is an `acl` line.
    pub fn new(line: &'a Line, index: usize) -> Option<Self> {
        (line.keyword()? == "acl").then_some(Acl { line, index })
    }

    /// The line.
    pub fn line(&self) -> &'a Line {
        self.line
    }

    /// Index of the line in its section.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The ACL's name (several lines may share it: their patterns add up).
    pub fn name(&self) -> Option<Cow<'a, str>> {
        self.line.value(1)
    }

    /// The sample fetch and converters (`hdr(host),lower`).
    pub fn criterion(&self) -> Option<Cow<'a, str>> {
        self.line.value(2)
    }

    /// The flags after the criterion.
    pub fn flags(&self) -> Vec<AclFlag> {
        split_flags(self.line).0
    }

    /// True when flag `flag` (`-i`) is present.
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags().iter().any(|f| f.flag == flag)
    }

    /// The patterns (values to match), after the flags.
    pub fn patterns(&self) -> Vec<Cow<'a, str>> {
        let start = split_flags(self.line).1;
        self.line.words()[start..].iter().map(crate::Word::value).collect()
    }
}

/// An editor for an `acl` line.
#[derive(Debug)]
pub struct AclMut<'a> {
    line: &'a mut Line,
    index: usize,
}

impl<'a> AclMut<'a> {
    /// An editor of a line the caller just built with the right keyword.
    pub(crate) fn at(line: &'a mut Line, index: usize) -> Self {
        AclMut { line, index }
    }

    /// An editor of `line` (at `index` in its section) when it is an `acl` line.
    pub fn new(line: &'a mut Line, index: usize) -> Option<Self> {
        (line.keyword()? == "acl").then_some(AclMut { line, index })
    }

    /// A read-only view of the line as it is now.
    pub fn view(&self) -> Acl<'_> {
        Acl { line: self.line, index: self.index }
    }

    /// Renames the ACL (this line only).
    pub fn set_name(&mut self, name: &str) -> bool {
        self.line.set_value(1, name)
    }

    /// Replaces the criterion.
    pub fn set_criterion(&mut self, criterion: &str) -> bool {
        self.line.set_value(2, criterion)
    }

    /// Replaces the patterns, keeping the flags. Adds `--` before the first pattern when one
    /// starts with `-` and there is none yet, so it is not read as a flag.
    pub fn set_patterns<S: AsRef<str>>(&mut self, patterns: &[S]) {
        let (flags, start) = split_flags(self.line);
        let mut values: Vec<&str> = Vec::with_capacity(patterns.len() + 1);
        let needs_end = patterns.first().is_some_and(|p| p.as_ref().starts_with('-'))
            && !flags.iter().any(|f| f.flag == "--");
        if needs_end {
            values.push("--");
        }
        values.extend(patterns.iter().map(AsRef::as_ref));
        super::directive::set_args(self.line, start, &values);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_name_criterion_flags_patterns() {
        let l = Line::statement("", &["acl", "host_www", "hdr(host)", "-i", "-m", "beg", "www.", "web."]);
        let a = Acl::new(&l, 0).unwrap();
        assert_eq!(a.name().as_deref(), Some("host_www"));
        assert_eq!(a.criterion().as_deref(), Some("hdr(host)"));
        let flags: Vec<_> = a.flags().into_iter().map(|f| (f.flag, f.value)).collect();
        assert_eq!(flags, vec![("-i".to_string(), None), ("-m".to_string(), Some("beg".to_string()))]);
        assert_eq!(a.patterns(), vec!["www.", "web."]);
        assert!(a.has_flag("-i"));

        let l = Line::statement("", &["acl", "neg", "req.hdr_val(x)", "--", "-1"]);
        assert_eq!(Acl::new(&l, 0).unwrap().patterns(), vec!["-1"]);
        let l = Line::statement("", &["acl", "f", "src", "-f", "/etc/a.lst"]);
        assert!(Acl::new(&l, 0).unwrap().patterns().is_empty());
    }

    #[test]
    fn replaces_patterns_only() {
        let mut l = Line::statement("", &["acl", "a", "path_beg", "-i", "/x", "/y"]);
        let mut a = AclMut::new(&mut l, 0).unwrap();
        a.set_patterns(&["/x", "-z"]);
        assert_eq!(l.text(), "acl a path_beg -i /x -z");
        let mut a = AclMut::new(&mut l, 0).unwrap();
        a.set_patterns(&["-1"]);
        assert_eq!(l.text(), "acl a path_beg -i -- -1");
        assert_eq!(Acl::new(&l, 0).unwrap().patterns(), vec!["-1"]);
    }
}
