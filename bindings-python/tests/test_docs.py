"""The examples in the package's docstrings run as written."""

from __future__ import annotations

import doctest

import haproxy_fleet
from haproxy_fleet import client, keepalived


def test_docstring_examples() -> None:
    for module in (haproxy_fleet, keepalived, client):
        result = doctest.testmod(module)
        assert result.failed == 0, module.__name__
    assert doctest.testmod(haproxy_fleet).attempted >= 3


def test_native_objects_have_docstrings() -> None:
    for name in ("parse", "check", "diff", "Document", "Proxy", "Server", "ParseError"):
        assert getattr(haproxy_fleet, name).__doc__, name
    assert haproxy_fleet.Document.render.__doc__
    assert haproxy_fleet.Server.weight.__doc__
