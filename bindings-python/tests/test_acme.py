"""ACME through the Python client (issue 13): accounts and orders are checked before anything is
stored or sent, and every refusal is a :class:`ValidationError` or :class:`NotFoundError`
saying what is wrong. The full issuance against pebble runs in the Rust suite
(tests/tests/it/acme_pebble.rs), where a real agent and HAProxy answer the CA.
"""

from __future__ import annotations

from typing import Any

import pytest

import haproxy_fleet as hf
from haproxy_fleet import Client

CONFIG = "defaults\n    mode http\n\nfrontend web\n    bind :80\n    http-request redirect scheme https\n"


@pytest.fixture
def web(client: Client, cluster: dict[str, Any]) -> dict[str, Any]:
    """The conftest cluster with an HTTP frontend `web` as version 1."""
    client.import_config(cluster, CONFIG)
    return cluster


def test_account_input_is_refused_before_contacting_a_ca(client: Client) -> None:
    with pytest.raises(hf.ValidationError) as info:
        client.create_acme_account("http://ca.invalid/dir", "ops@example.com")
    assert "https://" in info.value.message
    with pytest.raises(hf.ValidationError) as info:
        client.create_acme_account("https://ca.invalid/dir", eab_kid="kid-1")
    assert "eab_kid and eab_hmac go together" in info.value.message
    with pytest.raises(hf.ValidationError) as info:
        client.create_acme_account("https://ca.invalid/dir", ca_pem="not a certificate")
    assert "ca_pem" in info.value.message


def test_an_unreachable_directory_is_a_clear_error_and_stores_nothing(client: Client) -> None:
    before = client.acme_accounts()
    with pytest.raises(hf.ValidationError) as info:
        client.create_acme_account("https://127.0.0.1:9/dir", ["mailto:ops@example.com"])
    assert "the CA" in info.value.message or "directory" in info.value.message
    assert client.acme_accounts() == before


def test_orders_need_an_account_and_good_names(client: Client, web: dict[str, Any]) -> None:
    cluster = web
    with pytest.raises(hf.NotFoundError) as info:
        client.order_certificate(["a.example.com"], 1, [cluster], frontends=["web"])
    assert "acme account 1" in info.value.message
    with pytest.raises(hf.ValidationError) as info:
        client.order_certificate(["not a name"], 1, [cluster], frontends=["web"])
    assert "not a DNS name" in info.value.message
    with pytest.raises(hf.ValidationError) as info:
        client.order_certificate(["a.example.com"], 1, [cluster], challenge="tls-alpn-01")
    assert "tls-alpn-01" in info.value.message
    with pytest.raises(hf.NotFoundError):
        client.acme_order(1)
    assert client.acme_orders() == [], "a refused order is not stored"
    assert client.versions(cluster)[-1]["number"] == 1, "a refused order makes no version"
