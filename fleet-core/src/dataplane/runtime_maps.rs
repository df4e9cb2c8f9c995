//! `services/haproxy/runtime/maps`: upstream's runtime maps as the map files of the cluster's
//! bundle ([`crate::maps`]), whose entries change as versions the agents take through HAProxy's
//! runtime API (prepare/add/commit map), without a reload.
//!
//! ```text
//! name (a storage name, `.map` added when missing as upstream does, or the file's absolute
//!   path on the nodes) -> the bundle path of a map file (maps::MapFile)
//! MapFile  -> upstream `map`:       {file, storage_name (maps/ folder only), description, size}
//! MapEntry -> upstream `map_entry`: {id, key, value}; `id` is the key, which the
//!   entries/{id} routes take (as upstream's `get map` / `set map` / `del map` do)
//! body     -> MapEntry (key and value strings), checked by maps::check_entry
//! ```
//! Upstream's `id` of a map (HAProxy's `#<id>`, given per process) has no fleet-wide meaning:
//! it is left out, as the specification allows.

use serde_json::{json, Map, Value};

use super::storage::Storage;
use crate::bundle::BundlePath;
use crate::error::{Error, Result};
use crate::maps::{MapEntry, MapFile};

/// The map file `name` addresses among `files` (see the module docs). Errors: [`Error::NotFound`].
pub fn runtime_map_path(managed_dir: &str, files: &[MapFile], name: &str) -> Result<BundlePath> {
    let missing = || Error::not_found(format!("runtime map {name}"));
    let managed = format!("{}/", managed_dir.trim_end_matches('/'));
    let candidates: Vec<String> = match name.strip_prefix(&managed) {
        Some(relative) => vec![relative.to_string()],
        None if name.contains('/') => return Err(missing()),
        None if name.ends_with(".map") => vec![format!("{}/{name}", Storage::Maps.folder())],
        None => vec![format!("{}/{name}", Storage::Maps.folder()), format!("{}/{name}.map", Storage::Maps.folder())],
    };
    candidates.iter().find_map(|c| files.iter().find(|f| f.path.as_str() == c).map(|f| f.path.clone())).ok_or_else(missing)
}

/// Upstream's `map` of one map file.
pub fn runtime_map(managed_dir: &str, file: &MapFile) -> Value {
    let mut map = json!({
        "file": format!("{}/{}", managed_dir.trim_end_matches('/'), file.path),
        "description": description(file),
        "size": file.size,
    });
    if let (Some(name), Value::Object(fields)) = (storage_name(file), &mut map) {
        fields.insert("storage_name".into(), Value::String(name.to_string()));
    }
    map
}

/// Upstream's `maps`: the map files of the maps storage, and with `include_unmanaged` every
/// other map file of the bundle too.
pub fn runtime_maps(managed_dir: &str, files: &[MapFile], include_unmanaged: bool) -> Vec<Value> {
    files.iter().filter(|f| include_unmanaged || storage_name(f).is_some()).map(|f| runtime_map(managed_dir, f)).collect()
}

/// Upstream's `map_entry` of one entry.
pub fn runtime_map_entry(entry: &MapEntry) -> Value {
    json!({"id": entry.key, "key": entry.key, "value": entry.value})
}

/// The entry a `map_entry` body gives (`id`, read-only, is ignored). Errors: [`Error::Invalid`].
pub fn map_entry_body(body: &Map<String, Value>) -> Result<MapEntry> {
    let text = |field: &str| match body.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(Error::invalid(format!("map entry: {field} must be a string, not {other}"))),
        None => Err(Error::invalid(format!("map entry: {field} is required"))),
    };
    let entry = MapEntry { key: text("key")?, value: text("value")? };
    crate::maps::check_entry(&entry)?;
    Ok(entry)
}

/// The value of a `replaceRuntimeMapEntry` body (`{"value": "..."}`). Errors: [`Error::Invalid`].
pub fn map_value_body(body: &Map<String, Value>) -> Result<String> {
    match body.get("value") {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(Error::invalid(format!("value must be a string, not {other}"))),
        None => Err(Error::invalid("value is required")),
    }
}

