//! Extractors whose rejections are [`ApiError`]s, so a malformed body, query or path gets the
//! same JSON error shape as everything else (axum's own rejections are plain text).

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderName, StatusCode};
use serde::de::DeserializeOwned;

use crate::errors::ApiError;

/// A JSON body.
pub(crate) struct Json<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        // What `axum::Json` checks first, with its rejections.
        if !json_content_type(req.headers()) {
            let rejection = axum::extract::rejection::MissingJsonContentType::default();
            return Err(ApiError::rejected(rejection.status(), rejection.body_text()));
        }
        let bytes = match axum::body::Bytes::from_request(req, state).await {
            Ok(bytes) => bytes,
            Err(rejection) => return Err(ApiError::rejected(rejection.status(), rejection.body_text())),
        };
        if let Some(value) = direct(&bytes) {
            return Ok(Json(value));
        }
        let mut value = match axum::Json::<serde_json::Value>::from_bytes(&bytes) {
            Ok(axum::Json(value)) => value,
            Err(rejection) => return Err(ApiError::rejected(rejection.status(), rejection.body_text())),
        };
        // serde reads a struct from an array of its fields in order (`[]` fills every
        // defaulted field); the API's bodies are objects, so an array is refused, as its
        // OpenAPI schema says.
        if value.is_array() && is_struct::<T>() {
            return Err(ApiError::bad_request("the body must be a JSON object"));
        }
        integers(&mut value);
        serde_json::from_value(value).map(Json).map_err(|e| {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", format!("failed to deserialize the json body into the target type: {e}"))
        })
    }
}

/// `Content-Type: application/json`, or another `application/*+json`, any parameters after
/// `;` (what `axum::Json` accepts).
fn json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(Ok(value)) = headers.get(axum::http::header::CONTENT_TYPE).map(|v| v.to_str()) else { return false };
    let essence = value.split(';').next().unwrap_or("").trim();
    let Some((kind, subtype)) = essence.split_once('/') else { return false };
    let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b));
    token(kind)
        && token(subtype)
        && kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json") || subtype.rsplit_once('+').is_some_and(|(_, suffix)| suffix.eq_ignore_ascii_case("json")))
}

/// `bytes` read straight as `T`, when that is sure to give what the general path (a
/// [`serde_json::Value`] first, its integral floats made integers, then `T`) gives: the body
/// holds no number with a fraction or an exponent, so there is nothing to rewrite, and it is
/// no array read as a struct. Agents' heartbeats are such bodies, thousands a second: building
/// the `Value` was most of the cost of reading one. None: take the general path, which also
/// words every error.
fn direct<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    if !integral_numbers_only(bytes) {
        return None;
    }
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') && is_struct::<T>() {
        return None;
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = T::deserialize(&mut deserializer).ok()?;
    deserializer.end().ok()?;
    Some(value)
}

/// Whether every number of the JSON text `bytes` is an integer literal: outside strings, no
/// `.`, and no `e` or `E` after a digit (the `e` of `true` and `false` follows a letter).
fn integral_numbers_only(bytes: &[u8]) -> bool {
    let (mut in_string, mut escaped, mut previous) = (false, false, b' ');
    for &b in bytes {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'.' => return false,
                b'e' | b'E' if previous.is_ascii_digit() => return false,
                _ => {}
            }
        }
        previous = b;
    }
    true
}

/// Whether `T` deserializes as a struct (it asks its deserializer for one), found with a
/// deserializer that only records what it was asked for.
fn is_struct<T: DeserializeOwned>() -> bool {
    use serde::de::{Deserializer, Error as _, Visitor};

    struct Probe<'a>(&'a mut bool);

    impl<'de> Deserializer<'de> for Probe<'_> {
        type Error = serde::de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
            Err(Self::Error::custom("probe"))
        }

        fn deserialize_struct<V: Visitor<'de>>(self, _name: &'static str, _fields: &'static [&'static str], _visitor: V) -> Result<V::Value, Self::Error> {
            *self.0 = true;
            Err(Self::Error::custom("probe"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
            unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }

    let mut asked = false;
    let _ = T::deserialize(Probe(&mut asked));
    asked
}

/// Rewrites numbers with a zero fraction (`3.0`) as integers, in place. JSON Schema, and so the
/// OpenAPI document and the clients generated from it, count `3.0` as an integer; serde does
/// not, and would refuse it for an `i64` field. Numbers with a fraction, or out of the 64-bit
/// range, are left alone (and refused by an integer field).
fn integers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(n) if !n.is_i64() && !n.is_u64() => {
            if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0) {
                // 2^63 and 2^64 as floats: the ranges an i64 and a u64 hold.
                if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f) {
                    *value = serde_json::Value::from(f as i64);
                } else if (0.0..18_446_744_073_709_551_616.0).contains(&f) {
                    *value = serde_json::Value::from(f as u64);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integers),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(integers),
        _ => {}
    }
}

