//! Section-level ops: add, update and delete proxies, and generic directives.

use haproxy_model::{check_name, check_values, Document, EditError, Line, LineEnding, Section, SectionKind, Side};

use super::{OpError, OpResult, SectionRef};

/// Keywords whose first argument is part of what the directive is (`timeout connect`,
/// `option httplog`): `set_directive` matches on both.
const SUBKEYED: &[&str] = &["timeout", "option", "no", "stats", "errorfile", "email-alert", "hold"];

/// Sets the words of `line` from index `start` on to `values`, touching only words that change.
pub(super) fn set_words<S: AsRef<str>>(line: &mut Line, start: usize, values: &[S]) {
    for (offset, value) in values.iter().enumerate() {
        let index = start + offset;
        let value = value.as_ref();
        match line.value(index) {
            Some(current) if current == value => {}
            Some(_) => {
                line.set_value(index, value);
            }
            None => line.push_word(value),
        }
    }
    while line.words().len() > start + values.len() {
        line.remove_word(line.words().len() - 1);
    }
}

/// The indentation used by statements elsewhere in the document (for a new, empty section).
fn document_indent(doc: &Document) -> Option<String> {
    doc.sections()
        .iter()
        .flat_map(|s| s.lines())
        .find(|l| !l.is_trivia() && !l.indent().is_empty())
        .map(|l| l.indent().to_string())
}

fn parse_directive(text: &str) -> OpResult<Line> {
    let line = haproxy_parse::parse_line(text).map_err(|diagnostics| OpError {
        message: format!("line {text:?} does not parse"),
        diagnostics,
    })?;
    match line.keyword() {
        None => Err(OpError::new(format!("line {text:?} holds no directive"))),
        Some(keyword) if SectionKind::from_keyword(&keyword).is_some() => {
            Err(OpError::new(format!("line {text:?} opens a section; add sections with their own op")))
        }
        Some(_) => Ok(line),
    }
}

/// `add_backend` / `add_frontend`.
pub(super) fn add_proxy(doc: &mut Document, kind: SectionKind, name: &str, from: Option<&str>, lines: &[String]) -> OpResult {
    if let Some(from) = from {
        defaults_exists(doc, from)?;
    }
    let parsed: Vec<Line> = lines.iter().map(|l| parse_directive(l)).collect::<OpResult<_>>()?;
    let indent = document_indent(doc);
    let mut proxy = match kind {
        SectionKind::Frontend => doc.add_frontend(name)?,
        SectionKind::Listen => doc.add_listen(name)?,
        _ => doc.add_backend(name)?,
    };
    let section = proxy.section_mut();
    section.set_from(from);
    write_body(section, parsed, indent.as_deref());
    Ok(())
}

/// Puts `lines` in the new, empty `section`, indented as the document's statements are.
fn write_body(section: &mut Section, lines: Vec<Line>, indent: Option<&str>) {
    for (i, line) in lines.into_iter().enumerate() {
        section.insert_line(i, line);
        if i == 0 {
            if let (Some(indent), Some(first)) = (indent, section.lines_mut().first_mut()) {
                first.set_indent(indent);
            }
        }
    }
}

fn defaults_exists(doc: &Document, name: &str) -> OpResult {
    doc.section(&SectionKind::Defaults, name)
        .map(|_| ())
        .ok_or_else(|| OpError::new(format!("defaults {name:?} not found")))
}

/// `update_backend` / `update_frontend`.
pub(super) fn update_proxy(
    doc: &mut Document,
    kind: &SectionKind,
    name: &str,
    rename: Option<&str>,
    from: Option<&str>,
) -> OpResult {
    let index = doc
        .section_index(kind, name)
        .ok_or_else(|| OpError::from(EditError::NotFound { what: noun(kind), name: name.to_string(), proxy: None }))?;
    match from {
        Some("") | None => {}
        Some(from) => defaults_exists(doc, from)?,
    }
    if let Some(new_name) = rename {
        doc.rename_proxy(Side::of(kind), name, new_name)?;
    }
    let Some(section) = doc.sections_mut().get_mut(index) else {
        return Err(OpError::new(format!("{kind} {name:?} not found")));
    };
    match from {
        Some("") => section.set_from(None),
        Some(from) if section.from().as_deref() != Some(from) => section.set_from(Some(from)),
        _ => {}
    }
    Ok(())
}

fn noun(kind: &SectionKind) -> &'static str {
    match kind {
        SectionKind::Frontend => "frontend",
        SectionKind::Listen => "listen",
        _ => "backend",
    }
}

/// `delete_backend` / `delete_frontend`: the section goes with its body; comments that trail its
/// last statement (they usually introduce the next section) stay.
pub(super) fn delete_proxy(doc: &mut Document, kind: &SectionKind, name: &str) -> OpResult {
    let index = doc
        .section_index(kind, name)
        .ok_or_else(|| OpError::new(format!("{kind} {name:?} not found")))?;
    remove_section(doc, index)
}

