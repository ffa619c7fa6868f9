"""The API client for pullgate's three requests: list Secrets, list ServiceAccounts, get a Secret.

Existence is asked as metadata only: a LIST of `/api/v1/namespaces/{ns}/secrets` with the
`PartialObjectMetadataList` Accept header, so the API server sends names, never values. Full
Secrets are read one by one, and only when the caller asks (the pull secrets some pod will use).
ServiceAccounts are listed in full: they hold no values, only the names of the pull secrets their
pods inherit.

The client is httpx (already the registry stage's), not the `kubernetes` package: three GETs
need no generated API, the stage stays asynchronous, and kubeconfig semantics match kubectl's.
Failures are `ClusterError` (exit 3): unreachable, TLS, 401, 403, or an answer that is not the
Kubernetes API's; their wording never carries a credential or a response body.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from gate.inventory import ServiceAccountEntry
from gate.inventory.cluster.errors import ClusterConfigError, ClusterError
from gate.inventory.cluster.exec import run_plugin
from gate.inventory.cluster.kubeconfig import ClusterConfig, optional_text
from gate.inventory.model import (
    annotation_keys,
    enforces_mountable_secrets,
    mountable_secret_names,
    pull_secret_names,
)
from gate.net import (
    Retryable,
    causes,
    failure_reason,
    is_cert_failure,
    is_loopback,
    retry_after,
    retrying,
)

log = logging.getLogger(__name__)

METADATA_ACCEPT = (
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
)
"""Ask for metadata only; kubectl sends the same (with plain JSON as a fallback)."""
JSON_ACCEPT = "application/json"
ORIGIN = "cluster"
"""The `origin` of every inventory entry the live cluster gives."""

PAGE_SIZE = 500
CONCURRENCY = 8
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
"""Answers worth asking again: throttled, or the API server busy or restarting."""


def _ssl_context(
    config: ClusterConfig, cert_pem: str | None, key_pem: str | None
) -> ssl.SSLContext:
    where = config.where
    try:
        if config.insecure:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif config.ca_pem:
            # as kubectl: a configured CA replaces the system roots rather than adding to them
            context = ssl.create_default_context(cadata=config.ca_pem)
        else:
            context = ssl.create_default_context()
    except (ssl.SSLError, ValueError) as exc:
        raise ClusterConfigError(
            f"{where}: the certificate authority is not valid PEM: {exc}"
        ) from None
    if cert_pem or key_pem:
        if not (cert_pem and key_pem):
            raise ClusterConfigError(f"{where}: a client certificate needs both cert and key")
        # ssl can load a key pair only from files: a private directory that lives for one call
        with tempfile.TemporaryDirectory(prefix="pullgate-") as directory:
            cert_file, key_file = Path(directory) / "client.crt", Path(directory) / "client.key"
            for path, text in ((cert_file, cert_pem), (key_file, key_pem)):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w", encoding="ascii") as handle:
                    handle.write(text)
            try:
                context.load_cert_chain(str(cert_file), str(key_file))
            except ssl.SSLError:
                raise ClusterConfigError(
                    f"{where}: the client certificate or key is not valid PEM, or they do not match"
                ) from None
    return context


@dataclass
class _What:
    """What a request was for, to word its failure."""

    verb: str
    resource: str
    namespace: str
    name: str | None = None

    def __str__(self) -> str:
        target = f"{self.resource} {self.name}" if self.name else self.resource
        return f"{self.verb} {target} in namespace {self.namespace}"


class ClusterClient:
    """Async API client for the three requests pullgate makes; use `async with`."""

    def __init__(self, config: ClusterConfig) -> None:
        self.config = config
        self._client: httpx.AsyncClient | None = None
        self._exec_token: str | None = None
        self._refresh_lock = asyncio.Lock()
        self._limit = asyncio.Semaphore(CONCURRENCY)

    async def __aenter__(self) -> ClusterClient:
        config = self.config
        cert, key = config.client_cert_pem, config.client_key_pem
        if config.exec_plugin is not None and not (config.token or config.token_file):
            credential = await asyncio.to_thread(run_plugin, config)
            self._exec_token = credential.token
            if credential.client_cert_pem:
                cert, key = credential.client_cert_pem, credential.client_key_pem
        verify = _ssl_context(config, cert, key)
        loopback = is_loopback(httpx.URL(config.server).netloc.decode("ascii"))
        self._client = httpx.AsyncClient(
            verify=verify,
            timeout=config.timeout,
            proxy=None if loopback else config.proxy_url,
            follow_redirects=False,
            trust_env=not loopback,  # a local API server is never reached through a proxy
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _headers(self, accept: str) -> dict[str, str]:
        config = self.config
        headers = {"Accept": accept, "User-Agent": "pullgate"}
        token = config.token
        if token is None and config.token_file:
            try:
                token = Path(config.token_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ClusterConfigError(
                    f"{config.where}: cannot read token file {config.token_file}: "
                    f"{exc.strerror or exc}"
                ) from None
        token = token or self._exec_token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        elif config.username is not None and config.password is not None:
            basic = base64.b64encode(f"{config.username}:{config.password}".encode()).decode()
            headers["Authorization"] = f"Basic {basic}"
        if config.impersonate_user:
            headers["Impersonate-User"] = config.impersonate_user
        if config.impersonate_uid:
            headers["Impersonate-Uid"] = config.impersonate_uid
        return headers

    async def _get(
        self, path: str, params: dict[str, str], accept: str, what: _What
    ) -> httpx.Response:
        """GET with `config.retries` retries on a network failure or a busy answer.

        The last busy answer is returned as it is (the caller words it); a failed TLS
        verification is final at once; a 401 runs the exec plugin again, once.
        """
        config = self.config
        tries = 0
        refreshed = False
        try:
            async for attempt in retrying(config.retries + 1, config.backoff, also=_transient):
                with attempt:
                    tries = attempt.retry_state.attempt_number
                    response = await self._send(path, params, accept)
                    if response.status_code == 401 and self._can_refresh() and not refreshed:
                        refreshed = True  # client-go runs the plugin again once on 401, so do we
                        await self._refresh()
                        response = await self._send(path, params, accept)
                    if response.status_code in RETRY_STATUSES:
                        raise _Busy(response)
                    return response
        except _Busy as busy:
            return busy.response
        except httpx.HTTPError as exc:
            if is_cert_failure(exc):
                raise ClusterError(
                    f"{config.where}: TLS verification of the API server failed: "
                    f"{_innermost_words(exc)}. Check the cluster's certificate-authority(-data) "
                    "and tls-server-name."
                ) from None
            raise ClusterError(
                f"{config.where}: cannot reach the API server to {what}: "
                f"{failure_reason(config.server, exc)} (tried {tries} times)"
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(self, path: str, params: dict[str, str], accept: str) -> httpx.Response:
        """One GET, with the credentials as they are now."""
        assert self._client is not None, "use ClusterClient in `async with`"
        config = self.config
        headers = list(self._headers(accept).items())
        headers += [("Impersonate-Group", g) for g in config.impersonate_groups]
        extensions = {"sni_hostname": config.tls_server_name} if config.tls_server_name else {}
        log.debug("GET %s %s (Accept: %s)", path, params, accept)
        async with self._limit:
            request = self._client.get(
                config.server + path, params=params, headers=headers, extensions=extensions
            )
            try:  # the request as a whole: httpx's timeouts are per read
                return await asyncio.wait_for(request, config.timeout)
            except asyncio.TimeoutError:
                raise httpx.ReadTimeout(f"no complete answer within {config.timeout:g} s") from None

    def _can_refresh(self) -> bool:
        return self._exec_token is not None and self.config.exec_plugin is not None

    async def _refresh(self) -> None:
        async with self._refresh_lock:
            credential = await asyncio.to_thread(run_plugin, self.config)
            self._exec_token = credential.token

    def _fail(self, response: httpx.Response, what: _What) -> ClusterError:
        """A plain, located error for a non-success answer (never the response body itself)."""
        config = self.config
        status = _status_object(response)
        said = optional_text(status.get("message")) if status else None
        detail = f" (API server: {said[:400]})" if said else ""
        code = response.status_code
        if code == 401:
            user = f"user {config.user_name}" if config.user_name else "its credentials"
            return ClusterError(
                f"{config.where}: the API server rejected {user} (401 Unauthorized) when asked "
                f"to {what}{detail}. The token, client certificate or exec plugin of that user "
                "is wrong or expired: log in again, or check the kubeconfig."
            )
        if code == 403:
            return ClusterError(
                f"{config.where}: access denied (403 Forbidden): cannot {what}{detail}. The "
                f"identity pullgate uses needs `{what.verb}` on `{what.resource}` there"
                + (
                    " (metadata only: pullgate reads no secret values for this)"
                    if what.resource == "secrets" and what.verb == "list"
                    else ""
                )
                + "; or pass --cluster-state with a snapshot instead."
            )
        reason = f"HTTP {code}"
        if status and status.get("reason"):
            reason += f" {status['reason']}"
        return ClusterError(
            f"{config.where}: the API server answered {reason} when asked to {what}{detail}"
        )

    async def _list(self, resource: str, namespace: str, accept: str) -> list[dict[str, Any]]:
        """Every item of a namespaced LIST, following `continue` tokens."""
        path = f"/api/v1/namespaces/{quote(namespace, safe='')}/{resource}"
        what = _What("list", resource, namespace)
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params = {"limit": str(PAGE_SIZE)}
            if token:
                params["continue"] = token
            response = await self._get(path, params, accept, what)
            if response.status_code != 200:
                raise self._fail(response, what)
            body = _json(response, self.config, what)
            page = body.get("items")
            if not isinstance(page, list):
                raise ClusterError(
                    f"{self.config.where}: the answer to {what} has no items list "
                    f"(kind {body.get('kind')!r})"
                )
            items.extend(i for i in page if isinstance(i, dict))
            meta = body.get("metadata")
            token = optional_text(meta.get("continue")) if isinstance(meta, dict) else None
            if not token:
                return items

    async def secret_names(self, namespace: str) -> list[str]:
        """Names of the Secrets in `namespace`, from a metadata-only LIST."""
        names: list[str] = []
        for item in await self._list("secrets", namespace, METADATA_ACCEPT):
            meta = item.get("metadata")
            if isinstance(meta, dict) and meta.get("name"):
                names.append(str(meta["name"]))
            # Only the name is kept. An API server too old for PartialObjectMetadataList
            # (before 1.15) would have sent full Secrets: nothing else of them is retained.
            item.clear()
        return names

    async def service_accounts(self, namespace: str) -> list[ServiceAccountEntry]:
        accounts: list[ServiceAccountEntry] = []
        for item in await self._list("serviceaccounts", namespace, JSON_ACCEPT):
            meta = item.get("metadata")
            if not isinstance(meta, dict) or not meta.get("name"):
                continue
            names = pull_secret_names(item.get("imagePullSecrets"))
            accounts.append(
                ServiceAccountEntry(
                    namespace,
                    str(meta["name"]),
                    ORIGIN,
                    names,
                    mountable_secrets=mountable_secret_names(item.get("secrets")),
                    enforce_mountable_secrets=enforces_mountable_secrets(meta.get("annotations")),
                    annotation_keys=annotation_keys(meta.get("annotations")),
                )
            )
        return accounts

    async def secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The full Secret (values included); None if it is gone. Only for pull secrets."""
        path = f"/api/v1/namespaces/{quote(namespace, safe='')}/secrets/{quote(name, safe='')}"
        what = _What("get", "secrets", namespace, name)
        response = await self._get(path, {}, JSON_ACCEPT, what)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._fail(response, what)
        body = _json(response, self.config, what)
        if body.get("kind") != "Secret":
            raise ClusterError(
                f"{self.config.where}: the answer to {what} is not a Secret "
                f"(kind {body.get('kind')!r})"
            )
        return body


def _json(response: httpx.Response, config: ClusterConfig, what: _What) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ClusterError(
            f"{config.where}: the answer to {what} is not a Kubernetes JSON object "
            f"(Content-Type {response.headers.get('content-type', 'none')}); is the server URL "
            "an API server?"
        )
    return body


def _status_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) and body.get("kind") == "Status" else None


class _Busy(Retryable):
    """A busy answer (`RETRY_STATUSES`): asked again, or returned as it is after the last try."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}", retry_after(response))
        self.response = response


def _transient(exc: BaseException) -> bool:
    """A network failure worth another try; a failed TLS verification never is."""
    return isinstance(exc, httpx.HTTPError) and not is_cert_failure(exc)


def _innermost_words(exc: BaseException) -> str:
    """The innermost words of an error (for TLS: which check failed, e.g. a hostname mismatch)."""
    words = [str(cause) for cause in causes(exc) if str(cause)]
    return words[-1] if words else type(exc).__name__
