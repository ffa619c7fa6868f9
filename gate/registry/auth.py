"""Registry authentication: challenges, Basic, and Bearer tokens per Docker's token spec.

Tokens are cached per (realm, service, scope, credential) until shortly before they
expire, and fetched once however many requests wait for the same one (single flight): a
manifest set with 300 images from one repository costs one token request, not 300.
"""

from __future__ import annotations

import asyncio
import base64
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from gate.credentials import Credential

DEFAULT_TOKEN_LIFETIME = 60.0
"""Seconds, when the token endpoint does not say (the spec's default)."""
_EXPIRY_MARGIN = 10.0

_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*\s*(?:,|$)")
_PARAM = re.compile(
    r"""\s*([A-Za-z0-9!#$%&'*+\-.^_`|~]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*(?:,|$)"""
)
_SCHEME = re.compile(r"\s*([A-Za-z][A-Za-z0-9!#$%&'*+\-.^_`|~]*)(?:\s+|$|(?=,))")


@dataclass(frozen=True)
class Challenge:
    """One `WWW-Authenticate` challenge: a scheme (lower case) and its parameters."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)
    origin: str = ""
    """The registry host that asked: a token service without TLS settings of its own takes
    that host's (containerd's authorizer sends through the host's client)."""

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")

    @property
    def service(self) -> str | None:
        return self.params.get("service")


def parse_challenges(header: str) -> list[Challenge]:
    """Parse a `WWW-Authenticate` value into its challenges (RFC 7235).

    Values may be quoted (with commas and escaped quotes inside) or bare tokens such as gcr.io's
    `service=gcr.io`; several challenges may share one header, separated by commas.
    """
    challenges: list[Challenge] = []
    pos = 0
    text = header or ""
    while pos < len(text):
        if text[pos] in ", \t":
            pos += 1
            continue
        scheme_match = _SCHEME.match(text, pos)
        if not scheme_match:
            break
        scheme = scheme_match.group(1).lower()
        pos = scheme_match.end()
        params: dict[str, str] = {}
        token68 = _TOKEN68.match(text, pos)
        if token68:  # the token68 form (`Negotiate abc==`): no parameters
            pos = token68.end()
        while pos < len(text) and not token68:
            param = _PARAM.match(text, pos)
            if not param:
                break
            key, value = param.group(1).lower(), param.group(2)
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            params[key] = value
            pos = param.end()
        challenges.append(Challenge(scheme, params))
    return challenges


def preferred_challenge(challenges: list[Challenge]) -> Challenge | None:
    """Bearer when offered (it scopes access to one repository), else Basic."""
    for scheme in ("bearer", "basic"):
        for challenge in challenges:
            if challenge.scheme == scheme:
                return challenge
    return None


def basic_header(credential: Credential) -> str:
    raw = f"{credential.username or ''}:{credential.password or ''}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


@dataclass
class _Token:
    value: str
    expires_at: float


TokenFetcher = Callable[[Challenge, str, Credential], Awaitable[tuple[str, float]]]
"""(challenge, scope, credential) -> (token, lifetime in seconds)."""


class TokenCache:
    """Bearer tokens by (realm, service, scope, credential), with single flight.

    Keyed by the credential itself, not its source: one docker config or pull secret may hold
    several logins for one registry (a path-scoped one and a host-wide one).
    """

    def __init__(self, fetch: TokenFetcher, clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self._clock = clock
        self._tokens: dict[tuple[str, str, str, Credential], _Token] = {}
        self._inflight: dict[tuple[str, str, str, Credential], asyncio.Future[str]] = {}

    @staticmethod
    def _key(
        challenge: Challenge, scope: str, credential: Credential
    ) -> tuple[str, str, str, Credential]:
        return (challenge.realm or "", challenge.service or "", scope, credential)

    async def get(self, challenge: Challenge, scope: str, credential: Credential) -> str:
        key = self._key(challenge, scope, credential)
        cached = self._tokens.get(key)
        if cached is not None and cached.expires_at > self._clock():
            return cached.value
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            token, lifetime = await self._fetch(challenge, scope, credential)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so an unawaited future logs nothing
            raise
        finally:
            del self._inflight[key]
        margin = min(_EXPIRY_MARGIN, lifetime / 2)
        self._tokens[key] = _Token(token, self._clock() + lifetime - margin)
        future.set_result(token)
        return token

    def invalidate(self, challenge: Challenge, scope: str, credential: Credential) -> None:
        """Forget a token the registry rejected (401 `invalid_token`), so the next get refetches."""
        self._tokens.pop(self._key(challenge, scope, credential), None)
