"""A real Data Plane API client against the compatibility surface (issue 22).

The client is bravado's, built at run time from upstream's Swagger 2.0 file
(server/tests/fixtures/dataplaneapi/spec/haproxy_spec.yaml, as a generated client is built from
it) with request and response validation on: it creates a backend and a server the way such a
client does (read the version, start a transaction, create, commit), and the cluster's version
diff shows exactly those lines added, the hand-written comments and order elsewhere intact.
"""

from __future__ import annotations

from typing import Any

import pytest
from bravado.client import SwaggerClient
from bravado.requests_client import RequestsClient

from conftest import Server
from dataplane_routes import discover
from dataplane_spec import Spec, load_spec
from haproxy_fleet import Client

HAND_WRITTEN = """\
# edge proxy, edited by hand: keep these comments
global
    maxconn 4000   # raised for the sale
    log 127.0.0.1 local0

defaults
    mode http
    timeout connect 5s
    timeout client 30s    # slow mobile clients
    timeout server 30s

frontend fe
    bind 127.0.0.1:8080
    default_backend app   # everything goes to app

# the application servers
backend app
    balance roundrobin
    server a1 10.0.0.1:80 check
"""

NEEDED = {
    ("GET", "/services/haproxy/configuration/version"),
    ("POST", "/services/haproxy/transactions"),
    ("PUT", "/services/haproxy/transactions/{id}"),
    ("POST", "/services/haproxy/configuration/backends"),
    ("POST", "/services/haproxy/configuration/backends/{parent_name}/servers"),
}


def client_for(base_path: str, host: str, username: str, password: str) -> Any:
    spec = load_spec()
    spec["basePath"] = base_path  # where the surface lives (a deployment setting of any server)
    http = RequestsClient()
    http.set_basic_auth(host, username, password)  # host:port, as bravado matches it
    config = {"validate_requests": True, "validate_responses": True, "use_models": False, "validate_swagger_spec": False}
    return SwaggerClient.from_spec(spec, origin_url=f"http://{host}{base_path}", http_client=http, config=config)


def test_generated_client_adds_a_backend_and_a_server_and_nothing_else_moves(fleet_server: Server) -> None:
    missing = NEEDED - discover(fleet_server.url, Spec())
    if missing:
        pytest.fail(f"the surface does not register what the client needs yet: {sorted(missing)}")
    admin = Client(fleet_server.url, username="admin", password=fleet_server.password)
    pool = admin.create_pool("dataplane-client")
    cluster = admin.create_cluster("dataplane-client", pool["id"])
    before = admin.import_config(cluster["id"], HAND_WRITTEN, message="hand-written")["version"]
    admin.create_user("dataplane-client", "dataplane-client-password", role="operator")

    host = fleet_server.url.split("://", 1)[1]
    dp = client_for("/dataplane/dataplane-client/v3", host, "dataplane-client", "dataplane-client-password")
    version = dp.Configuration.getConfigurationVersion().response().result
    assert version == before
    transaction = dp.Transactions.startTransaction(version=version).response().result
    tid = transaction["id"]
    backend = {"name": "api", "mode": "http", "balance": {"algorithm": "leastconn"}}
    dp.Backend.createBackend(data=backend, transaction_id=tid).response()
    server = {"name": "api1", "address": "10.0.0.20", "port": 8080, "check": "enabled"}
    dp.Server.createServerBackend(parent_name="api", data=server, transaction_id=tid).response()
    committed = dp.Transactions.commitTransaction(id=tid).response()
    assert committed.incoming_response.status_code in (200, 202)

    after = admin.latest_version(cluster["id"])
    assert after == before + 1, "one transaction, one version"
    text = admin.config(cluster["id"])
    assert text.startswith(HAND_WRITTEN), f"the hand-written text moved:\n{text}"
    diff = admin.diff(cluster["id"], after, against=before)["unified"]
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert all(line.startswith("+") for line in changed), diff
    added = [line[1:] for line in changed if line.strip("+").strip()]
    assert added == ["backend api", "    mode http", "    balance leastconn", "    server api1 10.0.0.20:8080 check"], diff

    # The client reads back what it wrote, in the spec's shapes (bravado validates them).
    got = dp.Server.getServerBackend(parent_name="api", name="api1").response().result
    assert (got["address"], got["port"], got.get("check")) == ("10.0.0.20", 8080, "enabled")
