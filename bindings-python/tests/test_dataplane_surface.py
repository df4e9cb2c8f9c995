"""Every response of the Data Plane API compatibility surface validates against upstream's
specification (issue 22).

    routes the surface registers (dataplane_routes.discover asks the router itself, so a new
    route cannot be left out)
      -> a walk over them on a real `fleet serve` (a cluster with one section of each kind):
           read, create (a minimal body per model), read it, replace it with what was read,
           create it again (409), replace the whole list with what was read, read a missing
           one (404), delete it, delete it again (404), a write at a stale version (409),
           transactions (create, list, read, write in it, commit; create, delete), raw
           (read, validate only, push), storage (upload, read, replace, delete), runtime
           servers (read, drain, refuse a health change, add, delete), runtime maps (list, entries
           added, read, set, deleted, a payload, cleared), reloads (list, one, a missing one)
      -> each answer checked on the spot (dataplane_spec.Spec.check: status declared, body
         valid against the response's schema) and each happy step's status must be a success
      -> every registered (method, route) reached

test_dataplane_spec.py proves the checker refuses what breaks the specification.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

from conftest import Server
from dataplane_routes import discover
from dataplane_spec import Recorder, Spec
from haproxy_fleet import Client

BASE_CONFIG = """\
# the spec test's cluster: one section of each kind the surface edits
global
    log 127.0.0.1 local2
    maxconn 4000

defaults web
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

userlist ul
    group admins
    user alice insecure-password alice-pass groups admins

peers mypeers
    peer p1 127.0.0.1:10000
    server s2 127.0.0.1:10002

ring logs
    format rfc5424
    size 32764
    server syslog 127.0.0.1:514

log-forward lf
    dgram-bind 127.0.0.1:1514
    bind 127.0.0.1:1515
    log global

fcgi-app php
    docroot /var/www
    acl is_php path_end .php

resolvers dns
    nameserver ns1 127.0.0.1:53

frontend fe
    bind 127.0.0.1:8080 name web
    acl is_api path_beg /api
    http-request deny if { src 10.0.0.1 }
    http-response set-header X-A b
    tcp-request connection accept if { src 127.0.0.1 }
    use_backend be if is_api
    default_backend be

backend be
    server s1 127.0.0.1:9000 check

# last: a new defaults section goes right before it, so no proxy changes what it inherits
defaults spare
    mode tcp
