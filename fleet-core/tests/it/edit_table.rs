//! The table of good and bad typed edits (`haproxy-model/tests/edit_table.json`) through the
//! edit ops the HTTP API runs. `bindings-python/tests/test_edit_table.py` runs the same table
//! through Python: both accept and refuse the same edits, with the same messages, because both
//! call haproxy-model's editors.

use fleet_core::candidate::apply_to_text;
use fleet_core::{EditOp, Error};
use serde_json::Value;

fn strings(value: &Value, key: &str) -> Vec<String> {
    value[key].as_array().map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect()).unwrap_or_default()
}

fn text(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_else(|| panic!("{key} missing in {value}")).to_string()
}

/// The op a table case stands for, built as the HTTP handlers build it.
fn op_of(case: &Value) -> EditOp {
    match case["edit"].as_str().unwrap() {
        "add_server" => EditOp::AddServer {
            backend: text(case, "backend"),
            name: text(case, "name"),
            address: text(case, "address"),
            weight: None,
            backup: false,
            disabled: false,
            params: strings(case, "params"),
        },
        "set_weight" => EditOp::UpdateServer {
            backend: text(case, "backend"),
            name: text(case, "name"),
            address: None,
            weight: Some(u32::try_from(case["weight"].as_u64().unwrap()).unwrap()),
            backup: None,
            disabled: None,
            params: None,
        },
        "delete_server" => EditOp::DeleteServer { backend: text(case, "backend"), name: text(case, "name") },
        "add_bind" => EditOp::AddBind { frontend: text(case, "frontend"), address: text(case, "address"), params: vec![] },
        "add_acl" => EditOp::AddAcl { proxy: text(case, "frontend"), name: text(case, "name"), words: strings(case, "words") },
        "add_rule" => EditOp::AddRule { proxy: text(case, "frontend"), words: strings(case, "words"), position: None },
        "add_backend" => EditOp::AddBackend { name: text(case, "name"), from: None, lines: vec![] },
        "add_frontend" => EditOp::AddFrontend { name: text(case, "name"), from: None, lines: vec![] },
        "rename_backend" => EditOp::UpdateBackend { name: text(case, "name"), rename: Some(text(case, "rename")), from: None },
        other => panic!("unknown edit {other:?} in the table"),
    }
}

#[test]
fn edit_ops_accept_and_refuse_what_the_model_does() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../haproxy-model/tests/edit_table.json");
    let table: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let base = text(&table, "base");
    let cases = table["cases"].as_array().unwrap();
    assert!(cases.len() >= 30, "the table shrank to {}", cases.len());
    for case in cases {
        let result = apply_to_text(&base, &[op_of(case)]);
        match (case["ok"].as_bool().unwrap(), result) {
            (true, Ok(after)) => assert_ne!(after, base, "{case}: accepted but changed nothing"),
            (false, Err(Error::Invalid { message, .. })) => {
                let want = text(case, "error");
                assert!(message.contains(&want), "{case}: message {message:?} lacks {want:?}");
            }
            (ok, result) => panic!("{case}: expected ok={ok}, got {result:?}"),
        }
    }
}
