"""Parsing, rendering, errors, check, diff and format through the Python API."""

from __future__ import annotations

import json
import threading
import time

import pytest

import haproxy_fleet as hf
from conftest import CORPUS, corpus_rows

HAPROXY_ROWS = [r for r in corpus_rows() if r["kind"] == "haproxy"]


def test_corpus_is_present() -> None:
    # The round-trip tests below are parametrised over the corpus; make its absence loud.
    assert len(HAPROXY_ROWS) > 400, f"conformance corpus missing or short at {CORPUS}"


@pytest.mark.parametrize("row", HAPROXY_ROWS, ids=[r["path"] for r in HAPROXY_ROWS])
def test_corpus_file_round_trips(row: dict[str, str]) -> None:
    raw = (CORPUS / row["path"]).read_bytes()
    text = raw.decode("utf-8")
    strict = row["expect"] == "valid"
    doc = hf.parse(text, strict=strict)
    assert doc.render().encode("utf-8") == raw


def test_corpus_lines_round_trip() -> None:
    count = 0
    for name in ("ok.jsonl", "snippets.jsonl"):
        for line in (CORPUS / "haproxy" / "lines" / name).read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            text = entry.get("config") or f"{entry['section']} x\n    {entry['line']}\n"
            assert hf.parse(text, strict=False).render() == text
            count += 1
    assert count > 4000


def test_weight_edit_changes_only_that_word() -> None:
    text = (
        "# fleet\n"
        "backend x\n"
        "\tbalance   roundrobin   # spread\n"
        "    server  y\t10.0.0.1:80   check   weight  3   maxconn 10   # the primary\r\n"
        "    server z 10.0.0.2:80 weight 3\n"
    )
    doc = hf.parse(text)
    doc.backend("x").server("y").weight = 7
    expected = text.replace("weight  3 ", "weight  7 ")
    assert expected != text
    assert doc.render() == expected
    # A weight that is absent is appended; removing it drops its two words only.
    server = doc.backend("x").server("z")
    server.weight = None
    assert server.text == "    server z 10.0.0.2:80"
    server.weight = 12
    assert server.weight == 12 and server.text == "    server z 10.0.0.2:80 weight 12"


def test_parse_error_names_the_broken_line() -> None:
    text = "global\n    maxconn 10\n\nbackend b\n    server a 10.0.0.1:80\n    http-request deny if { path \"/x }\n"
    with pytest.raises(hf.ParseError) as info:
        hf.parse(text)
    err = info.value
    assert err.line == 6
    assert err.column > 1
    assert isinstance(err, ValueError)
    assert err.diagnostics and err.diagnostics[0].line == 6 and err.diagnostics[0].severity == "error"
    assert str(err).startswith("6:")
    # Not strict: the document is still there, every byte of it.
    assert hf.parse(text, strict=False).render() == text