"""

# {parent_name} after each collection segment, and the query parameters that name a parent.
PARENTS = {"frontends": "fe", "backends": "be", "defaults": "web", "peers": "mypeers", "resolvers": "dns", "userlists": "ul", "rings": "logs", "log_forwards": "lf", "fcgi_apps": "php"}
QUERY_PARENTS = {"userlist": "ul", "resolver": "dns", "peer_section": "mypeers", "parent_name": "be", "parent_type": "backend", "backend": "be", "frontend": "fe"}

# A minimal new item per model of the specification (the body schema's definition name).
SAMPLES: dict[str, dict[str, Any]] = {
    "backend": {"name": "spec_be", "mode": "http"},
    "frontend": {"name": "spec_fe", "mode": "http"},
    "defaults": {"name": "spec_defaults", "mode": "http"},
    "server": {"name": "spec_s", "address": "127.0.0.2", "port": 81},
    "bind": {"name": "spec_bind", "address": "127.0.0.1", "port": 8081},
    "acl": {"acl_name": "spec_acl", "criterion": "path_beg", "value": "/spec"},
    "http_request_rule": {"type": "deny"},
    "http_response_rule": {"type": "set-header", "hdr_name": "X-Spec", "hdr_format": "1"},
    "backend_switching_rule": {"name": "be", "cond": "if", "cond_test": "is_api"},
    "tcp_request_rule": {"type": "content", "action": "accept"},
    "resolver": {"name": "spec_dns"},
    "nameserver": {"name": "spec_ns", "address": "127.0.0.1", "port": 5353},
    "peer_section": {"name": "spec_peers"},
    "peer_entry": {"name": "spec_peer", "address": "127.0.0.1", "port": 10001},
    "userlist": {"name": "spec_ul"},
    "user": {"username": "spec_user", "password": "spec-password", "secure_password": False},
    "group": {"name": "spec_group"},
    "runtime_add_server": {"name": "spec_rt", "address": "127.0.0.3", "port": 82},
}
NAME_KEYS = ("name", "username", "acl_name", "prefix")

# Steps the surface refuses by design (a 400 the specification allows), with why; where a
# creation is refused the walk reads and replaces an existing item and deletes a spare one.
REFUSED = {
    ("POST", "/services/haproxy/configuration/resolvers"): "the surface edits existing resolvers sections only",
    ("POST", "/services/haproxy/configuration/peer_section"): "the surface reads peers sections only",
    ("DELETE", "/services/haproxy/configuration/resolvers/{name}"): "the surface edits existing resolvers sections only",
    ("DELETE", "/services/haproxy/configuration/peer_section/{name}"): "the surface reads peers sections only",
}
EXISTING = {
    "/services/haproxy/configuration/resolvers": ("dns", "dns"),
    "/services/haproxy/configuration/peer_section": ("mypeers", "mypeers"),
}


@pytest.fixture(scope="module")
def spec() -> Spec:
    return Spec()


# -- the walk over the surface ------------------------------------------------------------------


class Walk:
    """The walk's state: the recorder and the happy steps that did not succeed."""

    def __init__(self, call: Recorder, spec: Spec, routes: set[tuple[str, str]]) -> None:
        self.call = call
        self.spec = spec
        self.routes = routes
        self.failed: list[str] = []

    def has(self, method: str, template: str) -> bool:
        return (method, template) in self.routes

    def version(self) -> int:
        answer = self.call("GET", "/services/haproxy/configuration/version")
        return int(answer.json()) if answer.ok else 0

    def expect(self, answer: Any, *statuses: int) -> Any:
        if answer.status_code not in statuses:
            self.failed.append(f"{answer.request.method} {answer.request.path_url} -> {answer.status_code} (expected {statuses}): {answer.text[:300]}")
        return answer

    def query(self, method: str, template: str, **extra: Any) -> dict[str, Any]:
        """Required query parameters naming a parent, plus `extra`."""
        op = self.spec.operation(method, template) or {}
        query: dict[str, Any] = {}
        for param in op.get("parameters", []):
            if isinstance(param, dict) and "$ref" in param:
                param = self.spec.document["parameters"][param["$ref"].split("/")[-1]]
            if param.get("in") == "query" and param.get("required") and param["name"] in QUERY_PARENTS:
                query[param["name"]] = QUERY_PARENTS[param["name"]]
        query.update(extra)
        return query

    def takes(self, method: str, template: str, name: str) -> bool:
        """Whether the operation has the parameter `name`."""
        op = self.spec.operation(method, template) or {}
        for param in op.get("parameters", []):
            if isinstance(param, dict) and "$ref" in param:
                param = self.spec.document["parameters"][param["$ref"].split("/")[-1]]
            if param.get("name") == name:
                return True
        return False

    def body_model(self, method: str, template: str) -> Optional[str]:
        op = self.spec.operation(method, template) or {}
        for param in op.get("parameters", []):
            if isinstance(param, dict) and param.get("in") == "body":
                return str(param["schema"].get("$ref", "")).split("/")[-1] or None
        return None


def fill(template: str, item: Optional[str] = None) -> str:
    """A concrete path: each {parent_name} after its collection's parent, the last {..} = item."""
    segments = template.split("/")
    out = []
    for i, segment in enumerate(segments):
        if segment == "{parent_name}":
            out.append(PARENTS.get(segments[i - 1], "be"))
        elif segment.startswith("{") and i == len(segments) - 1:
            out.append(str(item if item is not None else "0"))
        else:
            out.append(segment)
    return "/".join(out)


