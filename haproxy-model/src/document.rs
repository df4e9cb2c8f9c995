//! The whole configuration file.

use crate::{Line, LineEnding, LineKind, Section, SectionKind};

/// A configuration file kept losslessly: the lines before the first section, then the sections.
///
/// Conditional blocks (`.if` ... `.endif`) are ordinary lines here: they can wrap whole
/// sections, so a `.if` may sit at the end of one section and its `.endif` in the next.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Document {
    preamble: Vec<Line>,
    sections: Vec<Section>,
}

impl Document {
    /// An empty document.
    pub fn new() -> Self {
        Document::default()
    }

    /// A document from its parts. Used by the parser.
    pub fn from_parts(preamble: Vec<Line>, sections: Vec<Section>) -> Self {
        Document { preamble, sections }
    }

    /// The lines before the first section header.
    pub fn preamble(&self) -> &[Line] {
        &self.preamble
    }

    /// The lines before the first section header, for editing.
    pub fn preamble_mut(&mut self) -> &mut Vec<Line> {
        &mut self.preamble
    }

    /// The sections, in file order.
    pub fn sections(&self) -> &[Section] {
        &self.sections
    }

    /// The sections, for editing.
    pub fn sections_mut(&mut self) -> &mut Vec<Section> {
        &mut self.sections
    }

    /// Every line in file order.
    pub fn lines(&self) -> impl Iterator<Item = &Line> {
        self.preamble
            .iter()
            .chain(self.sections.iter().flat_map(|s| std::iter::once(s.header()).chain(s.lines())))
    }

    /// The first section of `kind` named `name` (HAProxy forbids duplicates among proxies).
    pub fn section(&self, kind: &SectionKind, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.kind() == kind && s.name().as_deref() == Some(name))
    }

    /// The first section of `kind` named `name`, for editing.
    pub fn section_mut(&mut self, kind: &SectionKind, name: &str) -> Option<&mut Section> {
        self.sections.iter_mut().find(|s| s.kind() == kind && s.name().as_deref() == Some(name))
    }

    /// The index of the first section of `kind` named `name`.
    pub fn section_index(&self, kind: &SectionKind, name: &str) -> Option<usize> {
        self.sections.iter().position(|s| s.kind() == kind && s.name().as_deref() == Some(name))
    }

    /// Sections of `kind`, in file order.
    pub fn sections_of<'a>(&'a self, kind: &'a SectionKind) -> impl Iterator<Item = &'a Section> + 'a {
        self.sections.iter().filter(move |s| s.kind() == kind)
    }

    /// The line ending most lines use (LF for an empty document).
    pub fn usual_ending(&self) -> LineEnding {
        self.lines().map(Line::ending).find(|e| *e != LineEnding::None).unwrap_or_default()
    }

    /// The last line of the file, for editing.
    fn last_line_mut(&mut self) -> Option<&mut Line> {
        match self.sections.last_mut() {
            Some(section) if section.lines().is_empty() => Some(section.header_mut()),
            Some(section) => section.lines_mut().last_mut(),
            None => self.preamble.last_mut(),
        }
    }

    /// Appends a section at the end of the file, separated from the previous one by a blank line.
    /// A file that ended without a newline still does. Returns the new section's index.
    pub fn push_section(&mut self, mut section: Section) -> usize {
        let ending = self.usual_ending();
        let mut unterminated = false;
        let mut needs_separator = false;
        if let Some(last) = self.last_line_mut() {
            unterminated = last.ending() == LineEnding::None;
            last.set_ending(ending);
            needs_separator = last.kind() != LineKind::Blank;
        }
        if needs_separator {
            let mut blank = Line::blank();
            blank.set_ending(ending);
            match self.sections.last_mut() {
                Some(previous) => previous.lines_mut().push(blank),
                None => self.preamble.push(blank),
            }
        }
        section.header_mut().set_ending(ending);
        for line in section.lines_mut() {
            line.set_ending(ending);
        }
        self.sections.push(section);
        if unterminated {
            if let Some(last) = self.last_line_mut() {
                last.set_ending(LineEnding::None);
            }
        }
        self.sections.len() - 1
    }

    /// Inserts a section before section `index` (at the end, as [`Document::push_section`],
    /// when `index` is the number of sections), separated from both neighbours by a blank
    /// line. Comments that trail the previous section's last statement introduce the section
    /// they precede, so they stay right above it: the new section goes before them. Returns
    /// the new section's index.
    pub fn insert_section(&mut self, index: usize, mut section: Section) -> usize {
        if index >= self.sections.len() {
            return self.push_section(section);
        }
        let ending = self.usual_ending();
        let container = match index.checked_sub(1).and_then(|i| self.sections.get_mut(i)) {
            Some(previous) => previous.lines_mut(),
            None => &mut self.preamble,
        };
        let tail = container.iter().rposition(|l| !l.is_trivia()).map_or(0, |i| i + 1);
        let introducing = container[tail..].iter().position(|l| l.comment().is_some()).map_or(container.len(), |i| tail + i);
        let moved = container.split_off(introducing);
        if container.last().is_some_and(|l| l.kind() != LineKind::Blank) {
            let mut blank = Line::blank();
            blank.set_ending(ending);
            container.push(blank);
        }
        section.header_mut().set_ending(ending);
        let lines = section.lines_mut();
        for line in lines.iter_mut() {
            line.set_ending(ending);
        }
        let mut blank = Line::blank();
        blank.set_ending(ending);
        lines.push(blank);
        lines.extend(moved);
        self.sections.insert(index, section);
        index
    }

    /// Removes section `index` and returns it.
    pub fn remove_section(&mut self, index: usize) -> Option<Section> {
        (index < self.sections.len()).then(|| self.sections.remove(index))
    }
}

