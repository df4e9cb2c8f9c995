"""Schedules through the client against a real `fleet serve`: create a job schedule on a
cluster (by name), read it and its runs, preview an expression's next run times in a zone,
disable and enable it, delete it; a bad cron or time zone is a 422 naming the field. The
scheduling itself (exactly one run per minute across two replicas, DST, missed runs,
concurrency) is tested in fleet-core (tests/it/schedules_store.rs, manual clock, both
databases)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from haproxy_fleet import Client, FleetError


def test_schedules_through_the_client(client: Client, cluster: dict[str, Any], unique: str) -> None:
    name = f"diag-{unique}"
    created = client.schedule_job(name, cluster["name"], "30 2 * * *", {"kind": "diagnostics"}, timezone="Europe/Paris")
    assert created["target"] == {"type": "job", "cluster_id": cluster["id"], "job": {"kind": "diagnostics"}}
    assert (created["missed"], created["concurrency"], created["enabled"]) == ("skip", "forbid", True)
    assert created["next_run_at"].endswith(":30:00.000Z")
    assert client.schedule(created["id"]) == created
    assert name in [s["name"] for s in client.schedules()]
    assert client.schedule_runs(created["id"]) == []

    disabled = client.set_schedule_enabled(created["id"], False)
    assert (disabled["enabled"], disabled["next_run_at"]) == (False, None)
    enabled = client.set_schedule_enabled(created["id"], True)
    assert enabled["enabled"] and enabled["next_run_at"]

    preview = client.preview_schedule("*/15 * * * *", timezone="America/New_York", count=4)
    assert len(preview["runs"]) == 4 == len(preview["local"])
    utc = [datetime.fromisoformat(r.replace("Z", "+00:00")) for r in preview["runs"]]
    assert all((b - a).total_seconds() == 900 for a, b in zip(utc, utc[1:]))
    local = [datetime.fromisoformat(t) for t in preview["local"]]
    assert all(l.minute % 15 == 0 and l == u for l, u in zip(local, utc))

    for bad, field in [({"cron": "* * *"}, "cron:"), ({"timezone": "Mars/Base"}, "timezone:")]:
        body = {"name": f"bad-{unique}", "cron": "* * * * *", "timezone": "UTC",
                "target": {"type": "job", "cluster_id": cluster["id"], "job": {"kind": "validate"}}, **bad}
        with pytest.raises(FleetError) as error:
            client.create_schedule(body)
        assert error.value.status == 422
        assert str(error.value).startswith(field) or field in str(error.value)
    with pytest.raises(FleetError) as error:
        client.preview_schedule("* * * * *", timezone="Nowhere/Else")
    assert error.value.status == 422 and "timezone:" in str(error.value)

    backup = client.schedule_server_backup(f"backup-{unique}", "0 0 1 1 *", "s3://bucket/fleet", retention=3)
    assert backup["target"] == {"type": "server_backup", "destination": "s3://bucket/fleet", "retention": 3}
    with pytest.raises(FleetError) as error:
        client.schedule_server_backup(f"bad-backup-{unique}", "@daily", "relative/folder")
    assert error.value.status == 422 and "target.destination:" in str(error.value)
    client.delete_schedule(backup["id"])

    client.delete_schedule(created["id"])
    with pytest.raises(FleetError) as error:
        client.schedule(created["id"])
    assert error.value.status == 404