def walk_collection(w: Walk, collection: str, item: Optional[str]) -> None:
    c = w.call
    if w.has("GET", collection):
        w.expect(c("GET", fill(collection), params=w.query("GET", collection)), 200)
        if w.takes("GET", collection, "full_section"):
            w.expect(c("GET", fill(collection), params=w.query("GET", collection, full_section="true")), 200)
    created: Optional[str] = None
    if w.has("POST", collection):
        model = w.body_model("POST", collection)
        assert model in SAMPLES, f"no sample body for the model {model!r} of POST {collection}: add one to SAMPLES"
        body = SAMPLES[model]
        expected = (400,) if ("POST", collection) in REFUSED else (201, 202)
        answer = w.expect(c("POST", fill(collection), params=w.query("POST", collection, version=w.version()), json=body), *expected)
        if answer.status_code in (201, 202):
            created = next(str(body[k]) for k in NAME_KEYS if k in body)
            # The same name again is a conflict.
            w.expect(c("POST", fill(collection), params=w.query("POST", collection, version=w.version()), json=body), 409)
    elif item is not None and w.has("POST", item):
        model = w.body_model("POST", item)
        assert model in SAMPLES, f"no sample body for the model {model!r} of POST {item}: add one to SAMPLES"
        answer = w.expect(c("POST", fill(item, "0"), params=w.query("POST", item, version=w.version()), json=SAMPLES[model]), 201, 202)
        if answer.ok:
            created = "0"
    if item is None:
        return
    if w.has("GET", item):
        w.expect(c("GET", fill(item, "spec_missing" if "{index}" not in item else "999"), params=w.query("GET", item)), 404)
    doomed = created
    if created is None and collection in EXISTING:
        created, doomed = EXISTING[collection]
    if created is None:
        return
    read: Optional[Any] = None
    if w.has("GET", item):
        answer = w.expect(c("GET", fill(item, created), params=w.query("GET", item)), 200)
        read = answer.json() if answer.ok else None
        if w.takes("GET", item, "full_section"):
            w.expect(c("GET", fill(item, created), params=w.query("GET", item, full_section="true")), 200)
    if w.has("PUT", item) and read is not None:
        w.expect(c("PUT", fill(item, created), params=w.query("PUT", item, version=w.version()), json=read), 200, 202)
    if w.has("PUT", collection) and w.has("GET", collection):
        listed = c("GET", fill(collection), params=w.query("GET", collection))
        if listed.ok:
            w.expect(c("PUT", fill(collection), params=w.query("PUT", collection, version=w.version()), json=listed.json()), 200, 202)
    if w.has("DELETE", item):
        expected = (400,) if ("DELETE", item) in REFUSED else (202, 204)
        w.expect(c("DELETE", fill(item, doomed), params=w.query("DELETE", item, version=w.version())), *expected)
        w.expect(c("DELETE", fill(item, "spec_missing" if "{index}" not in item else "999"), params=w.query("DELETE", item, version=w.version())), 404)


def walk_transactions(w: Walk) -> None:
    c = w.call
    base = "/services/haproxy/transactions"
    if not w.has("POST", base):
        return
    created = w.expect(c("POST", base, params={"version": w.version()}), 201)
    tid = created.json().get("id") if created.ok else None
    if w.has("GET", base):
        w.expect(c("GET", base), 200)
    if tid is None:
        return
    if w.has("GET", f"{base}/{{id}}"):
        w.expect(c("GET", f"{base}/{tid}"), 200)
        w.expect(c("GET", f"{base}/spec-missing-transaction"), 404)
    if w.has("POST", "/services/haproxy/configuration/backends"):
        w.expect(c("POST", "/services/haproxy/configuration/backends", params={"transaction_id": tid}, json={"name": "spec_tx_be"}), 201, 202)
        if w.has("GET", "/services/haproxy/configuration/backends/{name}"):
            w.expect(c("GET", "/services/haproxy/configuration/backends/spec_tx_be", params={"transaction_id": tid}), 200)
            w.expect(c("GET", "/services/haproxy/configuration/backends/spec_tx_be"), 404)
    if w.has("PUT", f"{base}/{{id}}"):
        w.expect(c("PUT", f"{base}/{tid}"), 200, 202)
        # Committing it again: the specification allows 400, 404 or 406.
        w.expect(c("PUT", f"{base}/{tid}"), 400, 404, 406)
    if w.has("DELETE", f"{base}/{{id}}"):
        other = w.expect(c("POST", base, params={"version": w.version()}), 201)
        if other.ok:
            w.expect(c("DELETE", f"{base}/{other.json()['id']}"), 204)
        w.expect(c("DELETE", f"{base}/spec-missing-transaction"), 404)
    # A transaction on a version that is no longer the latest.
    w.expect(c("POST", base, params={"version": 1}), 409)


