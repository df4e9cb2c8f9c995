"""Traffic rules through the client against a real `fleet serve`: a rule is one version with
its region in the frontend, entries change only the rule's list file, bad rules are refused with
nothing stored, and removing every rule gives back the imported text byte for byte. Traffic
through a real HAProxy is checked by the Rust acceptance tests (tests/tests/it/rules_traffic.rs)."""

from __future__ import annotations

from typing import Any

import pytest

from haproxy_fleet import Client, ConflictError, NotFoundError, ValidationError

CONFIG = """global
    maxconn 100

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend web
    bind 127.0.0.1:18091
    default_backend app

backend app
    server s1 127.0.0.1:8080
"""


def test_rules_make_versions_and_leave_the_text_as_it_was(client: Client, cluster: dict[str, Any]) -> None:
    client.import_config(cluster, CONFIG)
    client.apply(cluster, 1)
    limited = client.create_rule(cluster, {"name": "api", "kind": "rate_limit", "frontends": ["web"],
                                           "limit": 10, "period_seconds": 10, "deny_status": 429})
    assert limited["version"] == 2 and limited["applied"] is True
    assert limited["limit"] == 10 and limited["priority"] == 100
    assert client.rule_hits(cluster, "api") == [], "no agent has read the rule's table yet"
    denied = client.create_rule(cluster, {"name": "bad", "kind": "ip_deny", "entries": ["192.0.2.0/24"]})
    assert denied["version"] == 3
    text = client.config(cluster)
    assert "# BEGIN fleet rules" in text and "http-request track-sc0 src table fleet_rl_api" in text
    assert "backend fleet_rl_api" in text

    assert [r["name"] for r in client.rules(cluster)] == ["api", "bad"]
    assert client.rule(cluster, "bad")["entries"] == ["192.0.2.0/24"]

    changed = client.rule_entries(cluster, "bad", add=["2001:db8::/32"], remove=["192.0.2.0/24"])
    assert changed["entries"] == ["2001:db8::/32"] and changed["version"] == 4
    assert client.config(cluster) == text, "an entries change leaves the text alone"

    with pytest.raises(ValidationError):
        client.create_rule(cluster, {"name": "x", "kind": "ip_deny", "entries": ["not-an-address"]})
    with pytest.raises(ConflictError):
        client.create_rule(cluster, {"name": "api", "kind": "method_allow", "methods": ["GET"]})
    with pytest.raises(NotFoundError):
        client.rule(cluster, "nope")

    geo = client.put_geo_map(cluster, "start,end,country\n127.0.0.4,127.0.0.5,ZZ\n")
    assert geo["version"] == 5
    with pytest.raises(ValidationError, match="line 2"):
        client.put_geo_map(cluster, "1.0.0.0,1.0.0.255,AU\nx,y,FR\n")
    blocked = client.create_rule(cluster, {"name": "geo", "kind": "geo_block", "entries": ["ZZ"]})
    assert blocked["map"] == "geo/countries.map"
    client.delete_rule(cluster, "geo")

    updated = client.update_rule(cluster, "api", {"name": "api", "kind": "rate_limit", "limit": 20, "period_seconds": 10, "dry_run": True})
    assert updated["dry_run"] is True
    client.delete_rule(cluster, "api")
    client.delete_rule(cluster, "bad")
    assert client.rules(cluster) == []
    assert client.config(cluster) == CONFIG
