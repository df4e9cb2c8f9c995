"""DNS failover through the client against a real `fleet serve`: settings checked and stored
(admin), the timeline, a manual move refused with the reason. Moves against a real BIND 9 run in
the Rust workspace suite (tests/tests/it/dns_failover.rs)."""

from __future__ import annotations

import pytest

from haproxy_fleet import Client, FleetError

SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ=="


def test_failover_settings_events_and_refusals(client: Client, unique: str) -> None:
    provider = client.create_dns_provider(f"fo-{unique}", "example.com", "127.0.0.1:1", "fleet-update", SECRET)
    pool = client.create_pool(f"fo-pool-{unique}")
    with pytest.raises(FleetError) as error:
        client.set_failover(pool["id"], {"hostname": "www.example.org", "provider_id": provider["id"]})
    assert error.value.status == 422 and "not in zone" in str(error.value)
    with pytest.raises(FleetError) as error:
        client.failover(pool["id"])
    assert error.value.status == 404
    with pytest.raises(FleetError) as error:
        client.cutover(pool["id"])
    assert error.value.status == 409 and "has no failover" in str(error.value), "the pool exists: a conflict, not a 404"
    assert client.failover_events(pool["id"]) == []

    shown = client.set_failover(pool["id"], {"hostname": "www.example.com", "provider_id": provider["id"],
                                             "detection_window_seconds": 20, "hold_seconds": 60})
    assert shown["settings"]["record_types"] == ["A"] and shown["settings"]["ttl"] == 60
    assert shown["active"] is None and shown["members"] == []
    assert shown["published"][0].startswith("A: cannot ask")
    with pytest.raises(FleetError) as error:
        client.activate(pool["id"], "nobody")
    assert error.value.status == 422 and "not a member" in str(error.value)
    kinds = [e["kind"] for e in client.failover_events(pool["id"])]
    assert kinds[:2] == ["error", "settings"]
    with pytest.raises(FleetError) as error:
        client.cutover(pool["id"])
    assert error.value.status == 409


def test_probe_and_webhook_settings_are_checked_and_kept(client: Client, unique: str) -> None:
    provider = client.create_dns_provider(f"fp-{unique}", "example.com", "127.0.0.1:1", "fleet-update", SECRET)
    pool = client.create_pool(f"fp-pool-{unique}")
    base = {"hostname": "www.example.com", "provider_id": provider["id"]}
    for bad, field in [({"probe": {"frontend": "fe", "path": "health"}}, "probe.path"),
                       ({"probe": {"frontend": "fe", "timeout_ms": 20}}, "probe.timeout_ms"),
                       ({"probe": {"frontend": "fe", "url": "/"}}, "url"),
                       ({"webhook_url": "ftp://hooks.example.com/"}, "webhook_url")]:
        with pytest.raises(FleetError) as error:
            client.set_failover(pool["id"], {**base, **bad})
        assert error.value.status == 422 and field in str(error.value), bad
    with pytest.raises(FleetError) as error:
        client.failover(pool["id"])
    assert error.value.status == 404, "nothing stored"
    shown = client.set_failover(pool["id"], {**base, "probe": {"frontend": "fe", "path": "/healthz", "expect_status": 204},
                                             "webhook_url": "https://hooks.example.com/fleet"})
    assert shown["settings"]["probe"] == {"frontend": "fe", "path": "/healthz", "expect_status": 204, "timeout_ms": 2000}
    assert shown["settings"]["webhook_url"] == "https://hooks.example.com/fleet"
