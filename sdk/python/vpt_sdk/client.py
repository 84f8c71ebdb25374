"""A tenant workspace for data scientists: list feature services, read training data from the
offline store, read online features through the tenant's feature server (HTTPS, tenant CA)."""

from __future__ import annotations

import json
import pathlib
import ssl
import time
import urllib.error
import urllib.request

import pandas as pd

from .retrieval import OfflineRetrieval


class ClientError(RuntimeError):
    """An answer from the tenant that was not a success; carries the HTTP status and message, and
    for a 429 the seconds the feature server asked the caller to wait (``Retry-After``)."""

    def __init__(self, status: int, message: str, retry_after: float | None = None):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.retry_after = retry_after


class Client:
    """Endpoints and credential of one tenant. ``api_key`` needs viewer (repository) and consumer
    (online features) on the workspaces it reads.

    When the service account is over its serving limit the feature server answers 429 with
    ``Retry-After``; the client waits that long and tries again, up to ``max_rate_limit_wait``
    seconds in all for one call (0: never wait, raise ``ClientError`` with status 429 at once).

    Every call the client makes is a read, so it also retries while the tenant is briefly
    unavailable: a refused or reset connection (a plane restarting, as after a crash, a changed
    config or a key rotation) and 502, 503 or 504 answers. It waits 0.1 s, doubling to 2 s, up to
    ``max_unavailable_wait`` seconds in all for one call (0: raise at once), then raises the last
    error: ``ClientError`` for an answer, ``urllib.error.URLError`` (or ``ConnectionError``) for a
    connection."""

    RETRIED_STATUSES = (502, 503, 504)

    def __init__(self, control_plane: str, feature_server: str, api_key: str, offline_store: str | None = None,
                 ca_file: str | None = None, timeout: float = 10, max_rate_limit_wait: float = 10,
                 max_unavailable_wait: float = 10):
        self.control_plane = control_plane.rstrip("/")
        self.feature_server = feature_server.rstrip("/")
        self.api_key = api_key
        self.offline_store = offline_store
        self.timeout = timeout
        self.max_rate_limit_wait = max_rate_limit_wait
        self.max_unavailable_wait = max_unavailable_wait
        self._context = ssl.create_default_context(cafile=ca_file) if ca_file else None

    @classmethod
    def from_fleet(cls, home: str | pathlib.Path, tenant: str, api_key: str, **options) -> "Client":
        """A client for a tenant on the local target, from its rendered runtime config; ``options``
        (``timeout``, ``max_rate_limit_wait``, ``max_unavailable_wait``) go to the constructor."""
        config = json.loads((pathlib.Path(home) / "tenants" / tenant / "config" / "runtime.json").read_text())
        tls = config.get("tls")
        scheme = "https" if tls else "http"
        return cls(
            control_plane=f"{scheme}://127.0.0.1:{config['controlPlane']['port']}",
            feature_server=f"{scheme}://127.0.0.1:{config['dataPlane']['port']}",
            api_key=api_key, offline_store=config["offlineStore"]["location"] if config["offlineStore"]["kind"] == "local" else None,
            ca_file=tls["caFile"] if tls else None, **options)

    def _call(self, method: str, url: str, body=None):
        limited, unavailable, backoff = 0.0, 0.0, 0.1
        while True:
            try:
                return self._send(method, url, body)
            except ClientError as error:
                if error.status == 429:
                    wait = error.retry_after
                    if wait is None or limited + wait > self.max_rate_limit_wait:
                        raise
                    time.sleep(wait)
                    limited += wait
                    continue
                if error.status not in self.RETRIED_STATUSES or unavailable + backoff > self.max_unavailable_wait:
                    raise
            except (urllib.error.URLError, ConnectionError) as error:
                if not _is_connection_failure(error) or unavailable + backoff > self.max_unavailable_wait:
                    raise
            time.sleep(backoff)
            unavailable += backoff
            backoff = min(backoff * 2, 2.0)

    def _send(self, method: str, url: str, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers={
            "Authorization": f"Tecton-key {self.api_key}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self._context) as response:
                raw = response.read()
                return json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            try:
                message = json.loads(error.read()).get("message", "")
            except ValueError:
                message = ""
            try:
                retry_after = float(error.headers.get("Retry-After", ""))
            except ValueError:
                retry_after = None
            raise ClientError(error.code, message, retry_after) from None

    def workspace(self, name: str) -> "Workspace":
        return Workspace(self, name)


def _is_connection_failure(error: Exception) -> bool:
    """A connection the tenant refused or dropped (while connecting, urllib wraps it in URLError;
    while reading the answer, it arrives as itself): worth another try. TLS, name and timeout
    failures are not."""
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    return isinstance(reason, (ConnectionRefusedError, ConnectionResetError, ConnectionAbortedError))


class Workspace:
    def __init__(self, client: Client, name: str):
        self.client = client
        self.name = name
        self._repo = None

    def repo(self) -> dict:
        if self._repo is None:
            self._repo = self.client._call("GET", f"{self.client.control_plane}/v1/workspaces/{self.name}/repo")
        return self._repo

    def list_feature_services(self) -> list[str]:
        return sorted(s["name"] for s in self.repo().get("featureServices", []))

    def get_historical_features(self, spine: pd.DataFrame, feature_service: str, timestamp_column: str = "timestamp") -> pd.DataFrame:
        """For each spine row, each feature's latest value at or before the row's time and within
        its view's TTL (ties: newest write). Columns are named ``VIEW__FEATURE``."""
        if not self.client.offline_store:
            raise ClientError(0, "this tenant's offline store is not a local folder this SDK can read")
        retrieval = OfflineRetrieval(self.repo(), self.client.offline_store, self.name)
        return retrieval.get_historical_features(spine, feature_service, timestamp_column)

    def get_online_features(self, feature_service: str, join_keys: dict, request_context: dict | None = None) -> dict:
        """One feature vector from the feature server: ``{name: value}`` in the service's order."""
        params = {"workspace_name": self.name, "feature_service_name": feature_service,
                  "join_key_map": {k: (str(v) if isinstance(v, int) and not isinstance(v, bool) else v) for k, v in join_keys.items()},
                  "metadata_options": {"include_names": True}}
        if request_context:
            params["request_context_map"] = request_context
        answer = self.client._call("POST", f"{self.client.feature_server}/api/v1/feature-service/get-features", {"params": params})
        names = [f["name"] for f in answer["metadata"]["features"]]
        return dict(zip(names, answer["result"]["features"]))
