//! The HTTP side of the client: one blocking reqwest client, bearer token, JSON in and out, and
//! the server's error body (`{"error":{code,message,line,column,diagnostics}}`) read back into
//! [`ClientError::Api`].

use std::io::Read;
use std::time::Duration;

use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::Method;
use serde_json::Value;

use super::ClientError;

/// How long one ordinary request may take (long-polls and event streams have none).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// A connection to `fleet serve`.
pub(crate) struct Api {
    /// `http(s)://host:port`, without a final slash.
    pub(crate) base: String,
    token: Option<String>,
    http: Client,
}

/// A request body.
pub(crate) enum Body<'a> {
    None,
    Json(&'a Value),
    Text(&'a str),
}

impl Api {
    /// A client of `base`, trusting the PEM CA in `ca_file` besides the system's.
    pub(crate) fn new(base: &str, token: Option<String>, ca_file: Option<&std::path::Path>) -> Result<Api, ClientError> {
        let mut builder = Client::builder().timeout(None).connect_timeout(Duration::from_secs(10)).user_agent(concat!("fleet/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = ca_file {
            let pem = std::fs::read(path).map_err(|source| ClientError::Io { path: path.display().to_string(), source })?;
            let ca = reqwest::Certificate::from_pem(&pem).map_err(|e| ClientError::Usage(format!("{}: not a PEM certificate: {e}", path.display())))?;
            builder = builder.add_root_certificate(ca);
        }
        let http = builder.build().map_err(|e| ClientError::Usage(format!("cannot set up HTTPS: {}", fleet_core::with_causes(&e))))?;
        Ok(Api { base: base.trim_end_matches('/').to_string(), token, http })
    }

    /// True when a token is at hand.
    pub(crate) fn has_token(&self) -> bool {
        self.token.is_some()
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self.http.request(method, format!("{}/api/v1{path}", self.base));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends a request and returns the response when it succeeded (2xx), else the server's error.
    pub(crate) fn send(&self, method: Method, path: &str, body: Body<'_>) -> Result<Response, ClientError> {
        let mut request = self.request(method, path).timeout(REQUEST_TIMEOUT);
        request = match body {
            Body::None => request,
            Body::Json(value) => request.json(value),
            Body::Text(text) => request.header("content-type", "text/plain; charset=utf-8").body(text.to_string()),
        };
        let response = request.send().map_err(|e| self.transport(&e))?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(api_error(response))
    }

    /// A JSON answer (`Null` for an empty body, as a 204 has).
    pub(crate) fn json(&self, method: Method, path: &str, body: Body<'_>) -> Result<Value, ClientError> {
        let text = self.send(method, path, body)?.text().map_err(|e| self.transport(&e))?;
        if text.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| ClientError::Answer(format!("{path}: not JSON: {e}")))
    }

    /// `GET path` as JSON.
    pub(crate) fn get(&self, path: &str) -> Result<Value, ClientError> {
        self.json(Method::GET, path, Body::None)
    }

    /// `GET path` read into `T`.
    pub(crate) fn get_as<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        serde_json::from_value(self.get(path)?).map_err(|e| ClientError::Answer(format!("{path}: {e}")))
    }

    /// `POST path` with a JSON body.
    pub(crate) fn post(&self, path: &str, body: &Value) -> Result<Value, ClientError> {
        self.json(Method::POST, path, Body::Json(body))
    }

    /// `DELETE path`.
    pub(crate) fn delete(&self, path: &str) -> Result<Value, ClientError> {
        self.json(Method::DELETE, path, Body::None)
    }

    /// `GET path` as bytes, with the response's headers.
    pub(crate) fn bytes(&self, path: &str) -> Result<(reqwest::header::HeaderMap, Vec<u8>), ClientError> {
        let mut response = self.send(Method::GET, path, Body::None)?;
        let headers = response.headers().clone();
        let mut bytes = Vec::new();
        response.read_to_end(&mut bytes).map_err(|e| ClientError::Transport { url: self.base.clone(), reason: e.to_string() })?;
        Ok((headers, bytes))
    }

    /// An event stream (`GET /events?...`) without a timeout: the response to read lines from.
    pub(crate) fn stream(&self, path: &str) -> Result<Response, ClientError> {
        let response = self.request(Method::GET, path).send().map_err(|e| self.transport(&e))?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(api_error(response))
    }

    fn transport(&self, error: &reqwest::Error) -> ClientError {
        ClientError::Transport { url: self.base.clone(), reason: fleet_core::with_causes(error) }
    }
}

/// The server's error answer as [`ClientError::Api`].
fn api_error(response: Response) -> ClientError {
    let status = response.status().as_u16();
    let text = response.text().unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let error = &body["error"];
    let message = match error["message"].as_str() {
        Some(message) => message.to_string(),
        None if text.trim().is_empty() => format!("http status {status}"),
        None => text.trim().to_string(),
    };
    ClientError::Api { status, code: error["code"].as_str().unwrap_or("http_error").to_string(), message, body }
}

/// `part` escaped for a URL path segment or a query value (RFC 3986 unreserved kept).
pub(crate) fn escape(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for byte in part.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `/clusters/<cluster>` + `rest`: the server takes a name or an id.
pub(crate) fn cluster_path(cluster: &str, rest: &str) -> String {
    format!("/clusters/{}{rest}", escape(cluster))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_escaped() {
        assert_eq!(cluster_path("edge-1.eu", "/status"), "/clusters/edge-1.eu/status");
        assert_eq!(escape("a b/c?"), "a%20b%2Fc%3F");
    }
}
