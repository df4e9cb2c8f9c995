"""Virtual IPs through the client against a real `fleet serve`: a group becomes each node's
keepalived.conf in one applied version, holders follow the agents' heartbeats, failover by
priority, bad groups refused with nothing stored. keepalived itself runs in the Rust namespace
lab (tests/tests/it)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from haproxy_fleet import Client, FleetError

CONFIG = """global
    maxconn 100

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend web
    bind 127.0.0.1:18090
    default_backend app

backend app
    server s1 127.0.0.1:8080
"""


def enrol(client: Client, url: str, cluster: dict[str, Any], name: str) -> Client:
    issued = client.create_enrollment(cluster, name)
    body = json.dumps({"secret": issued["secret"], "hostname": f"{name}.test", "facts": {}}).encode()
    request = urllib.request.Request(f"{url}/api/v1/agent/enroll", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return Client(url, token=json.loads(response.read())["token"])


def heartbeat(agent: Client, address: str, holds: bool) -> None:
    addresses = [f"{address}/24"] + (["198.18.0.50/24"] if holds else [])
    agent.request("POST", "/agent/heartbeat", json_body={"interfaces": [{"name": "eth0", "up": True, "addresses": addresses}]})


def test_vips_render_apply_and_fail_over(client: Client, fleet_server: Any, cluster: dict[str, Any]) -> None:
    client.import_config(cluster, CONFIG)
    client.apply(cluster, 1)
    lb1 = enrol(client, fleet_server.url, cluster, "lb1")
    lb2 = enrol(client, fleet_server.url, cluster, "lb2")
    nodes = [{"agent": "lb1", "priority": 150}, {"agent": "lb2", "priority": 100}]

    with pytest.raises(FleetError) as error:
        client.create_vip(cluster, "web", ["198.18.0.50/24"], 51, "eth0", nodes, advert_interval=0.5, version=2,
                          track_haproxy=False)
    assert error.value.status == 422 and "whole seconds" in str(error.value)
    assert client.vips(cluster) == []

    created = client.create_vip(cluster, "web", ["198.18.0.50/24"], 51, "eth0", nodes, track_haproxy=False)
    assert created["applied"] is True and created["version"] == 2
    text = client.file(cluster, "keepalived/lb1.conf").decode()
    assert "state MASTER" in text and "198.18.0.50/24 dev eth0" in text
    assert [v["name"] for v in client.vips(cluster)] == ["web"]

    heartbeat(lb1, "198.18.0.11", holds=True)
    heartbeat(lb2, "198.18.0.12", holds=False)
    [status] = client.status(cluster)["vips"]
    assert status["holder"] == "lb1"

    moved = client.fail_over_vip(cluster, created["id"], "lb2")
    assert moved["applied"] is True
    assert "priority 151" in client.file(cluster, "keepalived/lb2.conf").decode()
    heartbeat(lb1, "198.18.0.11", holds=False)
    heartbeat(lb2, "198.18.0.12", holds=True)
    [status] = client.status(cluster)["vips"]
    assert status["holder"] == "lb2" and status["transitions"][0]["event"] in ("acquired", "released")

    client.delete_vip(cluster, created["id"])
    assert client.vips(cluster) == []
    with pytest.raises(FleetError) as error:
        client.file(cluster, "keepalived/lb1.conf")
    assert error.value.status == 404
