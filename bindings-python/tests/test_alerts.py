"""Alerts through the client against a real `fleet serve` whose SMTP relay is a local sink
(aiosmtpd) started here: a rule on failed applies fires when an agent reports a rejected
version and resolves when it applies one, each time an e-mail and a webhook POST; rules are
checked, silenced and listed. Agent offline and the other conditions run against real agents in
the Rust workspace suite (tests/tests/it/alerts.rs)."""

from __future__ import annotations

import email
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import Server, free_port, start_fleet
from haproxy_fleet import Client, FleetError

aiosmtpd = pytest.importorskip("aiosmtpd.controller")


class Sink:
    """Keeps every message the relay accepts."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


class Hooks(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        length = int(self.headers.get("content-length", "0"))
        Hooks.received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def relay() -> Iterator[tuple[Sink, int]]:
    sink = Sink()
    port = free_port()
    controller = aiosmtpd.Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


@pytest.fixture(scope="module")
def alerting(tmp_path_factory: pytest.TempPathFactory, relay: tuple[Sink, int]) -> Iterator[Server]:
    _, port = relay
    extra = ["--smtp-url", f"smtp://127.0.0.1:{port}", "--smtp-from", "Fleet <fleet@example.com>", "--alert-interval-ms", "200"]
    yield from start_fleet(tmp_path_factory.mktemp("alerts"), extra)


def wait(what: str, check: Any, seconds: float = 15) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_failed_apply_fires_and_resolves_by_mail_and_webhook(alerting: Server, relay: tuple[Sink, int], tmp_path: Path) -> None:
    sink, _ = relay
    hooks = HTTPServer(("127.0.0.1", 0), Hooks)
    threading.Thread(target=hooks.serve_forever, daemon=True).start()
    admin = Client(alerting.url, username="admin", password=alerting.password)
    pool = admin.create_pool("alerts")
    cluster = admin.create_cluster("alerts", pool["id"])
    admin.import_config(cluster["id"], "defaults\n    mode http\n")
    enrolment = admin.create_enrollment(cluster["id"], "node-a")
    token = admin.request("POST", "/agent/enroll", json_body={"secret": enrolment["secret"]})["token"]
    agent = Client(alerting.url, token=token)

    for bad, field in [({"channels": [{"type": "email", "to": ["nobody"]}]}, "channels[0].to"),
                       ({"condition": {"kind": "cpu"}}, "unknown variant `cpu`"), ({"for_seconds": 86401}, "for_seconds")]:
        with pytest.raises(FleetError) as error:
            admin.create_alert_rule({"name": "bad", "condition": {"kind": "apply_failed"}, **bad})
        assert error.value.status == 422 and field in str(error.value), bad
    rule = admin.create_alert_rule({"name": "apply failed", "condition": {"kind": "apply_failed"}, "channels": [
        {"type": "email", "to": ["ops@example.com"]}, {"type": "webhook", "url": f"http://127.0.0.1:{hooks.server_port}/hook"}]})
    assert admin.alert_rules()[0]["id"] == rule["id"]

    agent.request("POST", "/agent/report", json_body={"version": 1, "outcome": "rejected", "error": "[ALERT] parse error line 2"})
    firing = wait("the firing alert", lambda: admin.alerts("firing"))
    assert "last apply rejected: [ALERT] parse error line 2" in firing[0]["summary"]
    mail = wait("the firing mail", lambda: sink.messages[:1])[0]
    assert mail["Subject"].startswith("[FIRING] apply failed: agent node-a") and mail["To"] == "ops@example.com"
    assert "Fleet <fleet@example.com>" in mail["From"]
    hook = wait("the firing webhook", lambda: Hooks.received[:1])[0]
    assert hook["event"] == "alert.firing" and hook["rule"]["name"] == "apply failed" and hook["alert"]["state"] == "firing"
    notified = wait("the delivery outcome", lambda: admin.alerts("firing")[0]["notified"])
    assert "accepted by 127.0.0.1" in notified and "answered 200" in notified

    agent.request("POST", "/agent/report", json_body={"version": 1, "outcome": "applied"})
    resolved = wait("the resolved alert", lambda: admin.alerts("resolved"))
    assert resolved[0]["id"] == firing[0]["id"] and resolved[0]["resolved_at"] >= resolved[0]["fired_at"]
    assert wait("the resolved mail", lambda: sink.messages[1:2])[0]["Subject"].startswith("[RESOLVED] apply failed")
    assert len(sink.messages) == 2, "one mail per transition"

    # Silenced: the alert fires again but nothing is sent.
    admin.silence_alert_rule(rule["id"], 600)
    agent.request("POST", "/agent/report", json_body={"version": 1, "outcome": "reload_failed", "error": "reload"})
    again = wait("the silenced alert", lambda: [a for a in admin.alerts("firing") if a["notified"] == "silenced"])
    assert again[0]["silenced"] is True
    time.sleep(0.5)
    assert len(sink.messages) == 2
    admin.delete_alert_rule(rule["id"])
    assert admin.alerts() == []
    hooks.shutdown()


def test_events_stream_changes_as_they_happen(client: Client, unique: str) -> None:
    stream = client.events(timeout=10)
    found: list[dict[str, Any]] = []

    def follow() -> None:
        for event in stream:
            found.append(event)
            if event["data"].get("action") == "pool.create" and event["data"]["details"].get("name") == f"ev-{unique}":
                return

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    time.sleep(0.3)  # the stream is open before the change
    client.create_pool(f"ev-{unique}")
    reader.join(timeout=10)
    assert found and found[-1]["kind"] == "audit" and found[-1]["data"]["actor"] == "admin", found
