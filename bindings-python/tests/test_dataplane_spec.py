"""Responses of the Data Plane API compatibility surface are checked against upstream's
specification (issue 22) by dataplane_spec.Spec; these tests prove the checker accepts what
follows the specification and refuses what breaks it (hand-made answers), so a walk over the
surface that uses it can fail."""

from __future__ import annotations

import pytest

from dataplane_spec import Spec


@pytest.fixture(scope="module")
def spec() -> Spec:
    return Spec()


# -- the checker refuses what breaks the specification --------------------------------------

P = "/dataplane/c/v3/services/haproxy/configuration"


def test_checker_accepts_answers_that_follow_the_spec(spec: Spec) -> None:
    assert spec.check("get", f"{P}/backends", 200, "application/json", b'[{"name": "be", "mode": "http"}]') == []
    assert spec.check("get", f"{P}/backends/be/servers/s1", 200, "application/json", b'{"name": "s1", "address": "10.0.0.1", "port": 80, "check": "enabled"}') == []
    assert spec.check("get", f"{P}/backends/x", 404, "application/json", b'{"code": 404, "message": "missing"}') == []
    assert spec.check("get", f"{P}/version", 200, "application/json", b"7") == []
    assert spec.check("delete", f"{P}/backends/be", 204, "", b"") == []
    assert spec.check("get", f"{P}/raw", 200, "text/plain; charset=utf-8", b"global\n") == []


@pytest.mark.parametrize(
    "method,path,status,content_type,body,expected",
    [
        ("get", f"{P}/backends", 200, "application/json", b'[{"name": "be", "mode": "tcpx"}]', "is not one of"),
        ("get", f"{P}/backends", 200, "application/json", b'[{"name": "be", "bogus": 1}]', "Additional properties"),
        ("get", f"{P}/backends", 200, "application/json", b'[{"mode": "http"}]', "'name' is a required property"),
        ("get", f"{P}/backends/be/servers/s1", 200, "application/json", b'{"name": "s1", "address": "a", "port": "80"}', "is not of type 'integer'"),
        ("get", f"{P}/backends/be/servers/s1", 200, "application/json", b'{"name": "s1", "address": null}', "None is not of type 'string'"),
        ("get", f"{P}/backends/be", 404, "application/json", b'{"message": "missing"}', "'code' is a required property"),
        ("get", f"{P}/version", 200, "application/json", b'"7"', "is not of type 'integer'"),
        ("get", f"{P}/backends/be", 200, "text/html", b"<p>be</p>", "is not JSON"),
        ("delete", f"{P}/backends/be", 204, "application/json", b'{"ok": true}', "declares no body"),
        ("get", "/dataplane/c/v3/services/nothing", 200, "application/json", b"{}", "no such path"),
        ("patch", f"{P}/backends/be", 200, "application/json", b"{}", "has no PATCH"),
    ],
)
def test_checker_refuses_answers_that_break_the_spec(spec: Spec, method: str, path: str, status: int, content_type: str, body: bytes, expected: str) -> None:
    problems = spec.check(method, path, status, content_type, body)
    assert any(expected in p for p in problems), problems


def test_checker_refuses_an_undeclared_status(spec: Spec) -> None:
    # /info declares 200 and a default: a status is undeclared only where no default exists.
    op = {"responses": {"200": {"description": "ok"}}}
    doc = dict(spec.document)
    doc["paths"] = {"/only": {"get": op}}
    narrow = Spec(doc)
    assert narrow.check("get", "/dataplane/c/v3/only", 500, "application/json", b"{}") == ["GET /dataplane/c/v3/only -> 500: status 500 not declared for GET /only"]
