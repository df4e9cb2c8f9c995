//! Extractors whose rejections are the surface's errors (`{"code","message"}`, 400).

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::errors::DpError;

/// Query parameters.
pub(crate) struct Query<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = DpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, DpError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(rejection) => Err(DpError::bad_request(rejection.body_text().to_lowercase())),
        }
    }
}

/// Path parameters.
pub(crate) struct Path<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = DpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, DpError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => Err(DpError::bad_request(rejection.body_text().to_lowercase())),
        }
    }
}

/// A JSON object body (upstream's models are objects).
pub(crate) struct Object(pub(crate) Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for Object {
    type Rejection = DpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, DpError> {
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|r| DpError::new(r.status(), r.body_text().to_lowercase()))?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(Object(map)),
            Ok(_) => Err(DpError::bad_request("the body must be a JSON object")),
            Err(e) => Err(DpError::bad_request(format!("the body is not JSON: {e}"))),
        }
    }
}

/// A text body (a configuration).
pub(crate) struct Text(pub(crate) String);

impl<S: Send + Sync> FromRequest<S> for Text {
    type Rejection = DpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, DpError> {
        String::from_request(req, state).await.map(Text).map_err(|r| DpError::new(r.status(), r.body_text().to_lowercase()))
    }
}

/// Any JSON body (a list, for the routes that replace every child at once).
pub(crate) struct Json(pub(crate) Value);

impl<S: Send + Sync> FromRequest<S> for Json {
    type Rejection = DpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, DpError> {
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|r| DpError::new(r.status(), r.body_text().to_lowercase()))?;
        serde_json::from_slice::<Value>(&bytes).map(Json).map_err(|e| DpError::bad_request(format!("the body is not JSON: {e}")))
    }
}
