"""Signed agent releases through Python (issue 18): a server started with a releases folder and
the release public key lists the signed binary (its version, platform and SHA-256 as
`fleet release sign` wrote them, verified with the server's key), and names the unsigned file
it refuses to offer; an enrolment answer carries the key agents pin.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from haproxy_fleet import Client
from conftest import Server, fleet_binary, start_fleet


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str, Path]]:
    data = tmp_path_factory.mktemp("fleet-releases")
    folder = data / "releases"
    folder.mkdir()
    key = data / "release.key"
    made = subprocess.run([str(fleet_binary()), "release", "keygen", "--out", str(key)], check=True, capture_output=True, text=True)
    public = made.stdout.strip()
    assert public.startswith("ed25519:"), made.stdout
    assert key.stat().st_mode & 0o777 == 0o600
    (folder / "fleet-agent-next").write_bytes(b"#!/bin/sh\necho fleet-agent 9.9.9\n")
    subprocess.run(
        [str(fleet_binary()), "release", "sign", "--key", str(key), "--release-version", "9.9.9", "--platform", "x86_64-linux", str(folder / "fleet-agent-next")],
        check=True,
        capture_output=True,
    )
    (folder / "fleet-agent-unsigned").write_bytes(b"unsigned")
    yield from ((server, public, folder) for server in start_fleet(data, ["--releases", str(folder), "--release-public-key", public]))


def test_releases_are_listed_with_what_is_refused(releases: tuple[Server, str, Path]) -> None:
    server, public, folder = releases
    client = Client(server.url, username="admin", password=server.password)
    listing = client.releases()
    assert listing["public_key"] == public
    [release] = listing["releases"]
    digest = hashlib.sha256((folder / "fleet-agent-next").read_bytes()).hexdigest()
    assert release == {
        "version": "9.9.9",
        "platform": "x86_64-linux",
        "sha256": digest,
        "size": (folder / "fleet-agent-next").stat().st_size,
        "file": "fleet-agent-next",
        "signed_by": public,
        "verified": True,
    }
    assert [r["file"] for r in listing["refused"]] == ["fleet-agent-unsigned"]
    assert listing["refused"][0]["reason"].startswith("unsigned: no fleet-agent-unsigned.sig")


def test_the_enrolment_answer_carries_the_key_to_pin(releases: tuple[Server, str, Path]) -> None:
    server, public, _folder = releases
    client = Client(server.url, username="admin", password=server.password)
    pool = client.create_pool("releases-pool")
    cluster = client.create_cluster("releases-cluster", pool["id"])
    secret = client.create_enrollment(cluster["id"], "node-1")["secret"]
    request = urllib.request.Request(
        f"{server.url}/api/v1/agent/enroll",
        data=json.dumps({"secret": secret, "hostname": "node-1", "facts": {}}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer = json.load(response)
    assert answer["release_public_key"] == public
    agent = Client(server.url, token=answer["token"])
    signature = agent.request("GET", "/agent/releases/9.9.9/signature", query={"platform": "x86_64-linux"}, raw=True)
    assert isinstance(signature, str) and signature.startswith("fleet-agent release signature v1\n"), signature
