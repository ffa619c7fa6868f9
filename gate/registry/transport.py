"""How pullgate talks to a registry host: API endpoint, scheme, TLS trust, timeouts, retries.

Plain HTTP is allowed only for loopback hosts (as Docker allows) and hosts the user marked
insecure; TLS verification is skipped only for hosts the user marked insecure (or whose
`hosts.toml` says `skip_verify`), never silently. Trust starts from the OS store (truststore),
private CAs are added per host, client certificates are offered per host, and each request goes
through the proxy containerd would use (gate.proxy), never for loopback.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import sys
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

import certifi
import httpx
import truststore

from gate import __version__
from gate.errors import GateError
from gate.net import (
    DEFAULT_PORTS,
    Route,
    ca_file_problem,
    causes,
    client_pair_problem,
    is_cert_failure,
    mark_route,
    split_host,
)
from gate.proxy import Proxy, ProxyConfig
from gate.registry.decoding import ACCEPT_ENCODING
from gate.registry.defaults import (
    DEFAULT_BACKOFF,
    DEFAULT_DEADLINE,
    DEFAULT_PER_REGISTRY,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
)
from gate.registry.options import (
    HostTLS,
    TransportOptions,
    default_tls,
    host_tls,
)

log = logging.getLogger(__name__)

TLS_HOST = "pullgate.tls_host"
"""Request extension: the registry host a request is made for (httpx keeps extensions on
redirects), whose TLS settings a host without its own takes."""

ALERT_PROBE_TIMEOUT = 2.0
"""Seconds a bare handshake may take to show the alert a server closed TLS with."""


class TLSSetupError(GateError):
    """A CA or client certificate file for a host cannot be loaded (exit 2: fix the setup)."""


def _system_has_cas() -> bool:
    """Whether the OS offers any CA to trust (macOS and Windows always do; slim Linux images
    may have none at all)."""
    if sys.platform in ("darwin", "win32"):
        return True
    if ssl.create_default_context().cert_store_stats().get("x509_ca"):
        return True
    capath = ssl.get_default_verify_paths().capath
    if capath and os.path.isdir(capath):
        return any(name.endswith((".0", ".1", ".pem", ".crt")) for name in os.listdir(capath))
    return False


def _load_ca(context: ssl.SSLContext, ca_file: str) -> None:
    try:
        context.load_verify_locations(cafile=ca_file)
    except (ssl.SSLError, OSError, ValueError) as exc:
        problem = ca_file_problem(ca_file) or f"{ca_file} cannot be loaded ({exc})"
        raise TLSSetupError(problem) from None


def _load_client_pairs(
    context: ssl.SSLContext, client_pairs: Iterable[tuple[str, str | None]]
) -> None:
    # OpenSSL keeps one certificate per key type, the last one loaded: loading in reverse
    # leaves the first pair of each type in place, the one Go offers first.
    for cert, key in reversed(tuple(client_pairs)):
        problem = client_pair_problem(cert, key)
        if problem:
            raise TLSSetupError(f"client certificate: {problem}")
        try:
            context.load_cert_chain(cert, key)
        except (ssl.SSLError, OSError) as exc:  # pragma: no cover (client_pair_problem said ok)
            raise TLSSetupError(f"client certificate {cert}: {exc}") from None


def ssl_context(
    ca_files: Iterable[str] = (),
    client_pairs: Iterable[tuple[str, str | None]] = (),
    verify: bool = True,
) -> ssl.SSLContext:
    """The OS trust store (truststore: a CA the runner's OS trusts is trusted; on Linux that
    store honours SSL_CERT_FILE / SSL_CERT_DIR) plus `ca_files`, and `client_pairs` offered
    for mutual TLS. `verify` False: the server's certificate is not checked at all.

    Where the system has no CA at all (slim CI images), certifi's bundle stands in.
    """
    context: ssl.SSLContext
    if verify:
        context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if not _system_has_cas():
            context.load_verify_locations(cafile=certifi.where())
        for ca_file in ca_files:
            _load_ca(context, ca_file)
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    _load_client_pairs(context, client_pairs)
    return context


@dataclass(frozen=True)
class TLSProfile:
    """The TLS one host gets: a context is built once per distinct profile."""

    verify: bool = True
    ca_files: tuple[str, ...] = ()
    client_pairs: tuple[tuple[str, str | None], ...] = ()


def _matching(
    entries: Iterable[str], host: str, port: int, bare_port: int | None = None
) -> list[str]:
    """The entries (`host` or `host:port`) naming `host` on `port`: bare names first, so that
    what a `host:port` entry says is applied last and wins. `bare_port`: the one port a bare
    name means (a hosts.toml `https://registry` is port 443 only, as containerd builds a
    client per host URL); None: any port."""
    matches: list[tuple[int, str]] = []
    for entry in entries:
        name, entry_port = split_host(entry)
        if name.lower() != host.lower() or entry_port not in (None, port):
            continue
        if entry_port is None and bare_port is not None and port != bare_port:
            continue
        matches.append((0 if entry_port is None else 1, entry))
    return [entry for _, entry in sorted(matches)]


def tls_profile(options: TransportOptions, host: str, port: int) -> TLSProfile:
    """What TLS `host` on `port` gets: `--ca-file` for all, the `host_tls` entries for that
    host (`host:port` over `host`), no verification where the host is insecure or its entry
    says `skip_verify`."""
    netloc = f"[{host}]" if ":" in host else host
    insecure = options.is_insecure(f"{netloc}:{port}") or options.is_insecure(netloc)
    ca_files = list(options.ca_files)
    client_pairs: list[tuple[str, str | None]] = []
    skip_verify: bool | None = None
    entries = [options.host_tls[e] for e in _matching(options.host_tls, host, port, 443)]
    if not entries and options.default_tls is not None:
        entries = [options.default_tls]
    for tls in entries:
        ca_files.extend(tls.ca_files)
        client_pairs.extend(tls.client_pairs)
        if tls.skip_verify is not None:
            skip_verify = tls.skip_verify
    return TLSProfile(
        verify=not (insecure or skip_verify is True),
        ca_files=tuple(dict.fromkeys(ca_files)),
        client_pairs=tuple(dict.fromkeys(client_pairs)),
    )


class RoutingTransport(httpx.AsyncBaseTransport):
    """Sends each request through the pool for its TLS profile and its proxy.

    The proxy is chosen per request as containerd chooses it (`gate.proxy`: HTTPS_PROXY for
    https, HTTP_PROXY for http, NO_PROXY, loopback never); the TLS profile per host
    (`tls_profile`). Pools are created on first use, one per (profile, proxy), and all closed
    with the transport. A failure is marked with its route (`gate.net.Route`) so that it can
    name the proxy, and a proxy's 407 to a forwarded plain-HTTP request is raised as the
    `httpx.ProxyError` a CONNECT answered 407 gives.
    """

    def __init__(
        self, options: TransportOptions, proxies: ProxyConfig, limits: httpx.Limits
    ) -> None:
        self._options = options
        self._proxies = proxies
        self._limits = limits
        self._contexts: dict[TLSProfile, ssl.SSLContext] = {}
        self._pools: dict[tuple[TLSProfile, str | None], httpx.AsyncHTTPTransport] = {}
        self._warned: set[tuple[str, int]] = set()
        self._probed: set[tuple[str, int]] = set()
        """Hosts already probed for a TLS alert and found to send none."""

    def context(self, profile: TLSProfile) -> ssl.SSLContext:
        """The SSL context of `profile` (built once; TLSSetupError if a file cannot load)."""
        context = self._contexts.get(profile)
        if context is None:
            context = ssl_context(profile.ca_files, profile.client_pairs, profile.verify)
            self._contexts[profile] = context
        return context

    def route(self, url: httpx.URL, tls_host: str | None = None) -> tuple[TLSProfile, Proxy | None]:
        """The TLS profile and the proxy (None: direct) of a request to `url`; a host without
        TLS settings of its own, reached for `tls_host` (its token service, a redirect), takes
        `tls_host`'s, as containerd sends those through the registry host's client."""
        port = url.port or DEFAULT_PORTS.get(url.scheme, 443)
        profile = _PLAIN
        if url.scheme == "https":
            settings_of = (url.host, port)
            own = _matching(self._options.host_tls, url.host, port, 443) or (
                self._options.is_insecure(f"{url.host}:{port}")
                or self._options.is_insecure(url.host)
            )
            if tls_host and not own:
                name, tls_port = split_host(tls_host)
                settings_of = (name, tls_port or 443)
            profile = tls_profile(self._options, *settings_of)
        if url.scheme == "https" and not profile.verify and (url.host, port) not in self._warned:
            self._warned.add((url.host, port))
            inherited = (
                f", as for {tls_host}" if tls_host and tls_host != f"{url.host}:{port}" else ""
            )
            log.warning(
                "TLS certificates of %s:%s are not verified (skip_verify, or marked insecure%s)",
                url.host,
                port,
                inherited,
            )
        return profile, self._proxies.proxy_for(url.scheme, url.host, url.port)

    def _pool(self, profile: TLSProfile, proxy: Proxy | None) -> httpx.AsyncHTTPTransport:
        key = (profile, proxy.url if proxy is not None else None)
        pool = self._pools.get(key)
        if pool is not None:
            return pool
        via: httpx.Proxy | None = None
        if proxy is not None:
            if proxy.scheme not in ("http", "https"):
                raise httpx.ProxyError(f"unsupported proxy scheme {proxy.scheme}")
            # TLS to an https:// proxy: the system's trust and --ca-file, no client certificate
            proxy_context = (
                self.context(TLSProfile(ca_files=self._options.ca_files))
                if proxy.scheme == "https"
                else None
            )
            try:
                via = httpx.Proxy(proxy.url, ssl_context=proxy_context)
            except (httpx.InvalidURL, ValueError):
                # never the URL itself in the message: it may hold the proxy's password
                raise httpx.ProxyError(f"the proxy URL in {proxy.variable} is not valid") from None
        pool = httpx.AsyncHTTPTransport(
            verify=self.context(profile),
            http2=True,
            limits=self._limits,
            proxy=via,
            trust_env=False,
        )
        self._pools[key] = pool
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        tls_host = request.extensions.get(TLS_HOST)
        profile, proxy = self.route(request.url, tls_host if isinstance(tls_host, str) else None)
        route = Route(
            proxy=proxy.display if proxy is not None else None,
            proxy_variable=proxy.variable if proxy is not None else None,
            proxy_credentials=proxy is not None and proxy.has_credentials,
            client_certificate=bool(profile.client_pairs),
        )
        try:
            response = await self._pool(profile, proxy).handle_async_request(request)
        except ssl.SSLError as raw:
            # An alert read after the handshake (TLS 1.3: a server refusing the client's
            # certificate says so on the first read): anyio raises it as it is, and httpcore
            # maps no ssl.SSLError on a read, so it would reach the caller unwrapped.
            said = httpx.ConnectError(f"the server closed TLS with an alert: {raw.reason}")
            mark_route(said, route)
            raise said from raw
        except httpx.TransportError as exc:
            mark_route(exc, route)
            alert = await self._alert_behind(request.url, profile, proxy, exc)
            if alert is None:
                raise
            said = httpx.ConnectError(f"the server closed TLS with an alert: {alert.reason}")
            mark_route(said, route)
            raise said from alert
        if isinstance(response.stream, httpx.AsyncByteStream):
            response.stream = _AlertsAsReadErrors(response.stream, route)
        if proxy is not None and request.url.scheme == "http" and response.status_code == 407:
            # a forwarded request: the 407 is the proxy's, as a CONNECT answered 407 would be
            await response.aclose()
            refused = httpx.ProxyError("407 Proxy Authentication Required", request=request)
            mark_route(refused, route)
            raise refused
        return response

    async def _alert_behind(
        self, url: httpx.URL, profile: TLSProfile, proxy: Proxy | None, exc: Exception
    ) -> ssl.SSLError | None:
        """The TLS alert a server closed the connection with, where the failure shows only a
        cut connection: a server that rejects the client's certificate (or its absence) in
        TLS 1.3 does so after the client's handshake is done, and the client's first write
        then meets a closed socket before the alert is read. One bare handshake, reading
        without writing, brings the alert to light (direct connections only)."""
        if url.scheme != "https" or proxy is not None or is_cert_failure(exc):
            return None
        if any(isinstance(c, ssl.SSLError) for c in causes(exc)):
            return None
        cut = (BrokenPipeError, ConnectionResetError, EOFError)
        if not any(isinstance(c, cut) for c in causes(exc)) and not isinstance(
            exc, (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)
        ):
            return None
        port = url.port or DEFAULT_PORTS["https"]
        if (url.host, port) in self._probed:
            return None  # a stale keep-alive connection, not a refusal: asked once is enough
        alert = await tls_alert(url.host, port, self.context(profile))
        if alert is None or "ALERT" not in str(alert.reason or ""):
            self._probed.add((url.host, port))
            return None
        return alert

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()


async def tls_alert(
    host: str, port: int, context: ssl.SSLContext, timeout: float = ALERT_PROBE_TIMEOUT
) -> ssl.SSLError | None:
    """The TLS error a bare handshake with `host` ends in, before or just after it completes
    (a server's alert), or None when the connection stays open or fails otherwise."""
    writer: asyncio.StreamWriter | None = None
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context, server_hostname=host), timeout
        )
        await asyncio.wait_for(reader.read(1), timeout)
    except ssl.SSLError as exc:
        return exc
    except (OSError, asyncio.TimeoutError, EOFError):
        return None
    finally:
        if writer is not None:
            writer.transport.abort()  # no TLS shutdown to wait for: it may take 30 s
    return None


