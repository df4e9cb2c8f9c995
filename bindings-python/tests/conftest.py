"""Shared fixtures: the conformance corpus and a real `fleet serve` on a free loopback port.

The server binary is found through FLEET_BIN, else target/{debug,release}/fleet under the
workspace; the client tests fail (not skip) when it is missing, so a broken build cannot pass
silently.
"""

from __future__ import annotations

import csv
import os
import re
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator, Sequence

import pytest

from haproxy_fleet import Client

WORKSPACE = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("FLEET_CORPUS", WORKSPACE.parent / "shared" / "corpus"))
ADMIN_PASSWORD = "python-tests-admin-pw"


def corpus_rows() -> list[dict[str, str]]:
    manifest = CORPUS / "manifest.tsv"
    if not manifest.is_file():
        return []
    with manifest.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def fleet_binary() -> Path:
    explicit = os.environ.get("FLEET_BIN")
    if explicit:
        return Path(explicit)
    candidates = [WORKSPACE / "target" / profile / "fleet" for profile in ("debug", "release")]
    present = [c for c in candidates if c.is_file()]
    if not present:
        raise FileNotFoundError(f"no fleet binary at {candidates}: run cargo build -p fleet-server")
    return max(present, key=lambda p: p.stat().st_mtime)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.url = url
        self.process = process
        self.log = log
        self.password = ADMIN_PASSWORD


def start_fleet(data: Path, extra: Sequence[str] = ()) -> Iterator[Server]:
    """Runs `fleet serve` on `data` with `extra` arguments until the generator is closed."""
    binary = fleet_binary()
    log = data / "serve.log"
    env = dict(os.environ, FLEET_ADMIN_PASSWORD=ADMIN_PASSWORD)
    last_error = "not started"
    for _attempt in range(3):  # a free port can be taken between the probe and the bind
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(binary), "serve", "--listen", f"127.0.0.1:{port}", "--data", str(data / f"db-{port}"), *extra],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"{url}/api/v1/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError as e:
                last_error = str(e)
                time.sleep(0.1)
        else:
            process.kill()
            process.wait()
            last_error = log.read_text(errors="replace")[-2000:] or last_error
            continue
        try:
            yield Server(url, process, log)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return
    raise RuntimeError(f"fleet serve did not become healthy: {last_error}")


@pytest.fixture(scope="session")
def fleet_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`fleet serve` with a fresh SQLite data dir and FLEET_ADMIN_PASSWORD, on 127.0.0.1."""
    yield from start_fleet(tmp_path_factory.mktemp("fleet-data"))


@pytest.fixture
def unique() -> Iterator[str]:
    """A name unique within the session (pools and clusters share one server)."""
    counter = getattr(unique, "counter", 0) + 1
    setattr(unique, "counter", counter)
    yield re.sub(r"[^a-z0-9]", "-", f"t{counter}-{time.monotonic_ns()}")


@pytest.fixture
def client(fleet_server: Server) -> Client:
    """A client logged in as admin."""
    return Client(fleet_server.url, username="admin", password=fleet_server.password)


@pytest.fixture
def cluster(client: Client, unique: str) -> dict[str, Any]:
    """A new cluster in a new pool."""
    pool = client.create_pool(f"pool-{unique}")
    return client.create_cluster(f"cluster-{unique}", pool["id"])
