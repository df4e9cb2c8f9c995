"""Accounts through the Python client: users, passwords, throttling, the TOTP second factor,
pool-scoped roles, own API tokens, agents and enrolments (against a real `fleet serve`)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import struct
import time
import urllib.request
from typing import Any

import pytest

import haproxy_fleet as hf
from haproxy_fleet import Client
from conftest import Server

PASSWORD = "glacier-tuba-quarry"


def totp(secret: str, at: float) -> str:
    """RFC 6238 (SHA1, 6 digits, 30 s), as an authenticator app computes it."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 15
    return f"{(struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


@pytest.fixture
def admin(fleet_server: Server) -> Client:
    return Client(fleet_server.url, username="admin", password=fleet_server.password)


def test_users_passwords_and_sessions(admin: Client, fleet_server: Server, unique: str) -> None:
    name = f"u{unique}"[:60]
    with pytest.raises(hf.ValidationError, match="at least 12"):
        admin.create_user(name, "short", role="viewer")
    with pytest.raises(hf.ValidationError, match="too common"):
        admin.create_user(name, "password1234", role="viewer")
    with pytest.raises(hf.ConflictError):
        admin.create_user("ADMİN", PASSWORD, role="viewer")
    user = admin.create_user(name, PASSWORD, role="viewer")
    assert any(u["id"] == user["id"] for u in admin.users())

    me = Client(fleet_server.url, username=name.upper(), password=PASSWORD)
    assert me.me()["username"] == name
    me.change_password(PASSWORD, "tuba-glacier-quarry")
    assert me.token is None
    me.login(name, "tuba-glacier-quarry")
    assert admin.update_user(user["id"], role="operator")["role"] == "operator"
    admin.reset_password(user["id"], "reset-glacier-tuba")
    with pytest.raises(hf.AuthenticationError):
        me.me()
    me.login(name, "reset-glacier-tuba")
    admin.delete_user(user["id"])
    with pytest.raises(hf.AuthenticationError):
        me.me()


def test_failed_logins_are_throttled(admin: Client, fleet_server: Server, unique: str) -> None:
    name = f"t{unique}"[:60]
    admin.create_user(name, PASSWORD, role="viewer")
    client = Client(fleet_server.url)
    errors = []
    for _ in range(7):
        with pytest.raises(hf.FleetError) as info:
            client.login(name, "wrong password!")
        errors.append(info.value.status)
    assert errors == [401] * 6 + [429]
    assert isinstance(info.value, hf.LimitExceededError) and info.value.code == "throttled"
    time.sleep(1.1)
    client.login(name, PASSWORD)


def test_totp_two_step_login(admin: Client, fleet_server: Server, unique: str) -> None:
    name = f"m{unique}"[:60]
    admin.create_user(name, PASSWORD, role="viewer")
    me = Client(fleet_server.url, username=name, password=PASSWORD)
    enrolment = me.enrol_mfa()
    assert "<svg" in enrolment["qr_svg"] and enrolment["otpauth_uri"].startswith("otpauth://totp/")
    codes = me.confirm_mfa(totp(enrolment["secret"], time.time()))
    assert len(codes) == 10

    with pytest.raises(hf.MfaRequiredError) as info:
        Client(fleet_server.url).login(name, PASSWORD)
    assert info.value.challenge.startswith("fc_")
    # The current code was used to confirm: the next step's code logs in.
    again = Client(fleet_server.url)
    again.login(name, PASSWORD, code=totp(enrolment["secret"], time.time() + 30))
    assert again.me()["mfa_enabled"] is True
    by_recovery = Client(fleet_server.url)
    by_recovery.login(name, PASSWORD, code=codes[0])
    assert len(by_recovery.regenerate_recovery_codes(PASSWORD)) == 10
    by_recovery.disable_mfa(PASSWORD)
    Client(fleet_server.url, username=name, password=PASSWORD)


def test_pool_scoped_user(admin: Client, fleet_server: Server, unique: str) -> None:
    mine = admin.create_pool(f"mine-{unique}")
    theirs = admin.create_pool(f"theirs-{unique}")
    cluster = admin.create_cluster(f"c-{unique}", mine["id"])
    other = admin.create_cluster(f"o-{unique}", theirs["id"])
    name = f"s{unique}"[:60]
    user = admin.create_user(name, PASSWORD, pool_roles={mine["id"]: "operator"})
    assert user["role"] is None and user["pool_roles"] == [{"pool_id": mine["id"], "role": "operator"}]
    scoped = Client(fleet_server.url, username=name, password=PASSWORD)
    assert [c["id"] for c in scoped.clusters()] == [cluster["id"]]
    scoped.import_config(cluster, "global\n    maxconn 10\n")
    with pytest.raises(hf.PermissionDeniedError):
        scoped.import_config(other, "global\n    maxconn 10\n")
    with pytest.raises(hf.PermissionDeniedError):
        scoped.cluster(other)
    admin.update_user(user["id"], pool_roles={mine["id"]: "viewer"})
    with pytest.raises(hf.PermissionDeniedError):
        scoped.import_config(cluster, "global\n    maxconn 20\n")