def test_views_read_and_edit() -> None:
    text = (
        "frontend www\n"
        "    bind :80\n"
        "    bind :443 ssl crt /etc/site.pem\n"
        "    acl is_api path_beg -i /api\n"
        "    http-request deny if { src 10.9.0.0/16 }\n"
        "    use_backend api if is_api\n"
        "    default_backend app\n"
        "\n"
        "backend app\n"
        "    mode http\n"
        "    timeout server 30s\n"
        "    option httpchk\n"
        "    server a 10.0.0.1:80 check backup\n"
        "    server b [2001:db8::1]:8080 disabled\n"
        "\n"
        "backend api\n"
        "    server c 10.0.0.3:80\n"
    )
    doc = hf.parse(text)
    assert [b.name for b in doc.backends()] == ["app", "api"]
    assert [f.name for f in doc.frontends()] == ["www"]
    app = doc.backend("app")
    assert (app.kind, app.mode, app.timeout("server"), app.option("httpchk")) == ("backend", "http", "30s", True)
    a, b = app.servers()
    assert (a.address, a.host, a.port, a.check, a.backup, a.disabled) == ("10.0.0.1:80", "10.0.0.1", 80, True, True, False)
    assert (b.host, b.port, b.disabled) == ("2001:db8::1", 8080, True)
    assert a.params == [("check", None), ("backup", None)]

    www = doc.frontend("www")
    binds = www.binds()
    assert [x.address for x in binds] == [":80", ":443"]
    assert binds[1].ssl and binds[1].certificates == ["/etc/site.pem"]
    (acl,) = www.acls()
    assert (acl.name, acl.criterion, acl.flags, acl.patterns) == ("is_api", "path_beg", [("-i", None)], ["/api"])
    rules = www.rules()
    assert [r.keyword for r in rules] == ["http-request", "use_backend", "default_backend"]
    assert rules[0].action == "deny" and rules[0].condition == "if { src 10.9.0.0/16 }"
    assert rules[1].target == "api" and rules[1].condition == "if is_api"
    assert www.default_backend == "app"

    # Edits.
    a.port = 8080
    a.backup = False
    b.disabled = False
    app.mode = "tcp"
    app.set_timeout("server", "1m")
    app.set_option("httpchk", False)
    rules[1].target = "app"
    rules[1].condition = "unless is_api"
    acl.patterns = ["/v1", "/v2"]
    new = app.add_server("d", "10.0.0.4:80", ["check", "weight", "5"])
    www.add_acl("is_admin", "path_beg", ["/admin"])
    www.add_rule("http-request", ["deny"], "if is_admin")
    out = doc.render()
    assert "    server a 10.0.0.1:8080 check\n" in out
    assert "    server b [2001:db8::1]:8080\n" in out
    assert "    mode tcp\n    timeout server 1m\n    no option httpchk\n" in out
    assert "    use_backend app unless is_api\n" in out
    assert "    acl is_api path_beg -i /v1 /v2\n    acl is_admin path_beg /admin\n" in out
    assert "    http-request deny if { src 10.9.0.0/16 }\n    http-request deny if is_admin\n" in out
    assert "    server d 10.0.0.4:80 check weight 5\n" in out
    assert new.weight == 5
    # The edited text still parses to the same reading.
    assert hf.parse(out).render() == out

    # Renaming keeps the view usable; removal makes the old view raise KeyError.
    app.name = "application"
    assert app.name == "application" and doc.backend("application").server("d").address == "10.0.0.4:80"
    app.remove_server("d")
    with pytest.raises(KeyError):
        new.weight  # noqa: B018 - the property access is the test
    www.remove_bind(0)
    assert [x.address for x in www.binds()] == [":443"]
    assert www.remove_acl("is_admin") == 1
    www.remove_rule(www.rules()[-1])
    doc.remove_backend("api")
    assert [b.name for b in doc.backends()] == ["application"]


def test_bad_input_gives_clear_errors() -> None:
    doc = hf.parse("backend b\n    server a 10.0.0.1:80\n")
    b = doc.backend("b")
    with pytest.raises(KeyError, match='backend "nope" not found'):
        doc.backend("nope")
    with pytest.raises(KeyError, match="no server named"):
        b.server("zz")
    with pytest.raises(ValueError, match="already exists"):
        b.add_server("a", "10.0.0.2:80")
    with pytest.raises(ValueError):
        b.add_server("c", "10.0.0.2:99999")
    with pytest.raises(ValueError):
        b.set_timeout("connect", "5 parsecs")
    with pytest.raises(ValueError, match="not a rule keyword"):
        b.add_rule("frobnicate", ["x"])
    with pytest.raises(ValueError):
        b.server("a").weight = 1000
    with pytest.raises(ValueError, match="already exists"):
        doc.add_backend("b")
    assert doc.render() == "backend b\n    server a 10.0.0.1:80\n"


def test_new_document_and_listen_sections() -> None:
    doc = hf.Document()
    app = doc.add_backend("app")
    app.balance = "leastconn"
    app.add_server("web1", "10.0.0.1:8080", ["check"]).weight = 5
    www = doc.add_frontend("www")
    www.add_bind(":80")
    www.add_acl("is_api", "path_beg", ["/api"])
    www.add_use_backend("app", ["if", "is_api"])
    stats = doc.add_listen("stats")
    stats.add_bind(":9000")
    assert doc.render() == (
        "backend app\n    balance leastconn\n    server web1 10.0.0.1:8080 check weight 5\n\n"
        "frontend www\n    bind :80\n    acl is_api path_beg /api\n    use_backend app if is_api\n\n"
        "listen stats\n    bind :9000\n"
    )
    assert doc.backend("stats").kind == "listen" and doc.frontend("stats").kind == "listen"
    assert doc.sections() == [("backend", "app"), ("frontend", "www"), ("listen", "stats")]
    copy = doc.copy()
    copy.remove_listen("stats")
    assert len(doc.sections()) == 3 and len(copy.sections()) == 2


