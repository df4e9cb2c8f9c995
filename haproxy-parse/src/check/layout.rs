//! Where the lines of several files sit in one configuration checked as a whole.
//!
//! [`crate::check_files`] numbers the lines of every file one after the other (file 2's first
//! line follows file 1's last), so that every check keeps working on line numbers; this map
//! turns those numbers back into `file:line` for messages and diagnostics.

use std::collections::HashSet;

/// One file's lines in the whole.
#[derive(Debug, Clone)]
pub(crate) struct FileSpan {
    /// The file's name as the caller gave it.
    pub(crate) name: String,
    /// Lines before this file's first line.
    pub(crate) offset: u32,
    /// Number of lines.
    pub(crate) lines: u32,
}

/// The files of one configuration, in load order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Layout {
    pub(crate) files: Vec<FileSpan>,
    /// Lines of a file after the first that come before its first section header: HAProxy
    /// starts every file out of any section (tried with `haproxy -c -f a.cfg -f b.cfg`: a
    /// `server` line opening b.cfg is "unknown keyword 'server' out of section"), while the
    /// grouping of lines puts them in the previous file's last section.
    pub(crate) stray: HashSet<u32>,
}

impl Layout {
    /// The file a line number falls in, and the line's number in that file.
    pub(crate) fn locate(&self, line: u32) -> Option<(&FileSpan, u32)> {
        let index = self.files.partition_point(|f| f.offset < line).checked_sub(1)?;
        let file = self.files.get(index)?;
        (line <= file.offset + file.lines).then(|| (file, line - file.offset))
    }

    /// The global numbers of every file's last line.
    pub(crate) fn last_lines(&self) -> impl Iterator<Item = u32> + '_ {
        self.files.iter().filter(|f| f.lines > 0).map(|f| f.offset + f.lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_map_back_to_their_file() {
        let span = |name: &str, offset, lines| FileSpan { name: name.into(), offset, lines };
        let layout = Layout { files: vec![span("a", 0, 3), span("empty", 3, 0), span("b", 3, 2)], stray: HashSet::new() };
        let at = |line| layout.locate(line).map(|(f, l)| (f.name.clone(), l));
        assert_eq!(at(1), Some(("a".into(), 1)));
        assert_eq!(at(3), Some(("a".into(), 3)));
        assert_eq!(at(4), Some(("b".into(), 1)));
        assert_eq!(at(5), Some(("b".into(), 2)));
        assert_eq!(at(6), None);
        assert_eq!(layout.last_lines().collect::<Vec<_>>(), [3, 5]);
    }
}
