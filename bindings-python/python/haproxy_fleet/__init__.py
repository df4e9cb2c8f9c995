"""HAProxy Fleet from Python: lossless HAProxy and Keepalived configuration, and a client for
the ``fleet serve`` HTTP API.

Parsing, rendering and editing run in Rust (the ``_native`` extension); this package only
re-exports them and adds the pure-Python HTTP client (:mod:`haproxy_fleet.client`).

>>> import haproxy_fleet
>>> doc = haproxy_fleet.parse("backend app\\n    server a 10.0.0.1:80  weight 1 # keep\\n")
>>> doc.backend("app").server("a").weight = 7
>>> doc.render()
'backend app\\n    server a 10.0.0.1:80  weight 7 # keep\\n'
"""

from ._native import (
    Acl,
    Bind,
    Diagnostic,
    Document,
    ParseError,
    Proxy,
    Rule,
    Server,
    __version__,
    check,
    diff,
    parse,
)
from . import keepalived
from .client import (
    AuthenticationError,
    Client,
    ConflictError,
    FleetError,
    LimitExceededError,
    MfaRequiredError,
    NotFoundError,
    PermissionDeniedError,
    StorageFullError,
    Transaction,
    ValidationError,
)

__all__ = [
    "Acl",
    "AuthenticationError",
    "Bind",
    "Client",
    "ConflictError",
    "Diagnostic",
    "Document",
    "FleetError",
    "LimitExceededError",
    "MfaRequiredError",
    "NotFoundError",
    "ParseError",
    "PermissionDeniedError",
    "Proxy",
    "Rule",
    "Server",
    "StorageFullError",
    "Transaction",
    "ValidationError",
    "__version__",
    "check",
    "diff",
    "keepalived",
    "parse",
]