def walk_raw(w: Walk) -> None:
    c = w.call
    raw = "/services/haproxy/configuration/raw"
    text = BASE_CONFIG
    if w.has("GET", raw):
        answer = w.expect(c("GET", raw), 200)
        text = answer.text if answer.ok else text
    if w.has("POST", raw):
        headers = {"content-type": "text/plain"}
        w.expect(c("POST", raw, params={"only_validate": "true"}, data=text, headers=headers), 200, 201, 202)
        w.expect(c("POST", raw, params={"version": w.version()}, data=text + "\n# pushed by the spec test\n", headers=headers), 201, 202)
        w.expect(c("POST", raw, params={"skip_version": "true"}, data=text, headers=headers), 201, 202)
        w.expect(c("POST", raw, params={"version": w.version()}, data="frontend\n    bogus-keyword\n", headers=headers), 400)
        w.expect(c("POST", raw, params={"version": 1}, data=text, headers=headers), 409)


def pem() -> bytes:
    """A self-signed certificate and its key, made by openssl for this run."""
    with tempfile.TemporaryDirectory() as d:
        cert, key = Path(d) / "c.pem", Path(d) / "k.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "30", "-subj", "/CN=spec.example"],
            check=True,
            capture_output=True,
        )
        return cert.read_bytes() + key.read_bytes()


def walk_storage(w: Walk) -> None:
    """Each storage: upload, list, read, replace, upload again (409), delete, missing (404)."""
    c = w.call
    for plural, name, content in [("maps", "spec.map", b"a.example 1\n"), ("ssl_certificates", "spec.pem", pem()), ("general", "spec.txt", b"hello\n")]:
        base = f"/services/haproxy/storage/{plural}"
        item = f"{base}/{{name}}"
        if w.has("POST", base):
            w.expect(c("POST", base, files={"file_upload": (name, content)}), 201, 202)
            w.expect(c("POST", base, files={"file_upload": (name, content)}), 409)
        if w.has("GET", base):
            w.expect(c("GET", base), 200)
        if w.has("GET", item):
            w.expect(c("GET", f"{base}/{name}"), 200)
            w.expect(c("GET", f"{base}/spec-missing"), 404)
        if w.has("PUT", item):
            if plural == "general":
                w.expect(c("PUT", f"{base}/{name}", files={"file_upload": (name, b"bye\n")}), 202, 204)
            else:
                w.expect(c("PUT", f"{base}/{name}", data=content, headers={"content-type": "text/plain"}), 200, 202, 204)
        if w.has("DELETE", item):
            w.expect(c("DELETE", f"{base}/{name}"), 202, 204)
            w.expect(c("DELETE", f"{base}/{name}"), 404)


def walk_runtime(w: Walk) -> None:
    """Runtime servers of backend be: read them, drain s1 and back, refuse a health change, add
    one (again: 409; to a missing backend: 404) and delete it (again: 404)."""
    c = w.call
    base = "/services/haproxy/runtime/backends/{parent_name}/servers"
    if w.has("GET", base):
        w.expect(c("GET", "/services/haproxy/runtime/backends/be/servers"), 200)
        w.expect(c("GET", "/services/haproxy/runtime/backends/spec_missing/servers"), 404)
    if w.has("GET", f"{base}/{{name}}"):
        w.expect(c("GET", "/services/haproxy/runtime/backends/be/servers/s1"), 200)
        w.expect(c("GET", "/services/haproxy/runtime/backends/be/servers/spec_missing"), 404)
    if w.has("PUT", f"{base}/{{name}}"):
        w.expect(c("PUT", "/services/haproxy/runtime/backends/be/servers/s1", json={"admin_state": "drain", "weight": 5}), 200)
        w.expect(c("PUT", "/services/haproxy/runtime/backends/be/servers/s1", json={"admin_state": "ready"}), 200)
        w.expect(c("PUT", "/services/haproxy/runtime/backends/be/servers/s1", json={"operational_state": "down"}), 400)
    if w.has("POST", base):
        # A runtime add is a configuration change every node applies runtime-first.
        w.expect(c("POST", "/services/haproxy/runtime/backends/be/servers", json=SAMPLES["runtime_add_server"]), 201)
        w.expect(c("POST", "/services/haproxy/runtime/backends/be/servers", json=SAMPLES["runtime_add_server"]), 409)
        w.expect(c("POST", "/services/haproxy/runtime/backends/spec_missing/servers", json=SAMPLES["runtime_add_server"]), 404)
        w.expect(c("GET", "/services/haproxy/runtime/backends/be/servers/spec_rt"), 200)
    if w.has("DELETE", f"{base}/{{name}}"):
        w.expect(c("DELETE", "/services/haproxy/runtime/backends/be/servers/spec_rt"), 204)
        w.expect(c("DELETE", "/services/haproxy/runtime/backends/be/servers/spec_rt"), 404)