_PLAIN = TLSProfile()
"""Plain HTTP: no TLS, so one profile for every host."""


def build_client(
    options: TransportOptions, proxies: ProxyConfig | None = None
) -> httpx.AsyncClient:
    """One client for every registry: per-host TLS (`tls_profile`), proxies as containerd
    reads them from the environment (`proxies`, default `ProxyConfig.from_environment()`).

    Every CA and client certificate configured is loaded here, so that a file that cannot be
    loaded is a TLSSetupError before any request.
    """
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
    timeout = httpx.Timeout(options.timeout, connect=min(options.timeout, 10.0))
    transport = RoutingTransport(
        options, ProxyConfig.from_environment() if proxies is None else proxies, limits
    )
    transport.context(TLSProfile(ca_files=options.ca_files))
    for host in options.host_tls:
        name, port = split_host(host)
        transport.context(tls_profile(options, name, port or 443))
    return httpx.AsyncClient(
        transport=transport,
        timeout=timeout,
        follow_redirects=True,
        # only what BoundedDecoder undoes under its cap
        headers={"User-Agent": f"pullgate/{__version__}", "Accept-Encoding": ACCEPT_ENCODING},
        trust_env=False,  # proxies are decided by RoutingTransport, as containerd decides them
    )


__all__ = [
    "DEFAULT_BACKOFF",
    "DEFAULT_DEADLINE",
    "DEFAULT_PER_REGISTRY",
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "TLS_HOST",
    "HostTLS",
    "TLSProfile",
    "TLSSetupError",
    "TransportOptions",
    "build_client",
    "default_tls",
    "host_tls",
    "ssl_context",
    "tls_profile",
]


class _AlertsAsReadErrors(httpx.AsyncByteStream):
    """A response body whose TLS alerts arrive as `httpx.ReadError`s, as every other failure
    of a read does (anyio raises a raw `ssl.SSLError` there, which httpcore does not map)."""

    def __init__(self, stream: httpx.AsyncByteStream, route: Route) -> None:
        self._stream = stream
        self._route = route

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream:
                yield chunk
        except ssl.SSLError as alert:
            said = httpx.ReadError(f"the server closed TLS with an alert: {alert.reason}")
            mark_route(said, self._route)  # what was offered, and through which proxy
            raise said from alert

    async def aclose(self) -> None:
        await self._stream.aclose()
