"""One request's authentication as an `httpx.Auth`: offer the credential, answer a 401 once.

The flow starts from the challenge the endpoint's `/v2/` gave (none, Basic or Bearer) and gets
Bearer tokens through the run's `TokenCache`. On a 401 it tries exactly once more: with a fresh
token when the registry called the one sent stale (`invalid_token`), or with the challenge a
repository asks for that `/v2/` did not. Any other answer is the caller's to interpret.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from dataclasses import replace

import httpx

from gate.credentials import Credential
from gate.registry.auth import (
    Challenge,
    TokenCache,
    basic_header,
    parse_challenges,
    preferred_challenge,
)
from gate.registry.endpoint import Endpoint
from gate.registry.errors import InsecureRefused, InvalidResponse
from gate.registry.transport import TransportOptions


class RegistryAuth(httpx.Auth):
    """`credential` offered to `endpoint` for `scope` (`repository:NAME:pull`)."""

    def __init__(
        self,
        endpoint: Endpoint,
        scope: str,
        credential: Credential,
        tokens: TokenCache,
        options: TransportOptions,
    ) -> None:
        self.endpoint = endpoint
        self.scope = scope
        self.credential = credential
        self._tokens = tokens
        self._options = options

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("RegistryAuth fetches tokens: use it with an httpx.AsyncClient")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        challenge = self.endpoint.challenge
        await self._authorize(request, challenge)
        response = yield request
        if response.status_code != 401:
            return
        fresh = preferred_challenge(parse_challenges(response.headers.get("WWW-Authenticate", "")))
        if fresh is None or not _worth_retrying(challenge, fresh):
            return
        fresh = replace(fresh, origin=self.endpoint.host)
        if challenge is not None and challenge.scheme == "bearer":
            self._tokens.invalidate(challenge, self.scope, self.credential)
        await self._authorize(request, fresh)
        yield request

    async def _authorize(self, request: httpx.Request, challenge: Challenge | None) -> None:
        """Set the `Authorization` that answers `challenge`, or none."""
        request.headers.pop("Authorization", None)
        authorization = await self._authorization(challenge)
        if authorization is not None:
            request.headers["Authorization"] = authorization

    async def _authorization(self, challenge: Challenge | None) -> str | None:
        endpoint, credential = self.endpoint, self.credential
        if challenge is None:
            return None
        if challenge.scheme == "basic":
            if credential.anonymous:
                return None
            refuse_plain_http(self._options, endpoint.api_root, endpoint.host, credential)
            return basic_header(credential)
        if challenge.scheme == "bearer":
            if credential.registry_token:
                refuse_plain_http(self._options, endpoint.api_root, endpoint.host, credential)
                return f"Bearer {credential.registry_token}"
            if not challenge.realm:
                raise InvalidResponse(f"{endpoint.host} asked for a Bearer token without a realm")
            token = await self._tokens.get(challenge, self.scope, credential)
            refuse_plain_http(self._options, endpoint.api_root, endpoint.host, credential)
            return f"Bearer {token}"
        return None


def refuse_plain_http(
    options: TransportOptions, url: str, host: str, credential: Credential
) -> None:
    """Refuse to send a credential over plain HTTP to a host not allowed to speak it."""
    insecure = url.startswith("http://") and not options.plain_http_allowed(host)
    if insecure and not credential.anonymous:
        raise InsecureRefused(
            f"refusing to send {credential.source} over plain HTTP to {host}; "
            "mark it with --insecure-registry if that is intended"
        )


def _worth_retrying(sent: Challenge | None, fresh: Challenge) -> bool:
    """Retry once for a stale token, or when the repository wants auth that `/v2/` did not."""
    if sent is None or sent.scheme != fresh.scheme:
        return True
    return fresh.scheme == "bearer" and fresh.params.get("error") == "invalid_token"