def test_own_tokens_agents_and_enrollments(admin: Client, fleet_server: Server, unique: str) -> None:
    secret = admin.create_token(f"ci-{unique}", ttl_seconds=600)
    mine = [t for t in admin.tokens() if t["name"] == f"ci-{unique}"]
    assert len(mine) == 1 and secret.startswith(mine[0]["prefix"]) and mine[0]["expires_at"]
    Client(fleet_server.url, token=secret).pools()
    admin.revoke_token(mine[0]["id"])
    with pytest.raises(hf.AuthenticationError):
        Client(fleet_server.url, token=secret).pools()

    pool = admin.create_pool(f"agents-{unique}")
    cluster = admin.create_cluster(f"agents-{unique}", pool["id"])
    pending = admin.create_enrollment(cluster, "n2")
    assert [e["id"] for e in admin.enrollments(cluster)] == [pending["id"]]
    admin.revoke_enrollment(cluster, pending["id"])
    assert admin.enrollments(cluster) == []

    issued = admin.create_enrollment(cluster, "n1")
    body = json.dumps({"secret": issued["secret"], "hostname": "n1.test", "facts": {}}).encode()
    request = urllib.request.Request(f"{fleet_server.url}/api/v1/agent/enroll", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        enrolled: dict[str, Any] = json.loads(response.read())
    agent = Client(fleet_server.url, token=enrolled["token"])
    agent.request("POST", "/agent/heartbeat", json_body={})
    [listed] = admin.agents(cluster)
    new_token = admin.rotate_agent_token(cluster, listed["id"])
    with pytest.raises(hf.AuthenticationError):
        agent.request("POST", "/agent/heartbeat", json_body={})
    Client(fleet_server.url, token=new_token).request("POST", "/agent/heartbeat", json_body={})
    admin.revoke_agent(cluster, listed["id"])
    assert admin.agents(cluster) == [] and admin.status(cluster)["agents"] == []
    with pytest.raises(hf.AuthenticationError):
        Client(fleet_server.url, token=new_token).request("POST", "/agent/heartbeat", json_body={})


def _enrolled_agent(admin: Client, fleet_server: Server, cluster: dict[str, Any], name: str) -> Client:
    issued = admin.create_enrollment(cluster, name)
    body = json.dumps({"secret": issued["secret"], "hostname": f"{name}.test", "facts": {}}).encode()
    request = urllib.request.Request(f"{fleet_server.url}/api/v1/agent/enroll", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        enrolled: dict[str, Any] = json.loads(response.read())
    return Client(fleet_server.url, token=enrolled["token"])


def test_decommission_and_forced_deletes(admin: Client, fleet_server: Server, unique: str) -> None:
    pool = admin.create_pool(f"life-{unique}")
    cluster = admin.create_cluster(f"life-{unique}", pool["id"])
    web1 = _enrolled_agent(admin, fleet_server, cluster, "web-1")
    web2 = _enrolled_agent(admin, fleet_server, cluster, "web-2")
    [first, _] = admin.agents(cluster)
    answer = admin.decommission_agent(cluster, first["id"], stop_haproxy=True)
    assert answer["agent"] == "web-1" and answer["stop_haproxy"] is True and answer["reason"] == "decommissioned"
    with pytest.raises(hf.FleetError) as gone:
        web1.request("POST", "/agent/heartbeat", json_body={})
    assert gone.value.status == 410 and gone.value.code == "decommissioned"
    assert [a["name"] for a in admin.agents(cluster)] == ["web-2"]
    with pytest.raises(hf.ConflictError) as refused:
        admin.delete_pool(pool["id"])
    assert "1 enrolled agent(s)" in refused.value.message
    with pytest.raises(hf.ConflictError) as refused:
        admin.delete_cluster(cluster)
    assert "still has 1 enrolled agent(s) (web-2)" in refused.value.message
    admin.delete_pool(pool["id"], force=True)
    with pytest.raises(hf.NotFoundError):
        admin.cluster(cluster["id"])
    with pytest.raises(hf.FleetError) as gone:
        web2.request("POST", "/agent/heartbeat", json_body={})
    assert gone.value.status == 410 and "leave haproxy running" in gone.value.message
    assert any(e["details"]["name"] == "web-1" for e in admin.audit(cluster["id"], action="agent.decommission"))
    assert any(e["details"]["pool_id"] == pool["id"] for e in admin.audit(action="pool.delete", limit=1000))
