//! The `file_upload` part of a `multipart/form-data` body (RFC 7578), as upstream's storage
//! routes take files: `curl --form "file_upload=@hosts.map"`.
//!
//! ```text
//! Content-Type: multipart/form-data; boundary=B
//! --B\r\n  Content-Disposition: form-data; name="file_upload"; filename="hosts.map"\r\n
//!          (other part headers)\r\n \r\n  <bytes>  \r\n--B ... --B--
//! ```
//! Only what these routes need: the first part named `file_upload`, its file name and bytes,
//! kept exactly as sent.

use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;

use super::errors::DpError;

/// The uploaded file: its name (the part's `filename`) and bytes.
pub(crate) struct Upload {
    pub(crate) filename: String,
    pub(crate) content: Vec<u8>,
}

/// The field upstream's storage routes read.
const FIELD: &str = "file_upload";

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|i| i + from)
}

/// A parameter of a header value (`boundary=...`, `name="..."`), unquoted.
fn parameter(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (key, v) = p.trim().split_once('=')?;
        key.trim().eq_ignore_ascii_case(name).then(|| v.trim().trim_matches('"').to_string())
    })
}

/// The [`FIELD`] part of `body` delimited by `boundary`. Errors: a message for the 400.
fn file_part(body: &[u8], boundary: &str) -> Result<Upload, String> {
    let delimiter = format!("--{boundary}");
    let mut at = find(body, delimiter.as_bytes(), 0).ok_or("the body has no multipart boundary")?;
    loop {
        let part_start = at + delimiter.len();
        if body.get(part_start..part_start + 2) == Some(b"--") {
            return Err(format!("no {FIELD} part in the form"));
        }
        let headers_start = part_start + 2; // past the CRLF after the delimiter
        let headers_end = find(body, b"\r\n\r\n", headers_start).ok_or("a part without a blank line after its headers")?;
        let next = find(body, format!("\r\n{delimiter}").as_bytes(), headers_end + 4).ok_or("a part without a closing boundary")?;
        let headers = String::from_utf8_lossy(&body[headers_start..headers_end]);
        let disposition = headers.lines().find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"));
        if let Some(disposition) = disposition {
            if parameter(disposition, "name").as_deref() == Some(FIELD) {
                let filename = parameter(disposition, "filename").filter(|f| !f.is_empty()).ok_or(format!("the {FIELD} part has no filename"))?;
                // A browser may send a path; the storage name is its last segment.
                let filename = filename.rsplit(['/', '\\']).next().unwrap_or_default().to_string();
                return Ok(Upload { filename, content: body[headers_end + 4..next].to_vec() });
            }
        }
        at = next + 2;
    }
}

impl<S: Send + Sync> FromRequest<S> for Upload {
    type Rejection = DpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, DpError> {
        let content_type = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        if !content_type.to_ascii_lowercase().starts_with("multipart/form-data") {
            return Err(DpError::bad_request(format!("expected a multipart/form-data body with a {FIELD} file, got {content_type:?}")));
        }
        let boundary = parameter(&content_type, "boundary").filter(|b| !b.is_empty()).ok_or_else(|| DpError::bad_request("multipart/form-data without a boundary"))?;
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|r| DpError::new(r.status(), r.body_text().to_lowercase()))?;
        file_part(&bytes, &boundary).map_err(DpError::bad_request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_upload_part_exactly_as_sent() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nignored\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"file_upload\"; filename=\"dir/hosts.map\"\r\nContent-Type: application/octet-stream\r\n\r\n\
a.example 1\r\nb.example 2\n\r\n--XyZ--\r\n";
        let upload = file_part(body, "XyZ").unwrap();
        assert_eq!(upload.filename, "hosts.map");
        assert_eq!(upload.content, b"a.example 1\r\nb.example 2\n");
    }

    #[test]
    fn forms_without_the_file_are_refused() {
        assert_eq!(file_part(b"--B\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--B--\r\n", "B").err().unwrap(), "no file_upload part in the form");
        assert!(file_part(b"nothing", "B").is_err());
        assert!(file_part(b"--B\r\nContent-Disposition: form-data; name=\"file_upload\"\r\n\r\n1\r\n--B--", "B").err().unwrap().contains("no filename"));
        assert_eq!(parameter("multipart/form-data; boundary=\"a b\"", "boundary").as_deref(), Some("a b"));
    }
}
