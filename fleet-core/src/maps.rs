//! Map files' entries: read as HAProxy loads them and edited line by line, for the Data Plane
//! API's `services/haproxy/runtime/maps` and fleet's own `/clusters/{id}/maps` routes.
//!
//! ```text
//! bundle -> map_files: files of kind map, or that a config loads as a map (map_*() converters,
//!           -M -f), with the config lines that load them (bundle::references)
//! text   -> entries: pattern.c's loader (apply::runtime_plan::text_pattern_lines) -> {key, value}
//! text + [MapEdit] -> edit: only the lines of the keys named change (added lines at the end);
//!           comments, blank lines, order and line endings stay byte for byte
//!   -> Store::edit_map: a version whose only change is this file, so agents take it through
//!      HAProxy's runtime API (prepare/add/commit map, apply::runtime_plan), without a reload,
//!      and the file every node keeps matches what the next reload loads
//! ```
//!
//! The rules are HAProxy 2.6's (management.txt §9.3): `add map` adds one entry (here: 409 when
//! the key is there already, as upstream's API answers); `set map <key>` changes the value of
//! every entry with that key; `del map <key>` deletes every entry with that key; `clear map`
//! removes every entry. A key is one word (the loader splits a line at its first blank) that
//! does not start a comment; a value is the rest of the line, so it may hold blanks but no line
//! break, and no blank at either end (the loader would drop a leading one).

use serde::{Deserialize, Serialize};

use crate::apply::runtime_plan::text_pattern_lines;
use crate::bundle::references::{resolve, Target};
use crate::bundle::{Bundle, BundlePath, FileKind};
use crate::error::{Error, Result};
use crate::model::ClusterSettings;

/// One entry of a map file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MapEntry {
    /// The key (one word).
    pub key: String,
    /// The value (the rest of the line).
    pub value: String,
}

/// A config line that loads a map file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MapUse {
    /// The config file.
    pub file: String,
    /// Its line (1-based).
    pub line: u32,
    /// The converter or flag naming the file (`map_str`, `-f` ...).
    pub keyword: String,
}

/// A map file of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MapFile {
    /// Its path in the bundle (relative to the managed directory).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub path: BundlePath,
    /// Bytes.
    pub size: u64,
    /// Entries, as HAProxy loads them.
    pub entries: usize,
    /// The config lines that load it, in load order (none: HAProxy does not load it).
    pub used_by: Vec<MapUse>,
}

/// One change to a map file's entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapEdit {
    /// A new entry (`add map`): [`Error::Conflict`] when the key is there already.
    Add(MapEntry),
    /// Entries added at the end as given, keys already there or not (`add map` of a payload).
    Append(Vec<MapEntry>),
    /// The value of every entry with this key (`set map`): [`Error::NotFound`] when there is none.
    Replace(MapEntry),
    /// [`MapEdit::Replace`] when the key is there, else [`MapEdit::Add`].
    Put(MapEntry),
    /// Every entry with this key deleted (`del map`): [`Error::NotFound`] when there is none.
    Delete(String),
    /// [`MapEdit::Delete`], nothing when the key is not there.
    Remove(String),
    /// Every entry deleted (`clear map`); comments and blank lines stay.
    Clear,
}

/// The entries of a map file's text, in file order (duplicated keys kept: HAProxy uses the first).
pub fn entries(text: &str) -> Vec<MapEntry> {
    text_pattern_lines(text)
        .into_iter()
        .map(|line| match line.split_once(' ') {
            Some((key, value)) => MapEntry { key: key.to_string(), value: value.to_string() },
            None => MapEntry { key: line, value: String::new() },
        })
        .collect()
}

/// The first entry with `key`. Errors: [`Error::NotFound`].
pub fn entry(text: &str, key: &str) -> Result<MapEntry> {
    entries(text).into_iter().find(|e| e.key == key).ok_or_else(|| Error::not_found(format!("map entry {key}")))
}

