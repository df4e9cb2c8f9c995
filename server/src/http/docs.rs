//! The browsable API reference at `/api/docs`: Swagger UI (vendored under `server/assets/`,
//! built into the binary) on the OpenAPI document at `/api/v1/openapi.json`.
//!
//! ```text
//! GET /api/docs                        -> index.html (relative links: works under a path prefix)
//! GET /api/docs/swagger-ui.css         -> the stylesheet
//! GET /api/docs/swagger-ui-bundle.js   -> Swagger UI
//! GET /api/docs/init.js                -> starts it on v1/openapi.json
//! ```
//!
//! Nothing is fetched from elsewhere: the Content-Security-Policy allows only this origin
//! (plus the inline styles and `data:` images Swagger UI uses). The pages are not API
//! operations, so they are not in the OpenAPI document; like the document itself they need
//! no token (the API calls made from the page do).

use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

const INDEX: &str = include_str!("../../assets/swagger-ui/index.html");
const INIT: &str = include_str!("../../assets/swagger-ui/init.js");
const CSS: &str = include_str!("../../assets/swagger-ui/swagger-ui.css");
const BUNDLE: &str = include_str!("../../assets/swagger-ui/swagger-ui-bundle.js");

/// Only this origin; Swagger UI sets inline styles and shows `data:` images.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The four routes of the reference page.
pub(crate) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/api/docs", get(|| asset("text/html; charset=utf-8", INDEX)))
        .route("/api/docs/init.js", get(|| asset("text/javascript; charset=utf-8", INIT)))
        .route("/api/docs/swagger-ui.css", get(|| asset("text/css; charset=utf-8", CSS)))
        .route("/api/docs/swagger-ui-bundle.js", get(|| asset("text/javascript; charset=utf-8", BUNDLE)))
}

async fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    ([(CONTENT_TYPE, content_type), (CONTENT_SECURITY_POLICY, POLICY), (CACHE_CONTROL, "public, max-age=3600")], body)
}
