//! The UI's static files, compiled into the binary (nothing is fetched at build or run time):
//! vendored htmx, the stylesheet and a few lines of script (copy buttons).

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// `(name, content type, bytes)` of each asset.
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("htmx.min.js", "text/javascript; charset=utf-8", include_bytes!("assets/htmx.min.js")),
    ("fleet.css", "text/css; charset=utf-8", include_bytes!("assets/fleet.css")),
    ("fleet.js", "text/javascript; charset=utf-8", include_bytes!("assets/fleet.js")),
];

/// `GET /ui/assets/{name}`.
pub(crate) async fn serve(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, bytes)) => (
            [(header::CONTENT_TYPE, *content_type), (header::CACHE_CONTROL, "public, max-age=300")],
            *bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}
