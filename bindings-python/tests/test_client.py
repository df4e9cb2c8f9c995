"""The HTTP client against a real `fleet serve` (started by the `fleet_server` fixture)."""

from __future__ import annotations

from typing import Any

import pytest

import haproxy_fleet as hf
from haproxy_fleet import Client
from conftest import Server

CONFIG = """# imported as written
global
    maxconn 100

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend www
    bind :8080
    default_backend app

backend app
    balance roundrobin
    server web1 10.0.0.1:80  check   weight 3   # primary
    server web2 10.0.0.2:80 check
"""


def test_login_and_auth_errors(fleet_server: Server) -> None:
    with pytest.raises(hf.AuthenticationError) as info:
        Client(fleet_server.url, username="admin", password="wrong password")
    assert info.value.status == 401
    anonymous = Client(fleet_server.url)
    assert anonymous.health()["status"] == "ok"
    with pytest.raises(hf.AuthenticationError):
        anonymous.pools()
    with pytest.raises(ValueError):
        Client(fleet_server.url, token="x", username="admin", password="y")


def test_token_authentication(client: Client, fleet_server: Server, unique: str) -> None:
    token = client.create_token(f"ci-{unique}")
    by_token = Client(fleet_server.url, token=token)
    pool = by_token.create_pool(f"by-token-{unique}")
    assert pool["id"] in [p["id"] for p in by_token.pools()]
    assert by_token.pool(pool["id"])["name"] == f"by-token-{unique}"
    with pytest.raises(hf.AuthenticationError):
        Client(fleet_server.url, token=token + "x").pools()


def test_pools_clusters_and_import(client: Client, cluster: dict[str, Any]) -> None:
    assert any(c["id"] == cluster["id"] for c in client.clusters())
    assert client.cluster(cluster)["name"] == cluster["name"]
    imported = client.import_config(cluster, CONFIG, message="first import")
    assert imported["version"] == 1
    assert client.config(cluster) == CONFIG  # byte for byte
    versions = client.versions(cluster)
    assert [v["number"] for v in versions] == [1]
    assert versions[0]["message"] == "first import"
    assert client.latest_version(cluster) == 1
    names = [b["name"] for b in client.backends(cluster)]
    assert names == ["app"]


def test_names_wherever_ids(client: Client, unique: str) -> None:
    pool = client.create_pool(f"named-{unique}")
    cluster = client.create_cluster(f"by-name-{unique}", pool["id"])
    assert client.pool(f"named-{unique}")["id"] == pool["id"]
    assert client.cluster(f"by-name-{unique}")["id"] == cluster["id"]
    client.import_config(f"by-name-{unique}", CONFIG, message="by name")
    assert client.versions(cluster)[0]["message"] == "by name"
    assert all(e["cluster_id"] == cluster["id"] for e in client.audit(f"by-name-{unique}"))
    with pytest.raises(hf.NotFoundError) as info:
        client.cluster(f"missing-{unique}")
    assert f"missing-{unique}" in info.value.message
    client.delete_cluster(f"by-name-{unique}")
    with pytest.raises(hf.NotFoundError):
        client.cluster(cluster["id"])
    client.delete_pool(f"named-{unique}")


def test_transaction_commits_on_success(client: Client, cluster: dict[str, Any]) -> None:
    client.import_config(cluster, CONFIG)
    with client.transaction(cluster, message="more weight") as tx:
        tx.update_server("app", "web1", weight=7)
        tx.add_server("app", "web3", "10.0.0.3:80", weight=2, params=["check"])
        assert [s["name"] for s in tx.servers("app")] == ["web1", "web2", "web3"]
    assert tx.result is not None and tx.result["version"] == 2
    text = client.config(cluster)
    # Only the weight word changed on web1's line; the new server sits after the last one.
    assert "    server web1 10.0.0.1:80  check   weight 7   # primary\n" in text
    assert "    server web3 10.0.0.3:80" in text
    assert text == CONFIG.replace("weight 3 ", "weight 7 ") + "    server web3 10.0.0.3:80 check weight 2\n"
    doc = hf.parse(text)
    assert doc.backend("app").server("web1").weight == 7
    assert doc.backend("app").server("web3").weight == 2


def test_transaction_discards_on_exception(client: Client, cluster: dict[str, Any]) -> None:
    client.import_config(cluster, CONFIG)
    with pytest.raises(RuntimeError, match="boom"):
        with client.transaction(cluster) as tx:
            tx.delete_server("app", "web2")
            raise RuntimeError("boom")
    assert tx.closed and tx.result is None
    assert client.latest_version(cluster) == 1
    assert client.config(cluster) == CONFIG
    assert all(t["id"] != tx.id for t in client.transactions(cluster))


def test_stale_transaction_raises_conflict(client: Client, cluster: dict[str, Any]) -> None:
    client.import_config(cluster, CONFIG)
    first = client.begin(cluster)
    second = client.begin(cluster)
    first.update_server("app", "web2", weight=9)
    second.update_server("app", "web2", weight=4)
    assert first.commit()["version"] == 2
    with pytest.raises(hf.ConflictError) as info:
        second.commit()
    assert info.value.status == 409
    # Beginning at a version that is no longer the latest is a conflict too.
    with pytest.raises(hf.ConflictError):
        client.begin(cluster, version=1)
    with pytest.raises(hf.ConflictError):
        client.replace_config(cluster, CONFIG, version=1)


