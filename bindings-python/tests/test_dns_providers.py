"""DNS providers through the client against a real `fleet serve`: created with a TSIG secret
that is never shown back, listed, read, refused with a clear 422 (nothing stored) or 409, deleted;
the PowerDNS and Cloudflare kinds with their own secret fields; test connection (against a
stand-in for Cloudflare's zone lookup, and unreachable servers). The DNS updates themselves are
tested against a real BIND 9 and a real PowerDNS in fleet-core (tests/it/dns_*.rs)."""

from __future__ import annotations

import http.server
import json
import threading
from typing import Any

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


class _CloudflareZones(http.server.BaseHTTPRequestHandler):
    """A stand-in for Cloudflare's documented zone lookup (`GET /client/v4/zones?name=`), which
    the tests cannot reach for real: it answers one zone to the right bearer token and records
    every request, so the test fails on anything else."""

    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        _CloudflareZones.seen.append(f"GET {self.path} {self.headers.get('Authorization')}")
        if self.headers.get("Authorization") != "Bearer py-token":
            status, body = 403, {"success": False, "errors": [{"code": 10000, "message": "Authentication error"}], "result": None}
        elif self.path == "/client/v4/zones?name=example.com":
            zone = {"id": "zone-py", "name": "example.com", "status": "active"}
            status, body = 200, {"success": True, "errors": [], "messages": [], "result": [zone]}
        else:
            status, body = 404, {"success": False, "errors": [{"code": 7000, "message": "No route for that URI"}], "result": None}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's name)
        pass


def test_each_kind_and_test_connection(client: Client, unique: str) -> None:
    stand_in = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CloudflareZones)
    threading.Thread(target=stand_in.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{stand_in.server_address[1]}/client/v4"
    try:
        cf = client.create_cloudflare_provider(f"cf-{unique}", "example.com", "py-token", api_base=base)
        assert cf["kind"] == "cloudflare" and cf["api_base"] == base and cf["proxied"] is False
        assert "py-token" not in str(client.dns_providers())
        tested = client.test_dns_provider(cf["id"])
        assert tested["ok"] is True and "zone-py" in tested["detail"], tested
        assert isinstance(tested["elapsed_ms"], int)
        assert _CloudflareZones.seen == ["GET /client/v4/zones?name=example.com Bearer py-token"]

        wrong = client.create_cloudflare_provider(f"cf-wrong-{unique}", "example.com", "not-the-token", api_base=base)
        tested = client.test_dns_provider(wrong["id"])
        assert tested["ok"] is False and "the API token is refused" in tested["detail"], tested
    finally:
        stand_in.shutdown()

    # Nothing listens on port 1: unreachable, said as such, still a 200 answer.
    pdns = client.create_powerdns_provider(f"pdns-{unique}", "example.com", "http://127.0.0.1:1", "127.0.0.1:1", "key")
    assert pdns["kind"] == "powerdns" and pdns["server_id"] == "localhost" and pdns["dns_server"] == "127.0.0.1:1"
    tested = client.test_dns_provider(pdns["id"])
    assert tested["ok"] is False and "unreachable" in tested["detail"], tested
    bind = client.create_dns_provider(f"bind-{unique}", "example.com", "127.0.0.1:1", "fleet-update", SECRET)
    tested = client.test_dns_provider(bind["id"])
    assert tested["ok"] is False and tested["detail"].startswith("127.0.0.1:1 unreachable"), tested

    # Each kind takes its own secret; a mix-up is a 422 and nothing is stored.
    before = len(client.dns_providers())
    with pytest.raises(FleetError) as error:
        client.request("POST", "/dns-providers", json_body={"name": f"mixed-{unique}", "kind": "powerdns", "zone": "example.com",
                                                           "api_url": "http://127.0.0.1:1", "dns_server": "127.0.0.1",
                                                           "tsig_secret": SECRET})
    assert error.value.status == 422 and "tsig_secret is not a field of a powerdns provider" in str(error.value)
    with pytest.raises(FleetError) as error:
        client.create_cloudflare_provider(f"cf-bad-{unique}", "example.com", "")
    assert error.value.status == 422 and "api_token is required" in str(error.value)
    assert len(client.dns_providers()) == before
    with pytest.raises(FleetError) as error:
        client.test_dns_provider(999_999_999)
    assert error.value.status == 404
