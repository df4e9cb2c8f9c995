"""The client over HTTPS: `fleet serve --tls-self-signed` verified with ``ca_file``, refused
without it, and ``verify=False`` for tests."""

from __future__ import annotations

import hashlib
import os
import ssl
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from conftest import ADMIN_PASSWORD, fleet_binary
from haproxy_fleet import Client


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data = tmp_path_factory.mktemp("tls")
    # Any file serves as the agent binary the install script hands out: the test reads checksums.
    agent = data / "fleet-agent"
    agent.write_bytes(b"agent bytes")
    process = subprocess.Popen(
        [str(fleet_binary()), "serve", "--listen", "127.0.0.1:0", "--data", str(data), "--tls-self-signed", "--agent-binary", str(agent)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ, FLEET_ADMIN_PASSWORD=ADMIN_PASSWORD),
    )
    try:
        url = ""
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.decode().strip()
            if line.startswith("listening on "):
                url = line.removeprefix("listening on ")
                break
        assert url.startswith("https://127.0.0.1:"), url
        yield url, data / "tls" / "ca.pem"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_https_with_the_servers_ca_file(tls_server: tuple[str, Path]) -> None:
    url, ca = tls_server
    client = Client(url, username="admin", password=ADMIN_PASSWORD, ca_file=str(ca))
    assert client.health()["status"] == "ok"
    enrolment = client.create_enrollment(client.create_cluster("py-tls", client.create_pool("py-tls")["id"]), "n1")
    command = enrolment["install_command"]
    assert f"--server {url} --ca-fingerprint sha256:" in command
    # The one-line install: the script is checked by the SHA-256 the enrolment shows, and the
    # script checks the binary, so curl may skip verifying the self-signed server (-k).
    install = enrolment["install_script"]
    assert install["url"] == f"{url}/install/agent.sh"
    assert install["command"].startswith(f"curl -fsSLk -o fleet-agent-install.sh {url}/install/agent.sh && echo '{install['sha256']}  ")
    context = ssl.create_default_context(cafile=str(ca))
    with urllib.request.urlopen(install["url"], context=context) as answer:
        script = answer.read()
    assert hashlib.sha256(script).hexdigest() == install["sha256"]
    assert hashlib.sha256(b"agent bytes").hexdigest().encode() in script
    assert enrolment["secret"].encode() not in script


def test_https_without_the_ca_is_refused_unless_verification_is_off(tls_server: tuple[str, Path]) -> None:
    url, _ = tls_server
    with pytest.raises(urllib.error.URLError) as refused:
        Client(url).health()
    assert isinstance(refused.value.reason, ssl.SSLCertVerificationError)
    assert Client(url, verify=False).health()["status"] == "ok"