def walk_runtime_maps(w: Walk) -> None:
    """Runtime maps over a map uploaded to the maps storage: list, one, its entries; an entry
    added (again: 409), read, set, deleted (again: 404); a payload added; the map cleared."""
    c = w.call
    base = "/services/haproxy/runtime/maps"
    if not w.has("GET", base):
        return
    uploaded = w.has("POST", "/services/haproxy/storage/maps")
    if uploaded:
        w.expect(c("POST", "/services/haproxy/storage/maps", files={"file_upload": ("rt.map", b"# spec\na.example 1\n")}), 201, 202)
    w.expect(c("GET", base), 200)
    w.expect(c("GET", base, params={"include_unmanaged": "true"}), 200)
    if w.has("GET", f"{base}/{{name}}"):
        w.expect(c("GET", f"{base}/rt.map"), 200)
        w.expect(c("GET", f"{base}/spec-missing.map"), 404)
    entries = f"{base}/{{parent_name}}/entries"
    if w.has("GET", entries):
        w.expect(c("GET", f"{base}/rt/entries"), 200)
        w.expect(c("GET", f"{base}/spec-missing/entries"), 404)
    if w.has("POST", entries):
        w.expect(c("POST", f"{base}/rt.map/entries", json={"key": "b.example", "value": "2"}), 201)
        w.expect(c("POST", f"{base}/rt.map/entries", json={"key": "b.example", "value": "3"}), 409)
        w.expect(c("POST", f"{base}/rt.map/entries", json={"key": "bad key", "value": "3"}), 400)
    entry = f"{entries}/{{id}}"
    if w.has("GET", entry):
        w.expect(c("GET", f"{base}/rt.map/entries/b.example"), 200)
        w.expect(c("GET", f"{base}/rt.map/entries/spec-missing"), 404)
    if w.has("PUT", entry):
        w.expect(c("PUT", f"{base}/rt.map/entries/b.example", json={"value": "4"}), 200)
        w.expect(c("PUT", f"{base}/rt.map/entries/spec-missing", json={"value": "4"}), 404)
    if w.has("DELETE", entry):
        w.expect(c("DELETE", f"{base}/rt.map/entries/b.example"), 204)
        w.expect(c("DELETE", f"{base}/rt.map/entries/b.example"), 404)
    if w.has("PUT", f"{base}/{{name}}"):
        w.expect(c("PUT", f"{base}/rt.map", json=[{"key": "c.example", "value": "5"}, {"key": "d.example", "value": "6"}]), 201)
    if w.has("DELETE", f"{base}/{{name}}"):
        w.expect(c("DELETE", f"{base}/rt.map"), 204)
        w.expect(c("DELETE", f"{base}/spec-missing.map"), 404)
    if uploaded and w.has("DELETE", "/services/haproxy/storage/maps/{name}"):
        w.expect(c("DELETE", "/services/haproxy/storage/maps/rt.map"), 202, 204)


