"""A registry v2 client: manifest and blob requests, sent with retries, limits and byte caps.

This is the only module (with the cluster client) that opens connections: endpoint discovery,
the auth flow and token requests all send through it. It speaks the OCI distribution API as
the kubelet's runtime does: the same `Accept` types, the same digest rules.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from gate.credentials import Credential
from gate.hosts import Host
from gate.net import (
    RETRY_STATUSES,
    Failure,
    Retryable,
    describe_failure,
    is_cert_failure,
    is_name_unknown,
    origin,
    retry_after,
    retrying,
)
from gate.reference import Reference, is_docker_hub
from gate.registry.auth import DEFAULT_TOKEN_LIFETIME, Challenge, TokenCache, basic_header
from gate.registry.auth_flow import RegistryAuth, refuse_plain_http
from gate.registry.decoding import BodyTooLarge, BoundedDecoder, UndecodableBody
from gate.registry.endpoint import Endpoints
from gate.registry.errors import (
    InvalidResponse,
    RateLimited,
    TLSVerificationFailed,
    Unauthorized,
    Unreachable,
    raise_for_status,
    registry_message,
)
from gate.registry.media import (
    ACCEPT,
    Manifest,
    check_blob,
    json_object,
    media_type,
    served_manifest,
)
from gate.registry.ratelimit import RateBudgets, parse_budget, spent_budget, spent_message
from gate.registry.transport import TLS_HOST, TransportOptions, build_client

MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_CONFIG_BYTES = 4 * 1024 * 1024
_MAX_ERROR_BYTES = 64 * 1024


@dataclass(frozen=True)
class Answer:
    """A registry's answer: status and headers in `response`, and `body`, the exact bytes read
    (capped; empty for a HEAD)."""

    response: httpx.Response
    body: bytes


class RegistryClient:
    """Talks to every registry of one run through one pooled HTTP client."""

    def __init__(
        self, options: TransportOptions | None = None, http: httpx.AsyncClient | None = None
    ) -> None:
        self.options = options or TransportOptions()
        self._http = http or build_client(self.options)
        self.endpoints = Endpoints(self.options, self._ping)
        self._limits: dict[str, asyncio.Semaphore] = {}
        self.tokens = TokenCache(self._fetch_token)
        self.budgets = RateBudgets()
        """Docker Hub pull budgets seen, per (host, credential source)."""
        self.requests = 0
        """HTTP requests sent (for benchmarks and tests)."""

    async def __aenter__(self) -> RegistryClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- public API ---------------------------------------------------------------------------

    async def get_manifest(
        self,
        ref: Reference,
        credential: Credential,
        target: str | None = None,
        host: Host | None = None,
    ) -> Manifest:
        """GET the manifest for `target` (default: the reference's digest, else its tag)."""
        target = target or ref.pull_ref
        answer = await self._call(
            "GET", ref, f"manifests/{target}", credential, MAX_MANIFEST_BYTES, ACCEPT, host
        )
        headers = answer.response.headers
        return served_manifest(
            answer.body,
            target,
            headers.get("Docker-Content-Digest"),
            str(headers.get("Content-Type", "")),
        )

    async def head_manifest(
        self,
        ref: Reference,
        credential: Credential,
        target: str | None = None,
        host: Host | None = None,
    ) -> tuple[str | None, str]:
        """HEAD the manifest: (digest the registry announces or None, media type)."""
        target = target or ref.pull_ref
        answer = await self._call("HEAD", ref, f"manifests/{target}", credential, 0, ACCEPT, host)
        headers = answer.response.headers
        content_type = str(headers.get("Content-Type", ""))
        return headers.get("Docker-Content-Digest"), media_type(content_type, b"")

    async def list_tags(
        self, ref: Reference, credential: Credential, limit: int = 1000, host: Host | None = None
    ) -> list[str]:
        """The repository's tags (first page only); NameUnknown if there is no repository."""
        answer = await self._call(
            "GET",
            ref,
            f"tags/list?n={limit}",
            credential,
            MAX_MANIFEST_BYTES,
            "application/json",
            host,
        )
        tags = (json_object(answer.body) or {}).get("tags")
        return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []

    async def get_blob(
        self,
        ref: Reference,
        credential: Credential,
        digest: str,
        max_bytes: int,
        host: Host | None = None,
    ) -> bytes:
        """GET a blob (an image config) and check it against its digest."""
        answer = await self._call("GET", ref, f"blobs/{digest}", credential, max_bytes, "*/*", host)
        check_blob(answer.body, digest)
        return answer.body

    async def _ping(self, host: str, url: str, retries: int | None) -> httpx.Response:
        """A GET for endpoint discovery (`/v2/`): only its status and headers count."""
        answer = await self._send("GET", host, url, {}, _MAX_ERROR_BYTES, retries=retries)
        return answer.response

    # -- requests with auth -------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        ref: Reference,
        path: str,
        credential: Credential,
        max_bytes: int,
        accept: str,
        host: Host | None = None,
    ) -> Answer:
        if host is not None and not host.discover:
            endpoint = await self.endpoints.host(host)
        else:
            endpoint = await self.endpoints.registry(ref.domain)
        url = f"{endpoint.api_root}/{ref.path}/{path}"
        headers = {"Accept": accept}
        if host is not None:
            if host.is_mirror_for(ref.domain):
                # as containerd tells a mirror which registry is meant (`?ns=`)
                url += ("&" if "?" in url else "?") + f"ns={ref.domain}"
            headers.update({name: ", ".join(values) for name, values in host.headers})
        scope = f"repository:{ref.path}:pull"
        auth = RegistryAuth(endpoint, scope, credential, self.tokens, self.options)
        answer = await self._send_with(auth, method, url, headers, max_bytes)
        self._note_budget(endpoint.host, ref, credential, answer)
        raise_for_status(answer.response, answer.body, ref, path, credential)
        return answer

    def _note_budget(
        self, host: str, ref: Reference, credential: Credential, answer: Answer
    ) -> None:
        """Keep the pull budget the answer states (Docker Hub's rate-limit headers) for
        `host` and `credential`; a spent one (429 `TOOMANYREQUESTS`) is Unreachable: the
        runner's budget is not the nodes', so the image could not be verified."""
        response = answer.response
        budget = spent_budget(response.status_code, host, response.headers, answer.body)
        if budget is None and response.status_code < 300:
            budget = parse_budget(response.headers)
        if budget is None:
            return
        self.budgets.record(
            host,
            credential.source,
            budget,
            docker_hub=is_docker_hub(ref.domain),
            repository=ref.path,
        )
        if budget.spent:
            raise RateLimited(spent_message(credential.source, budget))

    async def _send_with(
        self, auth: RegistryAuth, method: str, url: str, headers: dict[str, str], max_bytes: int
    ) -> Answer:
        """Send the requests of `auth`'s flow, answering it as httpx's `auth=` would.

        Driven here rather than passed as `auth=`: httpx would run the whole flow inside one
        slot and one retry loop (a token fetched from that same host would wait for a slot the
        flow holds) and read the 401 it answers in full. Here each request of the flow has its
        own slot, retries and byte cap, and each attempt is built afresh with the flow's
        `Authorization`.
        """
        flow = auth.async_auth_flow(httpx.Request(method, url, headers=headers))
        try:
            request = await flow.__anext__()
            while True:
                authorization = request.headers.get("Authorization")
                sent = {**headers, "Authorization": authorization} if authorization else headers
                answer = await self._send(method, auth.endpoint.host, url, sent, max_bytes)
                try:
                    request = await flow.asend(answer.response)
                except StopAsyncIteration:
                    return answer
        finally:
            await flow.aclose()

    async def _fetch_token(
        self, challenge: Challenge, scope: str, credential: Credential
    ) -> tuple[str, float]:
        realm = challenge.realm or ""
        realm_url = httpx.URL(realm)
        realm_host = realm_url.netloc.decode("ascii")
        if realm_url.scheme not in ("https", "http"):
            raise InvalidResponse(f"token realm {realm!r} is not an HTTP URL")
        if realm_url.scheme == "http":
            refuse_plain_http(self.options, realm, realm_host, credential)
        params = {"scope": scope}
        if challenge.service:
            params["service"] = challenge.service
        headers: dict[str, str] = {}
        if credential.identity_token:
            form = {
                "grant_type": "refresh_token",
                "refresh_token": credential.identity_token,
                "client_id": "pullgate",
                **params,
            }
            answer = await self._send(
                "POST",
                realm_host,
                realm,
                {},
                _MAX_ERROR_BYTES,
                form=form,
                follow_redirects=False,
                tls_host=challenge.origin or None,
            )
            if answer.response.status_code in (404, 405):
                # No OAuth2 endpoint: the GET form, with the identity token as the password (as
                # containerd falls back).
                as_basic = Credential(
                    credential.source, credential.username or "", credential.identity_token
                )
                headers["Authorization"] = basic_header(as_basic)
                answer = await self._send(
                    "GET",
                    realm_host,
                    realm,
                    headers,
                    _MAX_ERROR_BYTES,
                    params=params,
                    follow_redirects=False,
                    tls_host=challenge.origin or None,
                )
        else:
            if not credential.anonymous:
                headers["Authorization"] = basic_header(credential)
            answer = await self._send(
                "GET",
                realm_host,
                realm,
                headers,
                _MAX_ERROR_BYTES,
                params=params,
                follow_redirects=False,
                tls_host=challenge.origin or None,
            )
        status = answer.response.status_code
        if 300 <= status < 400:
            raise InvalidResponse(
                f"the token service {realm_host} answered a redirect; pullgate does not follow "
                "it with credentials"
            )
        if status in (401, 403):
            raise Unauthorized(
                f"{credential.source} was refused by the token service {realm_host} "
                f"({status}{registry_message(answer.body)})",
                status,
            )
        if status != 200:
            raise Unreachable(
                f"the token service {realm_host} answered {status}{registry_message(answer.body)}"
            )
        data = json_object(answer.body)
        if data is None:
            raise InvalidResponse(f"the token service {realm_host} sent no JSON object")
        token = data.get("token") or data.get("access_token")
        if not isinstance(token, str) or not token:
            raise InvalidResponse(f"the token service {realm_host} sent no token")
        try:
            lifetime = float(data.get("expires_in") or DEFAULT_TOKEN_LIFETIME)
        except (TypeError, ValueError):
            lifetime = DEFAULT_TOKEN_LIFETIME
        return token, max(lifetime, 1.0)

    # -- one HTTP exchange, retried -------------------------------------------------------------

    async def _send(
        self,
        method: str,
        host: str,
        url: str,
        headers: Mapping[str, str],
        max_bytes: int,
        params: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        retries: int | None = None,
        follow_redirects: bool = True,
        tls_host: str | None = None,
    ) -> Answer:
        """Send with retries on transient trouble; the body is read, capped at `max_bytes`.

        httpx drops `Authorization` on a redirect to another origin; requests that carry a
        credential in their body (token requests) pass `follow_redirects=False`. `tls_host`
        (default `host`): whose TLS settings a host without its own takes, as containerd's
        authorizer and redirects use the registry host's client.
        """
        limit = self._limits.setdefault(host, asyncio.Semaphore(self.options.per_registry))
        attempts = (self.options.retries if retries is None else retries) + 1
        try:
            async for attempt in retrying(attempts, self.options.backoff):
                with attempt:
                    async with limit:
                        return await self._within_timeout(
                            url,
                            self._send_once(
                                method,
                                url,
                                headers,
                                max_bytes,
                                params,
                                form,
                                follow_redirects,
                                tls_host or host,
                            ),
                        )
        except Retryable as exc:
            suffix = f" (after {attempts} attempts)" if attempts > 1 else ""
            raise Unreachable(f"{exc}{suffix}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _within_timeout(self, url: str, sending: Coroutine[Any, Any, Answer]) -> Answer:
        """One request as a whole (connect, headers and the whole body) within `--timeout`:
        httpx's timeouts are per read, so a server trickling a byte a second never trips
        them."""
        try:
            return await asyncio.wait_for(sending, self.options.timeout)
        except asyncio.TimeoutError:
            raise Retryable(
                f"{origin(url)}: no complete answer within {self.options.timeout:g} s"
            ) from None

    async def _send_once(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        max_bytes: int,
        params: Mapping[str, str] | None,
        form: Mapping[str, str] | None,
        follow_redirects: bool,
        tls_host: str,
    ) -> Answer:
        self.requests += 1
        request = self._http.build_request(
            method,
            url,
            headers=headers,
            params=params,
            data=form,
            extensions={TLS_HOST: tls_host},
        )
        try:
            response = await self._http.send(
                request, stream=True, follow_redirects=follow_redirects
            )
        except httpx.TooManyRedirects:
            raise InvalidResponse(f"{origin(url)}: redirects without end") from None
        except httpx.TimeoutException as exc:
            raise Retryable(_transport_message(url, describe_failure(url, exc))) from None
        except httpx.TransportError as exc:
            failure = describe_failure(url, exc)
            message, kind = _transport_message(url, failure), failure.kind
            if is_cert_failure(exc) or kind in ("client-cert-required", "client-cert-refused"):
                # the server speaks TLS and certificates failed: no plain-HTTP fallback either
                raise TLSVerificationFailed(message) from None
            if is_name_unknown(exc) or kind in ("proxy-auth", "proxy-unsupported"):
                # NXDOMAIN, a proxy asking for credentials: asking again changes nothing
                raise Unreachable(message) from None
            raise Retryable(message) from None
        try:
            ok = response.status_code < 300
            cap = max_bytes if ok else _MAX_ERROR_BYTES
            declared = response.headers.get("Content-Length")
            if ok and cap and declared and declared.isdigit() and int(declared) > cap:
                raise InvalidResponse(
                    f"{origin(url)}: the response is {declared} bytes, over the {cap}-byte limit"
                )
            body = bytearray()
            if method != "HEAD":
                try:
                    decoder = BoundedDecoder(response.headers.get("Content-Encoding", ""), cap)
                    async for chunk in response.aiter_raw():
                        body.extend(decoder.feed(chunk))
                    body.extend(decoder.finish())
                except BodyTooLarge:
                    if ok:
                        raise InvalidResponse(
                            f"{origin(url)}: the response is over the {cap}-byte limit"
                        ) from None
                    # an error body is only read for its message: keep what fits
                except UndecodableBody as exc:
                    if ok:
                        raise InvalidResponse(f"{origin(url)}: {exc}") from None
                    body.clear()  # the status still says what happened; its body is lost
        except httpx.TimeoutException:
            raise Retryable(f"{origin(url)}: timed out reading the response") from None
        except httpx.TransportError as exc:
            raise Retryable(_transport_message(url, describe_failure(url, exc))) from None
        finally:
            await response.aclose()
        if response.status_code in RETRY_STATUSES and not spent_budget(
            response.status_code, httpx.URL(url).host, response.headers, bytes(body)
        ):  # Docker Hub's pull limit is spent for hours: asking again in seconds is no use
            raise Retryable(
                f"{origin(url)} answered {response.status_code} {response.reason_phrase}",
                retry_after(response),
            )
        return Answer(response, bytes(body))


def _transport_message(url: str, failure: Failure) -> str:
    """A plain sentence for a network failure: what failed, where, how to fix it, and never a
    credential (a proxy is named by scheme, host and port only)."""
    host = httpx.URL(url).netloc.decode("ascii")
    message = f"{origin(url)}: {failure.reason}"
    kind = failure.kind
    if kind in ("cert-unknown-authority", "cert-other"):
        message += (
            f"; trust its CA with `ca` in hosts.toml, `registries.{host}.ca-file` in the "
            "config or --ca-file, or mark the host with --insecure-registry"
        )
    elif kind == "cert-expired":
        message += "; the registry's certificate must be renewed on the registry"
    elif kind == "cert-not-yet-valid":
        message += "; check this machine's clock, or the certificate's start date"
    elif kind == "cert-wrong-name":
        message += (
            "; use the name the certificate is for in the image reference (or give the "
            "registry a certificate for this name)"
        )
    elif kind == "client-cert-required":
        message += (
            "; the registry wants a client certificate: give one with `client` in hosts.toml "
            f"or `registries.{host}.cert-file` and `key-file` in the config"
        )
    elif kind == "client-cert-refused":
        message += (
            "; the registry does not accept the client certificate given (`client` in "
            "hosts.toml, `cert-file`/`key-file` in `registries:`): use one its CA signed"
        )
    elif kind == "proxy-auth" and failure.route is not None:
        route = failure.route
        variable = route.proxy_variable or "HTTPS_PROXY"
        scheme, _, where = (route.proxy or "http://host:port").partition("://")
        if route.proxy_credentials:
            message += f"; check the user name and password in {variable}"
        else:
            message += f"; put them in {variable} as {scheme}://USER:PASSWORD@{where}"
    elif kind in ("proxy-unreachable", "proxy-refused") and failure.route is not None:
        variable = failure.route.proxy_variable or "HTTPS_PROXY"
        message += f"; check {variable}, or list the registry in NO_PROXY to go direct"
    return message
