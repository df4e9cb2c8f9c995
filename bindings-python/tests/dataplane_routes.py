"""Which routes of upstream's specification the compatibility surface registers, asked of the
router itself (issue 22), so a route added to the server cannot be left out of the tests.

    every (method, path template) of the specification
      -> one request without credentials to /dataplane/{cluster}/v3/<template, params filled>
         (a cluster that does not exist: nothing is read or written)
      -> the router's fallback answers an unrouted path (the same status and body as a path no
         surface has) or 405 for a method the path does not serve; any other answer (401 from
         the handler's credentials check, 404 for the unknown cluster ...) means a handler is
         registered there

Without credentials no handler gets as far as a password check, so the ~500 probes are cheap.
"""

from __future__ import annotations

import re

import requests

from dataplane_spec import METHODS, Spec

PROBE_CLUSTER = "no-such-cluster-for-route-probes"


def _fallback(session: requests.Session, base: str, method: str) -> tuple[int, bytes]:
    answer = session.request(method, f"{base}/dataplane/{PROBE_CLUSTER}/v3/no/such/route/at/all", timeout=30)
    return answer.status_code, answer.content


def discover(base: str, spec: Spec) -> set[tuple[str, str]]:
    """(METHOD, template) pairs the server at `base` (`http://127.0.0.1:port`) routes."""
    session = requests.Session()
    fallbacks = {m: _fallback(session, base, m) for m in METHODS}
    assert all(status == 404 for status, _ in fallbacks.values()), f"the surface's fallback is not a 404: {fallbacks}"
    found: set[tuple[str, str]] = set()
    for template, item in spec.document["paths"].items():
        path = re.sub(r"\{[^}]+\}", "probe", template)
        for method in METHODS:
            if method not in item:
                continue
            answer = session.request(method, f"{base}/dataplane/{PROBE_CLUSTER}/v3{path}", timeout=30)
            if answer.status_code == 405 or (answer.status_code, answer.content) == fallbacks[method]:
                continue
            found.add((method.upper(), template))
    return found
