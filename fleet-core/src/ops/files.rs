//! Ops on a whole bundle: file ops change the set of files, the other ops edit the first config
//! file, in the order staged.
//!
//! ```text
//! base bundle + parsed first config
//!   -> run of config ops -> applied to the parsed first config (lossless) -> rendered into it
//!   -> put_file / delete_file -> the bundle changes; a put over the first config re-parses it
//! ```

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::json;

use super::EditOp;
use crate::bundle::{Bundle, BundleFile, FileKind};
use crate::documents::Parsed;
use crate::error::{Error, Result};

/// `ops` applied in order to `bundle`, whose first config file is `first` parsed. Errors name
/// the op's index as [`super::apply_ops`] does.
pub fn apply_to_bundle(bundle: &Bundle, first: Arc<Parsed>, ops: &[EditOp]) -> Result<Bundle> {
    let mut bundle = bundle.clone();
    let mut first = first;
    let mut start = 0;
    for (index, op) in ops.iter().enumerate() {
        if !op.is_file_op() {
            continue;
        }
        if start < index {
            bundle = bundle.with_text(&haproxy_render::lossless(&first.edited(&ops[start..index]).map_err(|e| shift(e, start))?));
        }
        start = index + 1;
        let invalid = |message: String| Error::invalid(format!("op {index} ({}): {message}", op.name()));
        bundle = match op {
            EditOp::PutFile { path, kind, mode, content_base64 } => {
                let content = BASE64.decode(content_base64).map_err(|e| invalid(format!("content_base64: {e}")))?;
                let mut file = BundleFile::new(path.clone(), kind.unwrap_or_else(|| FileKind::guess(path)), content);
                if let Some(mode) = mode {
                    file.mode = *mode;
                }
                bundle.with_file(file).map_err(|e| invalid(e.to_string()))?
            }
            EditOp::DeleteFile { path } => match bundle.without_file(path) {
                Some(changed) => changed.map_err(|e| invalid(e.to_string()))?,
                None => return Err(invalid(format!("{path}: no such file in the bundle"))),
            },
            _ => bundle,
        };
        first = Arc::new(Parsed::parse(bundle.text()));
    }
    if start < ops.len() {
        bundle = bundle.with_text(&haproxy_render::lossless(&first.edited(&ops[start..]).map_err(|e| shift(e, start))?));
    }
    Ok(bundle)
}

/// An op error from a run starting at `start` renumbered to the whole sequence.
fn shift(error: Error, start: usize) -> Error {
    match error {
        Error::Invalid { message, diagnostics } if start > 0 => {
            let message = match message.strip_prefix("op ").and_then(|m| m.split_once(' ')) {
                Some((n, rest)) => match n.parse::<usize>() {
                    Ok(n) => format!("op {} {rest}", n + start),
                    Err(_) => format!("op {n} {rest}"),
                },
                None => message,
            };
            Error::Invalid { message, diagnostics }
        }
        other => other,
    }
}

/// What the audit log keeps of staged ops: file ops without their content (a certificate's
/// key must not reach the audit log, and a map can be megabytes), with its size and sha256.
pub(crate) fn audit_view(ops: &[EditOp]) -> serde_json::Value {
    let view: Vec<serde_json::Value> = ops
        .iter()
        .map(|op| match op {
            EditOp::PutFile { path, kind, mode, content_base64 } => {
                let content = BASE64.decode(content_base64).unwrap_or_default();
                json!({"op": "put_file", "path": path, "kind": kind, "mode": mode, "bytes": content.len(),
                       "sha256": crate::secret::sha256_hex(&content)})
            }
            other => serde_json::to_value(other).unwrap_or_default(),
        })
        .collect();
    json!(view)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::BundlePath;
    use crate::ops::SectionRef;

    fn p(s: &str) -> BundlePath {
        BundlePath::new(s).unwrap_or_else(|e| unreachable!("{e}"))
    }

    fn put(path: &str, content: &str) -> EditOp {
        EditOp::PutFile { path: p(path), kind: None, mode: None, content_base64: BASE64.encode(content) }
    }

    #[test]
    fn config_and_file_ops_interleave_in_order() {
        let text = "global\n    maxconn 10\n";
        let base = Bundle::single(p("haproxy.cfg"), text);
        let set = |v: &str| EditOp::SetDirective {
            section: SectionRef { kind: "global".into(), name: None },
            keyword: "maxconn".into(),
            args: vec![v.into()],
        };
        let ops = vec![set("20"), put("maps/a.map", "k v\n"), set("30"), EditOp::DeleteFile { path: p("maps/a.map") }, put("certs/x.pem", "pem")];
        let out = apply_to_bundle(&base, Arc::new(Parsed::parse(text)), &ops).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(out.text(), "global\n    maxconn 30\n");
        let paths: Vec<_> = out.files().iter().map(|f| (f.path.as_str(), f.kind, f.mode)).collect();
        assert_eq!(paths, [("haproxy.cfg", FileKind::Config, 0o644), ("certs/x.pem", FileKind::Certificate, 0o600)]);
    }

    #[test]
    fn errors_name_the_op_in_the_whole_sequence() {
        let base = Bundle::single(p("haproxy.cfg"), "global\n");
        let ops = vec![put("a.map", "x"), EditOp::DeleteBackend { name: "nope".into() }];
        let err = apply_to_bundle(&base, Arc::new(Parsed::parse("global\n")), &ops).unwrap_err();
        assert!(err.to_string().contains("op 1 (delete_backend)"), "{err}");
        let err = apply_to_bundle(&base, Arc::new(Parsed::parse("global\n")), &[EditOp::DeleteFile { path: p("x") }]).unwrap_err();
        assert!(err.to_string().contains("op 0 (delete_file): x: no such file"), "{err}");
        let err = apply_to_bundle(&base, Arc::new(Parsed::parse("global\n")), &[EditOp::DeleteFile { path: p("haproxy.cfg") }]).unwrap_err();
        assert!(err.to_string().contains("at least one config file"), "{err}");
    }

    #[test]
    fn the_audit_never_holds_file_contents() {
        let view = audit_view(&[put("certs/k.pem", "-----BEGIN PRIVATE KEY-----")]).to_string();
        assert!(!view.contains("PRIVATE") && !view.contains("content_base64"), "{view}");
        assert!(view.contains("\"bytes\":27"), "{view}");
    }
}