/// The map files of `bundle`: files of kind map, and files its configs load as maps, in bundle
/// order, each with the config lines that load it (`settings` resolve the paths as on a node).
pub fn map_files(bundle: &Bundle, settings: &ClusterSettings) -> Vec<MapFile> {
    let references = resolve(bundle, settings);
    bundle
        .files()
        .iter()
        .filter_map(|file| {
            let used_by: Vec<MapUse> = references
                .iter()
                .filter(|r| r.reference.kind == haproxy_parse::ReferenceKind::Map && r.target == Target::Bundle(file.path.clone()))
                .map(|r| MapUse { file: r.reference.file.clone(), line: r.reference.position.line, keyword: r.reference.keyword.clone() })
                .collect();
            if file.kind != FileKind::Map && used_by.is_empty() {
                return None;
            }
            let count = file.text().map_or(0, |t| entries(t).len());
            Some(MapFile { path: file.path.clone(), size: file.content.len() as u64, entries: count, used_by })
        })
        .collect()
}

/// The map file at `path` of `bundle`, text. Errors: [`Error::NotFound`] for no such map file,
/// [`Error::Invalid`] for one that is not UTF-8.
pub fn map_text<'a>(bundle: &'a Bundle, settings: &ClusterSettings, path: &BundlePath) -> Result<&'a str> {
    let missing = || Error::not_found(format!("map file {path}"));
    let file = bundle.file(path).ok_or_else(missing)?;
    if file.kind != FileKind::Map && !map_files(bundle, settings).iter().any(|m| &m.path == path) {
        return Err(missing());
    }
    file.text().ok_or_else(|| Error::invalid(format!("map file {path} is not UTF-8 text")))
}

/// Checks an entry as a map file line must carry it (see the module docs). Errors: [`Error::Invalid`].
pub fn check_entry(entry: &MapEntry) -> Result<()> {
    check_key(&entry.key)?;
    let value = &entry.value;
    if value.is_empty() {
        return Err(Error::invalid(format!("map entry {}: the value is empty (`add map` takes a key and a value)", entry.key)));
    }
    if value.contains(['\n', '\r']) {
        return Err(Error::invalid(format!("map entry {}: the value holds a line break", entry.key)));
    }
    if value.starts_with([' ', '\t']) || value.ends_with([' ', '\t']) {
        return Err(Error::invalid(format!("map entry {}: the value starts or ends with a blank, which HAProxy's loader drops", entry.key)));
    }
    Ok(())
}

fn check_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::invalid("map entry: the key is empty"));
    }
    if key.contains([' ', '\t', '\n', '\r']) {
        return Err(Error::invalid(format!("map key {key:?} holds a blank or a line break (a key is one word)")));
    }
    if key.starts_with('#') {
        return Err(Error::invalid(format!("map key {key:?} starts with '#': HAProxy's loader reads that line as a comment")));
    }
    Ok(())
}

/// `text` with `edits` made in order (see [`MapEdit`]); lines of other keys, comments and blank
/// lines stay byte for byte. Errors: as each edit says, and [`Error::Invalid`] for an entry
/// [`check_entry`] refuses.
pub fn edit(text: &str, edits: &[MapEdit]) -> Result<String> {
    let mut text = text.to_string();
    for change in edits {
        text = edit_one(&text, change)?;
    }
    Ok(text)
}