def test_check_diff_format_and_dict() -> None:
    diagnostics = hf.check("frontend f\n    bind :80\n    default_backend missing\n")
    assert any("missing" in d.message for d in diagnostics)
    assert all(isinstance(d, hf.Diagnostic) for d in diagnostics)
    assert str(diagnostics[0]).startswith("3:")

    before = "backend b\n    server a 10.0.0.1:80 weight 1\n"
    doc = hf.parse(before)
    doc.backend("b").server("a").weight = 2
    d = hf.diff(before, doc)
    assert d["unified"].startswith("--- a\n+++ b\n")
    (change,) = d["summary"]
    assert change["section"] == "backend b" and change["directives"][0]["settings"] == ["weight"]
    assert hf.diff(before, before) == {"unified": "", "summary": [], "privileged": []}

    messy = "backend   b\n  server a   10.0.0.1:80\n"
    formatted = hf.parse(messy).format()
    assert formatted == "backend b\n    server a 10.0.0.1:80\n"
    assert hf.parse(formatted).format() == formatted

    model = hf.parse(before).to_dict()
    (section,) = model["sections"]
    assert (section["kind"], section["name"]) == ("backend", "b")
    assert section["directives"][0]["type"] == "server" and section["directives"][0]["line"] == 2
    assert hf.parse("backend b\n    server a 10.0.0.1:80\n").check() == []


def test_parsing_and_rendering_release_the_gil() -> None:
    # Another Python thread records timestamps; it can only run while the GIL is free, so
    # timestamps strictly inside one native call prove that call released the GIL.
    text = "".join(f"backend b{i}\n    server s{i} 10.0.{i // 250}.{i % 250}:80 check\n" for i in range(60000))
    stamps: list[float] = []
    done = threading.Event()

    def tick() -> None:
        while not done.is_set():
            stamps.append(time.perf_counter())
            time.sleep(0.0005)

    ticker = threading.Thread(target=tick)
    ticker.start()
    try:
        time.sleep(0.01)
        start = time.perf_counter()
        doc = hf.parse(text)
        parsed = time.perf_counter()
        out = doc.render()
        rendered = time.perf_counter()
    finally:
        done.set()
        ticker.join()
    assert out == text
    during_parse = [t for t in stamps if start < t < parsed]
    during_render = [t for t in stamps if parsed < t < rendered]
    # A call that holds the GIL lets at most a stamp or two in (a thread switch right before
    # it starts); this parse takes tens of milliseconds, room for dozens of 0.5 ms ticks.
    assert len(during_parse) >= 5, (len(during_parse), parsed - start)
    if rendered - parsed > 0.02:
        assert len(during_render) >= 5, (len(during_render), rendered - parsed)


def test_bytes_input_and_type_errors() -> None:
    text = "backend b\n    server a 10.0.0.1:80 # é\n"
    assert hf.parse(text.encode()).render() == text
    assert [d.message for d in hf.check(text.encode())] == [d.message for d in hf.check(text)]
    with pytest.raises(ValueError, match="not valid utf-8"):
        hf.parse(b"backend b\n\xff\n")
    with pytest.raises(TypeError, match="str or bytes, not int"):
        hf.parse(3)  # type: ignore[arg-type]


def test_line_views_follow_their_line_across_edits() -> None:
    text = (
        "frontend www\n"
        "    bind :80\n"
        "    http-request deny if { path /a }\n"
        "    http-request deny if { path /b }\n"
    )
    doc = hf.parse(text)
    www = doc.frontend("www")
    first_bind = www.binds()[0]
    deny_a, deny_b = www.rules()
    # Lines inserted before them (an ACL goes before the first rule, a bind after the last bind).
    www.add_acl("x", "src", ["10.0.0.0/8"])
    www.add_bind(":81")
    www.add_bind(":79")
    assert deny_b.condition == "if { path /b }" and deny_b.index == 5
    deny_b.condition = "if x"
    assert deny_a.condition == "if { path /a }"
    assert first_bind.address == ":80"
    first_bind.address = ":8080"
    www.remove_rule(deny_a)
    assert doc.render() == (
        "frontend www\n    bind :8080\n    bind :81\n    bind :79\n    acl x src 10.0.0.0/8\n"
        "    http-request deny if x\n"
    )
    with pytest.raises(KeyError, match="no longer"):
        deny_a.condition  # noqa: B018 - the property access is the test
    # A line changed through another view is not silently re-found elsewhere.
    other = www.rules()[0]
    other.condition = "unless x"
    with pytest.raises(KeyError):
        deny_b.text  # noqa: B018
