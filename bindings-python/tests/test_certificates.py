"""The certificate store through the client against a real `fleet serve`: an upload answered
with its facts and never a key, a mismatched key refused with nothing stored, deploy and replace
making versions, delete refused while deployed, the status."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

import haproxy_fleet as hf
from haproxy_fleet import Client

CONFIG = "global\n    maxconn 100\n\ndefaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n"


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def issue(tmp: Path, name: str) -> tuple[str, str, str]:
    """A CA and a leaf for `name` signed by it (openssl): (leaf PEM, leaf key PEM, CA PEM)."""
    ca_key, ca, key, csr, leaf = (tmp / f"{name}-{part}" for part in ("ca.key", "ca.pem", "key.pem", "csr.pem", "leaf.pem"))
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
            "-subj", f"/CN={name} CA", "-keyout", str(ca_key), "-out", str(ca))
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(csr))
    ext = tmp / f"{name}.ext"
    ext.write_text(f"subjectAltName=DNS:{name}\n")
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial", "-days", "20",
            "-extfile", str(ext), "-out", str(leaf))
    return leaf.read_text(), key.read_text(), ca.read_text()


def test_certificates(client: Client, cluster: dict[str, Any], unique: str, tmp_path: Path) -> None:
    client.import_config(cluster, CONFIG)
    leaf, key, ca = issue(tmp_path, f"{unique}.test")
    _, other_key, _ = issue(tmp_path, f"other-{unique}.test")
    name = f"site-{unique}"

    with pytest.raises(hf.ValidationError, match="does not match"):
        client.create_certificate(name, leaf + ca, other_key)
    assert all(c["name"] != name for c in client.certificates())

    cert = client.create_certificate(name, leaf + ca, key)
    assert "PRIVATE KEY-----" not in repr(cert)
    assert cert["sans"] == [f"{unique}.test"]
    assert (cert["key_type"], cert["key_bits"]) == ("rsa", 2048)
    assert len(cert["fingerprint_sha256"]) == 64
    assert client.certificate(cert["id"])["not_after"] == cert["not_after"]
    with pytest.raises(hf.ConflictError):
        client.create_certificate(name, leaf + ca + key)

    deployed = client.deploy_certificate(cert["id"], cluster, crt_list="crt-list.txt", crt_list_options="[alpn h2]")
    assert deployed["path"] == f"certs/{name}.pem"
    listing = {f["path"]: f for f in client.files(cluster)["files"]}
    assert listing[deployed["path"]]["private_key"] is True
    with pytest.raises(hf.PermissionDeniedError):
        client.file(cluster, deployed["path"])
    assert client.file(cluster, "crt-list.txt") == f"/etc/haproxy/certs/{name}.pem [alpn h2]\n".encode()

    renewed, renewed_key, _ = issue(tmp_path, f"{unique}.test")
    replaced = client.replace_certificate(cert["id"], renewed, renewed_key)
    assert replaced["revision"] == 2
    assert [r["version"] for r in replaced["rollouts"]] == [deployed["version"] + 1]

    status = client.certificate_status(cert["id"])
    assert status["days_left"] in (19, 20)
    assert status["warning_days"] == 30
    assert status["deployments"][0]["current"] is True

    with pytest.raises(hf.ConflictError, match="undeploy it first"):
        client.delete_certificate(cert["id"])
    client.undeploy_certificate(cert["id"], cluster, deployed["path"])
    client.delete_certificate(cert["id"])
    with pytest.raises(hf.NotFoundError):
        client.certificate(cert["id"])
