"""Where a registry answers: `GET /v2/` discovery of hosts and mirrors, HTTPS before plain HTTP.

Each host or mirror is discovered once per run (single flight); its answer to `/v2/` says
where the API is and which challenge it starts with. Plain HTTP is tried only where the
transport options allow it, and never after a certificate that failed verification.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

import httpx

from gate.hosts import Host
from gate.net import split_host
from gate.reference import api_host
from gate.registry.auth import Challenge, parse_challenges, preferred_challenge
from gate.registry.errors import InsecureRefused, TLSVerificationFailed, Unreachable
from gate.registry.transport import TransportOptions

log = logging.getLogger(__name__)

Ping = Callable[[str, str, "int | None"], Awaitable[httpx.Response]]
"""(host, URL, retries or None for the configured number) -> the answer to a GET of URL."""


@dataclass(frozen=True)
class Endpoint:
    """A registry host as discovered by `GET /v2/`: where it answers and how it wants auth."""

    host: str
    api_root: str
    """`https://host/v2`, a mirror's root such as `https://mirror.example.com/docker.io/v2`, or
    an `override_path` root as written (`https://harbor.example.com/v2/hub-proxy`)."""
    challenge: Challenge | None


class Endpoints:
    """Every registry host and mirror of one run, each discovered once, whoever asks first."""

    def __init__(self, options: TransportOptions, ping: Ping) -> None:
        self._options = options
        self._ping = ping
        self._found: dict[str, asyncio.Task[Endpoint]] = {}

    async def registry(self, domain: str) -> Endpoint:
        """The registry's API root and challenge, discovered once per host (single flight)."""
        host = api_host(domain)
        task = self._found.get(host)
        if task is None:
            task = asyncio.ensure_future(self._discover(host))
            self._found[host] = task
        return await asyncio.shield(task)

    async def host(self, host: Host) -> Endpoint:
        """A configured host (a mirror, or a `server`): its scheme as written, plain HTTP
        only where allowed; its root probed once, except where `override_path` makes the
        root the host's own (containerd never probes: the first 401 tells the challenge)."""
        task = self._found.get(host.root)
        if task is None:
            task = asyncio.ensure_future(self._discover_host(host))
            self._found[host.root] = task
        return await asyncio.shield(task)

    async def _discover_host(self, host: Host, retries: int | None = None) -> Endpoint:
        if host.scheme == "http" and host.tls_configured and split_host(host.host)[1] != 80:
            # containerd: TLS configured for an `http://` host means HTTPS first, falling
            # back to plain HTTP on a TLS error (`ConfigureHosts`, `NewHTTPFallback`)
            secure = replace(host, scheme="https")
            try:
                return await self._discover_host(secure, retries=0)
            except TLSVerificationFailed:
                raise
            except Unreachable:
                log.info("%s: no HTTPS; plain HTTP as containerd falls back", host.host)
        if host.scheme == "http" and not self._options.plain_http_allowed(host.host):
            raise InsecureRefused(
                f"{host.name} ({host.source}): plain HTTP to {host.host} is not allowed; mark "
                "it with --insecure-registry (or use https://)"
            )
        if host.override_path:
            if retries == 0:
                # HTTPS first: any answer to its root says the host speaks TLS
                await self._ping(host.host, f"{host.root}/", 0)
            return Endpoint(host.host, host.root, None)
        return await self._probe(host.host, host.root, retries=retries)

    async def _discover(self, host: str) -> Endpoint:
        """`GET /v2/` over HTTPS; over plain HTTP only where allowed and HTTPS did not answer.

        Where plain HTTP is a fallback, the HTTPS probe is not retried (a plain-HTTP registry
        fails the TLS handshake at once, every time); a certificate that fails verification is
        never a reason to fall back.
        """
        fallback = self._options.discovery_falls_back(host)
        try:
            return await self._probe(host, f"https://{host}/v2", retries=0 if fallback else None)
        except TLSVerificationFailed:
            raise
        except Unreachable:
            if not fallback:
                raise
        return await self._probe(host, f"http://{host}/v2", retries=None)

    async def _probe(self, host: str, root: str, retries: int | None) -> Endpoint:
        response = await self._ping(host, f"{root}/", retries)
        challenge = None
        if response.status_code == 401:
            challenge = preferred_challenge(
                parse_challenges(response.headers.get("WWW-Authenticate", ""))
            )
            if challenge is not None:
                challenge = replace(challenge, origin=host)
        log.debug("%s answers at %s (auth: %s)", host, root, challenge and challenge.scheme)
        return Endpoint(host, root, challenge)
