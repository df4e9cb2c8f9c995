"""Node truth and drift through the client (issue 17): an agent's state and RFC 3339
``last_seen_at``, its reported drift, and the cluster's drift setting."""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any

import pytest

import haproxy_fleet as hf
from haproxy_fleet import Client
from conftest import Server

CONFIG = "global\n    maxconn 10\n\ndefaults\n    mode http\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n"


def enrol(fleet_server: Server, admin: Client, cluster: dict[str, Any], name: str) -> Client:
    issued = admin.create_enrollment(cluster, name)
    body = json.dumps({"secret": issued["secret"], "hostname": f"{name}.test", "facts": {}}).encode()
    request = urllib.request.Request(f"{fleet_server.url}/api/v1/agent/enroll", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return Client(fleet_server.url, token=json.loads(response.read())["token"])


def test_state_last_seen_and_drift(fleet_server: Server, client: Client, cluster: dict[str, Any]) -> None:
    client.import_config(cluster, CONFIG)
    agent = enrol(fleet_server, client, cluster, "n1")
    answer = agent.request("POST", "/agent/heartbeat", json_body={"heartbeat_seconds": 7})
    assert answer["drift"] == "report"
    [me] = client.status(cluster)["agents"]
    assert me["state"] == "online" and me["heartbeat_ms"] == 7000 and me["drift"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", me["last_seen_at"]), me["last_seen_at"]
    assert client.offline_agents(cluster) == [] and client.drifted_agents(cluster) == []

    diff = "--- applied/haproxy.cfg\n+++ node/haproxy.cfg\n@@ -1 +1 @@\n-a\n+b\n"
    agent.request("POST", "/agent/heartbeat", json_body={"drift": {"files": [{"path": "haproxy.cfg", "diff": diff}]}})
    [drifted] = client.drifted_agents(cluster)
    assert drifted["drift"]["files"] == [{"path": "haproxy.cfg", "diff": diff}]
    assert drifted["drift"]["since"].endswith("Z")

    updated = client.set_drift_policy(cluster, "enforce")
    assert updated["settings"]["drift"] == "enforce"
    assert updated["settings"]["config_path"] == cluster["settings"]["config_path"], "other settings kept"
    assert agent.request("POST", "/agent/heartbeat", json_body={"drift": {"files": []}})["drift"] == "enforce"
    assert client.drifted_agents(cluster) == []
    with pytest.raises(ValueError):
        client.set_drift_policy(cluster, "ignore")


def test_stats_history(fleet_server: Server, client: Client, cluster: dict[str, Any]) -> None:
    client.import_config(cluster, CONFIG)
    agent = enrol(fleet_server, client, cluster, "n1")
    row = {"proxy": "fe", "name": "FRONTEND", "status": "OPEN", "scur": 1, "qcur": 0, "rtime": 0,
           "counters": {"sessions": 10, "requests": 10, "bytes_in": 100, "bytes_out": 1000, "hrsp_4xx": 0, "hrsp_5xx": 0}}
    agent.request("POST", "/agent/heartbeat", json_body={"stats": {"pid": 1, "rows": [row]}})
    answer = client.stats(cluster, proxy="fe", server="FRONTEND", step=10)
    assert answer["tier"] == "raw" and answer["step_seconds"] == 10
    [series] = answer["series"]
    assert (series["agent"], series["kind"], series["status"]) == ("n1", "frontend", "OPEN")
    assert len(series["request_rate"]) == len(answer["timestamps"])
    assert series["scur"][-1] == 1 or 1 in series["scur"]
    with pytest.raises(hf.ValidationError):
        client.stats(cluster, from_="2026-12-01T10:00:00Z", to="2026-12-01T09:00:00Z")