fn edit_one(text: &str, change: &MapEdit) -> Result<String> {
    let has = |key: &str| entries(text).iter().any(|e| e.key == key);
    match change {
        MapEdit::Add(entry) => {
            check_entry(entry)?;
            if has(&entry.key) {
                return Err(Error::Conflict(format!("map entry {} already exists", entry.key)));
            }
            Ok(append(text, std::slice::from_ref(entry)))
        }
        MapEdit::Append(added) => {
            added.iter().try_for_each(check_entry)?;
            Ok(append(text, added))
        }
        MapEdit::Replace(entry) => {
            check_entry(entry)?;
            if !has(&entry.key) {
                return Err(Error::not_found(format!("map entry {}", entry.key)));
            }
            Ok(rewrite(text, |key, line| if key == entry.key { Some(with_value(line, &entry.value)) } else { Some(line.to_string()) }))
        }
        MapEdit::Put(entry) if has(&entry.key) => edit_one(text, &MapEdit::Replace(entry.clone())),
        MapEdit::Put(entry) => edit_one(text, &MapEdit::Add(entry.clone())),
        MapEdit::Delete(key) => {
            check_key(key)?;
            if !has(key) {
                return Err(Error::not_found(format!("map entry {key}")));
            }
            Ok(rewrite(text, |k, line| (k != key).then(|| line.to_string())))
        }
        MapEdit::Remove(key) if has(key) => edit_one(text, &MapEdit::Delete(key.clone())),
        MapEdit::Remove(key) => check_key(key).map(|()| text.to_string()),
        MapEdit::Clear => Ok(rewrite(text, |_, _| None)),
    }
}

/// The key of an entry line as the loader reads it; `None` for a blank or comment line.
fn line_key(line: &str) -> Option<&str> {
    let trimmed = line.trim_start_matches([' ', '\t']).trim_end_matches(['\n', '\r', ' ', '\t']);
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return None;
    }
    trimmed.split([' ', '\t']).next()
}

/// `text` with each entry line passed through `keep` (its key, the line with its ending):
/// `None` drops it. Other lines stay.
fn rewrite(text: &str, mut keep: impl FnMut(&str, &str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        match line_key(line) {
            None => out.push_str(line),
            Some(key) => {
                if let Some(kept) = keep(key, line) {
                    out.push_str(&kept);
                }
            }
        }
    }
    out
}

/// An entry line with its value replaced: the indentation, key, separator and line ending as
/// written.
fn with_value(line: &str, value: &str) -> String {
    let body = line.trim_end_matches(['\n', '\r']);
    let ending = &line[body.len()..];
    let indent_len = body.len() - body.trim_start_matches([' ', '\t']).len();
    let rest = &body[indent_len..];
    let key_len = rest.find([' ', '\t']).unwrap_or(rest.len());
    let after_key = &rest[key_len..];
    let separator_len = after_key.len() - after_key.trim_start_matches([' ', '\t']).len();
    let separator = if separator_len == 0 { " " } else { &after_key[..separator_len] };
    format!("{}{}{separator}{value}{ending}", &body[..indent_len], &rest[..key_len])
}