def walk_reloads(w: Walk) -> None:
    """The reloads the walk's commits made: the list, one of them, one that never was."""
    c = w.call
    if not w.has("GET", "/services/haproxy/reloads"):
        return
    listed = w.expect(c("GET", "/services/haproxy/reloads"), 200)
    reloads = listed.json() if listed.ok else []
    if not reloads:
        w.failed.append("GET /services/haproxy/reloads lists none after the walk's commits")
    if w.has("GET", "/services/haproxy/reloads/{id}"):
        if reloads:
            w.expect(c("GET", f"/services/haproxy/reloads/{reloads[-1]['id']}"), 200)
        w.expect(c("GET", "/services/haproxy/reloads/2000-01-01-999999"), 404)


def walk_single(w: Walk, template: str) -> None:
    """A section without a collection (global): read it, write back what was read."""
    answer = w.expect(w.call("GET", fill(template)), 200) if w.has("GET", template) else None
    if answer is not None and answer.ok and w.has("PUT", template):
        w.expect(w.call("PUT", fill(template), params={"version": w.version()}, json=answer.json()), 200, 202)
        w.expect(w.call("PUT", fill(template), params={"version": 1}, json=answer.json()), 409)


@pytest.fixture(scope="module")
def surface(fleet_server: Server) -> Iterator[tuple[str, tuple[str, str]]]:
    """A cluster holding BASE_CONFIG and an operator for Basic auth: (base URL, credentials)."""
    admin = Client(fleet_server.url, username="admin", password=fleet_server.password)
    pool = admin.create_pool("dataplane-spec")
    cluster = admin.create_cluster("dataplane-spec", pool["id"])
    admin.import_config(cluster["id"], BASE_CONFIG, message="spec test base")
    password = "dataplane-spec-password"
    admin.create_user("dataplane-spec", password, role="operator")
    yield f"{fleet_server.url}/dataplane/dataplane-spec/v3", ("dataplane-spec", password)


def test_route_discovery_sees_the_router(spec: Spec, fleet_server: Server) -> None:
    routes = discover(fleet_server.url, spec)
    # Routes every stage of the surface has; the rest is whatever it registers.
    assert {("GET", "/info"), ("GET", "/services/haproxy/configuration/version")} <= routes, sorted(routes)
    assert ("PATCH", "/info") not in routes


def test_every_registered_route_answers_as_the_spec_says(spec: Spec, fleet_server: Server, surface: tuple[str, tuple[str, str]]) -> None:
    routes = discover(fleet_server.url, spec)
    assert routes, "the surface registers no route"
    unknown = sorted(f"{m} {t}" for m, t in routes if spec.operation(m, t) is None)
    assert not unknown, f"registered routes the specification does not have: {unknown}"
    base, auth = surface
    call = Recorder(spec, base, auth)
    w = Walk(call, spec, routes)

    w.expect(call("GET", "/info"), 200) if w.has("GET", "/info") else None
    w.expect(call("GET", "/services/haproxy/configuration/version"), 200) if w.has("GET", "/services/haproxy/configuration/version") else None
    # Wrong credentials answer 401 with the spec's error body.
    if w.has("GET", "/services/haproxy/configuration/version"):
        w.expect(call("GET", "/services/haproxy/configuration/version", auth=("dataplane-spec", "wrong-password-xx")), 401)

    templates = {t for _, t in routes}
    items = {t for t in templates if t.endswith("}")}
    collections = sorted(t for t in templates if t not in items and t.startswith("/services/haproxy/configuration/") and t not in ("/services/haproxy/configuration/raw", "/services/haproxy/configuration/version", "/services/haproxy/configuration/global"))
    for collection in collections:
        item = next((t for t in items if t.startswith(collection + "/{") and t.count("/") == collection.count("/") + 1), None)
        walk_collection(w, collection, item)
    if "/services/haproxy/configuration/global" in templates:
        walk_single(w, "/services/haproxy/configuration/global")
    walk_transactions(w)
    walk_raw(w)
    walk_storage(w)
    walk_runtime(w)
    walk_runtime_maps(w)
    walk_reloads(w)

    report = "\n".join(call.problems)
    assert not call.problems, f"{len(call.problems)} answers break the specification:\n{report}"
    assert not w.failed, "happy steps that did not succeed:\n" + "\n".join(w.failed)
    missed = call.missed(routes)
    assert not missed, f"registered routes the walk did not reach (extend the walk): {missed}"
    print(f"{call.exchanges} exchanges over {len(routes)} routes, each valid against the specification")