/// The preferences of a request's `Prefer` headers (RFC 7240 §2): each `token[=value]`, any
/// parameters after `;` left aside; names are case-insensitive.
pub(crate) struct Prefer(Vec<String>);

/// The header that says which preferences were honoured (RFC 7240 §3).
pub(crate) const PREFERENCE_APPLIED: HeaderName = HeaderName::from_static("preference-applied");

impl<S: Send + Sync> FromRequestParts<S> for Prefer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Ok(Prefer::of(&parts.headers))
    }
}

impl Prefer {
    /// Whether `return=minimal` (RFC 7240 §4.2) was asked for.
    pub(crate) fn return_minimal(&self) -> bool {
        self.0.iter().any(|p| p.eq_ignore_ascii_case(fleet_core::wire::RETURN_MINIMAL))
    }

    fn of(headers: &axum::http::HeaderMap) -> Prefer {
        let preferences = headers
            .get_all("prefer")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(|preference| preference.split(';').next().unwrap_or("").split('=').map(|part| part.trim().trim_matches('"')).collect::<Vec<_>>().join("="))
            .filter(|preference| !preference.is_empty())
            .collect();
        Prefer(preferences)
    }
}

/// A JSON object body whose shape is checked later, by [`Body::parse`]: unparsable JSON or a
/// body that is not an object (`null` reads as `{}`) is refused at extraction, while a body
/// of the wrong shape is refused only after the permission and transaction checks that come
/// before it in the handler (see `routes::proxies`).
pub(crate) struct Body<T> {
    value: serde_json::Value,
    shape: std::marker::PhantomData<fn() -> T>,
}

impl<S: Send + Sync, T> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let Json(value) = Json::<serde_json::Value>::from_request(req, state).await?;
        let value = match value {
            serde_json::Value::Null => serde_json::Value::Object(serde_json::Map::new()),
            object @ serde_json::Value::Object(_) => object,
            _ => return Err(ApiError::bad_request("the body must be a JSON object")),
        };
        Ok(Body { value, shape: std::marker::PhantomData })
    }
}

impl<T: DeserializeOwned> Body<T> {
    /// The typed body, or a 422 saying what is wrong with its shape.
    pub(crate) fn parse(self) -> Result<T, ApiError> {
        serde_json::from_value(self.value).map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", format!("invalid body: {e}")))
    }
}

/// A text body (a whole configuration), within the body limit.
pub(crate) struct Text(pub(crate) String);

impl<S: Send + Sync> FromRequest<S> for Text {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match String::from_request(req, state).await {
            Ok(text) => Ok(Text(text)),
            Err(rejection) => Err(ApiError::rejected(rejection.status(), rejection.body_text())),
        }
    }
}

/// A body of any bytes (a file, a tar archive), within the body limit.
pub(crate) struct Raw(pub(crate) axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for Raw {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::body::Bytes::from_request(req, state).await {
            Ok(bytes) => Ok(Raw(bytes)),
            Err(rejection) => Err(ApiError::rejected(rejection.status(), rejection.body_text())),
        }
    }
}

/// Query parameters. A value written as an integral decimal (`cluster_id=3.0`) reads as the
/// integer, as JSON Schema (and so the OpenAPI document) counts it, like [`integers`] does for
/// bodies; the rewrite is tried only when the query as sent does not fit `T`, so a text
/// parameter that looks like a number keeps its bytes.
pub(crate) struct Query<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let rejection = match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => return Ok(Query(value)),
            Err(rejection) => rejection,
        };
        let query = parts.uri.query().unwrap_or_default();
        match integral_query(query).and_then(|rewritten| serde_urlencoded::from_str::<T>(&rewritten).ok()) {
            Some(value) => Ok(Query(value)),
            None => Err(ApiError::bad_request(rejection.body_text().to_lowercase())),
        }
    }
}

/// `query` with every value that is an integral decimal (`-5660.0`, `3.00`) written as the
/// integer; none when there is no such value (nothing to retry).
fn integral_query(query: &str) -> Option<String> {
    let mut changed = false;
    let pairs: Vec<(String, String)> = form_pairs(query)
        .into_iter()
        .map(|(key, value)| {
            let integral = value
                .split_once('.')
                .filter(|(whole, fraction)| {
                    let digits = whole.strip_prefix('-').unwrap_or(whole);
                    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && !fraction.is_empty() && fraction.bytes().all(|b| b == b'0')
                })
                .map(|(whole, _)| whole.to_string());
            match integral {
                Some(whole) => {
                    changed = true;
                    (key, whole)
                }
                None => (key, value),
            }
        })
        .collect();
    changed.then(|| serde_urlencoded::to_string(pairs).unwrap_or_default())
}

fn form_pairs(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap_or_default()
}

/// Path parameters.
pub(crate) struct Path<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => Err(ApiError::bad_request(rejection.body_text().to_lowercase())),
        }
    }
}