/// The noun an [`EditError`] names a section kind by.
fn kind_noun(kind: &SectionKind) -> &'static str {
    match kind {
        SectionKind::Defaults => "defaults",
        SectionKind::Userlist => "userlist",
        SectionKind::Peers => "peers",
        SectionKind::Resolvers => "resolvers",
        SectionKind::Mailers => "mailers",
        SectionKind::Ring => "ring",
        SectionKind::Cache => "cache",
        SectionKind::HttpErrors => "http-errors",
        _ => "section",
    }
}

/// The kind a section op addresses: not a proxy (those have their own ops, which check names
/// across both sides) and not `global` (it has no name).
fn section_kind(target: &SectionRef) -> OpResult<SectionKind> {
    let kind = SectionKind::from_keyword(&target.kind)
        .ok_or_else(|| OpError::new(format!("unknown section kind {:?}", target.kind)))?;
    match kind {
        SectionKind::Frontend | SectionKind::Backend | SectionKind::Listen => {
            Err(OpError::new(format!("{kind} sections are added and deleted with the {kind} ops")))
        }
        SectionKind::Global => Err(OpError::new("global is not a named section; edit its directives")),
        kind => Ok(kind),
    }
}

/// `add_section`: see [`super::EditOp::AddSection`] for where it goes and why.
pub(super) fn add_section(doc: &mut Document, target: &SectionRef, from: Option<&str>, lines: &[String]) -> OpResult {
    let kind = section_kind(target)?;
    let what = kind_noun(&kind);
    let name = target.name.as_deref().ok_or_else(|| OpError::new(format!("a new {kind} section needs a name")))?;
    check_name(what, name)?;
    if doc.section(&kind, name).is_some() {
        return Err(EditError::Duplicate { what, name: name.to_string(), proxy: None }.into());
    }
    match (from, &kind) {
        (None, _) => {}
        (Some(from), SectionKind::Defaults) => defaults_exists(doc, from)?,
        (Some(_), _) => return Err(OpError::new(format!("from is only for defaults sections, not {kind}"))),
    }
    let parsed: Vec<Line> = lines.iter().map(|l| parse_directive(l)).collect::<OpResult<_>>()?;
    let indent = document_indent(doc);
    let mut section = Section::new(kind.clone(), Some(name));
    section.set_from(from);
    write_body(&mut section, parsed, indent.as_deref());
    // A proxy without `from` inherits the last defaults section before it (configuration.txt
    // §4): a new one placed right before the last existing one sits between no proxy and its
    // defaults. It must follow the one it names in `from`, so naming the last one puts it at
    // the end, where only proxies added after it inherit it.
    let last_defaults = doc.sections().iter().rposition(|s| *s.kind() == SectionKind::Defaults);
    let at = match (&kind, last_defaults) {
        (SectionKind::Defaults, Some(last)) if from.is_none() || doc.sections()[last].name().as_deref() != from => last,
        _ => doc.sections().len(),
    };
    doc.insert_section(at, section);
    Ok(())
}

/// `delete_section`: refused for a `defaults` section a `from` names (HAProxy would not find it).
pub(super) fn delete_section(doc: &mut Document, target: &SectionRef) -> OpResult {
    section_kind(target)?;
    let index = section_index(doc, target)?;
    if let (SectionKind::Defaults, Some(name)) = (doc.sections()[index].kind(), doc.sections()[index].name()) {
        if let Some(user) = doc.sections().iter().find(|s| s.from().as_deref() == Some(name.as_ref())) {
            let user = match user.name() {
                Some(n) => format!("{} {n:?}", user.kind()),
                None => user.kind().to_string(),
            };
            return Err(OpError::new(format!("defaults {name:?} is inherited by {user} (from {name}): change that first")));
        }
    }
    remove_section(doc, index)
}

