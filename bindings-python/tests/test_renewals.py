"""Certificate renewal status through the client against a real `fleet serve`: the list of
certificates kept renewed and one certificate's renewal; a certificate that is not kept renewed
(not issued by ACME) is a clear 404. The scheduling itself is tested in fleet-core
(tests/it/renewals.rs, manual clock, two replicas)."""

from __future__ import annotations

import pytest

from haproxy_fleet import Client, FleetError


def test_renewals_list_and_unknown_certificate(client: Client) -> None:
    renewals = client.renewals()
    assert isinstance(renewals, list)
    assert all({"certificate_id", "plan", "next_attempt_ms", "due"} <= set(r) for r in renewals)
    with pytest.raises(FleetError) as error:
        client.certificate_renewal(987654321)
    assert (error.value.status, error.value.code) == (404, "not_found")
    assert "certificate 987654321" in str(error.value)