/// A required query value, or a 400 naming it.
pub(crate) fn required<T>(value: Option<T>, name: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| ApiError::bad_request(format!("query parameter {name} is required")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_of_integers_is_read_directly_and_any_other_as_before() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Beat {
            facts: serde_json::Value,
            seconds: u64,
        }
        assert!(integral_numbers_only(br#"{"a": [1, -2], "ip": "10.0.0.1", "q": "say \"1.5e3\"", "t": true}"#));
        assert!(!integral_numbers_only(br#"{"a": 3.0}"#) && !integral_numbers_only(br#"{"a": 1e3}"#) && !integral_numbers_only(br#"{"a": "\\", "b": 2E1}"#));
        let read = direct::<Beat>(br#"{"facts": {"ip": "10.0.0.1", "n": 7}, "seconds": 5}"#).unwrap();
        assert_eq!(read, Beat { facts: serde_json::json!({"ip": "10.0.0.1", "n": 7}), seconds: 5 });
        // The general path: `3.0` is made an integer, in a free-form object too.
        assert!(direct::<Beat>(br#"{"facts": {"n": 3.0}, "seconds": 5}"#).is_none());
        assert!(direct::<Beat>(b"[{}, 5]").is_none(), "an array is no struct body");
        assert!(direct::<Beat>(br#"{"facts": {}, "seconds": 5} x"#).is_none(), "trailing text");
        assert!(direct::<Beat>(br#"{"facts": {}, "seconds": -1}"#).is_none(), "wrong data: the general path words the error");
        assert!(direct::<Vec<u64>>(b" [1, 2]").is_some(), "an array body where an array is asked for");
    }

    #[test]
    fn return_minimal_is_found_among_preferences() {
        let prefer = |values: &[&str]| {
            let mut headers = axum::http::HeaderMap::new();
            for value in values {
                headers.append("prefer", value.parse().unwrap());
            }
            Prefer::of(&headers).return_minimal()
        };
        assert!(prefer(&["return=minimal"]) && prefer(&["Return = \"minimal\"; foo=bar"]) && prefer(&["wait=10", "respond-async, return=minimal"]));
        assert!(!prefer(&[]) && !prefer(&["return=representation"]) && !prefer(&["return-minimal"]));
    }

    #[test]
    fn json_content_types_are_the_ones_axum_takes() {
        let headers = |value: &str| {
            let mut headers = axum::http::HeaderMap::new();
            headers.insert(axum::http::header::CONTENT_TYPE, value.parse().unwrap());
            headers
        };
        for good in ["application/json", "application/json; charset=utf-8", "application/json;charset=utf-8", "application/cloudevents+json", "Application/JSON"] {
            assert!(json_content_type(&headers(good)), "{good}");
        }
        for bad in ["text/json", "application/jsonx", "application/", "json", "application/x-www-form-urlencoded"] {
            assert!(!json_content_type(&headers(bad)), "{bad}");
        }
        assert!(!json_content_type(&axum::http::HeaderMap::new()));
    }

    #[test]
    fn integral_floats_become_integers() {
        let mut value = serde_json::json!({"version": 3.0, "ids": [1.0, -2.0, 1.5], "big": 1e300, "nested": {"weight": 10.0}});
        integers(&mut value);
        assert_eq!(value, serde_json::json!({"version": 3, "ids": [1, -2, 1.5], "big": 1e300, "nested": {"weight": 10}}));
        #[derive(serde::Deserialize)]
        struct Apply {
            version: i64,
        }
        let mut body = serde_json::json!({"version": 1728213897.0});
        assert!(serde_json::from_value::<Apply>(body.clone()).is_err(), "serde alone refuses 1728213897.0");
        integers(&mut body);
        assert_eq!(serde_json::from_value::<Apply>(body).unwrap().version, 1728213897);
    }

    #[test]
    fn integral_decimals_in_queries_read_as_integers() {
        assert_eq!(integral_query("actor=admin&cluster_id=-5660.0").as_deref(), Some("actor=admin&cluster_id=-5660"));
        assert_eq!(integral_query("limit=3.00&x=1.5"), Some("limit=3&x=1.5".into()));
        assert_eq!(integral_query("cluster_id=7&actor=a.0"), None, "nothing integral to rewrite");
        #[derive(serde::Deserialize)]
        struct Audit {
            cluster_id: Option<i64>,
            actor: Option<String>,
        }
        let read: Audit = serde_urlencoded::from_str(&integral_query("actor=1.0x&cluster_id=-5660.0").unwrap()).unwrap();
        assert_eq!((read.cluster_id, read.actor.as_deref()), (Some(-5660), Some("1.0x")));
    }

    #[test]
    fn integral_floats_are_read_exactly() {
        // Parsed one ULP off without serde_json's float_roundtrip: 3644163088753910.5, a
        // fraction no i64 field takes (schemathesis found it in a heartbeat's counters).
        let mut value: serde_json::Value = serde_json::from_str(r#"{"qcur": 3644163088753910.0}"#).unwrap();
        integers(&mut value);
        assert_eq!(value["qcur"].as_i64(), Some(3_644_163_088_753_910));
    }
}
