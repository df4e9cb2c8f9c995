//! `services/haproxy/configuration/...` resources: each handler reads the addressed document or
//! writes through [`super::flow`], with fleet-core's mapping ([`fleet_core::dataplane`]) between.

pub(crate) mod children;
pub(crate) mod sections;
pub(crate) mod servers;

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::flow::version_header;

/// A JSON answer with `Configuration-Version`.
pub(crate) fn at_version(version: i64, body: impl serde::Serialize) -> Response {
    let mut headers = HeaderMap::new();
    version_header(&mut headers, version);
    (headers, axum::Json(body)).into_response()
}

/// A model in upstream's key order. Upstream's models that are `allOf: [params, own]` (servers,
/// binds) print their parameters first, then their own fields (`address`, `name`, `port` ...),
/// each part alphabetically, as its Go structs do; clients and upstream's tests compare the text.
pub(crate) enum Ordered {
    Object(Vec<(String, serde_json::Value)>),
    Array(Vec<Ordered>),
    Other(serde_json::Value),
}

/// `value` (a model or a list of them) with the keys of `own` after the others.
pub(crate) fn params_first(value: serde_json::Value, own: &[&str]) -> Ordered {
    match value {
        serde_json::Value::Array(items) => Ordered::Array(items.into_iter().map(|v| params_first(v, own)).collect()),
        serde_json::Value::Object(map) => {
            let (mut mine, params): (Vec<_>, Vec<_>) = map.into_iter().partition(|(k, _)| own.contains(&k.as_str()));
            mine.sort_by(|a, b| a.0.cmp(&b.0));
            Ordered::Object(params.into_iter().chain(mine).collect())
        }
        other => Ordered::Other(other),
    }
}

impl serde::Serialize for Ordered {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Ordered::Object(fields) => {
                let mut map = serializer.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            Ordered::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Ordered::Other(v) => v.serialize(serializer),
        }
    }
}

/// A server's own fields (client-native's `server` beside `server_params`).
pub(crate) const SERVER_OWN: &[&str] = &["address", "id", "metadata", "name", "port"];

/// A bind's own fields (client-native's `bind` beside `bind_params`).
pub(crate) const BIND_OWN: &[&str] = &["address", "metadata", "name", "port", "port-range-end"];
