"""The keepalived half: lossless parse, errors, check, format and the typed reading."""

from __future__ import annotations

import pytest

import haproxy_fleet as hf
from haproxy_fleet import keepalived
from conftest import CORPUS, corpus_rows

ROWS = [r for r in corpus_rows() if r["kind"] == "keepalived"]

CONF = """! Configuration File for keepalived
global_defs {
   router_id LB1   # this node
}

vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass s3cret
    }
    virtual_ipaddress {
        192.168.1.10/24 dev eth0
    }
}
"""


@pytest.mark.parametrize("row", ROWS, ids=[r["path"] for r in ROWS])
def test_corpus_file_round_trips(row: dict[str, str]) -> None:
    raw = (CORPUS / row["path"]).read_bytes()
    doc = keepalived.parse(raw.decode("utf-8"), strict=row["expect"] == "valid")
    assert doc.render().encode("utf-8") == raw


def test_corpus_has_keepalived_files() -> None:
    assert len(ROWS) >= 20


def test_reads_instances_and_formats() -> None:
    doc = keepalived.parse(CONF)
    assert doc.render() == CONF
    (instance,) = doc.vrrp_instances()
    assert (instance["name"], instance["state"], instance["virtual_router_id"], instance["priority"]) == ("VI_1", "MASTER", 51, 150)
    assert instance["virtual_ipaddresses"][0]["address"].startswith("192.168.1.10")
    model = doc.to_dict()
    assert set(model) == {"global_defs", "vrrp_scripts", "vrrp_instances", "vrrp_sync_groups", "virtual_servers"}
    formatted = doc.format()
    assert keepalived.parse(formatted).format() == formatted
    assert keepalived.check(CONF) == [] or all(not d.is_error() for d in keepalived.check(CONF))


def test_unbalanced_braces_raise_parse_error() -> None:
    text = "vrrp_instance VI_1 {\n    state MASTER\n"
    with pytest.raises(hf.ParseError) as info:
        keepalived.parse(text)
    assert info.value.line >= 1 and info.value.diagnostics
    assert keepalived.parse(text, strict=False).render() == text


def test_check_reports_bad_values() -> None:
    bad = CONF.replace("virtual_router_id 51", "virtual_router_id 999")
    found = keepalived.check(bad)
    assert any(d.line == 9 and d.is_error() for d in found), found


def test_value_edits_change_only_that_word() -> None:
    doc = keepalived.parse(CONF)
    assert doc.value("vrrp_instance VI_1", "priority") == "150"
    assert doc.value("global_defs", "router_id") == "LB1"
    doc.set_value("vrrp_instance VI_1", "priority", "100")
    doc.set_value("global_defs", "router_id", "LB2")
    assert doc.render() == CONF.replace("priority 150", "priority 100").replace("router_id LB1   #", "router_id LB2   #")
    assert doc.vrrp_instances()[0]["priority"] == 100
    with pytest.raises(KeyError, match="no block"):
        doc.value("vrrp_instance VI_2", "priority")
    with pytest.raises(KeyError):
        doc.set_value("vrrp_instance VI_1", "nopreempt_delay", "1")
