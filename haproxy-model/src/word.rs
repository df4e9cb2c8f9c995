//! A word of a configuration line: raw text as written, plus the blanks that follow it.

use std::borrow::Cow;
use std::fmt;

use compact_str::CompactString;

use crate::quoting::{self, Decoded, EnvRef, QuoteError};

/// One word of a line. `raw` is exactly what the operator wrote (quotes and escapes included);
/// `after` is the run of blanks up to the next word, the comment or the line end.
///
/// Both are small strings stored inline, so that a 15 MB configuration stays compact.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Word {
    raw: CompactString,
    after: CompactString,
}

impl Word {
    /// A word holding `value`, quoted as needed so that it decodes back to `value`.
    /// It is followed by nothing; lines add the separators.
    pub fn new(value: &str) -> Self {
        Word { raw: quoting::quote(value).into(), after: CompactString::default() }
    }

    /// A word from text as written. The caller guarantees `raw` is one word and `after` blanks only.
    pub fn from_raw(raw: impl Into<CompactString>, after: impl Into<CompactString>) -> Self {
        Word { raw: raw.into(), after: after.into() }
    }

    /// The text as written.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The blanks after the word.
    pub fn after(&self) -> &str {
        &self.after
    }

    /// Replaces the blanks after the word.
    pub fn set_after(&mut self, after: impl Into<CompactString>) {
        self.after = after.into();
    }

    /// The blanks after the word, for trimming in place.
    pub(crate) fn after_mut(&mut self) -> &mut CompactString {
        &mut self.after
    }

    /// Re-quotes a word ending in a lone backslash (`foo\`), which would escape a blank written
    /// after it and swallow the next word. The value stays the same.
    pub(crate) fn protect_before_blank(&mut self) {
        let trailing = self.raw.bytes().rev().take_while(|&b| b == b'\\').count();
        if trailing % 2 == 1 {
            if let Ok(value) = quoting::unquote(&self.raw) {
                self.raw = quoting::quote(&value).into();
            }
        }
    }

    /// The word as HAProxy reads it: unquoted and unescaped, environment references kept as written.
    /// A word that cannot be decoded (an unterminated quote) gives its raw text.
    pub fn value(&self) -> Cow<'_, str> {
        quoting::unquote(&self.raw).unwrap_or(Cow::Borrowed(&self.raw))
    }

    /// The decoded value, or why the raw text is not a valid word.
    pub fn try_value(&self) -> Result<Cow<'_, str>, QuoteError> {
        quoting::unquote(&self.raw)
    }

    /// The `${VAR}` references inside double quotes, unexpanded.
    pub fn env_refs(&self) -> Vec<EnvRef> {
        quoting::decode(&self.raw).map(|Decoded { env_refs, .. }| env_refs).unwrap_or_default()
    }

    /// Replaces the value, re-quoting as needed; the blanks after it stay.
    pub fn set_value(&mut self, value: &str) {
        self.raw = quoting::quote(value).into();
    }

    /// Length in bytes of the raw text and the blanks after it.
    pub fn rendered_len(&self) -> usize {
        self.raw.len() + self.after.len()
    }
}

impl fmt::Debug for Word {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.raw.as_str())?;
        if self.after != " " {
            write!(f, "+{:?}", self.after.as_str())?;
        }
        Ok(())
    }
}
