"""Runtime actions (drain, ready, maint, weight) through the client against a real `fleet
serve`: queued for every agent of a cluster, fetched and answered by an agent (played here
over the agent routes with an enrolled agent's token), read back with each agent's result;
bad requests are refused with nothing queued. HAProxy's side runs in the Rust agent tests."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from typing import Any

import pytest

from haproxy_fleet import Client, NotFoundError, PermissionDeniedError, ValidationError

CONFIG = """frontend web
    bind 127.0.0.1:18091
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


def answer(agent: Client, ok: bool, output: str) -> list[int]:
    """Plays the agent once: fetches its pending actions and posts a result for each."""
    pending = agent.request("GET", "/agent/runtime")
    outcomes = [{"action_id": a["id"], "ok": ok, "output": output} for a in pending]
    if outcomes:
        agent.request("POST", "/agent/runtime/results", json_body=outcomes)
    return [a["id"] for a in pending]


def test_runtime_actions_reach_every_agent(client: Client, fleet_server: Any, cluster: dict[str, Any]) -> None:
    client.import_config(cluster, CONFIG)
    client.apply(cluster, 1)
    lb1 = enrol(client, fleet_server.url, cluster, "lb1")
    lb1.request("POST", "/agent/heartbeat", json_body={})

    # Queued without waiting: the action as stored, no result yet; by name as by id.
    drained = client.drain(cluster["name"], "app", "s1")
    assert (drained["action"], drained["backend"], drained["server"], drained["results"]) == ("drain", "app", "s1", [])
    assert drained["cluster_id"] == cluster["id"] and drained["author"] == "admin"
    assert client.runtime_action(cluster, drained["id"])["results"] == []
    assert answer(lb1, True, "") == [drained["id"]]
    [result] = client.runtime_action(cluster["id"], drained["id"])["results"]
    assert (result["agent"], result["ok"], result["output"]) == ("lb1", True, "")

    # Waiting: returns once the online agent answered, with its refusal.
    stop = threading.Event()

    def agent_loop() -> None:
        while not stop.is_set():
            if answer(lb1, False, "No such server."):
                return
            time.sleep(0.05)

    thread = threading.Thread(target=agent_loop)
    thread.start()
    try:
        started = time.monotonic()
        weighted = client.set_weight(cluster, "app", "s1", 50, wait=20)
    finally:
        stop.set()
        thread.join()
    assert time.monotonic() - started < 20
    assert (weighted["action"], weighted["value"]) == ("weight", 50)
    assert [(r["agent"], r["ok"], r["output"]) for r in weighted["results"]] == [("lb1", False, "No such server.")]

    for queued, action in [(client.ready(cluster, "app", "s1"), "ready"), (client.maint(cluster, "app", "s1"), "maint")]:
        assert queued["action"] == action
    assert len(answer(lb1, True, "")) == 2

    # Refused, nothing queued: an unknown action, a weight out of range, a name HAProxy refuses.
    for bad in [lambda: client.queue_runtime_action(cluster, "app", "s1", "reboot"),
                lambda: client.set_weight(cluster, "app", "s1", 300),
                lambda: client.drain(cluster, "app", "s1; shutdown")]:
        with pytest.raises(ValidationError):
            bad()
    assert answer(lb1, True, "") == []
    with pytest.raises(NotFoundError):
        client.runtime_action(cluster, 1)


def test_runtime_actions_need_an_operator_of_the_pool(client: Client, fleet_server: Any, cluster: dict[str, Any],
                                                      unique: str) -> None:
    client.import_config(cluster, CONFIG)
    password = "glacier-tuba-quarry"
    for name, role in [(f"v{unique}", "viewer"), (f"o{unique}", "operator")]:
        client.create_user(name, password, pool_roles={cluster["pool_id"]: role})
    viewer = Client(fleet_server.url, username=f"v{unique}", password=password)
    operator = Client(fleet_server.url, username=f"o{unique}", password=password)
    with pytest.raises(PermissionDeniedError):
        viewer.drain(cluster, "app", "s1")
    queued = operator.drain(cluster, "app", "s1")
    assert viewer.runtime_action(cluster, queued["id"])["author"] == f"o{unique}"
    other = client.create_cluster(f"other-{unique}", client.create_pool(f"other-{unique}")["id"])
    with pytest.raises(PermissionDeniedError):
        operator.drain(other, "app", "s1")