/// Removes section `index` with its body; comments that trail its last statement (they usually
/// introduce the next section) stay.
fn remove_section(doc: &mut Document, index: usize) -> OpResult {
    let Some(mut removed) = doc.remove_section(index) else {
        return Err(OpError::new(format!("section {index} not found")));
    };
    let was_last_line_unterminated =
        removed.lines().last().unwrap_or(removed.header()).ending() == LineEnding::None;
    let tail_start = removed.lines().iter().rposition(|l| !l.is_trivia()).map_or(0, |i| i + 1);
    let tail: Vec<Line> = removed.lines_mut().split_off(tail_start);
    let keep_tail = tail.iter().any(|l| l.comment().is_some());
    let container = match index.checked_sub(1).and_then(|i| doc.sections_mut().get_mut(i)) {
        Some(previous) => previous.lines_mut(),
        None => doc.preamble_mut(),
    };
    if keep_tail {
        let previous_ends_blank = container.last().is_some_and(|l| l.is_trivia() && l.comment().is_none());
        let skip = if previous_ends_blank { tail.iter().take_while(|l| l.comment().is_none()).count() } else { 0 };
        container.extend(tail.into_iter().skip(skip));
    }
    if was_last_line_unterminated && index == doc.sections().len() {
        // The file ended without a newline: so does it now. Blank lines that separated the
        // deleted section from the previous one go, or they would end the file as an empty line.
        let blank = |l: &Line| l.is_trivia() && l.comment().is_none();
        let last = match doc.sections_mut().last_mut() {
            Some(section) => {
                while section.lines().last().is_some_and(blank) {
                    section.lines_mut().pop();
                }
                if section.lines().is_empty() {
                    Some(section.header_mut())
                } else {
                    section.lines_mut().last_mut()
                }
            }
            None => {
                while doc.preamble().last().is_some_and(blank) {
                    doc.preamble_mut().pop();
                }
                doc.preamble_mut().last_mut()
            }
        };
        if let Some(last) = last {
            last.set_ending(LineEnding::None);
        }
    }
    Ok(())
}

/// Finds the section a [`SectionRef`] names.
pub(super) fn section_index(doc: &Document, target: &SectionRef) -> OpResult<usize> {
    let kind = SectionKind::from_keyword(&target.kind)
        .ok_or_else(|| OpError::new(format!("unknown section kind {:?}", target.kind)))?;
    doc.sections()
        .iter()
        .position(|s| *s.kind() == kind && s.name().as_deref() == target.name.as_deref())
        .ok_or_else(|| match &target.name {
            Some(name) => OpError::new(format!("{kind} {name:?} not found")),
            None => OpError::new(format!("{kind} section not found")),
        })
}

fn describe(keyword: &str, args: &[String]) -> String {
    std::iter::once(keyword).chain(args.iter().map(String::as_str)).collect::<Vec<_>>().join(" ")
}

/// `set_directive`.
pub(super) fn set_directive(doc: &mut Document, target: &SectionRef, keyword: &str, args: &[String]) -> OpResult {
    check_values(args)?;
    if keyword.is_empty() || keyword.contains(char::is_whitespace) || keyword.contains(['#', '\'', '"', '\\', '\0']) {
        return Err(OpError::new(format!("invalid directive name {keyword:?}")));
    }
    if SectionKind::from_keyword(keyword).is_some() {
        return Err(OpError::new(format!("{keyword:?} opens a section, it is not a directive")));
    }
    let index = section_index(doc, target)?;
    let Some(section) = doc.sections_mut().get_mut(index) else {
        return Err(OpError::new("section vanished"));
    };
    // `no option X` is keyed by both words: `no option httplog` is not `no option dontlognull`.
    let subkey: &[String] = match (keyword, SUBKEYED.contains(&keyword)) {
        ("no", _) => &args[..args.len().min(2)],
        (_, true) => &args[..args.len().min(1)],
        _ => &[],
    };
    let existing = section
        .statements(keyword)
        .find(|(_, line)| subkey.iter().enumerate().all(|(i, sub)| line.value(i + 1).as_deref() == Some(sub.as_str())))
        .map(|(i, _)| i);
    match existing {
        Some(i) => {
            if let Some(line) = section.lines_mut().get_mut(i) {
                set_words(line, 1, args);
            }
        }
        None => {
            let values: Vec<&str> = std::iter::once(keyword).chain(args.iter().map(String::as_str)).collect();
            let at = section.statements(keyword).last().map(|(i, _)| i + 1);
            match at {
                Some(at) => section.insert_line(at, Line::statement("", &values)),
                None => {
                    section.push_statement(&values);
                }
            }
        }
    }
    Ok(())
}

/// `delete_directive`.
pub(super) fn delete_directive(doc: &mut Document, target: &SectionRef, keyword: &str, args: &[String]) -> OpResult {
    let index = section_index(doc, target)?;
    let Some(section) = doc.sections_mut().get_mut(index) else {
        return Err(OpError::new("section vanished"));
    };
    let matching: Vec<usize> = section
        .statements(keyword)
        .filter(|(_, line)| args.iter().enumerate().all(|(i, a)| line.value(i + 1).as_deref() == Some(a.as_str())))
        .map(|(i, _)| i)
        .collect();
    if matching.is_empty() {
        return Err(OpError::new(format!("no {:?} directive in {}", describe(keyword, args), target_label(target))));
    }
    for i in matching.into_iter().rev() {
        section.remove_line(i);
    }
    Ok(())
}

fn target_label(target: &SectionRef) -> String {
    match &target.name {
        Some(name) => format!("{} {name:?}", target.kind),
        None => target.kind.clone(),
    }
}
