//! The `global` section (configuration.txt §3): process-wide settings.

use std::borrow::Cow;

use super::LogTarget;
use crate::{Section, SectionKind};

/// A read-only view of the `global` section.
#[derive(Debug, Clone, Copy)]
pub struct Global<'a> {
    section: &'a Section,
}

impl<'a> Global<'a> {
    /// A view of `section` when it is `global`.
    pub fn new(section: &'a Section) -> Option<Self> {
        (*section.kind() == SectionKind::Global).then_some(Global { section })
    }

    /// The section.
    pub fn section(&self) -> &'a Section {
        self.section
    }

    /// The first argument of the last `keyword` line.
    pub fn value(&self, keyword: &str) -> Option<Cow<'a, str>> {
        let section: &'a Section = self.section;
        section.lines().iter().rev().find(|l| super::directive::starts_with(l, &[keyword])).and_then(|l| l.value(1))
    }

    /// `maxconn <n>` when numeric.
    pub fn maxconn(&self) -> Option<u32> {
        self.value("maxconn")?.parse().ok()
    }

    /// `nbthread <n>` when numeric.
    pub fn nbthread(&self) -> Option<u32> {
        self.value("nbthread")?.parse().ok()
    }

    /// True when `daemon` or `master-worker` is present.
    pub fn has_flag(&self, keyword: &str) -> bool {
        self.section.statement(keyword).is_some()
    }

    /// `log` lines.
    pub fn logs(&self) -> Vec<LogTarget> {
        self.section.lines().iter().filter_map(LogTarget::from_line).collect()
    }

    /// The addresses of `stats socket` lines.
    pub fn stats_sockets(&self) -> Vec<Cow<'a, str>> {
        self.section
            .statements("stats")
            .filter(|(_, l)| l.value(1).as_deref() == Some("socket"))
            .filter_map(|(_, l)| l.value(2))
            .collect()
    }
}