/// `text` with `added` as lines at its end (a final line without its line break gets one first).
fn append(text: &str, added: &[MapEntry]) -> String {
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    for entry in added {
        out.push_str(&format!("{} {}\n", entry.key, entry.value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(key: &str, value: &str) -> MapEntry {
        MapEntry { key: key.into(), value: value.into() }
    }

    const TEXT: &str = "# hosts\n  a.example.com\tbe_a\n\nb.example.com be_b  two words\r\na.example.com be_dup\nlast be_last";

    #[test]
    fn entries_are_read_as_haproxy_loads_them() {
        assert_eq!(entries(TEXT), vec![e("a.example.com", "be_a"), e("b.example.com", "be_b  two words"), e("a.example.com", "be_dup"), e("last", "be_last")]);
        assert_eq!(entry(TEXT, "a.example.com").unwrap().value, "be_a", "the first of duplicated keys");
        assert!(matches!(entry(TEXT, "nope"), Err(Error::NotFound(_))));
    }

    #[test]
    fn edits_change_only_the_lines_of_their_key() {
        let replaced = edit(TEXT, &[MapEdit::Replace(e("a.example.com", "be_new"))]).unwrap();
        assert_eq!(replaced, "# hosts\n  a.example.com\tbe_new\n\nb.example.com be_b  two words\r\na.example.com be_new\nlast be_last");
        let deleted = edit(TEXT, &[MapEdit::Delete("a.example.com".into())]).unwrap();
        assert_eq!(deleted, "# hosts\n\nb.example.com be_b  two words\r\nlast be_last");
        let added = edit(TEXT, &[MapEdit::Add(e("c.example.com", "be_c"))]).unwrap();
        assert_eq!(added, format!("{TEXT}\nc.example.com be_c\n"));
        let cleared = edit(TEXT, &[MapEdit::Clear]).unwrap();
        assert_eq!(cleared, "# hosts\n\n");
        let appended = edit("", &[MapEdit::Append(vec![e("k", "v"), e("k", "w")])]).unwrap();
        assert_eq!(appended, "k v\nk w\n");
        assert_eq!(edit("x 1\r", &[MapEdit::Add(e("y", "2"))]).unwrap(), "x 1\r\ny 2\n");
    }

    #[test]
    fn put_and_remove_are_forgiving_add_replace_and_delete_are_not() {
        assert!(matches!(edit(TEXT, &[MapEdit::Add(e("last", "x"))]), Err(Error::Conflict(_))));
        assert!(matches!(edit(TEXT, &[MapEdit::Replace(e("nope", "x"))]), Err(Error::NotFound(_))));
        assert!(matches!(edit(TEXT, &[MapEdit::Delete("nope".into())]), Err(Error::NotFound(_))));
        assert_eq!(edit(TEXT, &[MapEdit::Remove("nope".into())]).unwrap(), TEXT);
        assert_eq!(edit("k v\n", &[MapEdit::Put(e("k", "w")), MapEdit::Put(e("j", "x"))]).unwrap(), "k w\nj x\n");
    }

    #[test]
    fn entries_a_map_line_cannot_carry_are_refused() {
        for (bad, why) in [
            (e("", "v"), "key is empty"),
            (e("a b", "v"), "one word"),
            (e("#k", "v"), "comment"),
            (e("k", ""), "value is empty"),
            (e("k", "a\nb"), "line break"),
            (e("k", " v"), "blank"),
        ] {
            let error = edit("", &[MapEdit::Add(bad)]).unwrap_err().to_string();
            assert!(error.contains(why), "{error}");
        }
    }

    #[test]
    fn map_files_are_the_maps_a_config_loads_and_files_of_kind_map() {
        let config = "frontend fe\n    bind :80\n    http-request set-var(txn.be) req.hdr(host),map_str(maps/hosts.map)\n    default_backend be\nbackend be\n";
        let bundle = Bundle::new(vec![
            crate::bundle::BundleFile::new(BundlePath::new("haproxy.cfg").unwrap(), FileKind::Config, config.as_bytes().to_vec()),
            crate::bundle::BundleFile::new(BundlePath::new("maps/hosts.map").unwrap(), FileKind::Other, b"a be\nb be\n".to_vec()),
            crate::bundle::BundleFile::new(BundlePath::new("spare.map").unwrap(), FileKind::Map, b"".to_vec()),
            crate::bundle::BundleFile::new(BundlePath::new("errors/503.http").unwrap(), FileKind::Errorfile, b"x".to_vec()),
        ])
        .unwrap();
        let settings = ClusterSettings::default();
        let files = map_files(&bundle, &settings);
        assert_eq!(files.len(), 2, "{files:?}");
        assert_eq!((files[0].path.as_str(), files[0].entries), ("maps/hosts.map", 2));
        assert_eq!(files[0].used_by, vec![MapUse { file: "haproxy.cfg".into(), line: 3, keyword: "map_str".into() }]);
        assert!(files[1].used_by.is_empty());
        assert_eq!(map_text(&bundle, &settings, &BundlePath::new("maps/hosts.map").unwrap()).unwrap(), "a be\nb be\n");
        assert!(matches!(map_text(&bundle, &settings, &BundlePath::new("errors/503.http").unwrap()), Err(Error::NotFound(_))));
    }
}
