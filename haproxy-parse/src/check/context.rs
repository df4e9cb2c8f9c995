//! What every check needs to know about the whole document: section names, which defaults
//! section each section inherits, which lines sit inside `.if` blocks.
//!
//! Built once per check run so that each check stays a simple pass over lines.

use std::borrow::Cow;
use std::collections::HashSet;

use haproxy_model::{Conditional, Document, Line, LineKind, Section, SectionKind};

use super::layout::Layout;

/// The defaults section a section inherits from (configuration.txt §4: a proxy takes the last
/// `defaults` section before it, or the named one given with `from`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parent {
    /// No defaults section precedes it (or it is not a proxy or defaults section).
    None,
    /// Index of the defaults section in [`Document::sections`].
    Index(usize),
    /// `from NAME` names no defaults section declared before.
    Missing,
}

/// One section with the facts checks ask about.
#[derive(Debug)]
pub(crate) struct SectionInfo<'a> {
    /// The section itself.
    pub(crate) section: &'a Section,
    /// Its name, decoded.
    pub(crate) name: Option<Cow<'a, str>>,
    /// The defaults section it inherits from.
    pub(crate) parent: Parent,
}

/// The document plus what was derived from it.
#[derive(Debug)]
pub(crate) struct Context<'a> {
    /// The document being checked.
    pub(crate) document: &'a Document,
    /// Every section, in file order, with its derived facts.
    pub(crate) sections: Vec<SectionInfo<'a>>,
    /// Source line numbers of lines inside `.if` blocks (and of the conditional lines themselves).
    conditional: HashSet<u32>,
    /// Source line numbers of the lines of sections whose header sits inside a `.if` block.
    uncertain_section: HashSet<u32>,
    /// Names of sections with a backend side (backend, listen).
    backends: HashSet<String>,
    /// The files the lines come from, when several are checked as one.
    layout: Option<&'a Layout>,
}

impl<'a> Context<'a> {
    /// Derives the context of `document`, made of the files `layout` lists when given.
    pub(crate) fn with_layout(document: &'a Document, layout: Option<&'a Layout>) -> Self {
        let mut sections = Vec::with_capacity(document.sections().len());
        let mut last_defaults: Option<usize> = None;
        for (index, section) in document.sections().iter().enumerate() {
            let name = section.name();
            let inherits = section.kind().is_proxy() || *section.kind() == SectionKind::Defaults;
            let parent = match section.from() {
                _ if !inherits => Parent::None,
                Some(from) => sections[..index]
                    .iter()
                    .rposition(|s: &SectionInfo<'_>| {
                        *s.section.kind() == SectionKind::Defaults && s.name.as_deref() == Some(&*from)
                    })
                    .map_or(Parent::Missing, Parent::Index),
                // A defaults section only inherits what it names with `from`.
                None if *section.kind() == SectionKind::Defaults => Parent::None,
                None => last_defaults.map_or(Parent::None, Parent::Index),
            };
            if *section.kind() == SectionKind::Defaults {
                last_defaults = Some(index);
            }
            sections.push(SectionInfo { section, name, parent });
        }
        let backends = sections
            .iter()
            .filter(|s| s.section.kind().has_backend())
            .filter_map(|s| s.name.as_ref().map(|n| n.to_string()))
            .collect();
        let conditional = conditional_lines(document);
        // When HAProxy skips a conditional section header, the lines after the block belong to
        // the section before it: which section such a line is in depends on the node.
        let uncertain_section = document
            .sections()
            .iter()
            .filter(|s| conditional.contains(&s.header().position().line))
            .flat_map(|s| s.lines().iter().map(|l| l.position().line))
            .collect();
        Context { document, sections, conditional, uncertain_section, backends, layout }
    }

    /// How a message names line `line`: `line 12`, or `b.cfg:12` when several files are checked.
    pub(crate) fn place(&self, line: u32) -> String {
        match self.layout.and_then(|l| l.locate(line)) {
            Some((file, local)) => format!("{}:{local}", file.name),
            None => format!("line {line}"),
        }
    }

    /// True for a line HAProxy reads out of any section though the grouping put it in one:
    /// the lines that open a later file before its first section header.
    pub(crate) fn is_stray(&self, line: u32) -> bool {
        self.layout.is_some_and(|l| l.stray.contains(&line))
    }

    /// True when `line` is the first line of a file other than the first.
    pub(crate) fn starts_file(&self, line: u32) -> bool {
        self.layout.is_some_and(|l| l.files.iter().skip(1).any(|f| f.offset + 1 == line))
    }

    /// The lines HAProxy reads out of any section: the preamble and the stray lines.
    pub(crate) fn out_of_section(&self) -> impl Iterator<Item = &'a Line> + '_ {
        let stray = self.document.sections().iter().flat_map(|s| s.lines()).filter(|l| self.is_stray(l.position().line));
        self.document.preamble().iter().chain(stray)
    }

    /// The last line of every file.
    pub(crate) fn last_lines(&self) -> Vec<&'a Line> {
        match self.layout {
            None => self.document.lines().last().into_iter().collect(),
            Some(layout) => {
                let last: HashSet<u32> = layout.last_lines().collect();
                self.document.lines().filter(|l| last.contains(&l.position().line)).collect()
            }
        }
    }

    /// True when `line` sits inside a `.if` block: whether HAProxy reads it depends on a
    /// condition evaluated at startup, so presence-dependent checks leave it alone.
    pub(crate) fn is_conditional(&self, line: &Line) -> bool {
        self.conditional.contains(&line.position().line)
    }

    /// True when the section line `line` is in depends on a `.if` block: its section's header is
    /// inside one, so when HAProxy skips the header the line belongs to the section before.
    pub(crate) fn in_uncertain_section(&self, line: u32) -> bool {
        self.uncertain_section.contains(&line)
    }

    /// True when a backend or listen section is named `name`.
    pub(crate) fn has_backend(&self, name: &str) -> bool {
        self.backends.contains(name)
    }

    /// The statement lines of a section (header excluded), skipping blanks, comments,
    /// conditionals and messages.
    pub(crate) fn statements(section: &'a Section) -> impl Iterator<Item = &'a Line> + 'a {
        section.lines().iter().filter(|l| l.kind() == LineKind::Statement)
    }

    /// True when a proxy or defaults section inherits from section `index`. HAProxy resolves
    /// the references of a defaults section's rules (stick tables, servers named in fetches)
    /// only in the proxies that inherit them, so an unused defaults section is not checked.
    pub(crate) fn is_inherited(&self, index: usize) -> bool {
        self.sections.iter().any(|s| s.parent == Parent::Index(index))
    }

    /// The defaults section `info` inherits from, if any.
    pub(crate) fn parent_of(&self, info: &SectionInfo<'a>) -> Option<&SectionInfo<'a>> {
        match info.parent {
            Parent::Index(i) => self.sections.get(i),
            Parent::None | Parent::Missing => None,
        }
    }
}

/// Line numbers inside `.if` ... `.endif` blocks, the conditional lines included.
fn conditional_lines(document: &Document) -> HashSet<u32> {
    let mut depth = 0usize;
    let mut inside = HashSet::new();
    for line in document.lines() {
        match line.kind() {
            LineKind::Conditional(Conditional::If) => depth += 1,
            LineKind::Conditional(Conditional::Endif) => {
                inside.insert(line.position().line);
                depth = depth.saturating_sub(1);
                continue;
            }
            _ => {}
        }
        if depth > 0 {
            inside.insert(line.position().line);
        }
    }
    inside
}
