//! The identity renderer.

use haproxy_model::Document;

/// Renders `document` exactly as held: parse then `lossless` gives back the input byte for byte.
pub fn lossless(document: &Document) -> String {
    let mut out = String::new();
    lossless_into(document, &mut out);
    out
}

/// Appends the rendering of `document` to `out`.
pub fn lossless_into(document: &Document, out: &mut String) {
    for line in document.lines() {
        line.render_into(out);
    }
}
