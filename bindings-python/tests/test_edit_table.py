"""The table of good and bad typed edits (haproxy-model/tests/edit_table.json) through Python.

fleet-core's test `edit_table` runs the same table through the edit ops behind the HTTP API:
both accept and refuse the same edits with the same messages, because both call haproxy-model's
editors.
"""

import json
from pathlib import Path
from typing import Any

import pytest

import haproxy_fleet as hf

TABLE = json.loads((Path(__file__).resolve().parents[2] / "haproxy-model" / "tests" / "edit_table.json").read_text())


def apply(doc: hf.Document, case: dict[str, Any]) -> None:
    edit = case["edit"]
    if edit == "add_server":
        doc.backend(case["backend"]).add_server(case["name"], case["address"], case.get("params", []))
    elif edit == "set_weight":
        doc.backend(case["backend"]).server(case["name"]).weight = case["weight"]
    elif edit == "delete_server":
        doc.backend(case["backend"]).remove_server(case["name"])
    elif edit == "add_bind":
        doc.frontend(case["frontend"]).add_bind(case["address"])
    elif edit == "add_acl":
        words = case["words"]
        doc.frontend(case["frontend"]).add_acl(case["name"], words[0] if words else "", words[1:])
    elif edit == "add_rule":
        keyword, *args = case["words"]
        doc.frontend(case["frontend"]).add_rule(keyword, args)
    elif edit == "add_backend":
        doc.add_backend(case["name"])
    elif edit == "add_frontend":
        doc.add_frontend(case["name"])
    elif edit == "rename_backend":
        doc.backend(case["name"]).name = case["rename"]
    else:
        raise AssertionError(f"unknown edit {edit!r} in the table")


@pytest.mark.parametrize("case", TABLE["cases"], ids=lambda c: f"{c['edit']}-{'ok' if c['ok'] else 'refused'}")
def test_python_accepts_and_refuses_what_the_http_ops_do(case: dict[str, Any]) -> None:
    doc = hf.parse(TABLE["base"])
    if case["ok"]:
        apply(doc, case)
        assert doc.render() != TABLE["base"]
    else:
        with pytest.raises((ValueError, KeyError, IndexError)) as refused:
            apply(doc, case)
        assert case["error"] in str(refused.value)
        assert doc.render() == TABLE["base"], "a refused edit changed the document"


def test_table_is_not_empty() -> None:
    assert len(TABLE["cases"]) >= 30
