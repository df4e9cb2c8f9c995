"""A client for the HAProxy Fleet server (``fleet serve``), standard library only.

>>> client = Client("http://127.0.0.1:8080", username="admin", password="...")  # doctest: +SKIP
>>> pool = client.create_pool("edge")                                           # doctest: +SKIP
>>> cluster = client.create_cluster("lb", pool["id"])                           # doctest: +SKIP
>>> client.import_config(cluster, open("haproxy.cfg").read())                   # doctest: +SKIP
>>> with client.transaction(cluster) as tx:                                     # doctest: +SKIP
...     tx.add_server("app", "web3", "10.0.0.3:80", weight=5, params=["check"])
>>> client.apply(cluster, client.latest_version(cluster))                       # doctest: +SKIP

Every HTTP error becomes a :class:`FleetError` subclass chosen by status: 401
:class:`AuthenticationError`, 403 :class:`PermissionDeniedError`, 404 :class:`NotFoundError`,
409 :class:`ConflictError` (a stale transaction or version), 400/422 :class:`ValidationError`
(with ``line``/``column``/``diagnostics`` for configuration errors), 413/429
:class:`LimitExceededError` (a server limit: the message names it and its ``fleet serve`` flag),
507 :class:`StorageFullError` (the server's disk is full: nothing was written, retry later).

The server decides everything (validation, ordering, conflicts); this module only maps calls to
the routes in DESIGN.md and JSON errors to exceptions.
"""

from __future__ import annotations

import json
import os
import ssl
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
from types import TracebackType
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence, Type, Union

__all__ = [
    "AuthenticationError",
    "Client",
    "ConflictError",
    "FleetError",
    "LimitExceededError",
    "MfaRequiredError",
    "NotFoundError",
    "PermissionDeniedError",
    "StorageFullError",
    "Transaction",
    "ValidationError",
]

ClusterRef = Union[int, str, Mapping[str, Any]]
"""A cluster: its id, its name (the server resolves names wherever it takes ids), or the dict
the server returned for it."""

PoolRef = Union[int, str]
"""A pool: its id or its name."""


class FleetError(Exception):
    """An error answer from the server: ``status``, ``code`` and ``message`` from its JSON body;
    ``line``/``column``/``diagnostics`` for configuration errors."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        line: Optional[int] = None,
        column: Optional[int] = None,
        diagnostics: Optional[list[dict[str, Any]]] = None,
    ) -> None:
        where = f" (line {line}, column {column})" if line is not None else ""
        super().__init__(f"{status} {code}: {message}{where}")
        self.status = status
        self.code = code
        self.message = message
        self.line = line
        self.column = column
        self.diagnostics = diagnostics or []


class AuthenticationError(FleetError):
    """401: missing, unknown or expired credentials."""


class PermissionDeniedError(FleetError):
    """403: the caller's role does not allow this."""


class NotFoundError(FleetError):
    """404: no such pool, cluster, version, transaction, proxy or route."""


class ConflictError(FleetError):
    """409: the base version is not the latest any more, or another commit won."""


class ValidationError(FleetError):
    """400 or 422: a malformed request, or a configuration with errors."""


class LimitExceededError(ValidationError):
    """413 or 429: a request over one of the server's limits (body size, ops per transaction,
    open transactions per user, long-polls per agent); ``message`` names the limit and the
    ``fleet serve`` flag that sets it. A :class:`ValidationError` too, as 413 was before."""


class MfaRequiredError(AuthenticationError):
    """The password was right and a second factor is due: ``challenge`` goes to
    :meth:`Client.login_mfa` with the code."""

    def __init__(self, status: int, code: str, message: str, *, challenge: str) -> None:
        super().__init__(status, code, message)
        self.challenge = challenge


class StorageFullError(FleetError):
    """507: the server's database has no space left. Nothing was written; the same request
    succeeds once space is freed (the server recovers without a restart)."""


