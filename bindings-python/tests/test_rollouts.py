"""Staged rollouts through the client against a real `fleet serve`, with two agents played
over the agent routes (their tokens): canary 1 then the rest; the canary is told version 2
while the other keeps version 1; its reload failure halts the rollout; a good rollout waits
(``wait=``) to ``succeeded``; pause, resume, abort; a bad strategy is a 422 naming the field.
Real agents and HAProxy run this in tests/tests/it/agent_rollouts.rs."""

from __future__ import annotations

from typing import Any

import pytest

from haproxy_fleet import Client, ConflictError, ValidationError

from test_jobs import CONFIG, enrol


def told(agent: Client) -> int:
    """The version the agent's long-poll answers at once."""
    return int(agent.request("GET", "/agent/desired", query={"wait": 0})["version"])


def test_staged_rollout_halts_on_the_canary_and_succeeds_with_a_good_version(
    client: Client, fleet_server: Any, cluster: dict[str, Any]
) -> None:
    a = enrol(client, fleet_server.url, cluster, "a1")
    b = enrol(client, fleet_server.url, cluster, "b1")
    client.import_config(cluster, CONFIG)
    first = client.apply(cluster, 1, wait=0)
    assert (first["desired_version"], first["stages"][0]["name"]) == (1, "all")
    for agent in (a, b):
        agent.request("POST", "/agent/report", json_body={"version": 1, "outcome": "applied"})
    client.replace_config(cluster, CONFIG.replace("s1 127.0.0.1:8080", "s1 127.0.0.1:8081"), version=1)

    strategy = {"canary": {"agents": 1}, "batches": {"percent": 50}, "max_failures": 0}
    rollout = client.apply(cluster, 2, strategy=strategy)
    assert rollout["state"] == "running"
    assert [(s["name"], s["agents"]) for s in rollout["stages"]] == [("canary", ["a1"]), ("batch 1", ["b1"])]
    assert [(x["name"], x["outcome"]) for x in rollout["agents"]] == [("a1", "applying"), ("b1", "pending")]
    assert (told(a), told(b)) == (2, 1)
    a.request("POST", "/agent/report", json_body={"version": 2, "outcome": "reload_failed", "error": "cannot bind"})
    halted = client.wait_rollout(cluster, rollout, timeout=10)
    assert halted["state"] == "halted", halted
    assert [(x["name"], x["outcome"]) for x in halted["agents"]] == [("a1", "reload_failed"), ("b1", "pending")]
    assert told(b) == 1
    assert client.rollouts(cluster)[0]["rollout_id"] == rollout["rollout_id"]

    # Pause, resume, abort a new one; then a good one with wait= ends succeeded.
    paused = client.pause_rollout(cluster, client.apply(cluster, 2, strategy=strategy)["rollout_id"])
    assert paused["state"] == "paused"
    with pytest.raises(ConflictError):
        client.pause_rollout(cluster, paused["rollout_id"])
    assert client.resume_rollout(cluster, paused["rollout_id"])["state"] == "running"
    assert client.abort_rollout(cluster, paused["rollout_id"])["state"] == "aborted"

    good = client.apply(cluster, 2, strategy={"canary": {"agents": 1}})
    for agent in (a, b):
        agent.request("POST", "/agent/heartbeat", json_body={"facts": {"runtime": {"servers": {"app/s1": {"status": "UP"}}}}})
    a.request("POST", "/agent/report", json_body={"version": 2, "outcome": "applied"})
    b.request("POST", "/agent/report", json_body={"version": 2, "outcome": "applied_runtime"})
    done = client.apply(cluster, 2, strategy={"canary": {"agents": 1}}, wait=20)
    assert done["state"] == "succeeded", done
    assert [(x["name"], x["outcome"]) for x in done["agents"]] == [("a1", "applied"), ("b1", "applied")]
    assert client.rollout(cluster, good["rollout_id"])["state"] == "aborted", "superseded"

    with pytest.raises(ValidationError) as error:
        client.apply(cluster, 2, strategy={"batches": {"percent": 0}})
    assert "strategy.batches.percent" in str(error.value)