def test_invalid_config_raises_validation_error_with_position(client: Client, cluster: dict[str, Any]) -> None:
    broken = CONFIG.replace("    balance roundrobin\n", "    balance roundrobin\n    server bad 10.0.0.9:80 weight \"7\n")
    with pytest.raises(hf.ValidationError) as info:
        client.import_config(cluster, broken)
    assert info.value.status == 422
    assert info.value.line == CONFIG.splitlines().index("    balance roundrobin") + 2
    assert client.versions(cluster) == []


def test_versions_diff_restore_apply_status(client: Client, cluster: dict[str, Any]) -> None:
    client.import_config(cluster, CONFIG)
    with client.transaction(cluster) as tx:
        tx.update_server("app", "web2", weight=5)
    diff = client.diff(cluster, 2)
    assert "+    server web2 10.0.0.2:80 check weight 5\n" in diff["unified"]
    (change,) = diff["summary"]
    assert change["section"] == "backend app"
    assert change["directives"][0]["settings"] == ["weight"]
    assert client.diff(cluster, 2, against=0)["unified"].count("\n+") >= CONFIG.count("\n") - 1

    restored = client.restore(cluster, 1, message="back to the import")
    assert restored["version"] == 3
    assert client.config(cluster) == CONFIG
    version = client.version(cluster, 3)
    assert (version["text"], version["parent"], version["message"]) == (CONFIG, 2, "back to the import")

    applied = client.apply(cluster, 3)
    assert applied["desired_version"] == 3
    status = client.status(cluster)
    assert status["agents"] == [] and status["desired_version"] == 3
    with pytest.raises(hf.NotFoundError):
        client.apply(cluster, 99)


def test_not_found_is_typed(client: Client) -> None:
    with pytest.raises(hf.NotFoundError) as info:
        client.cluster(10**9)
    assert info.value.status == 404 and info.value.code


def test_frontend_edits_in_a_transaction(client: Client, cluster: dict[str, Any]) -> None:
    client.import_config(cluster, CONFIG)
    with client.transaction(cluster) as tx:
        tx.add_bind("www", ":8443", ["name", "tls"])
        tx.add_acl("www", "is_api", ["path_beg", "/api"])
        tx.add_rule("www", ["http-request", "deny", "if", "is_api"])
        tx.add_backend("api", lines=["balance leastconn"])
        tx.add_server("api", "a1", "10.0.1.1:80")
    doc = hf.parse(client.config(cluster))
    www = doc.frontend("www")
    assert [b.address for b in www.binds()] == [":8080", ":8443"]
    assert [(a.name, a.criterion, a.patterns) for a in www.acls()] == [("is_api", "path_beg", ["/api"])]
    assert [r.text.strip() for r in www.rules()] == ["default_backend app", "http-request deny if is_api"]
    assert doc.backend("api").balance == "leastconn"
    assert [s.address for s in doc.backend("api").servers()] == ["10.0.1.1:80"]

    with client.transaction(cluster) as tx:
        tx.delete_rule("www", "http-request", 0)
        tx.delete_acl("www", "is_api")
        tx.delete_bind("www", ":8443")
        tx.delete_backend("api")
    # Back to HAProxy's reading of the import (the blank line that separated the added backend
    # stays behind: removing a section keeps the trivia before it).
    assert client.diff(cluster, 3, against=1)["summary"] == []
    assert hf.diff(CONFIG, client.config(cluster))["summary"] == []


def test_privileged_directives_need_the_clusters_allowance(client: Client, cluster: dict[str, Any]) -> None:
    text = CONFIG + "\nprogram mirror\n    command /bin/true\n"
    with pytest.raises(hf.PermissionDeniedError) as info:
        client.import_config(cluster, text)
    assert "allowed_privileges lacks program" in info.value.message
    assert "line 20, column 1: program mirror (program)" in info.value.message
    settings = {**cluster["settings"], "allowed_privileges": ["program"]}
    assert client.update_cluster_settings(cluster, settings)["settings"]["allowed_privileges"] == ["program"]
    version = client.import_config(cluster, text)["version"]
    diff = client.diff(cluster, version, against=0)
    assert [u["directive"] for u in diff["privileged"]] == ["program mirror", "command /bin/true"]


def test_audit_filters(client: Client, cluster: dict[str, Any]) -> None:
    client.import_config(cluster, CONFIG, message="audited import")
    entries = client.audit(cluster, action="version.")
    assert entries and all(e["action"].startswith("version.") for e in entries)
    assert all(e["cluster_id"] == cluster["id"] for e in entries)
    assert client.audit(cluster, actor="nobody-at-all") == []
    # LIKE's wildcards in the prefix match only themselves.
    assert client.audit(cluster, action="version%") == []
    assert len(client.audit(limit=1)) == 1
