//! Lines as coloured HTML: haproxy-render's syntax classes ([`haproxy_render::highlight`])
//! mapped to `hl-*` CSS classes; the text itself is escaped by maud, byte for byte.

use haproxy_model::Line;
use haproxy_render::highlight::{highlight, Class};
use maud::{html, Markup};

/// One line, coloured.
pub(crate) fn line(line: &Line) -> Markup {
    html! {
        @for (class, text) in highlight(line) {
            @if class == Class::Plain { (text) } @else { span class={ "hl-" (class.name()) } { (text) } }
        }
    }
}
