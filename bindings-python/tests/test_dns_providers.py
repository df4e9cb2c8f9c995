"""DNS providers through the client against a real `fleet serve`: created with a TSIG secret
that is never shown back, listed, read, refused with a clear 422 (nothing stored) or 409, deleted.
The DNS updates themselves are tested against a real BIND 9 in fleet-core (tests/it/dns_*.rs)."""

from __future__ import annotations

import pytest

from haproxy_fleet import Client, FleetError

SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ=="


def test_dns_providers_keep_their_secret(client: Client, unique: str) -> None:
    created = client.create_dns_provider(unique, "example.com", "127.0.0.1:5353", "fleet-update", SECRET)
    assert created["kind"] == "rfc2136" and created["zone"] == "example.com."
    assert created["server"] == "127.0.0.1:5353" and created["tsig_algorithm"] == "hmac-sha256"
    listed = [p for p in client.dns_providers() if p["id"] == created["id"]]
    assert listed == [created]
    assert client.dns_provider(created["id"]) == created
    assert all(SECRET not in str(p) for p in client.dns_providers())

    with pytest.raises(FleetError) as error:
        client.create_dns_provider(unique, "example.com", "127.0.0.1", "k", SECRET)
    assert error.value.status == 409
    before = len(client.dns_providers())
    with pytest.raises(FleetError) as error:
        client.create_dns_provider(unique + "-bad", "example.com", "ns1.example.com", "k", SECRET)
    assert error.value.status == 422 and "expected ADDRESS" in str(error.value)
    with pytest.raises(FleetError) as error:
        client.create_dns_provider(unique + "-bad", "example.com", "127.0.0.1", "k", "not base64!")
    assert error.value.status == 422 and "base64" in str(error.value)
    assert len(client.dns_providers()) == before

    client.delete_dns_provider(created["id"])
    with pytest.raises(FleetError) as error:
        client.dns_provider(created["id"])
    assert error.value.status == 404