/// The entries of a `map_entries` body (a list of `map_entry`). Errors: [`Error::Invalid`].
pub fn map_entries_body(body: &Value) -> Result<Vec<MapEntry>> {
    let Value::Array(items) = body else { return Err(Error::invalid("the body must be a list of map entries")) };
    items
        .iter()
        .map(|item| match item {
            Value::Object(fields) => map_entry_body(fields),
            other => Err(Error::invalid(format!("a map entry must be an object, not {other}"))),
        })
        .collect()
}

/// Its name in the maps storage, when it lies directly in that folder.
fn storage_name(file: &MapFile) -> Option<&str> {
    file.path.as_str().strip_prefix(Storage::Maps.folder())?.strip_prefix('/').filter(|rest| !rest.contains('/'))
}

/// Which config lines load it, as `show map` describes a map.
fn description(file: &MapFile) -> String {
    match file.used_by.as_slice() {
        [] => "in the cluster's bundle; no configuration line loads it".to_string(),
        uses => {
            let places: Vec<String> = uses.iter().map(|u| format!("{} at file '{}' line {}", u.keyword, u.file, u.line)).collect();
            format!("pattern loaded from file '{}' used by {}", file.path, places.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maps::MapUse;

    fn file(path: &str, used: bool) -> MapFile {
        let used_by = if used { vec![MapUse { file: "haproxy.cfg".into(), line: 7, keyword: "map_str".into() }] } else { Vec::new() };
        MapFile { path: BundlePath::new(path).unwrap(), size: 10, entries: 1, used_by }
    }

    #[test]
    fn names_are_storage_names_or_absolute_paths() {
        let files = [file("maps/hosts.map", true), file("geo/countries.map", false)];
        for name in ["hosts.map", "hosts", "/etc/haproxy/maps/hosts.map"] {
            assert_eq!(runtime_map_path("/etc/haproxy", &files, name).unwrap().as_str(), "maps/hosts.map", "{name}");
        }
        assert_eq!(runtime_map_path("/etc/haproxy/", &files, "/etc/haproxy/geo/countries.map").unwrap().as_str(), "geo/countries.map");
        for missing in ["countries.map", "nope", "/elsewhere/maps/hosts.map", "../maps/hosts.map"] {
            assert!(matches!(runtime_map_path("/etc/haproxy", &files, missing), Err(Error::NotFound(_))), "{missing}");
        }
    }

    #[test]
    fn maps_are_upstreams_models() {
        let files = [file("maps/hosts.map", true), file("geo/countries.map", false)];
        let managed = runtime_maps("/etc/haproxy", &files, false);
        assert_eq!(
            managed,
            vec![json!({"file": "/etc/haproxy/maps/hosts.map", "storage_name": "hosts.map", "size": 10,
                "description": "pattern loaded from file 'maps/hosts.map' used by map_str at file 'haproxy.cfg' line 7"})]
        );
        let all = runtime_maps("/etc/haproxy", &files, true);
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].get("storage_name"), None);
        assert_eq!(runtime_map_entry(&MapEntry { key: "k".into(), value: "v w".into() }), json!({"id": "k", "key": "k", "value": "v w"}));
    }

    #[test]
    fn bodies_give_checked_entries() {
        let body = |v: Value| v.as_object().cloned().unwrap();
        assert_eq!(map_entry_body(&body(json!({"key": "k", "value": "v"}))).unwrap(), MapEntry { key: "k".into(), value: "v".into() });
        assert!(map_entry_body(&body(json!({"key": "k"}))).unwrap_err().to_string().contains("value is required"));
        assert!(map_entry_body(&body(json!({"key": "a b", "value": "v"}))).unwrap_err().to_string().contains("one word"));
        assert_eq!(map_entries_body(&json!([{"key": "a", "value": "1"}, {"key": "b", "value": "2"}])).unwrap().len(), 2);
        assert!(map_entries_body(&json!({"key": "a"})).is_err());
        assert_eq!(map_value_body(&body(json!({"value": "x"}))).unwrap(), "x");
    }
}
