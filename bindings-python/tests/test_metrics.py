"""`client.metrics()` against a real `fleet serve --metrics-token`: 401 without the token, and
the fleet families with it (an agent whose heartbeat carries a runtime summary)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from conftest import Server, start_fleet
from haproxy_fleet import AuthenticationError, Client

TOKEN = "py-metrics-token"


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[Server]:
    yield from start_fleet(tmp_path, ["--metrics-token", TOKEN])


def test_metrics_text_behind_the_token(guarded: Server) -> None:
    admin = Client(guarded.url, username="admin", password=guarded.password)
    with pytest.raises(AuthenticationError):
        admin.metrics()
    with pytest.raises(AuthenticationError):
        admin.metrics(token="wrong")

    pool = admin.create_pool("metrics-pool")
    cluster = admin.create_cluster("metrics", pool["id"])
    issued = admin.create_enrollment(cluster, "n1")
    body = json.dumps({"secret": issued["secret"], "hostname": "n1.test", "facts": {}}).encode()
    request = urllib.request.Request(f"{guarded.url}/api/v1/agent/enroll", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        agent = Client(guarded.url, token=json.loads(response.read())["token"])
    runtime = {"proxies": {}, "servers": {"app/s1": {"status": "DOWN", "weight": 1, "sessions": 0}}}
    agent.request("POST", "/agent/heartbeat", json_body={"facts": {"runtime": runtime}})

    text = admin.metrics(token=TOKEN)
    assert 'fleet_agents{cluster="metrics",state="online"} 1\n' in text
    assert 'fleet_server_up{cluster="metrics",backend="app",server="s1"} 0\n' in text
    assert "# TYPE fleet_metrics_servers_dropped gauge\n" in text
