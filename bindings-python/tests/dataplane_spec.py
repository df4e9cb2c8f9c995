"""The upstream Data Plane API v3 specification (Swagger 2.0) as a response checker (issue 22).

    server/tests/fixtures/dataplaneapi/spec/haproxy_spec.yaml  (client-native v6.4.0, verbatim)
      -> load (YAML, response codes as strings)
      -> Spec.check(method, path, status, content type, body)
           path "/dataplane/{cluster}/v3/<rest>" -> the spec's template for "<rest>"
           status: declared by the operation (or its "default" response)
           body: validates against the response's schema (JSON Schema draft 4, "$ref"s
                 resolved against the whole document; Swagger's "x-nullable" becomes
                 "null" allowed, every other schema keyword is JSON Schema's own)
      -> a list of problems, empty when the exchange follows the specification

`Recorder` wraps a `requests.Session`: every answer it receives is checked on the spot and the
(method, template) pairs it reached are kept, so a test can prove it drove every route.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable, Optional

import requests
import yaml
from jsonschema import Draft4Validator

WORKSPACE = Path(__file__).resolve().parents[2]
FIXTURES = WORKSPACE / "server" / "tests" / "fixtures" / "dataplaneapi"
SPEC_FILE = FIXTURES / "spec" / "haproxy_spec.yaml"
PREFIX = re.compile(r"^/dataplane/[^/]+/v3(?P<rest>/.*)$")
METHODS = ("get", "post", "put", "delete", "patch")


def _string_keys(node: Any) -> Any:
    """YAML reads `200:` as an int; Swagger's response codes are strings."""
    if isinstance(node, dict):
        return {str(k): _string_keys(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_string_keys(v) for v in node]
    return node


def _nullable(node: Any) -> Any:
    """Swagger 2.0's `x-nullable: true` in JSON Schema terms; without it null is refused."""
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _nullable(v) for k, v in node.items()}
    if out.get("x-nullable") is True:
        if "$ref" in out:
            # Siblings of "$ref" are ignored by draft 4: wrap it.
            return {"anyOf": [{"type": "null"}, {"$ref": out["$ref"]}]}
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


def _flatten(node: Any, definitions: dict[str, Any]) -> Any:
    """Swagger 2.0's `allOf` composes one object from its parts (go-swagger embeds them): the
    object may carry the union of the parts' properties, and it refuses others when the
    composition or a part says `additionalProperties: false`. Draft 4 would apply a part's
    `additionalProperties` to the whole object (a server's `name` refused by `server_params`),
    so each `allOf` becomes that one flat object schema."""
    if isinstance(node, list):
        return [_flatten(v, definitions) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _flatten(v, definitions) for k, v in node.items()}
    if "allOf" not in out:
        return out
    properties: dict[str, Any] = {}
    required: list[str] = []
    closed = out.get("additionalProperties") is False
    extra = out.get("additionalProperties") if isinstance(out.get("additionalProperties"), dict) else None
    for part in out.pop("allOf"):
        while isinstance(part, dict) and isinstance(part.get("$ref"), str):
            part = definitions[part["$ref"].split("/")[-1]]
        if not isinstance(part, dict):
            continue
        part = _flatten(part, definitions)
        properties.update(part.get("properties", {}))
        required.extend(r for r in part.get("required", []) if r not in required)
        closed = closed or part.get("additionalProperties") is False
        if isinstance(part.get("additionalProperties"), dict):
            extra = part["additionalProperties"]
    out["type"] = "object"
    out["properties"] = {**properties, **out.get("properties", {})}
    if required:
        out["required"] = required
    if closed:
        out["additionalProperties"] = False
    elif extra is not None:
        out["additionalProperties"] = extra
    else:
        out.pop("additionalProperties", None)
    return out


