"""Server backups (issue 18): the client's ``backup()`` as an admin, and the off-site copy to
S3-compatible object storage round-tripping through a real S3 server (moto in server mode,
started here) with ``fleet backup create|restore ... s3://BUCKET/KEY``."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tarfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import Server, fleet_binary, free_port, start_fleet
from haproxy_fleet import Client, PermissionDeniedError


def manifest_of(data: bytes) -> dict[str, Any]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
        first = archive.next()
        assert first is not None and first.name == "manifest.json"
        handle = archive.extractfile(first)
        assert handle is not None
        return dict(json.loads(handle.read()))


def test_backup_streams_the_whole_state_to_an_admin(client: Client, cluster: dict[str, Any], tmp_path: Path, unique: str) -> None:
    target = tmp_path / "fleet.tar"
    manifest = client.backup(target)
    assert manifest["format"] == "haproxy-fleet-backup"
    assert manifest["schema_version"] >= 22
    tables = {t["name"]: t for t in manifest["tables"]}
    assert tables["clusters"]["rows"] >= 1 and tables["users"]["rows"] >= 1
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert manifest == manifest_of(target.read_bytes())
    assert not any(p.name.startswith("fleet.tar.partial") for p in tmp_path.iterdir())

    client.create_user(f"v{unique}"[:60], "glacier-tuba-quarry", role="viewer")
    viewer = Client(client.url, username=f"v{unique}"[:60], password="glacier-tuba-quarry")
    with pytest.raises(PermissionDeniedError):
        viewer.backup(tmp_path / "no.tar")
    assert not (tmp_path / "no.tar").exists()


@pytest.fixture
def s3_server(tmp_path: Path) -> Iterator[str]:
    """A real S3-compatible server: moto in server mode on a free loopback port."""
    try:
        import moto.server  # noqa: F401
    except ImportError:
        if os.environ.get("FLEET_REQUIRE_TOOLS", "0") == "1":
            raise
        pytest.skip("moto[server] is not installed (the test venv of scripts/test has it)")
    port = free_port()
    log = (tmp_path / "moto.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=2):
                break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError(f"moto did not start: {(tmp_path / 'moto.log').read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


def fleet(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(fleet_binary()), *args], capture_output=True, text=True, env=env, timeout=120)


def test_an_s3_copy_round_trips_through_a_real_s3_server(s3_server: str, tmp_path: Path) -> None:
    import boto3  # moto's own dependency

    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_REGION="us-east-1",
               AWS_ENDPOINT_URL=s3_server, AWS_ALLOW_HTTP="true")
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    s3.create_bucket(Bucket="fleet-backups")

    (tmp_path / "a").mkdir()
    servers = start_fleet(tmp_path / "a")
    server: Server = next(servers)
    data = tmp_path / "a" / f"db-{server.url.rsplit(':', 1)[1]}"
    admin = Client(server.url, username="admin", password=server.password)
    pool = admin.create_pool("s3-pool")
    admin.create_cluster("s3-cluster", pool["id"])

    # While the server runs.
    made = fleet(["backup", "create", "--data", str(data), "s3://fleet-backups/nightly/one.tar"], env)
    assert made.returncode == 0, made.stderr
    assert "s3://fleet-backups/nightly/one.tar" in made.stdout + made.stderr
    stored = s3.get_object(Bucket="fleet-backups", Key="nightly/one.tar")["Body"].read()
    manifest = manifest_of(stored)
    assert {t["name"]: t["rows"] for t in manifest["tables"]}["clusters"] == 1
    servers.close()

    # Restored from the bucket into a fresh data dir (the key file kept apart, put back).
    fresh = tmp_path / "b"
    fresh.mkdir()
    shutil.copy(data / "secret.key", fresh / "secret.key")
    restored = fleet(["backup", "restore", "--data", str(fresh), "s3://fleet-backups/nightly/one.tar"], env)
    assert restored.returncode == 0, restored.stderr
    assert "restored" in restored.stdout + restored.stderr

    # The restored database holds exactly the rows in the bucket: a backup of it has the same tables.
    again = fleet(["backup", "create", "--data", str(fresh), str(tmp_path / "again.tar")], env)
    assert again.returncode == 0, again.stderr
    rows = lambda m: {t["name"]: (t["rows"], t["sha256"]) for t in m["tables"]}  # noqa: E731
    assert rows(manifest_of((tmp_path / "again.tar").read_bytes())) == rows(manifest)

    # Retention under an S3 prefix: the newest two of three kept, other objects untouched.
    s3.put_object(Bucket="fleet-backups", Key="rotating/README", Body=b"not a backup")
    names = []
    for _ in range(3):
        kept = fleet(["backup", "create", "--data", str(fresh), "--keep", "2", "s3://fleet-backups/rotating"], env)
        assert kept.returncode == 0, kept.stderr
        names.append((kept.stdout + kept.stderr).split("s3://fleet-backups/rotating/")[1].split()[0])
        time.sleep(0.002)  # names carry the millisecond
    listed = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="fleet-backups", Prefix="rotating/")["Contents"])
    assert listed == sorted(["rotating/README", *(f"rotating/{n}" for n in names[1:])]), (listed, names)

    # A missing object is an error, not an empty restore.
    missing = fleet(["backup", "restore", "--data", str(fresh), "s3://fleet-backups/nightly/none.tar"], env)
    assert missing.returncode == 2 and "object storage" in missing.stderr, missing.stderr
