"""Bundle files through the client against a real `fleet serve`: a managed tree imported as tar
(kinds taken from how the configs use each file), files listed, read, written and deleted
(direct versions and staged in transactions), private keys withheld, a version downloaded as tar."""

from __future__ import annotations

import io
import tarfile
from typing import Any

import pytest

import haproxy_fleet as hf
from haproxy_fleet import Client

MAIN = """global
    crt-base /etc/haproxy/certs

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend www
    bind 127.0.0.1:18443 ssl crt site.pem
    http-request set-header X-App %[req.hdr(host),lower,map_str(hosts.txt,none)]
    errorfile 503 pages/503.txt
    default_backend app
"""
BACKENDS = "backend app\n    server web1 10.0.0.1:80\n"
KEY_PEM = "-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n"


def archive(files: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, text in files.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o600 if name.endswith(".pem") else 0o644
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


TREE = {
    "./haproxy.cfg": MAIN,
    "./conf.d/app.cfg": BACKENDS,
    "./hosts.txt": "a.example.com app\n",
    "./pages/503.txt": "HTTP/1.0 503 Service Unavailable\r\n\r\n",
    "./certs/site.pem": KEY_PEM,
}


def test_tar_import_list_read_and_download(client: Client, cluster: dict[str, Any]) -> None:
    committed = client.import_bundle(cluster, archive(TREE), configs=["haproxy.cfg", "conf.d"], message="tree")
    assert committed["version"] == 1
    listing = client.files(cluster)
    assert listing["version"] == 1 and listing["digest"] == committed["digest"]
    kinds = {f["path"]: (f["kind"], f["private_key"]) for f in listing["files"]}
    # hosts.txt and pages/503.txt say nothing by their names: their use in the config does.
    assert kinds == {
        "haproxy.cfg": ("config", False),
        "conf.d/app.cfg": ("config", False),
        "certs/site.pem": ("certificate", True),
        "hosts.txt": ("map", False),
        "pages/503.txt": ("errorfile", False),
    }
    assert [f["path"] for f in listing["files"]][:2] == ["haproxy.cfg", "conf.d/app.cfg"]
    assert client.file(cluster, "hosts.txt") == b"a.example.com app\n"
    assert client.file(cluster, "conf.d/app.cfg", version=1) == BACKENDS.encode()
    with pytest.raises(hf.PermissionDeniedError):
        client.file(cluster, "certs/site.pem")
    with pytest.raises(hf.NotFoundError):
        client.file(cluster, "nope.map")

    with tarfile.open(fileobj=io.BytesIO(client.bundle(cluster, version=1))) as tar:
        names = tar.getnames()
        extracted = tar.extractfile("hosts.txt")
        assert extracted is not None and extracted.read() == b"a.example.com app\n"
    assert sorted(names) == ["conf.d/app.cfg", "haproxy.cfg", "hosts.txt", "pages/503.txt"], "the private key stays on the server"

    # A tree leaving the managed directory, or missing a file the config names, is refused whole.
    with pytest.raises(hf.ValidationError):
        client.import_bundle(cluster, archive({**TREE, "../evil.txt": "x"}), configs=["haproxy.cfg", "conf.d"])
    missing = {k: v for k, v in TREE.items() if k != "./hosts.txt"}
    with pytest.raises(hf.ValidationError) as info:
        client.import_bundle(cluster, archive(missing), configs=["haproxy.cfg", "conf.d"])
    assert "hosts.txt is not in the bundle" in str(info.value)
    assert client.latest_version(cluster) == 1


def test_file_writes_direct_and_staged(client: Client, cluster: dict[str, Any]) -> None:
    client.import_bundle(cluster, archive(TREE), configs=["haproxy.cfg", "conf.d"])
    v2 = client.put_file(cluster, "hosts.txt", "a.example.com app\nb.example.com app\n", version=1, message="add b")
    assert v2["version"] == 2
    assert client.file(cluster, "hosts.txt", version=2).endswith(b"b.example.com app\n")
    with pytest.raises(hf.ConflictError):
        client.put_file(cluster, "hosts.txt", "x y\n", version=1)
    # The config still names the map: removing it is refused, nothing written.
    with pytest.raises(hf.ValidationError) as info:
        client.delete_file(cluster, "hosts.txt", version=2)
    assert "map_str: hosts.txt is not in the bundle" in str(info.value)
    v3 = client.put_file(cluster, "acl/extra.lst", b"192.0.2.0/24\n", version=2, kind="acl", mode=0o640)
    listed = {f["path"]: f for f in client.files(cluster, version=v3["version"])["files"]}
    assert (listed["acl/extra.lst"]["kind"], listed["acl/extra.lst"]["mode"]) == ("acl", 0o640)

    with client.transaction(cluster, message="staged") as tx:
        tx.put_file("maps/new.map", "c.example.com app\n")
        tx.delete_file("acl/extra.lst")
        paths = [f["path"] for f in tx.files()["files"]]
        assert "maps/new.map" in paths and "acl/extra.lst" not in paths
        assert client.file(cluster, "maps/new.map", transaction_id=tx.id) == b"c.example.com app\n"
        with pytest.raises(hf.NotFoundError):
            client.file(cluster, "maps/new.map")
    assert tx.result["version"] == 4
    assert client.file(cluster, "maps/new.map", version=4) == b"c.example.com app\n"
    assert "acl/extra.lst" not in [f["path"] for f in client.files(cluster)["files"]]
    with pytest.raises(hf.NotFoundError):
        client.delete_file(cluster, "acl/extra.lst", version=4)
