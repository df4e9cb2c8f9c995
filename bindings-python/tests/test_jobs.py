"""Remote jobs and snapshots through the client against a real `fleet serve`: a job queued for
the cluster's agents, taken by an agent (played here over the agent routes with an enrolled
agent's token) and reported; cancel; refusals; a snapshot uploaded by a `snapshot` run, listed,
diffed against the desired version, restored onto another agent and promoted to a version.
The real agents and HAProxy run these in the Rust acceptance tests (tests/tests/it/agent_jobs.rs)."""

from __future__ import annotations

import io
import json
import tarfile
import urllib.request
from typing import Any

import pytest

from haproxy_fleet import Client, NotFoundError, ValidationError

CONFIG = """defaults
    mode http
    timeout connect 5s
    timeout client 5s
    timeout server 5s

frontend web
    bind 127.0.0.1:18092
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


def take(agent: Client) -> dict[str, Any]:
    """Plays the agent's jobs long-poll once (1 s)."""
    answer = agent.request("GET", "/agent/jobs", query={"wait": 1})
    return answer if answer is not None else {"start": [], "cancel": []}


def tree(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for path, content in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(content)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(content))
    return out.getvalue()


def test_jobs_reach_agents_report_and_cancel(client: Client, fleet_server: Any, cluster: dict[str, Any]) -> None:
    lb1 = enrol(client, fleet_server.url, cluster, "lb1")
    enrol(client, fleet_server.url, cluster, "lb2")

    job = client.create_job(cluster["name"], "diagnostics", agents=["lb1"], timeout=30)
    assert (job["kind"], job["status"], job["timeout_ms"], job["author"]) == ("diagnostics", "queued", 30_000, "admin")
    assert [r["agent"] for r in job["runs"]] == ["lb1"]
    [started] = take(lb1)["start"]
    assert (started["id"], started["kind"]) == (job["id"], "diagnostics")
    assert client.job(cluster, job["id"])["runs"][0]["status"] == "running"
    lb1.request("POST", f"/agent/jobs/{job['id']}/result",
                json_body={"status": "succeeded", "output": "== haproxy -vv\n", "exit_code": 0, "duration_ms": 40})
    done = client.wait_job(cluster, job, 5)
    run = done["runs"][0]
    assert (done["status"], run["status"], run["exit_code"], run["duration_ms"]) == ("succeeded", "succeeded", 0, 40)
    assert run["output"] == "== haproxy -vv\n"

    # Every agent by default; cancel ends the runs not taken at once.
    both = client.create_job(cluster, "reload")
    assert sorted(r["agent"] for r in both["runs"]) == ["lb1", "lb2"]
    take(lb1)
    cancelled = client.cancel_job(cluster, both["id"])
    by_agent = {r["agent"]: r["status"] for r in cancelled["runs"]}
    assert by_agent == {"lb1": "running", "lb2": "cancelled"}
    assert take(lb1)["cancel"] == [both["id"]]
    assert [j["id"] for j in client.jobs(cluster, limit=1)] == [both["id"]]

    with pytest.raises(ValidationError):
        client.create_job(cluster, "shell", command="id")
    with pytest.raises(ValidationError):
        client.create_job(cluster, "reload", agents=["nobody"])
    with pytest.raises(ValidationError):
        client.create_job(cluster, "reload", timeout=0)
    with pytest.raises(ValidationError):
        client.create_job(cluster, "install-haproxy", version="-o Dpkg::x")
    with pytest.raises(NotFoundError):
        client.create_job(cluster, "restore", snapshot=42)


def test_snapshots_diff_restore_and_promote(client: Client, fleet_server: Any, cluster: dict[str, Any]) -> None:
    client.import_config(cluster, CONFIG)
    client.apply(cluster, 1)
    node_a = enrol(client, fleet_server.url, cluster, "node-a")
    enrol(client, fleet_server.url, cluster, "node-b")
    job = client.create_job(cluster, "snapshot", agents=["node-a"])
    take(node_a)
    archive = tree({"haproxy.cfg": CONFIG.encode(), "runbook.txt": b"call ops\n"})
    uploaded = node_a.request("POST", f"/agent/jobs/{job['id']}/snapshot", query={"configs": "haproxy.cfg"},
                              body=archive, content_type="application/x-tar")
    [listed] = client.snapshots(cluster, agent="node-a")
    assert listed["id"] == uploaded["id"] and [f["path"] for f in listed["files"]] == ["haproxy.cfg", "runbook.txt"]
    assert client.snapshots(cluster, agent="node-b") == []
    assert client.snapshot(cluster, listed["id"])["agent"] == "node-a"
    diff = client.snapshot_diff(cluster, listed["id"])
    assert [f["path"] for f in diff["files"]] == ["runbook.txt"] and diff["unified"] == ""

    restore = client.restore_snapshot(cluster, listed["id"], ["node-b"])
    assert (restore["kind"], restore["snapshot"], [r["agent"] for r in restore["runs"]]) == ("restore", listed["id"], ["node-b"])
    promoted = client.promote_snapshot(cluster, listed["id"], "from node-a")
    assert promoted["version"] == 2
    audit = [e["action"] for e in client.audit(cluster, limit=100)]
    assert "snapshot.create" in audit and "snapshot.promote" in audit and "job.create" in audit