_BY_STATUS: dict[int, Type[FleetError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: LimitExceededError,
    415: ValidationError,
    422: ValidationError,
    429: LimitExceededError,
    507: StorageFullError,
}


def _error_from(status: int, body: bytes) -> FleetError:
    try:
        payload = json.loads(body.decode("utf-8"))
        error = payload["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        error = {}
        code, message = "http_error", body.decode("utf-8", "replace").strip() or f"http status {status}"
    kind = _BY_STATUS.get(status, FleetError)
    return kind(status, code, message, error.get("line"), error.get("column"), error.get("diagnostics"))


def _object(value: Any) -> dict[str, Any]:
    """A JSON object answer, checked."""
    if not isinstance(value, dict):
        raise FleetError(200, "unexpected_answer", f"expected a JSON object, got {type(value).__name__}")
    return value


def _objects(value: Any) -> list[dict[str, Any]]:
    """A JSON list-of-objects answer, checked."""
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise FleetError(200, "unexpected_answer", "expected a JSON list of objects")
    return value


def _cluster_segment(cluster: ClusterRef) -> Union[int, str]:
    """The path segment of a cluster: its id, or its name escaped (the server resolves it)."""
    if isinstance(cluster, Mapping):
        return int(cluster["id"])
    if isinstance(cluster, str) and not cluster.lstrip("-").isdigit():
        return urllib.parse.quote(cluster, safe="")
    return int(cluster)


def _pool_ref(pool: PoolRef) -> Union[int, str]:
    """The path segment of a pool: its id, or its name escaped."""
    if isinstance(pool, str) and not pool.lstrip("-").isdigit():
        return urllib.parse.quote(pool, safe="")
    return int(pool)


def _quote(part: Union[str, int]) -> str:
    return urllib.parse.quote(str(part), safe="")


def _file_path(cluster: ClusterRef, path: str) -> str:
    return f"/clusters/{_cluster_segment(cluster)}/files/" + urllib.parse.quote(path.lstrip("/"), safe="/")


class Client:
    """A session with ``fleet serve``.

    Authenticate with an API token (``token=``) or with ``username=`` and ``password=`` (the
    client logs in at once and keeps the session token).

    Over HTTPS the server's certificate is verified against the system's CAs, or against
    ``ca_file`` (a PEM file: for ``fleet serve --tls-self-signed``, ``<data>/tls/ca.pem``).
    ``verify=False`` turns verification off (tests only: anyone on the path can then read the
    password and the tokens).
    """

    def __init__(
        self,
        url: str,
        token: Optional[str] = None,
        *,
        username: Optional[str] = None,
        password: Optional[str] = None,
        timeout: float = 30.0,
        ca_file: Optional[str] = None,
        verify: bool = True,
    ) -> None:
        if token is not None and (username is not None or password is not None):
            raise ValueError("give token or username and password, not both")
        if (username is None) != (password is None):
            raise ValueError("username and password go together")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._tls = ssl.create_default_context(cafile=ca_file)
        if not verify:
            self._tls.check_hostname = False
            self._tls.verify_mode = ssl.CERT_NONE
        self.token = token
        if username is not None and password is not None:
            self.login(username, password)

    # -- transport ---------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Optional[Mapping[str, Any]] = None,
        json_body: Any = None,
        text: Optional[str] = None,
        raw: bool = False,
        body: Optional[bytes] = None,
        content_type: str = "application/octet-stream",
        binary: bool = False,
        timeout: Optional[float] = None,
    ) -> Any:
        """Sends one request to ``/api/v1`` + ``path``; returns the decoded JSON (``None`` for
        204), or the text when ``raw``, or the bytes when ``binary``. ``body`` sends bytes as
        ``content_type``; ``timeout`` (seconds) replaces the client's for this call. Raises a
        :class:`FleetError` subclass on an error status."""
        url = f"{self.url}/api/v1{path}"
        params = {k: v for k, v in (query or {}).items() if v is not None}
        if params:
            url += "?" + urllib.parse.urlencode(params)
        headers = {"Accept": "application/json"}
        data: Optional[bytes] = None
        if body is not None:
            data = body
            headers["Content-Type"] = content_type
        elif text is not None:
            data = text.encode("utf-8")
            headers["Content-Type"] = "text/plain; charset=utf-8"
        elif json_body is not None:
            data = json.dumps(json_body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.timeout, context=self._tls) as response:
                answer: bytes = response.read()
                status = response.status
        except urllib.error.HTTPError as e:
            raise _error_from(e.code, e.read()) from None
        if binary:
            return answer
        if raw:
            return answer.decode("utf-8")
        if status == 204 or not answer:
            return None
        return json.loads(answer.decode("utf-8"))

    # -- auth --------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """``GET /health`` (no authentication)."""
        return _object(self.request("GET", "/health"))

    def metrics(self, token: Optional[str] = None) -> str:
        """``GET /metrics``: the Prometheus text exposition (format 0.0.4) as a string. ``token``
        is the server's ``--metrics-token`` (sent as ``Authorization: Bearer``); without it the
        request carries no credentials. Raises :class:`AuthenticationError` (401) when the
        server asks for a token and ``token`` is missing or wrong."""
        headers = {"Accept": "text/plain"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(f"{self.url}/metrics", method="GET", headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout, context=self._tls) as response:
                answer: bytes = response.read()
        except urllib.error.HTTPError as e:
            raise _error_from(e.code, e.read()) from None
        return answer.decode("utf-8")

    def backup(self, path: Union[str, os.PathLike[str]]) -> dict[str, Any]:
        """``GET /system/backup`` (admin): a consistent backup of the whole server state,
        streamed to the file ``path`` (written beside it, renamed into place once complete,
        mode 0600). The archive is what ``fleet backup create`` writes and
        ``fleet backup restore`` reads: a tar whose first entry is ``manifest.json``; sealed
        secrets stay sealed and the master key is never included. Returns the manifest
        (``format_version``, ``schema_version``, ``created_at`` (Unix ms), ``backend``,
        ``tables`` [``{"name", "columns", "rows", "bytes", "sha256"}``], ``sealed_key_ids``).
        Raises :class:`PermissionDeniedError` (403) for a user who is not an admin."""
        target = os.fspath(path)
        partial = f"{target}.partial-{os.getpid()}"
        headers = {"Accept": "application/x-tar"}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(f"{self.url}/api/v1/system/backup", method="GET", headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout, context=self._tls) as response:
                fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as out:
                    while True:
                        chunk = response.read(1 << 20)
                        if not chunk:
                            break
                        out.write(chunk)
                    out.flush()
                    os.fsync(out.fileno())
        except urllib.error.HTTPError as e:
            raise _error_from(e.code, e.read()) from None
        except BaseException:
            if os.path.exists(partial):
                os.unlink(partial)
            raise
        os.replace(partial, target)
        with tarfile.open(target, "r:") as archive:
            member = archive.next()
            handle = archive.extractfile(member) if member is not None and member.name == "manifest.json" else None
            if handle is None:
                raise FleetError(0, "damaged_backup", f"{target}: not a fleet backup (no manifest.json first)")
            return _object(json.loads(handle.read().decode("utf-8")))

    def login(self, username: str, password: str, code: Optional[str] = None) -> str:
        """Opens a session and uses its token from now on; returns the token. A user with a
        second factor gives ``code`` (the authenticator's current code or a recovery code): the
        two login steps are made here; without it :class:`MfaRequiredError` carries the
        challenge for :meth:`login_mfa`. Too many failed logins raise
        :class:`LimitExceededError` (429; wait and retry)."""
        answer = _object(self.request("POST", "/auth/login", json_body={"username": username, "password": password}))
        if answer.get("status") == "mfa_required":
            if code is None:
                raise MfaRequiredError(401, "mfa_required", "a second factor is required: give code=", challenge=str(answer["challenge"]))
            return self.login_mfa(str(answer["challenge"]), code)
        self.token = str(answer["token"])
        return self.token

    def login_mfa(self, challenge: str, code: str) -> str:
        """The second login step: the first step's ``challenge`` and a code; returns the token."""
        answer = _object(self.request("POST", "/auth/login/mfa", json_body={"challenge": challenge, "code": code}))
        self.token = str(answer["token"])
        return self.token

    def logout(self) -> None:
        """Ends the session."""
        self.request("POST", "/auth/logout")
        self.token = None

    def create_token(self, name: str, ttl_seconds: Optional[int] = None, user_id: Optional[int] = None) -> str:
        """Creates an API token for automation, valid ``ttl_seconds`` (default: until revoked;
        at most a year), acting as the caller or, for an admin, ``user_id``; returns it (it is
        shown only once)."""
        body: dict[str, Any] = {"name": name}
        if ttl_seconds is not None:
            body["ttl_seconds"] = int(ttl_seconds)
        if user_id is not None:
            body["user_id"] = int(user_id)
        return str(self.request("POST", "/tokens", json_body=body)["token"])

    # -- accounts ----------------------------------------------------------------------------

    def me(self) -> dict[str, Any]:
        """The caller: ``{id, username, role, pool_roles, mfa_enabled, mfa_required, ...}``."""
        return _object(self.request("GET", "/auth/me"))

    def change_password(self, current_password: str, new_password: str) -> None:
        """Changes one's own password (at least 12 characters, not a common one). Every session
        of the user ends, this one too: log in again."""
        body = {"current_password": current_password, "new_password": new_password}
        self.request("PUT", "/auth/password", json_body=body)
        self.token = None

    def tokens(self) -> list[dict[str, Any]]:
        """One's own API tokens: ``{id, name, prefix, expires_at, last_used_at, ...}`` (never the secret)."""
        return _objects(self.request("GET", "/tokens"))

    def revoke_token(self, token_id: int) -> None:
        """Revokes one's own API token (an admin: anyone's)."""
        self.request("DELETE", f"/tokens/{int(token_id)}")

    def enrol_mfa(self) -> dict[str, Any]:
        """Starts enrolling a TOTP second factor: ``{secret, otpauth_uri, qr_svg}``."""
        return _object(self.request("POST", "/auth/mfa/enrol"))

    def confirm_mfa(self, code: str) -> list[str]:
        """Confirms enrolment with a current code; returns the recovery codes (shown once)."""
        return [str(c) for c in _object(self.request("POST", "/auth/mfa/confirm", json_body={"code": code}))["recovery_codes"]]

    def regenerate_recovery_codes(self, password: str) -> list[str]:
        """New recovery codes (the old ones stop working)."""
        answer = _object(self.request("POST", "/auth/mfa/recovery-codes", json_body={"password": password}))
        return [str(c) for c in answer["recovery_codes"]]

    def disable_mfa(self, password: str) -> None:
        """Turns off one's own second factor."""
        self.request("POST", "/auth/mfa/disable", json_body={"password": password})

    def users(self) -> list[dict[str, Any]]:
        """Every user (admin)."""
        return _objects(self.request("GET", "/users"))

    def create_user(
        self,
        username: str,
        password: str,
        role: Optional[str] = None,
        pool_roles: Optional[Mapping[int, str]] = None,
    ) -> dict[str, Any]:
        """Creates a user (admin) with a global ``role`` (``admin``, ``operator``, ``viewer``)
        and/or roles in pools (``{pool_id: role}``)."""
        grants = [{"pool_id": int(p), "role": r} for p, r in (pool_roles or {}).items()]
        body = {"username": username, "password": password, "role": role, "pool_roles": grants}
        return _object(self.request("POST", "/users", json_body=body))

    def update_user(
        self,
        user_id: int,
        *,
        role: Any = ...,
        pool_roles: Optional[Mapping[int, str]] = None,
        mfa_required: Optional[bool] = None,
    ) -> dict[str, Any]:
        """Changes a user (admin): ``role`` (a role name; ``None`` removes the global role, so
        the user acts only in its pools), ``pool_roles`` (replaces them all), ``mfa_required``.
        Omitted arguments stay as they are."""
        body: dict[str, Any] = {}
        if role is not ...:
            body["role"] = role
        if pool_roles is not None:
            body["pool_roles"] = [{"pool_id": int(p), "role": r} for p, r in pool_roles.items()]
        if mfa_required is not None:
            body["mfa_required"] = bool(mfa_required)
        return _object(self.request("PATCH", f"/users/{int(user_id)}", json_body=body))

    def delete_user(self, user_id: int) -> None:
        """Deletes a user with its sessions and tokens (admin)."""
        self.request("DELETE", f"/users/{int(user_id)}")

    def reset_password(self, user_id: int, password: str) -> None:
        """Sets a user's password (admin); the user's sessions end."""
        self.request("PUT", f"/users/{int(user_id)}/password", json_body={"password": password})

    def reset_mfa(self, user_id: int) -> None:
        """Removes a user's second factor, e.g. after a lost device (admin)."""
        self.request("DELETE", f"/users/{int(user_id)}/mfa")

    def security_settings(self) -> dict[str, Any]:
        """The server's security settings (admin): ``{mfa_required_for_admins}``."""
        return _object(self.request("GET", "/settings/security"))

    def set_security_settings(self, *, mfa_required_for_admins: bool) -> dict[str, Any]:
        """Replaces the server's security settings (admin)."""
        body = {"mfa_required_for_admins": bool(mfa_required_for_admins)}
        return _object(self.request("PUT", "/settings/security", json_body=body))

    def agents(self, cluster: ClusterRef) -> list[dict[str, Any]]:
        """The agents of a cluster with their last report."""
        return _objects(self.request("GET", f"/clusters/{_cluster_segment(cluster)}/agents"))

    def revoke_agent(self, cluster: ClusterRef, agent_id: int) -> None:
        """Revokes an agent (admin): its token stops working at once."""
        self.request("DELETE", f"/clusters/{_cluster_segment(cluster)}/agents/{int(agent_id)}")

    def decommission_agent(self, cluster: ClusterRef, agent_id: int, stop_haproxy: bool = False) -> dict[str, Any]:
        """Decommissions an agent (admin): its token is revoked at once and kept as a tombstone, so
        the agent's next call answers 410 Gone; the agent then stops HAProxy when
        ``stop_haproxy`` (else HAProxy keeps serving) and exits for good. Returns what the agent
        will hear: ``{agent, cluster_id, reason, stop_haproxy, by, at}``. NotFoundError for an
        agent not in that cluster."""
        return _object(self.request("POST", f"/clusters/{_cluster_segment(cluster)}/agents/{int(agent_id)}/decommission",
                                    json_body={"stop_haproxy": bool(stop_haproxy)}))

    def rotate_agent_token(self, cluster: ClusterRef, agent_id: int) -> str:
        """Gives an agent a new token (admin) and returns it; the old one stops at once."""
        return str(self.request("POST", f"/clusters/{_cluster_segment(cluster)}/agents/{int(agent_id)}/token")["token"])

    def releases(self) -> dict[str, Any]:
        """The signed agent releases the server offers for ``upgrade-agent`` jobs:
        ``{public_key, releases: [{version, platform, sha256, size, file, signed_by, verified}],
        refused: [{file, reason}]}`` (``fleet serve --releases DIR --release-public-key KEY``)."""
        return _object(self.request("GET", "/releases"))

    def enrollments(self, cluster: ClusterRef) -> list[dict[str, Any]]:
        """The enrolments of a cluster that can still be used (admin)."""
        return _objects(self.request("GET", f"/clusters/{_cluster_segment(cluster)}/enrollments"))

    def revoke_enrollment(self, cluster: ClusterRef, enrollment_id: int) -> None:
        """Revokes an unused enrolment (admin)."""
        self.request("DELETE", f"/clusters/{_cluster_segment(cluster)}/enrollments/{int(enrollment_id)}")

    # -- pools and clusters ------------------------------------------------------------------

    def pools(self) -> list[dict[str, Any]]:
        return _objects(self.request("GET", "/pools"))

    def create_pool(self, name: str) -> dict[str, Any]:
        return _object(self.request("POST", "/pools", json_body={"name": name}))

    def pool(self, pool: PoolRef) -> dict[str, Any]:
        """One pool, by id or name."""
        return _object(self.request("GET", f"/pools/{_pool_ref(pool)}"))

    def delete_pool(self, pool: PoolRef, force: bool = False) -> None:
        """Deletes a pool, by id or name (global admin). A pool with clusters is a
        :class:`ConflictError` naming them and how many agents are enrolled, unless ``force``:
        then its clusters go too and their agents' tokens are revoked (the agents exit, HAProxy
        keeps serving on the nodes)."""
        self.request("DELETE", f"/pools/{_pool_ref(pool)}", query={"force": "true" if force else None})

    def clusters(self, pool_id: Optional[int] = None) -> list[dict[str, Any]]:
        return _objects(self.request("GET", "/clusters", query={"pool_id": pool_id}))

    def create_cluster(self, name: str, pool_id: int, settings: Optional[Mapping[str, Any]] = None) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name, "pool_id": int(pool_id)}
        if settings is not None:
            body["settings"] = dict(settings)
        return _object(self.request("POST", "/clusters", json_body=body))

    def _cluster_id(self, cluster: ClusterRef) -> int:
        """A cluster's numeric id (a name is looked up), for bodies and queries."""
        segment = _cluster_segment(cluster)
        if isinstance(segment, int):
            return segment
        return int(self.cluster(cluster)["id"])

    def cluster(self, cluster: ClusterRef) -> dict[str, Any]:
        return _object(self.request("GET", f"/clusters/{_cluster_segment(cluster)}"))

    def delete_cluster(self, cluster: ClusterRef, force: bool = False) -> None:
        """Deletes a cluster with all its versions and everything of it (admin). While agents are
        enrolled it is a :class:`ConflictError` naming how many, unless ``force``: then their
        tokens are revoked (their next call answers 410 Gone; they exit, HAProxy keeps
        serving)."""
        self.request("DELETE", f"/clusters/{_cluster_segment(cluster)}", query={"force": "true" if force else None})

    def update_cluster_settings(self, cluster: ClusterRef, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Replaces the cluster's settings (``config_path``, ``reload_mode``, ``allowed_privileges``;
        an absent key takes its default) and returns the cluster. Changing ``allowed_privileges``
        (the privileged directives admins may add, e.g. ``["program", "lua"]``) needs the admin
        role (else :class:`PermissionDeniedError`)."""
        return _object(self.request("PUT", f"/clusters/{_cluster_segment(cluster)}/settings", json_body=dict(settings)))

    # -- configuration and versions ----------------------------------------------------------

    def import_config(self, cluster: ClusterRef, text: str, message: str = "") -> dict[str, Any]:
        """Imports ``text`` byte for byte as the next version: ``{version, sha256, parent, warnings}``."""
        return _object(self.request("POST", f"/clusters/{_cluster_segment(cluster)}/import", query={"message": message}, text=text))

    def config(self, cluster: ClusterRef, version: Optional[int] = None) -> str:
        """The text of the latest version, or of ``version``."""
        return str(self.request("GET", f"/clusters/{_cluster_segment(cluster)}/config", query={"version": version}, raw=True))

    def replace_config(self, cluster: ClusterRef, text: str, version: int, message: str = "") -> dict[str, Any]:
        """Replaces the whole text; ``version`` must be the latest (else :class:`ConflictError`)."""
        query = {"version": version, "message": message}
        return _object(self.request("PUT", f"/clusters/{_cluster_segment(cluster)}/config", query=query, text=text))

    def versions(self, cluster: ClusterRef) -> list[dict[str, Any]]:
        """Every version, oldest first, without texts."""
        return _objects(self.request("GET", f"/clusters/{_cluster_segment(cluster)}/versions"))

    def latest_version(self, cluster: ClusterRef) -> int:
        """The latest version's number (0 for a cluster without versions)."""
        return max((int(v["number"]) for v in self.versions(cluster)), default=0)

    def version(self, cluster: ClusterRef, number: int) -> dict[str, Any]:
        """One version, with its text."""
        return _object(self.request("GET", f"/clusters/{_cluster_segment(cluster)}/versions/{int(number)}"))

    def diff(self, cluster: ClusterRef, version: int, against: Optional[int] = None) -> dict[str, Any]:
        """What changed from ``against`` (default ``version - 1``) to ``version``: ``{unified, summary}``."""
        path = f"/clusters/{_cluster_segment(cluster)}/versions/{int(version)}/diff"
        return _object(self.request("GET", path, query={"against": against}))

    def restore(self, cluster: ClusterRef, version: int, message: str = "") -> dict[str, Any]:
        """A new version carrying ``version``'s text."""
        path = f"/clusters/{_cluster_segment(cluster)}/versions/{int(version)}/restore"
        return _object(self.request("POST", path, query={"message": message}))

    def apply(
        self, cluster: ClusterRef, version: int, strategy: Union[str, Mapping[str, Any], None] = None, wait: Optional[int] = None
    ) -> dict[str, Any]:
        """Sets the version the cluster's agents should run and returns its rollout:
        ``{desired_version, sha256, rollout_id, state, stages, agents: [{name, outcome, ...}]}``.
        ``strategy``: ``"all"`` (the default: every agent at once) or stages, e.g.
        ``{"canary": {"agents": 1}, "batches": {"percent": 50, "pause_seconds": 30},
        "max_failures": 0, "soak_seconds": 60, "min_server_up_ratio": 0.9, "on_failure":
        "rollback"}`` (a bad field is a :class:`ValidationError` naming it). ``wait`` (seconds, at
        most 3600) answers once the rollout ended (``succeeded``, ``halted``, ``rolled_back``,
        ``aborted``) or the wait passed."""
        body: dict[str, Any] = {"version": int(version)}
        if strategy is not None:
            body["strategy"] = strategy
        path = f"/clusters/{_cluster_segment(cluster)}/apply"
        timeout = None if wait is None else max(self.timeout, float(wait) + 30.0)
        return _object(self.request("POST", path, query={"wait": wait}, json_body=body, timeout=timeout))

    def rollouts(self, cluster: ClusterRef, limit: Optional[int] = None) -> list[dict[str, Any]]:
        """The cluster's rollouts (one per apply), newest first (``limit`` 1..100, default 20)."""
        return _objects(self.request("GET", f"/clusters/{_cluster_segment(cluster)}/rollouts", query={"limit": limit}))

    def rollout(self, cluster: ClusterRef, rollout_id: int) -> dict[str, Any]:
        """One rollout: ``state`` (``running``, ``paused``, ``succeeded``, ``halted``,
        ``rolled_back``, ``aborted``), ``reason``, ``stages`` (``name``, ``state``, ``agents``) and
        ``agents`` (``name``, ``stage``, ``outcome``: ``pending``, ``applying``, ``applied``,
        ``applied_runtime``, ``rejected``, ``reload_failed``, ``node_error``,
        ``refused_by_node_policy``, ``unreachable``, ``unhealthy``, ``rolled_back``, ``removed``)."""
        return _object(self.request("GET", f"/clusters/{_cluster_segment(cluster)}/rollouts/{int(rollout_id)}"))

    def pause_rollout(self, cluster: ClusterRef, rollout_id: int) -> dict[str, Any]:
        """Pauses a running rollout (:class:`ConflictError` otherwise); returns it."""
        return _object(self.request("POST", f"/clusters/{_cluster_segment(cluster)}/rollouts/{int(rollout_id)}/pause"))

    def resume_rollout(self, cluster: ClusterRef, rollout_id: int) -> dict[str, Any]:
        """Resumes a paused rollout (:class:`ConflictError` otherwise); returns it."""
        return _object(self.request("POST", f"/clusters/{_cluster_segment(cluster)}/rollouts/{int(rollout_id)}/resume"))

    def abort_rollout(self, cluster: ClusterRef, rollout_id: int) -> dict[str, Any]:
        """Aborts a running or paused rollout where it stands; returns it."""
        return _object(self.request("POST", f"/clusters/{_cluster_segment(cluster)}/rollouts/{int(rollout_id)}/abort"))

    def wait_rollout(self, cluster: ClusterRef, rollout: Mapping[str, Any], timeout: float = 60.0) -> dict[str, Any]:
        """Reads ``rollout`` until it ended or ``timeout`` seconds passed; returns it as it is then."""
        deadline = time.monotonic() + timeout
        while True:
            current = self.rollout(cluster, int(rollout["rollout_id"]))
            if current.get("state") not in ("running", "paused") or time.monotonic() >= deadline:
                return current
            time.sleep(0.1)

    def status(self, cluster: ClusterRef) -> dict[str, Any]:
        """The cluster's agents and what each applied: ``{desired_version, agents, vips}``; each
        agent has ``state`` (``"online"`` or ``"offline"``: no heartbeat within 3 of its
        heartbeat intervals), ``last_seen_at`` (RFC 3339, UTC), ``heartbeat_ms`` and ``drift``
        (``None`` or ``{files: [{path, diff}], since}``: managed files that differ on the node
        from what its agent applied)."""
        return _object(self.request("GET", f"/clusters/{_cluster_segment(cluster)}/status"))

    def offline_agents(self, cluster: ClusterRef) -> list[dict[str, Any]]:
        """The cluster's agents whose state is ``"offline"``."""
        return [a for a in self.status(cluster).get("agents", []) if a.get("state") == "offline"]

    def drifted_agents(self, cluster: ClusterRef) -> list[dict[str, Any]]:
        """The cluster's agents with drift (``agent["drift"]["files"]`` holds each file's diff)."""
        return [a for a in self.status(cluster).get("agents", []) if a.get("drift")]

    def stats(
        self,
        cluster: ClusterRef,
        *,
        from_: Union[str, int, None] = None,
        to: Union[str, int, None] = None,
        step: Optional[int] = None,
        proxy: Optional[str] = None,
        server: Optional[str] = None,
    ) -> dict[str, Any]:
        """The cluster's stats history, aligned: ``{tier, from, to, step_seconds, timestamps,
        series}``. ``from_``/``to`` are RFC 3339 texts (``"2026-12-01T10:00:00Z"``) or Unix
        milliseconds (default: the last hour); ``step`` in seconds (rounded up to 10 s on the raw
        tier, 300 s on the 5 min rollup tier used beyond 24 h). ``timestamps`` are each step's
        start in Unix ms; each series (``agent``, ``proxy``, ``server`` = ``FRONTEND`` /
        ``BACKEND`` / a server name, ``kind``, ``status``, ``check_status``) has one value (or
        ``None``) per step in ``session_rate``, ``request_rate``, ``bytes_in_rate``,
        ``bytes_out_rate``, ``hrsp_4xx_rate``, ``hrsp_5xx_rate`` (per second), ``scur``,
        ``qcur``, ``rtime_ms`` and ``up_ratio`` (0..1). Raises :class:`ValidationError` for an
        empty window or more than 10,000 steps."""
        query = {"from": from_, "to": to, "step": step, "proxy": proxy, "server": server}
        return _object(self.request("GET", f"/clusters/{_cluster_segment(cluster)}/stats", query=query))

    def set_drift_policy(self, cluster: ClusterRef, policy: str) -> dict[str, Any]:
        """Sets the cluster's ``drift`` setting, keeping its other settings: ``"report"`` (the
        node keeps a hand-edited file; the drift is reported and audited) or ``"enforce"`` (the
        agent restores the applied file, reloads, and the restore is audited). Returns the
        cluster. Agents follow it at their next heartbeat."""
        if policy not in ("report", "enforce"):
            raise ValueError(f"drift policy must be 'report' or 'enforce', not {policy!r}")
        settings = dict(self.cluster(cluster).get("settings") or {})
        settings["drift"] = policy
        return self.update_cluster_settings(cluster, settings)

    def create_enrollment(self, cluster: ClusterRef, name: str) -> dict[str, Any]:
        """A one-time enrolment secret for an agent: ``{secret, install_command, install_script, ...}``.

        ``install_script`` is ``{url, sha256, command}`` (the one-line install from the server's
        ``/install/agent.sh``), ``None`` when the server hands out no agent binary."""
        return _object(self.request("POST", f"/clusters/{_cluster_segment(cluster)}/enrollments", json_body={"name": name}))

    # -- runtime actions (HAProxy's runtime API on every node, no reload) -----------------------

    def queue_runtime_action(
        self, cluster: ClusterRef, backend: str, server: str, action: str, value: Optional[int] = None
    ) -> dict[str, Any]:
        """Queues ``action`` (``"drain"``, ``"ready"``, ``"maint"`` or ``"weight"`` with ``value``
        0..256) on server ``backend``/``server`` for every agent of the cluster, which runs it on
        its HAProxy's runtime API (no reload, the configuration is unchanged). Returns the action
        ``{id, cluster_id, backend, server, action, value, author, created_at, results: []}``.
        Needs the operator role (in the cluster's pool). Raises :class:`ValidationError` for an
        unknown action, a weight out of range or a name HAProxy would not accept."""
        body: dict[str, Any] = {"backend": backend, "server": server, "action": action}
        if value is not None:
            body["value"] = value
        return _object(self.request("POST", f"/clusters/{_cluster_segment(cluster)}/runtime", json_body=body))

    def runtime_action(self, cluster: ClusterRef, action_id: int) -> dict[str, Any]:
        """Runtime action ``action_id`` with every agent's result so far: ``results`` holds
        ``{agent_id, agent, ok, output, at}`` (``ok`` false when HAProxy refused the command,
        ``output`` its answer; ``at`` in Unix ms). Raises :class:`NotFoundError` for an action
        of another cluster."""
        return _object(self.request("GET", f"/clusters/{_cluster_segment(cluster)}/runtime/{int(action_id)}"))

    def wait_runtime_action(self, cluster: ClusterRef, action: Mapping[str, Any], timeout: float = 30.0) -> dict[str, Any]:
        """Polls ``action`` (as :meth:`queue_runtime_action` returned it) until every agent of
        the cluster that is online has answered, or ``timeout`` seconds have passed (as ``fleet
        drain`` waits); returns it with the results it has then. Offline agents run it when they
        come back and are not waited for."""
        online = {a["id"] for a in self.agents(cluster) if a.get("state") == "online"}
        deadline = time.monotonic() + timeout
        while True:
            current = self.runtime_action(cluster, int(action["id"]))
            answered = {r["agent_id"] for r in current.get("results", [])}
            if online <= answered or time.monotonic() >= deadline:
                return current
            time.sleep(0.2)

    def drain(self, cluster: ClusterRef, backend: str, server: str, wait: Optional[float] = None) -> dict[str, Any]:
        """Drains ``backend``/``server`` on every node (``set server ... state drain``: no new
        sessions, existing ones finish). With ``wait`` (seconds), waits for the online agents'
        results (:meth:`wait_runtime_action`). Returns the action."""
        return self._runtime(cluster, backend, server, "drain", None, wait)

    def ready(self, cluster: ClusterRef, backend: str, server: str, wait: Optional[float] = None) -> dict[str, Any]:
        """Puts ``backend``/``server`` back in service on every node (``state ready``); ``wait``
        as in :meth:`drain`."""
        return self._runtime(cluster, backend, server, "ready", None, wait)

    def maint(self, cluster: ClusterRef, backend: str, server: str, wait: Optional[float] = None) -> dict[str, Any]:
        """Puts ``backend``/``server`` in maintenance on every node (``state maint``: no
        traffic, health checks stop); ``wait`` as in :meth:`drain`."""
        return self._runtime(cluster, backend, server, "maint", None, wait)

    def set_weight(self, cluster: ClusterRef, backend: str, server: str, weight: int, wait: Optional[float] = None) -> dict[str, Any]:
        """Sets the weight of ``backend``/``server`` on every node (``set server ... weight``,
        0..256; the configuration's weight is unchanged); ``wait`` as in :meth:`drain`."""
        return self._runtime(cluster, backend, server, "weight", weight, wait)

    def _runtime(
        self, cluster: ClusterRef, backend: str, server: str, action: str, value: Optional[int], wait: Optional[float]
    ) -> dict[str, Any]:
        queued = self.queue_runtime_action(cluster, backend, server, action, value)
        return queued if wait is None else self.wait_runtime_action(cluster, queued, wait)

    # -- remote jobs and snapshots -----------------------------------------------------------

    def create_job(
        self,
        cluster: ClusterRef,
        kind: str,
        *,
        agents: Optional[Sequence[str]] = None,
        timeout: Optional[int] = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Queues a job of ``kind`` (``"validate"``, ``"reload"``, ``"restart"``,
        ``"snapshot"``, ``"restore"`` with ``snapshot=ID``, ``"diagnostics"``,
        ``"install-haproxy"`` with an optional ``version=...``) for the cluster's agents (all,
        or those named in ``agents``), each run killed after ``timeout`` seconds (default 120,
        install-haproxy 900; 1..3600). Waiting agents take it within milliseconds. Returns the
        job ``{id, kind, ..., timeout_ms, author, created_at, status, runs: [{agent, agent_id,
        status, output, exit_code, duration_ms, started_at, finished_at}]}``. Needs the operator
        role. Raises :class:`ValidationError` for an unknown kind or field, a bad timeout, an
        unknown agent or a cluster without agents; :class:`NotFoundError` for a snapshot of
        another cluster."""
        body: dict[str, Any] = {"kind": kind, **fields}
        if agents is not None:
            body["agents"] = list(agents)
        if timeout is not None:
            body["timeout"] = int(timeout)
        return _object(self.request("POST", f"/clusters/{_cluster_segment(cluster)}/jobs", json_body=body))

    def job(self, cluster: ClusterRef, job_id: int) -> dict[str, Any]:
        """Job ``job_id`` with every agent's run (``status`` one of ``queued``, ``running``,
        ``succeeded``, ``failed``, ``cancelled``, ``timed_out``; ``output`` at most 64 KiB, a
        cut marked)."""
        return _object(self.request("GET", f"/clusters/{_cluster_segment(cluster)}/jobs/{int(job_id)}"))

    def jobs(self, cluster: ClusterRef, limit: Optional[int] = None) -> list[dict[str, Any]]:
        """The cluster's jobs, newest first (``limit`` 1..500, default 50)."""
        return _objects(self.request("GET", f"/clusters/{_cluster_segment(cluster)}/jobs", query={"limit": limit}))

    def cancel_job(self, cluster: ClusterRef, job_id: int) -> dict[str, Any]:
        """Cancels job ``job_id``: runs not yet taken end at once, running ones are stopped by
        their agents (the whole process group) and reported ``cancelled``. Returns the job."""
        return _object(self.request("POST", f"/clusters/{_cluster_segment(cluster)}/jobs/{int(job_id)}/cancel"))

    def wait_job(self, cluster: ClusterRef, job: Mapping[str, Any], timeout: float = 60.0) -> dict[str, Any]:
        """Polls ``job`` until every run ended or ``timeout`` seconds passed; returns the job as
        it is then."""
        deadline = time.monotonic() + timeout
        while True:
            current = self.job(cluster, int(job["id"]))
            if all(r.get("status") not in ("queued", "running") for r in current.get("runs", [])):
                return current
            if time.monotonic() >= deadline:
                return current
            time.sleep(0.05)

    def snapshots(self, cluster: ClusterRef, agent: Optional[str] = None) -> list[dict[str, Any]]:
        """The cluster's snapshots (``snapshot`` jobs' uploads), newest first, only ``agent``'s
        when given: ``{id, agent, agent_id, job_id, digest, size, created_at, files}``."""
        return _objects(self.request("GET", f"/clusters/{_cluster_segment(cluster)}/snapshots", query={"agent": agent}))

    def snapshot(self, cluster: ClusterRef, snapshot_id: int) -> dict[str, Any]:
        """Snapshot ``snapshot_id`` with its file listing (no contents)."""
        return _object(self.request("GET", f"/clusters/{_cluster_segment(cluster)}/snapshots/{int(snapshot_id)}"))

    def snapshot_diff(self, cluster: ClusterRef, snapshot_id: int) -> dict[str, Any]:
        """How the snapshot differs from the cluster's desired version, as a version diff:
        ``{unified, summary, privileged, files}``."""
        return _object(self.request("GET", f"/clusters/{_cluster_segment(cluster)}/snapshots/{int(snapshot_id)}/diff"))

    def promote_snapshot(self, cluster: ClusterRef, snapshot_id: int, message: str = "") -> dict[str, Any]:
        """Makes the snapshot the cluster's next version through the gate of an import;
        returns ``{version, sha256, digest, parent, warnings}``. Apply it to roll it out."""
        query = {"message": message or None}
        return _object(
            self.request("POST", f"/clusters/{_cluster_segment(cluster)}/snapshots/{int(snapshot_id)}/promote", query=query)
        )

    def restore_snapshot(
        self, cluster: ClusterRef, snapshot_id: int, agents: Sequence[str], wait: Optional[float] = None
    ) -> dict[str, Any]:
        """Restores snapshot ``snapshot_id`` (of any agent of the cluster) onto ``agents``: a
        ``restore`` job each applies through its validated pipeline (``haproxy -c``, atomic
        switch, reload, rollback on failure). With ``wait`` (seconds), waits for the runs."""
        job = self.create_job(cluster, "restore", agents=agents, snapshot=int(snapshot_id))
        return job if wait is None else self.wait_job(cluster, job, wait)

    # -- bundle files ------------------------------------------------------------------------

    def files(
        self, cluster: ClusterRef, *, version: Optional[int] = None, transaction_id: Optional[int] = None
    ) -> dict[str, Any]:
        """The files of the latest version (or ``version``, or what open transaction
        ``transaction_id`` would commit), configs first: ``{version, digest, files: [{path,
        kind, mode, size, sha256, private_key}]}``."""
        query = {"version": version, "transaction_id": transaction_id}
        return _object(self.request("GET", f"/clusters/{_cluster_segment(cluster)}/files", query=query))

    def file(
        self, cluster: ClusterRef, path: str, *, version: Optional[int] = None, transaction_id: Optional[int] = None
    ) -> bytes:
        """One file's bytes (``path`` relative to the managed directory, e.g. ``maps/hosts.map``).
        A file holding a private key raises :class:`PermissionDeniedError`: only agents get it."""
        query = {"version": version, "transaction_id": transaction_id}
        return bytes(self.request("GET", _file_path(cluster, path), query=query, binary=True))

    def put_file(
        self,
        cluster: ClusterRef,
        path: str,
        content: Union[bytes, str],
        *,
        version: Optional[int] = None,
        transaction_id: Optional[int] = None,
        kind: Optional[str] = None,
        mode: Optional[int] = None,
        message: str = "",
    ) -> dict[str, Any]:
        """Adds or replaces one file: a new version on base ``version`` (must be the latest, else
        :class:`ConflictError`; the answer is ``{version, digest, warnings ...}``), or staged in
        open transaction ``transaction_id`` (the answer is the transaction). ``kind`` is one of
        ``config``, ``certificate``, ``crt-list``, ``map``, ``acl``, ``errorfile``, ``lua``,
        ``other`` (guessed from the name when absent); ``mode`` is permission bits (``0o600``).
        A bundle the gate refuses (e.g. a config naming a missing file) raises
        :class:`ValidationError`."""
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        query = {
            "version": version,
            "transaction_id": transaction_id,
            "kind": kind,
            "mode": None if mode is None else format(mode, "o"),
            "message": message if transaction_id is None else None,
        }
        return _object(self.request("PUT", _file_path(cluster, path), query=query, body=data))

    def delete_file(
        self,
        cluster: ClusterRef,
        path: str,
        *,
        version: Optional[int] = None,
        transaction_id: Optional[int] = None,
        message: str = "",
    ) -> dict[str, Any]:
        """Removes one file: a new version on base ``version``, or staged in ``transaction_id``
        (as :meth:`put_file`). A missing file raises :class:`NotFoundError`."""
        query = {"version": version, "transaction_id": transaction_id, "message": message if transaction_id is None else None}
        return _object(self.request("DELETE", _file_path(cluster, path), query=query))

    def bundle(self, cluster: ClusterRef, version: Optional[int] = None) -> bytes:
        """The files of the latest version (or ``version``) as a tar archive (``tar -x`` gives the
        managed tree back). Files holding a private key are left out."""
        return bytes(self.request("GET", f"/clusters/{_cluster_segment(cluster)}/bundle", query={"version": version}, binary=True))

    def import_bundle(
        self, cluster: ClusterRef, archive: bytes, configs: Optional[Sequence[str]] = None, message: str = ""
    ) -> dict[str, Any]:
        """Imports a tar archive of a managed directory (``tar -C /etc/haproxy -cf - .``) as the
        next version. ``configs`` are the config files in load order (a folder such as ``conf.d``
        means its ``*.cfg`` files by name; default: the cluster's config file). Files get their
        kind from how the configs use them (``crt``, ``map_str()``, ``-f``, ``errorfile``,
        ``lua-load``, ``crt-list``), else from their names. Paths leaving the tree raise
        :class:`ValidationError`, as does a config naming a file that is not there."""
        query = {"configs": None if configs is None else ",".join(configs), "message": message}
        path = f"/clusters/{_cluster_segment(cluster)}/import"
        return _object(self.request("POST", path, query=query, body=bytes(archive), content_type="application/x-tar"))

    # -- certificate renewal -----------------------------------------------------------------

    def renewals(self) -> list[dict[str, Any]]:
        """Every ACME certificate the server keeps renewed, soonest first: ``certificate_id``,
        ``names``, ``plan`` (``renew_at_ms``, ``window``, ``source``: ``ari`` or ``lifetime``),
        ``next_attempt_ms``, ``due``, ``failures``, ``retry_at_ms``, ``last_error`` (times Unix ms)."""
        return _objects(self.request("GET", "/acme/renewals"))

    def certificate_renewal(self, certificate_id: int) -> dict[str, Any]:
        """The renewal of one certificate (same shape); FleetError 404 when it is not kept renewed."""
        return _object(self.request("GET", f"/certificates/{int(certificate_id)}/renewal"))

    # -- certificate store -------------------------------------------------------------------

    def certificates(self) -> list[dict[str, Any]]:
        """Every stored certificate the caller may read, by name: ``[{id, name, cluster_id,
        revision, subject, issuer, serial, sans, not_before, not_after, key_type, key_bits,
        fingerprint_sha256, fingerprint_sha1, chain, ...}]`` (times in Unix ms). Never a key."""
        return _objects(self.request("GET", "/certificates"))

    def certificate(self, certificate_id: int) -> dict[str, Any]:
        """One stored certificate (as listed by :meth:`certificates`)."""
        return _object(self.request("GET", f"/certificates/{int(certificate_id)}"))

    def create_certificate(
        self,
        name: str,
        certificate: str,
        private_key: Optional[str] = None,
        *,
        chain: Optional[str] = None,
        cluster: Optional[ClusterRef] = None,
        allow_expired: bool = False,
    ) -> dict[str, Any]:
        """Uploads a certificate (PEM; ``certificate`` may hold the chain and even the key, as
        HAProxy's combined file). Bound to ``cluster`` when given, else global. A key that does
        not match, a chain in the wrong order or not linking, an expired certificate (without
        ``allow_expired``) or garbage raises :class:`ValidationError` and stores nothing; a
        taken name raises :class:`ConflictError`."""
        body: dict[str, Any] = {"name": name, "certificate": certificate, "allow_expired": allow_expired}
        if private_key is not None:
            body["private_key"] = private_key
        if chain is not None:
            body["chain"] = chain
        if cluster is not None:
            body["cluster_id"] = self._cluster_id(cluster)
        return _object(self.request("POST", "/certificates", json_body=body))

    def replace_certificate(
        self,
        certificate_id: int,
        certificate: str,
        private_key: Optional[str] = None,
        *,
        chain: Optional[str] = None,
        allow_expired: bool = False,
    ) -> dict[str, Any]:
        """Replaces a certificate with a new revision (checked like an upload; without a key the
        stored key is kept) and writes it into every cluster using it: the answer is the new
        record plus ``rollouts: [{cluster_id, path, version, error}]``, one new version each."""
        body: dict[str, Any] = {"certificate": certificate, "allow_expired": allow_expired}
        if private_key is not None:
            body["private_key"] = private_key
        if chain is not None:
            body["chain"] = chain
        return _object(self.request("PUT", f"/certificates/{int(certificate_id)}", json_body=body))

    def delete_certificate(self, certificate_id: int) -> None:
        """Deletes a certificate and its key; :class:`ConflictError` while it is deployed."""
        self.request("DELETE", f"/certificates/{int(certificate_id)}")

    def deploy_certificate(
        self,
        certificate_id: int,
        cluster: ClusterRef,
        path: Optional[str] = None,
        *,
        crt_list: Optional[str] = None,
        crt_list_options: str = "",
    ) -> dict[str, Any]:
        """Places the certificate into the cluster's bundle as HAProxy's combined file
        (certificate, chain, key) at ``path`` (default ``certs/<name>.pem``), and with
        ``crt_list`` sets its line (``<file> <crt_list_options>``) in that crt-list file: one
        new version, ``{cluster_id, path, crt_list, version, revision}``."""
        body: dict[str, Any] = {"cluster_id": self._cluster_id(cluster)}
        if path is not None:
            body["path"] = path
        if crt_list is not None:
            body["crt_list"] = {"path": crt_list, "options": crt_list_options}
        return _object(self.request("POST", f"/certificates/{int(certificate_id)}/deploy", json_body=body))

    def undeploy_certificate(self, certificate_id: int, cluster: ClusterRef, path: str) -> dict[str, Any]:
        """Removes the certificate (and its crt-list line) from the cluster's bundle: one new
        version."""
        body = {"cluster_id": self._cluster_id(cluster), "path": path}
        return _object(self.request("POST", f"/certificates/{int(certificate_id)}/undeploy", json_body=body))

    def certificate_status(self, certificate_id: int) -> dict[str, Any]:
        """Expiry and rollout: ``{certificate, days_left, warning_days, warning, deployments:
        [{cluster_id, path, version, revision, current, nodes: [{agent, filename, sha1, current,
        ...}]}]}``; a node whose ``current`` is false serves another certificate."""
        return _object(self.request("GET", f"/certificates/{int(certificate_id)}/status"))

    # -- alerts --------------------------------------------------------------------------------

    def alert_rules(self) -> list[dict[str, Any]]:
        """Every alert rule, by name."""
        return _objects(self.request("GET", "/alerts/rules"))

    def create_alert_rule(self, rule: Mapping[str, Any]) -> dict[str, Any]:
        """Creates an alert rule (admin): ``{"name", "condition": {"kind": "agent_offline" |
        "apply_failed" | "drift" | "backend_down" | "server_down" | "certificate_expiring" (with "days") |
        "vip_moved" | "dns_failover"}, "cluster_id", "for_seconds", "channels": [{"type":
        "webhook" | "slack", "url"} | {"type": "email", "to": [...]}], "enabled"}``."""
        return _object(self.request("POST", "/alerts/rules", json_body=dict(rule)))

    def alert_rule(self, rule_id: int) -> dict[str, Any]:
        return _object(self.request("GET", f"/alerts/rules/{int(rule_id)}"))

    def update_alert_rule(self, rule_id: int, rule: Mapping[str, Any]) -> dict[str, Any]:
        """Replaces an alert rule (admin)."""
        return _object(self.request("PUT", f"/alerts/rules/{int(rule_id)}", json_body=dict(rule)))

    def delete_alert_rule(self, rule_id: int) -> None:
        """Deletes an alert rule and its alerts (admin)."""
        self.request("DELETE", f"/alerts/rules/{int(rule_id)}")

    def silence_alert_rule(self, rule_id: int, seconds: int) -> dict[str, Any]:
        """Holds a rule's notifications back for ``seconds`` (0 lifts the silence)."""
        return _object(self.request("POST", f"/alerts/rules/{int(rule_id)}/silence", json_body={"seconds": int(seconds)}))

    def alerts(self, state: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Alerts, newest first; ``state``: ``open``, ``pending``, ``firing``, ``resolved``,
        ``event`` or ``None`` for all."""
        query: dict[str, Any] = {"limit": int(limit)}
        if state is not None:
            query["state"] = state
        return _objects(self.request("GET", "/alerts", query=query))

    # -- schedules -----------------------------------------------------------------------------

    def schedules(self) -> list[dict[str, Any]]:
        """Every schedule the caller may read, by name, each with its ``next_run_at`` (RFC
        3339, ``None`` while disabled)."""
        return _objects(self.request("GET", "/schedules"))

    def create_schedule(self, schedule: Mapping[str, Any]) -> dict[str, Any]:
        """Creates a schedule: ``{"name", "cron": "*/5 * * * *", "timezone": "Europe/Paris",
        "target": {"type": "job", "cluster_id", "job": {"kind": "diagnostics"}} | {"type":
        "server_backup", "destination", "retention"}, "missed":
        "skip" | "run_once", "concurrency": "forbid" | "allow", "enabled"}``. A job schedule needs
        the operator role in the cluster's pool, a server backup a global admin. A bad ``cron``
        or ``timezone`` raises a 422
        naming the field."""
        return _object(self.request("POST", "/schedules", json_body=dict(schedule)))

    def schedule_job(self, name: str, cluster: ClusterRef, cron: str, job: Mapping[str, Any],
                     timezone: str = "UTC", missed: str = "skip", concurrency: str = "forbid",
                     enabled: bool = True) -> dict[str, Any]:
        """Creates a schedule running ``job`` (``{"kind": "diagnostics"}`` ...) on ``cluster``
        at the times of ``cron`` read in ``timezone``."""
        target = {"type": "job", "cluster_id": self._cluster_id(cluster), "job": dict(job)}
        return self.create_schedule({"name": name, "cron": cron, "timezone": timezone, "target": target,
                                     "missed": missed, "concurrency": concurrency, "enabled": enabled})

    def schedule_server_backup(self, name: str, cron: str, destination: str, retention: int = 7,
                               timezone: str = "UTC", missed: str = "skip", enabled: bool = True) -> dict[str, Any]:
        """Creates a schedule backing the whole server up (global admin) to ``destination`` (an
        absolute folder of the server or ``s3://BUCKET/PREFIX``), the newest ``retention``
        backups kept there; each run's ``created`` says where (``{"location", "bytes",
        "pruned"}``)."""
        target = {"type": "server_backup", "destination": destination, "retention": int(retention)}
        return self.create_schedule({"name": name, "cron": cron, "timezone": timezone, "target": target,
                                     "missed": missed, "enabled": enabled})

    def schedule(self, schedule_id: int) -> dict[str, Any]:
        return _object(self.request("GET", f"/schedules/{int(schedule_id)}"))

    def update_schedule(self, schedule_id: int, schedule: Mapping[str, Any]) -> dict[str, Any]:
        """Replaces a schedule; its next run time counts from now, its history stays."""
        return _object(self.request("PUT", f"/schedules/{int(schedule_id)}", json_body=dict(schedule)))

    def set_schedule_enabled(self, schedule_id: int, enabled: bool) -> dict[str, Any]:
        """Enables or disables a schedule (its definition sent back with ``enabled`` changed)."""
        current = self.schedule(schedule_id)
        body = {k: v for k, v in current.items() if k not in ("id", "next_run_at", "created_by", "created_at", "updated_at")}
        body["enabled"] = bool(enabled)
        return self.update_schedule(schedule_id, body)

    def delete_schedule(self, schedule_id: int) -> None:
        """Deletes a schedule and its history (a job it started goes on)."""
        self.request("DELETE", f"/schedules/{int(schedule_id)}")

    def schedule_runs(self, schedule_id: int, limit: int = 100) -> list[dict[str, Any]]:
        """A schedule's runs, newest run time first: ``{"scheduled_for", "started_at",
        "finished_at", "outcome": "running" | "succeeded" | "failed" | "skipped" | "missed",
        "catch_up", "created": {"job_id"} | None, "detail", "replica"}``."""
        return _objects(self.request("GET", f"/schedules/{int(schedule_id)}/runs", query={"limit": int(limit)}))

    def preview_schedule(self, cron: str, timezone: str = "UTC", count: int = 5) -> dict[str, Any]:
        """The next ``count`` run times of ``cron`` in ``timezone`` from now, nothing stored:
        ``{"cron", "timezone", "runs": [RFC 3339 UTC], "local": [wall time with offset]}``."""
        return _object(self.request("GET", "/schedules/preview", query={"cron": cron, "timezone": timezone, "count": int(count)}))

    def audit(self, cluster: Optional[ClusterRef] = None, actor: Optional[str] = None,
              action: Optional[str] = None, limit: int = 100) -> list[dict[str, Any]]:
        """Audit entries, newest first (operators and admins): only ``cluster``'s, only
        ``actor``'s (a username, ``agent:<name>``, ``system``), only actions starting with
        ``action`` (``"version."``) when given; at most ``limit`` (1 to 1,000)."""
        query: dict[str, Any] = {"limit": int(limit)}
        if cluster is not None:
            query["cluster_id"] = self._cluster_id(cluster)
        if actor is not None:
            query["actor"] = actor
        if action is not None:
            query["action"] = action
        return _objects(self.request("GET", "/audit", query=query))

    def events(self, cluster: Optional[ClusterRef] = None, kinds: Sequence[str] = ("audit", "alert"),
               timeout: Optional[float] = None) -> Iterator[dict[str, Any]]:
        """Follows the fleet's event stream (server-sent events): yields each event
        ``{"kind": "audit"|"alert", "at", "cluster_id", "data"}`` as it happens, only
        ``cluster``'s (and fleet-wide ones) when given. ``timeout`` (seconds) bounds the wait for
        each event (``socket.timeout`` after it); ``None`` waits as long as the stream lives.
        A ``{"kind": "lagged", "missed": N}`` is yielded when this reader fell behind."""
        query: dict[str, Any] = {"kinds": ",".join(kinds)}
        if cluster is not None:
            query["cluster_id"] = self._cluster_id(cluster)
        url = f"{self.url}/api/v1/events?" + urllib.parse.urlencode(query)
        headers = {"Accept": "text/event-stream"}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(url, method="GET", headers=headers)
        try:
            response = urllib.request.urlopen(req, timeout=timeout, context=self._tls)
        except urllib.error.HTTPError as e:
            raise _error_from(e.code, e.read()) from None
        with response:
            name, data = "message", []
            for raw in response:
                line = raw.decode("utf-8").rstrip("\r\n")
                if line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip(" "))
                elif line == "" and data:
                    text = "\n".join(data)
                    yield {"kind": "lagged", "missed": int(text)} if name == "lagged" else json.loads(text)
                    name, data = "message", []

    # -- DNS providers (ACME DNS-01, DNS failover) ---------------------------------------------

    def vips(self, cluster: ClusterRef) -> list[dict[str, Any]]:
        """The cluster's VRRP groups (virtual IPs), by name; secrets are never returned."""
        return _objects(self.request("GET", f"/clusters/{_cluster_segment(cluster)}/vips"))

    def create_vip(
        self,
        cluster: ClusterRef,
        name: str,
        addresses: Sequence[str],
        vrid: int,
        interface: str,
        nodes: Sequence[Mapping[str, Any]],
        *,
        advert_interval: float = 1.0,
        version: Optional[int] = None,
        preempt: bool = True,
        track_haproxy: bool = True,
        unicast: bool = False,
        auth_secret: Optional[str] = None,
        apply: bool = True,
    ) -> dict[str, Any]:
        """A VRRP group: ``addresses`` like ``"198.18.0.50/24"``, ``nodes`` like
        ``[{"agent": "lb1", "priority": 150}]``. Commits one version with every node's
        keepalived.conf and applies it (``apply``) when nothing unapplied lies before it.
        Returns the group with ``version``, ``applied`` (and ``not_applied``: why not).
        ValidationError (422) for a bad group or an agent that has not reported what its file
        needs, ConflictError (409) for a taken name or a node file managed as text."""
        body: dict[str, Any] = {
            "name": name, "addresses": list(addresses), "vrid": int(vrid), "interface": interface,
            "nodes": [dict(n) for n in nodes], "advert_interval": advert_interval, "preempt": preempt,
            "track_haproxy": track_haproxy, "unicast": unicast,
        }
        if version is not None:
            body["version"] = int(version)
        if auth_secret is not None:
            body["auth_secret"] = auth_secret
        path = f"/clusters/{_cluster_segment(cluster)}/vips"
        return _object(self.request("POST", path, query={"apply": str(apply).lower()}, json_body=body))

    def vip(self, cluster: ClusterRef, vip_id: int) -> dict[str, Any]:
        return _object(self.request("GET", f"/clusters/{_cluster_segment(cluster)}/vips/{int(vip_id)}"))

    def update_vip(self, cluster: ClusterRef, vip_id: int, spec: Mapping[str, Any], *, apply: bool = True) -> dict[str, Any]:
        """Replaces a group with ``spec`` (the fields of :meth:`create_vip`; an absent
        ``auth_secret`` keeps the stored one, ``""`` removes it)."""
        path = f"/clusters/{_cluster_segment(cluster)}/vips/{int(vip_id)}"
        return _object(self.request("PUT", path, query={"apply": str(apply).lower()}, json_body=dict(spec)))

    def delete_vip(self, cluster: ClusterRef, vip_id: int, *, apply: bool = True) -> dict[str, Any]:
        """Deletes a group: a version without it in any node's keepalived.conf."""
        path = f"/clusters/{_cluster_segment(cluster)}/vips/{int(vip_id)}"
        return _object(self.request("DELETE", path, query={"apply": str(apply).lower()}))

    def fail_over_vip(self, cluster: ClusterRef, vip_id: int, to: str, *, apply: bool = True) -> dict[str, Any]:
        """Moves the group to agent ``to`` by giving it the highest priority (needs preempt)."""
        path = f"/clusters/{_cluster_segment(cluster)}/vips/{int(vip_id)}/failover"
        return _object(self.request("POST", path, query={"apply": str(apply).lower()}, json_body={"to": to}))

    def rules(self, cluster: ClusterRef) -> list[dict[str, Any]]:
        """The cluster's traffic rules (WAF), in the order they run (priority, then name)."""
        return _objects(self.request("GET", f"/clusters/{_cluster_segment(cluster)}/rules"))

    def rule(self, cluster: ClusterRef, name: str) -> dict[str, Any]:
        """One traffic rule: ``{"name", "kind", "frontends", "priority", "enabled", "dry_run", ...kind fields}``."""
        return _object(self.request("GET", f"/clusters/{_cluster_segment(cluster)}/rules/{_quote(name)}"))

    def rule_hits(self, cluster: ClusterRef, name: str) -> list[dict[str, Any]]:
        """Each node's latest reading of a rate-limit rule's stick table, sent with its agent's
        heartbeat: ``[{"agent", "measured_at" (Unix ms), "rule", "tracked", "over_limit",
        "max_rate"}]``; ``[]`` for the other kinds (HAProxy 2.6 counts them only per frontend)."""
        return _objects(self.request("GET", f"/clusters/{_cluster_segment(cluster)}/rules/{_quote(name)}/hits"))

    def create_rule(self, cluster: ClusterRef, rule: Mapping[str, Any], *, apply: bool = True) -> dict[str, Any]:
        """Adds a traffic rule, e.g. ``{"name": "api", "kind": "rate_limit", "frontends": ["fe"],
        "limit": 10, "period_seconds": 10, "deny_status": 429}`` or ``{"name": "bad", "kind":
        "ip_deny", "entries": ["192.0.2.0/24"]}``. Answers the rule with ``version`` (the new
        version rendering every rule), ``applied`` and ``not_applied`` (why not). A bad rule, or a
        configuration ``haproxy -c`` refuses, raises a 422; a taken name a 409."""
        path = f"/clusters/{_cluster_segment(cluster)}/rules"
        return _object(self.request("POST", path, query={"apply": str(apply).lower()}, json_body=dict(rule)))

    def update_rule(self, cluster: ClusterRef, name: str, rule: Mapping[str, Any], *, apply: bool = True) -> dict[str, Any]:
        """Replaces rule ``name`` (same name in ``rule``); only its region changes."""
        path = f"/clusters/{_cluster_segment(cluster)}/rules/{_quote(name)}"
        return _object(self.request("PUT", path, query={"apply": str(apply).lower()}, json_body=dict(rule)))

    def delete_rule(self, cluster: ClusterRef, name: str, *, apply: bool = True) -> dict[str, Any]:
        """Deletes a rule; with none left the configuration is the operator's text, byte for byte."""
        path = f"/clusters/{_cluster_segment(cluster)}/rules/{_quote(name)}"
        return _object(self.request("DELETE", path, query={"apply": str(apply).lower()}))

    def rule_entries(self, cluster: ClusterRef, name: str, add: Sequence[str] = (), remove: Sequence[str] = (),
                     *, apply: bool = True) -> dict[str, Any]:
        """Adds and removes entries of a list rule (CIDRs of ``ip_allow``/``ip_deny``, countries
        of ``geo_block``/``geo_allow``): only its list file changes, which agents apply through
        HAProxy's runtime API without a reload."""
        path = f"/clusters/{_cluster_segment(cluster)}/rules/{_quote(name)}/entries"
        body = {"entries": list(add), "remove": list(remove)}
        return _object(self.request("POST", path, query={"apply": str(apply).lower()}, json_body=body))

    def put_geo_map(self, cluster: ClusterRef, csv: str, path: str = "geo/countries.map") -> dict[str, Any]:
        """Stores the geo map geo rules read: ``csv`` is a DB-IP country CSV
        (``start_ip,end_ip,country_code`` a line, IPv4 and IPv6), converted by the server into
        ``CIDR COUNTRY`` lines at ``path`` in a new version ``{version, sha256, ...}``. A line that
        is not a range and a country raises a 422 naming its number."""
        path_ = f"/clusters/{_cluster_segment(cluster)}/geo-map"
        return _object(self.request("PUT", path_, query={"path": path}, text=csv))

    def maps(self, cluster: ClusterRef) -> dict[str, Any]:
        """The latest version's map files (files of kind ``map`` and files a configuration loads
        as a map): ``{version, maps: [{path, size, entries, used_by: [{file, line, keyword}]}]}``."""
        return _object(self.request("GET", f"/clusters/{_cluster_segment(cluster)}/maps"))

    def map_entries(self, cluster: ClusterRef, path: str) -> list[dict[str, Any]]:
        """A map file's entries as HAProxy loads them, in file order: ``[{key, value}]``
        (``path`` relative to the managed directory, e.g. ``maps/hosts.map``)."""
        path_ = f"/clusters/{_cluster_segment(cluster)}/maps/" + urllib.parse.quote(path.lstrip("/"), safe="/")
        return _objects(self.request("GET", path_))

    def change_map(self, cluster: ClusterRef, path: str, values: Optional[Mapping[str, str]] = None, remove: Sequence[str] = (),
                   *, apply: bool = True) -> dict[str, Any]:
        """Sets entries (``values``, ``{key: value}``: every entry with the key gets the value, or it is added
        at the end) and removes keys of a map file; only those lines change. One version whose
        only change is the file, which agents apply through HAProxy's runtime API without a
        reload: ``{version (absent when nothing changed), applied, not_applied?, entries}``. A key
        with a blank or a value with a line break raises a 422; an unknown map file a 404."""
        path_ = f"/clusters/{_cluster_segment(cluster)}/maps/" + urllib.parse.quote(path.lstrip("/"), safe="/")
        body = {"set": [{"key": k, "value": v} for k, v in (values or {}).items()], "remove": list(remove)}
        return _object(self.request("POST", path_, query={"apply": str(apply).lower()}, json_body=body))

    def failover(self, pool_id: int) -> dict[str, Any]:
        """A pool's DNS failover: settings, ``active``, members (``agent``, ``addresses``,
        ``healthy``, ``last_seen_at`` in RFC 3339 UTC) and ``published`` (what the provider's
        server answers for the hostname now)."""
        return _object(self.request("GET", f"/pools/{int(pool_id)}/failover"))

    def set_failover(self, pool_id: int, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Sets a pool's failover (a global admin: it puts a fleet-wide DNS provider to work):
        ``{"hostname", "record_types": ["A"], "ttl", "provider_id", "automatic",
        "detection_window_seconds", "hold_seconds", "failback", "active"?}``; with ``active``
        that member is made active at once."""
        return _object(self.request("PUT", f"/pools/{int(pool_id)}/failover", json_body=dict(settings)))

    def activate(self, pool_id: int, agent: str) -> dict[str, Any]:
        """Points the pool's failover record at ``agent`` now (audited)."""
        return _object(self.request("POST", f"/pools/{int(pool_id)}/failover/activate", json_body={"agent": agent}))

    def cutover(self, pool_id: int) -> dict[str, Any]:
        """Points the record at the next ready standby (audited ``failover.cutover``);
        ConflictError when none."""
        return _object(self.request("POST", f"/pools/{int(pool_id)}/failover/cutover"))

    def failover_events(self, pool_id: int, limit: int = 100) -> list[dict[str, Any]]:
        """The timeline, newest first: ``{at, kind, message}`` (kinds ``detection``,
        ``decision``, ``dns_update``, ``manual``, ``all_down``, ``settings``, ``notification``,
        ``error``)."""
        return _objects(self.request("GET", f"/pools/{int(pool_id)}/failover/events", query={"limit": int(limit)}))

    def dns_providers(self) -> list[dict[str, Any]]:
        """Every DNS provider, by name: ``id``, ``name``, ``kind``, ``zone`` and the kind's
        settings (rfc2136: ``server``, ``tsig_key_name``, ``tsig_algorithm``; powerdns:
        ``api_url``, ``server_id``, ``dns_server``; cloudflare: ``api_base``, ``proxied``);
        never a secret."""
        return _objects(self.request("GET", "/dns-providers"))

    def create_dns_provider(
        self,
        name: str,
        zone: str,
        server: str,
        tsig_key_name: str,
        tsig_secret: str,
        tsig_algorithm: str = "hmac-sha256",
    ) -> dict[str, Any]:
        """An RFC 2136 provider (admin): ``server`` is ``ADDRESS[:PORT]`` of the zone's primary,
        ``tsig_secret`` the base64 secret ``tsig-keygen`` prints (sealed at rest, never returned).
        FleetError 422 for bad input (nothing stored), 409 for a taken name."""
        body = {"name": name, "kind": "rfc2136", "zone": zone, "server": server,
                "tsig_key_name": tsig_key_name, "tsig_algorithm": tsig_algorithm, "tsig_secret": tsig_secret}
        return _object(self.request("POST", "/dns-providers", json_body=body))

    def create_powerdns_provider(
        self,
        name: str,
        zone: str,
        api_url: str,
        dns_server: str,
        api_key: str,
        server_id: str = "localhost",
    ) -> dict[str, Any]:
        """A PowerDNS provider (admin): ``api_url`` is the webserver's base URL
        (``http://192.0.2.53:8081``), ``dns_server`` the ``ADDRESS[:PORT]`` PowerDNS answers DNS
        on (asked by the propagation check), ``api_key`` its ``api-key`` (sealed at rest, never
        returned). FleetError 422 for bad input (nothing stored), 409 for a taken name."""
        body = {"name": name, "kind": "powerdns", "zone": zone, "api_url": api_url, "server_id": server_id,
                "dns_server": dns_server, "api_key": api_key}
        return _object(self.request("POST", "/dns-providers", json_body=body))

    def create_cloudflare_provider(
        self,
        name: str,
        zone: str,
        api_token: str,
        proxied: bool = False,
        api_base: Optional[str] = None,
    ) -> dict[str, Any]:
        """A Cloudflare provider (admin): ``api_token`` is an API token with Zone:Read and
        DNS:Edit on the zone (sealed at rest, never returned); ``proxied`` sets the orange cloud
        on A/AAAA records; ``api_base`` defaults to ``https://api.cloudflare.com/client/v4``.
        FleetError 422 for bad input (nothing stored), 409 for a taken name."""
        body: dict[str, Any] = {"name": name, "kind": "cloudflare", "zone": zone, "api_token": api_token, "proxied": bool(proxied)}
        if api_base is not None:
            body["api_base"] = api_base
        return _object(self.request("POST", "/dns-providers", json_body=body))

    def test_dns_provider(self, provider_id: int) -> dict[str, Any]:
        """Test connection (admin): reads the provider's zone with its stored credentials.
        Returns ``{"ok": bool, "detail": str, "elapsed_ms": int}``; a failing provider is
        ``ok: False`` with the reason in words (bad key, unknown zone, unreachable), not an
        exception. FleetError 404 for an unknown id."""
        return _object(self.request("POST", f"/dns-providers/{int(provider_id)}/test"))

    def dns_provider(self, provider_id: int) -> dict[str, Any]:
        return _object(self.request("GET", f"/dns-providers/{int(provider_id)}"))

    def delete_dns_provider(self, provider_id: int) -> None:
        """Deletes the provider and its sealed secret (admin)."""
        self.request("DELETE", f"/dns-providers/{int(provider_id)}")

    # -- reads of the typed views ------------------------------------------------------------

    def backends(self, cluster: ClusterRef, *, version: Optional[int] = None) -> list[dict[str, Any]]:
        return _objects(self.request("GET", f"/clusters/{_cluster_segment(cluster)}/backends", query={"version": version}))

    def backend(self, cluster: ClusterRef, name: str, *, version: Optional[int] = None) -> dict[str, Any]:
        return _object(self.request("GET", f"/clusters/{_cluster_segment(cluster)}/backends/{_quote(name)}", query={"version": version}))

    def servers(self, cluster: ClusterRef, backend: str, *, version: Optional[int] = None) -> list[dict[str, Any]]:
        path = f"/clusters/{_cluster_segment(cluster)}/backends/{_quote(backend)}/servers"
        return _objects(self.request("GET", path, query={"version": version}))

    def frontends(self, cluster: ClusterRef, *, version: Optional[int] = None) -> list[dict[str, Any]]:
        return _objects(self.request("GET", f"/clusters/{_cluster_segment(cluster)}/frontends", query={"version": version}))

    # -- transactions ------------------------------------------------------------------------

    def begin(self, cluster: ClusterRef, version: Optional[int] = None) -> "Transaction":
        """Begins a transaction at ``version`` (default: the latest now). A ``version`` that is
        not the latest raises :class:`ConflictError`."""
        cluster_id = self._cluster_id(cluster)
        base = self.latest_version(cluster_id) if version is None else int(version)
        answer = self.request("POST", f"/clusters/{cluster_id}/transactions", query={"version": base})
        return Transaction(self, cluster_id, int(answer["id"]), int(answer.get("base_version", base)))

    def transaction(self, cluster: ClusterRef, version: Optional[int] = None, message: str = "") -> "Transaction":
        """A transaction for ``with``: committed (with ``message``) when the block ends normally,
        discarded when it raises.

        >>> with client.transaction(cluster) as tx:          # doctest: +SKIP
        ...     tx.update_server("app", "web1", weight=7)
        >>> tx.result["version"]                             # doctest: +SKIP
        """
        tx = self.begin(cluster, version)
        tx.message = message
        return tx

    def transactions(self, cluster: ClusterRef) -> list[dict[str, Any]]:
        """The open transactions of a cluster."""
        return _objects(self.request("GET", f"/clusters/{_cluster_segment(cluster)}/transactions"))

    # -- ACME ----------------------------------------------------------------------------------

    def acme_accounts(self) -> list[dict[str, Any]]:
        """Every ACME account (never its key)."""
        return _objects(self.request("GET", "/acme/accounts"))

    def create_acme_account(
        self,
        directory_url: str,
        contact: Union[str, Sequence[str]] = (),
        *,
        ca_pem: Optional[str] = None,
        eab_kid: Optional[str] = None,
        eab_hmac: Optional[str] = None,
    ) -> dict[str, Any]:
        """Registers an account at the CA's directory (admin): ``{id, directory_url, contact,
        account_url, ...}``. ``ca_pem`` trusts a private CA's root for the directory; ``eab_kid``
        and ``eab_hmac`` (base64url) bind it to an external account. The CA's refusal raises
        :class:`ValidationError` with its problem detail."""
        body: dict[str, Any] = {"directory_url": directory_url, "contact": contact if isinstance(contact, str) else list(contact)}
        for key, value in (("ca_pem", ca_pem), ("eab_kid", eab_kid), ("eab_hmac", eab_hmac)):
            if value is not None:
                body[key] = value
        return _object(self.request("POST", "/acme/accounts", json_body=body))

    def order_certificate(
        self,
        names: Sequence[str],
        account_id: int,
        clusters: Sequence[ClusterRef],
        *,
        challenge: str = "http-01",
        frontends: Sequence[str] = (),
        certificate_id: Optional[int] = None,
        path: Optional[str] = None,
        key_type: Optional[str] = None,
        auto_apply: bool = True,
        dns_provider_id: Optional[int] = None,
    ) -> dict[str, Any]:
        """Orders a certificate for ``names``; the server drives it. Returns ``{id, status}``;
        follow it with :meth:`acme_order`. ``challenge`` is ``http-01`` (``frontends`` get the
        managed rule, once) or ``dns-01`` (the ``_acme-challenge`` TXT records go through
        ``dns_provider_id``, else the DNS provider whose zone holds each name; wildcards need it).
        ``path`` defaults to ``certs/<first name>.pem``. Bad input raises :class:`ValidationError`
        and stores nothing."""
        body: dict[str, Any] = {
            "names": list(names),
            "account_id": int(account_id),
            "challenge": challenge,
            "clusters": [self._cluster_id(c) for c in clusters],
            "frontends": list(frontends),
            "auto_apply": auto_apply,
        }
        optional = (("certificate_id", certificate_id), ("path", path), ("key_type", key_type), ("dns_provider_id", dns_provider_id))
        for key, value in optional:
            if value is not None:
                body[key] = value
        return _object(self.request("POST", "/acme/certificates", json_body=body))

    def acme_orders(self) -> list[dict[str, Any]]:
        """Every order with its events, oldest first (as :meth:`acme_order` shows one)."""
        return _objects(self.request("GET", "/acme/orders"))

    def acme_order(self, order_id: int) -> dict[str, Any]:
        """An order: ``{id, status: pending|ready|processing|valid|invalid, error, events, ...}``."""
        return _object(self.request("GET", f"/acme/orders/{int(order_id)}"))


class Transaction:
    """An open transaction: stage typed edits, then :meth:`commit` or :meth:`discard`.

    As a context manager it commits when the block succeeds and discards when it raises (the
    exception then propagates). A commit after another commit won raises :class:`ConflictError`.
    """

    def __init__(self, client: Client, cluster_id: int, transaction_id: int, base_version: int) -> None:
        self.client = client
        self.cluster_id = cluster_id
        self.id = transaction_id
        self.base_version = base_version
        self.message = ""
        self.result: Optional[dict[str, Any]] = None
        self.closed = False

    def __repr__(self) -> str:
        return f"<Transaction {self.id} of cluster {self.cluster_id} at version {self.base_version}>"

    def __enter__(self) -> "Transaction":
        return self

    def __exit__(
        self,
        kind: Optional[Type[BaseException]],
        value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        if self.closed:
            return
        if kind is None:
            self.commit(self.message)
            return
        try:
            self.discard()
        except FleetError:
            pass  # the block's own exception is the one worth seeing

    # -- plumbing ----------------------------------------------------------------------------

    def _base(self) -> str:
        return f"/clusters/{self.cluster_id}"

    def _stage(self, method: str, path: str, body: Optional[Mapping[str, Any]] = None) -> Any:
        if self.closed:
            raise RuntimeError(f"transaction {self.id} is closed")
        query = {"transaction_id": self.id}
        return self.client.request(method, self._base() + path, query=query, json_body=dict(body or {}))

    def info(self) -> dict[str, Any]:
        """The transaction with its staged ops and state."""
        return _object(self.client.request("GET", f"{self._base()}/transactions/{self.id}"))

    def stage(self, ops: Union[Mapping[str, Any], Sequence[Mapping[str, Any]]]) -> dict[str, Any]:
        """Stages raw edit ops (``{"op": "set_directive", ...}`` or a list of them)."""
        if self.closed:
            raise RuntimeError(f"transaction {self.id} is closed")
        body: Any = dict(ops) if isinstance(ops, Mapping) else [dict(op) for op in ops]
        return _object(self.client.request("POST", f"{self._base()}/transactions/{self.id}/ops", json_body=body))

    def commit(self, message: str = "") -> dict[str, Any]:
        """Commits as the next version: ``{version, sha256, parent, warnings}``."""
        path = f"{self._base()}/transactions/{self.id}"
        self.result = self.client.request("PUT", path, query={"message": message or self.message})
        self.closed = True
        return self.result

    def files(self) -> dict[str, Any]:
        """The files this transaction would commit (as :meth:`Client.files`)."""
        return self.client.files(self.cluster_id, transaction_id=self.id)

    def put_file(self, path: str, content: Union[bytes, str], kind: Optional[str] = None, mode: Optional[int] = None) -> dict[str, Any]:
        """Stages adding or replacing one file (as :meth:`Client.put_file`)."""
        if self.closed:
            raise RuntimeError(f"transaction {self.id} is closed")
        return self.client.put_file(self.cluster_id, path, content, transaction_id=self.id, kind=kind, mode=mode)

    def delete_file(self, path: str) -> dict[str, Any]:
        """Stages removing one file."""
        if self.closed:
            raise RuntimeError(f"transaction {self.id} is closed")
        return self.client.delete_file(self.cluster_id, path, transaction_id=self.id)

    def discard(self) -> None:
        """Drops the transaction and everything staged in it."""
        self.closed = True
        self.client.request("DELETE", f"{self._base()}/transactions/{self.id}")

    # -- typed edits -------------------------------------------------------------------------

    def backends(self) -> list[dict[str, Any]]:
        """The backends as this transaction would commit them."""
        return _objects(self.client.request("GET", f"{self._base()}/backends", query={"transaction_id": self.id}))

    def servers(self, backend: str) -> list[dict[str, Any]]:
        """The servers of ``backend`` as this transaction would commit them."""
        path = f"{self._base()}/backends/{_quote(backend)}/servers"
        return _objects(self.client.request("GET", path, query={"transaction_id": self.id}))

    def add_backend(self, name: str, lines: Iterable[str] = (), defaults: Optional[str] = None) -> Any:
        body: dict[str, Any] = {"name": name, "lines": list(lines)}
        if defaults is not None:
            body["from"] = defaults
        return self._stage("POST", "/backends", body)

    def update_backend(self, name: str, rename: Optional[str] = None, defaults: Optional[str] = None) -> Any:
        body = {k: v for k, v in {"rename": rename, "from": defaults}.items() if v is not None}
        return self._stage("PUT", f"/backends/{_quote(name)}", body)

    def delete_backend(self, name: str) -> Any:
        return self._stage("DELETE", f"/backends/{_quote(name)}")

    def add_server(
        self,
        backend: str,
        name: str,
        address: str,
        *,
        weight: Optional[int] = None,
        backup: bool = False,
        disabled: bool = False,
        params: Iterable[str] = (),
    ) -> Any:
        body: dict[str, Any] = {"name": name, "address": address, "backup": backup, "disabled": disabled, "params": list(params)}
        if weight is not None:
            body["weight"] = weight
        return self._stage("POST", f"/backends/{_quote(backend)}/servers", body)

    def update_server(
        self,
        backend: str,
        name: str,
        *,
        address: Optional[str] = None,
        weight: Optional[int] = None,
        backup: Optional[bool] = None,
        disabled: Optional[bool] = None,
        params: Optional[Iterable[str]] = None,
    ) -> Any:
        """Changes only the given settings of server ``name``; the rest of its line stays."""
        fields = {"address": address, "weight": weight, "backup": backup, "disabled": disabled,
                  "params": None if params is None else list(params)}
        body = {k: v for k, v in fields.items() if v is not None}
        return self._stage("PUT", f"/backends/{_quote(backend)}/servers/{_quote(name)}", body)

    def delete_server(self, backend: str, name: str) -> Any:
        return self._stage("DELETE", f"/backends/{_quote(backend)}/servers/{_quote(name)}")

    def add_frontend(self, name: str, lines: Iterable[str] = (), defaults: Optional[str] = None) -> Any:
        body: dict[str, Any] = {"name": name, "lines": list(lines)}
        if defaults is not None:
            body["from"] = defaults
        return self._stage("POST", "/frontends", body)

    def delete_frontend(self, name: str) -> Any:
        return self._stage("DELETE", f"/frontends/{_quote(name)}")

    def add_bind(self, frontend: str, address: str, params: Iterable[str] = ()) -> Any:
        return self._stage("POST", f"/frontends/{_quote(frontend)}/binds", {"address": address, "params": list(params)})

    def delete_bind(self, frontend: str, address: str) -> Any:
        return self._stage("DELETE", f"/frontends/{_quote(frontend)}/binds/{_quote(address)}")

    def add_acl(self, frontend: str, name: str, words: Iterable[str]) -> Any:
        return self._stage("POST", f"/frontends/{_quote(frontend)}/acls", {"name": name, "words": list(words)})

    def delete_acl(self, frontend: str, name: str) -> Any:
        return self._stage("DELETE", f"/frontends/{_quote(frontend)}/acls/{_quote(name)}")

    def add_rule(self, frontend: str, words: Iterable[str], position: Optional[int] = None) -> Any:
        body: dict[str, Any] = {"words": list(words)}
        if position is not None:
            body["position"] = position
        return self._stage("POST", f"/frontends/{_quote(frontend)}/rules", body)

    def delete_rule(self, frontend: str, keyword: str, position: int) -> Any:
        return self._stage("DELETE", f"/frontends/{_quote(frontend)}/rules/{_quote(keyword)}/{int(position)}")
