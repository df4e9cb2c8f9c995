"""Map files' entries through the client against a real `fleet serve`: the map files listed with
the config lines loading them, entries set and removed as versions that change only their lines
of the file, bad entries refused with nothing stored. HAProxy taking the change at runtime is
checked by the Rust acceptance test (tests/tests/it/dataplane_maps.rs)."""

from __future__ import annotations

from typing import Any

import pytest

from haproxy_fleet import Client, NotFoundError, ValidationError

CONFIG = """frontend web
    bind 127.0.0.1:18092
    http-request set-var(txn.be) req.hdr(host),map_str(maps/hosts.map,app)
    default_backend app

backend app
    server s1 127.0.0.1:8080
"""
HOSTS = "# the operator's hosts\na.example app  # kept as written\n"


def test_map_entries_change_only_their_lines(client: Client, cluster: dict[str, Any]) -> None:
    client.put_file(cluster, "maps/hosts.map", HOSTS, version=0, kind="map")
    client.import_config(cluster, CONFIG)
    listed = client.maps(cluster)
    assert listed["version"] == 2
    assert [(m["path"], m["entries"]) for m in listed["maps"]] == [("maps/hosts.map", 1)]
    assert listed["maps"][0]["used_by"] == [{"file": "haproxy.cfg", "line": 3, "keyword": "map_str"}]
    assert client.map_entries(cluster, "maps/hosts.map") == [{"key": "a.example", "value": "app  # kept as written"}]

    changed = client.change_map(cluster, "maps/hosts.map", values={"b.example": "app"}, apply=False)
    assert changed["version"] == 3 and changed["applied"] is False
    assert changed["entries"][-1] == {"key": "b.example", "value": "app"}
    assert client.file(cluster, "maps/hosts.map") == (HOSTS + "b.example app\n").encode()
    removed = client.change_map(cluster, "maps/hosts.map", remove=["b.example"], apply=False)
    assert removed["version"] == 4
    assert client.file(cluster, "maps/hosts.map") == HOSTS.encode(), "the operator's file, byte for byte"
    unchanged = client.change_map(cluster, "maps/hosts.map", remove=["b.example"], apply=False)
    assert "version" not in unchanged, "nothing to change: no version"

    with pytest.raises(ValidationError, match="one word"):
        client.change_map(cluster, "maps/hosts.map", values={"two words": "x"})
    with pytest.raises(NotFoundError):
        client.map_entries(cluster, "maps/nope.map")
    assert client.maps(cluster)["version"] == 4, "refusals store nothing"
