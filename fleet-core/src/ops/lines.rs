//! Positional line ops: the `position`th line with a keyword in a section, inserted, rewritten
//! or deleted. They address what the Data Plane API addresses by index (`acls/{index}`,
//! `http_request_rules/{index}`, a bind among binds) and keep everything else as written: a
//! rewritten line keeps its indent, its comment and every word that does not change; an inserted
//! one takes its siblings' indent. What the words mean is checked at commit, by the offline check
//! and `haproxy -c`, as for any text.

use haproxy_model::{check_values, Document, Line};

use super::sections::{section_index, set_words};
use super::{OpError, OpResult, SectionRef};

/// Line indexes of the statements with `keyword` in the section.
fn positions(doc: &Document, section: &SectionRef, keyword: &str) -> OpResult<(usize, Vec<usize>)> {
    let index = section_index(doc, section)?;
    let lines = doc.sections().get(index).map(|s| s.statements(keyword).map(|(i, _)| i).collect()).unwrap_or_default();
    Ok((index, lines))
}

fn check(keyword: &str, words: &[String]) -> OpResult {
    check_values(words)?;
    match words.first() {
        Some(first) if first == keyword => Ok(()),
        _ => Err(OpError::new(format!("the words must start with {keyword:?}"))),
    }
}

fn out_of_range(keyword: &str, position: usize, count: usize) -> OpError {
    OpError::new(format!("no {keyword:?} line at position {position} (there are {count})"))
}

/// `insert_line`: the new line becomes the `position`th with its keyword (after the last one
/// when `position` is their count; at the end of the section when there is none).
pub(super) fn insert_line(doc: &mut Document, section: &SectionRef, keyword: &str, position: usize, words: &[String]) -> OpResult {
    check(keyword, words)?;
    let (index, lines) = positions(doc, section, keyword)?;
    let Some(target) = doc.sections_mut().get_mut(index) else { return Err(OpError::new("section vanished")) };
    let at = match (lines.get(position), lines.last()) {
        (Some(&at), _) => Some(at),
        (None, Some(&last)) if position == lines.len() => Some(last + 1),
        (None, None) if position == 0 => None,
        _ => return Err(out_of_range(keyword, position, lines.len())),
    };
    match at {
        Some(at) => target.insert_line(at, Line::statement("", words)),
        None => {
            target.push_statement(words);
        }
    }
    Ok(())
}

/// `set_line`: rewrites the `position`th line with its keyword, word by word.
pub(super) fn set_line(doc: &mut Document, section: &SectionRef, keyword: &str, position: usize, words: &[String]) -> OpResult {
    check(keyword, words)?;
    let (index, lines) = positions(doc, section, keyword)?;
    let at = *lines.get(position).ok_or_else(|| out_of_range(keyword, position, lines.len()))?;
    let line = doc.sections_mut().get_mut(index).and_then(|s| s.lines_mut().get_mut(at)).ok_or_else(|| OpError::new("line vanished"))?;
    set_words(line, 0, words);
    Ok(())
}

/// `delete_line`: removes the `position`th line with its keyword.
pub(super) fn delete_line(doc: &mut Document, section: &SectionRef, keyword: &str, position: usize) -> OpResult {
    let (index, lines) = positions(doc, section, keyword)?;
    let at = *lines.get(position).ok_or_else(|| out_of_range(keyword, position, lines.len()))?;
    doc.sections_mut().get_mut(index).and_then(|s| s.remove_line(at));
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::ops::{apply_ops, EditOp, SectionRef};

    fn run(text: &str, ops: &[EditOp]) -> String {
        let mut doc = haproxy_parse::parse(text).document;
        apply_ops(&mut doc, ops).unwrap();
        haproxy_render::lossless(&doc)
    }

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn lines_by_position() {
        let text = "frontend www\n\tbind :80\n\thttp-request deny if { src 10.0.0.1 }   # no\n\thttp-request allow\n";
        let fe = SectionRef { kind: "frontend".into(), name: Some("www".into()) };
        let kw = "http-request".to_string();
        let set = EditOp::SetLine { section: fe.clone(), keyword: kw.clone(), position: 0, words: words(&["http-request", "deny", "if", "{", "src", "10.0.0.2", "}"]) };
        assert_eq!(run(text, &[set]), text.replace("10.0.0.1", "10.0.0.2"));
        let insert = EditOp::InsertLine { section: fe.clone(), keyword: kw.clone(), position: 2, words: words(&["http-request", "tarpit"]) };
        assert_eq!(run(text, &[insert]), format!("{text}\thttp-request tarpit\n"));
        let first = EditOp::InsertLine { section: fe.clone(), keyword: kw.clone(), position: 0, words: words(&["http-request", "tarpit"]) };
        assert_eq!(run(text, &[first]), text.replace("\thttp-request deny", "\thttp-request tarpit\n\thttp-request deny"));
        let delete = EditOp::DeleteLine { section: fe.clone(), keyword: kw.clone(), position: 1 };
        assert_eq!(run(text, &[delete]), text.replace("\thttp-request allow\n", ""));
        let mut doc = haproxy_parse::parse(text).document;
        let bad = EditOp::DeleteLine { section: fe.clone(), keyword: kw.clone(), position: 5 };
        assert!(apply_ops(&mut doc, &[bad]).is_err());
        let wrong = EditOp::SetLine { section: fe, keyword: kw, position: 0, words: words(&["bind", ":81"]) };
        assert!(apply_ops(&mut doc, &[wrong]).is_err());
    }
}