def load_spec(path: Path = SPEC_FILE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        loaded = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return _string_keys(loaded)


class Spec:
    """The specification, with path templates matched most-literal first."""

    def __init__(self, document: Optional[dict[str, Any]] = None) -> None:
        self.document = document if document is not None else load_spec()
        nullable = _nullable(copy.deepcopy(self.document["definitions"]))
        self.definitions = {name: _flatten(schema, nullable) for name, schema in nullable.items()}
        self.templates: list[tuple[re.Pattern[str], str]] = []
        for template in self.document["paths"]:
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
            self.templates.append((re.compile(f"^{pattern}$"), template))
        # "/backends/{name}" must not swallow "/backends/x/servers"; among equals, literal wins.
        self.templates.sort(key=lambda t: (t[1].count("{"), -len(t[1])))

    def template(self, rest: str) -> Optional[str]:
        """The spec's template for a path below `/v3` (`/services/haproxy/configuration/backends/be`)."""
        for pattern, template in self.templates:
            if pattern.match(rest):
                return template
        return None

    def operation(self, method: str, template: str) -> Optional[dict[str, Any]]:
        item = self.document["paths"].get(template, {})
        op = item.get(method.lower())
        return op if isinstance(op, dict) else None

    def _deref(self, node: dict[str, Any]) -> dict[str, Any]:
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/responses/"):
            return dict(self.document["responses"][ref.split("/")[-1]])
        return node

    def response(self, method: str, template: str, status: int) -> Optional[dict[str, Any]]:
        """The declared response for `status` (or the operation's `default`), or None."""
        op = self.operation(method, template)
        if op is None:
            return None
        responses = op.get("responses", {})
        declared = responses.get(str(status), responses.get("default"))
        return None if declared is None else self._deref(declared)

    @cached_property
    def _root(self) -> dict[str, Any]:
        return {"definitions": self.definitions}

    def validate(self, schema: dict[str, Any], body: Any) -> list[str]:
        """Draft 4 errors of `body` against `schema` (a schema taken from the spec)."""
        root = dict(self._root)
        root.update(_flatten(_nullable(schema), self.definitions))
        validator = Draft4Validator(root)
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        return [f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}" for e in errors[:10]]

    def check(self, method: str, path: str, status: int, content_type: str, body: bytes) -> list[str]:
        """Problems of one exchange of the compatibility surface; empty when it follows the spec."""
        found = PREFIX.match(path)
        if not found:
            return [f"{path}: not below /dataplane/{{cluster}}/v3"]
        rest = found.group("rest")
        where = f"{method.upper()} {path} -> {status}"
        template = self.template(rest)
        if template is None:
            return [f"{where}: no such path in the specification"]
        op = self.operation(method, template)
        if op is None:
            return [f"{where}: the specification has no {method.upper()} on {template}"]
        declared = self.response(method, template, status)
        if declared is None:
            return [f"{where}: status {status} not declared for {method.upper()} {template}"]
        schema = declared.get("schema")
        if schema is None:
            if body.strip():
                return [f"{where}: the specification declares no body, got {body[:200]!r}"]
            return []
        if schema.get("type") == "file":
            return []
        produces = op.get("produces", self.document.get("produces", ["application/json"]))
        if schema.get("type") == "string" and "application/json" not in produces:
            if not content_type.startswith("text/plain"):
                return [f"{where}: content type {content_type!r}, the specification says {produces}"]
            return []
        if "json" not in content_type:
            return [f"{where}: content type {content_type!r} is not JSON"]
        try:
            value = json.loads(body)
        except ValueError as e:
            return [f"{where}: body is not JSON ({e}): {body[:200]!r}"]
        return [f"{where}: {problem}" for problem in self.validate(schema, value)]


class Recorder:
    """A `requests.Session` on the surface whose every answer is checked against the spec."""

    def __init__(self, spec: Spec, base: str, auth: tuple[str, str]) -> None:
        self.spec = spec
        self.base = base.rstrip("/")
        self.session = requests.Session()
        self.session.auth = auth
        self.reached: set[tuple[str, str]] = set()
        self.exchanges = 0
        self.problems: list[str] = []

    def __call__(self, method: str, rest: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        answer = self.session.request(method, f"{self.base}{rest}", **kwargs)
        path = requests.utils.urlparse(answer.url).path
        problems = self.spec.check(method, path, answer.status_code, answer.headers.get("content-type", ""), answer.content)
        self.problems.extend(problems)
        self.exchanges += 1
        template = self.spec.template(PREFIX.match(path).group("rest")) if PREFIX.match(path) else None
        if template is not None:
            self.reached.add((method.upper(), template))
        return answer

    def missed(self, routes: Iterable[tuple[str, str]]) -> list[str]:
        return sorted(f"{m} {t}" for m, t in routes if (m, t) not in self.reached)
