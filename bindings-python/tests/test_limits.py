"""Server limits and storage errors reach Python as clear exceptions (issue 12 §4, §5).

A server of its own, started with small limits: ops per transaction, open transactions per
user and the JSON body size each raise :class:`LimitExceededError` naming the flag, while an
import (an upload route) may be far larger than the JSON limit. A configuration holding a NUL
byte is refused with its line, column and byte offset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

import haproxy_fleet as hf
from haproxy_fleet import Client
from haproxy_fleet.client import _error_from
from conftest import Server, start_fleet

CONFIG = "global\n    maxconn 100\n\nbackend app\n    server web1 10.0.0.1:80\n"


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start_fleet(
        tmp_path_factory.mktemp("fleet-limits"),
        ["--max-ops-per-transaction", "2", "--max-open-transactions", "2", "--max-body-bytes", "4096"],
    )


@pytest.fixture
def client(limited: Server) -> Client:
    return Client(limited.url, username="admin", password=limited.password)


@pytest.fixture
def cluster(client: Client, unique: str) -> dict[str, Any]:
    pool = client.create_pool(f"pool-{unique}")
    cluster = client.create_cluster(f"cluster-{unique}", pool["id"])
    client.import_config(cluster, CONFIG)
    return cluster


def op(value: str) -> dict[str, Any]:
    return {"op": "set_directive", "section": {"kind": "global"}, "keyword": "maxconn", "args": [value]}


def test_ops_per_transaction(client: Client, cluster: dict[str, Any]) -> None:
    tx = client.begin(cluster)
    tx.stage([op("200"), op("300")])
    with pytest.raises(hf.LimitExceededError) as info:
        tx.stage(op("400"))
    assert info.value.status == 413
    assert "--max-ops-per-transaction" in info.value.message
    assert isinstance(info.value, hf.ValidationError)
    tx.discard()


def test_open_transactions_per_user(client: Client, cluster: dict[str, Any]) -> None:
    first, second = client.begin(cluster), client.begin(cluster)
    with pytest.raises(hf.LimitExceededError) as info:
        client.begin(cluster)
    assert info.value.status == 429
    assert "--max-open-transactions" in info.value.message
    first.discard()
    client.begin(cluster).discard()
    second.discard()


def test_body_limit_spares_uploads(client: Client, cluster: dict[str, Any]) -> None:
    with pytest.raises(hf.LimitExceededError) as info:
        client.create_pool("p" * 10_000)
    assert info.value.status == 413
    assert "--max-body-bytes" in info.value.message
    big = CONFIG + "".join(f"    # padding line {i}\n" for i in range(5_000))
    assert len(big) > 4096 * 20
    assert client.import_config(cluster, big)["version"] == 2


def test_nul_byte_refused_with_its_offset(client: Client, cluster: dict[str, Any]) -> None:
    with pytest.raises(hf.ValidationError) as info:
        client.import_config(cluster, CONFIG.replace("maxconn 100", "maxconn 100\0"))
    assert info.value.status == 422
    assert (info.value.line, info.value.column) == (2, 16)
    assert "NUL byte at byte offset 22" in str(info.value.diagnostics)


def test_storage_full_maps_to_its_exception() -> None:
    body = b'{"error": {"code": "storage_full", "message": "the server\'s database has no space left"}}'
    error = _error_from(507, body)
    assert isinstance(error, hf.StorageFullError) and error.status == 507
    assert isinstance(_error_from(429, b'{"error": {"code": "too_many", "message": "x"}}'), hf.LimitExceededError)
