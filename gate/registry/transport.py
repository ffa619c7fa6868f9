"""How pullgate talks to a registry host: API endpoint, scheme, TLS trust, timeouts, retries.

Plain HTTP is allowed only for loopback hosts (as Docker allows) and hosts the user marked
insecure; TLS verification is skipped only for hosts the user marked insecure, never silently.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field

import certifi
import httpx

from gate import __version__
from gate.hosts import Host, HostsConfig
from gate.net import LOOPBACK_HOSTS, is_loopback, split_host
from gate.registry.decoding import ACCEPT_ENCODING

DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 0.5
DEFAULT_PER_REGISTRY = 8
DEFAULT_DEADLINE = 300.0
"""Five minutes for every image of a run: long enough for an estate behind slow registries,
short enough that a hanging registry cannot hold a CI job."""


@dataclass(frozen=True)
class HostTLS:
    """TLS for one registry host, as containerd's `hosts.toml` gives it (`ca`, `client`,
    `skip_verify`) or the config's `registries:` entries do."""

    ca_files: tuple[str, ...] = ()
    """Private CAs trusted for this host, beside the system's."""
    client_pairs: tuple[tuple[str, str | None], ...] = ()
    """(certificate, key) files for mutual TLS; key None: the key is in the certificate file."""
    skip_verify: bool | None = None
    """True: the server's certificate is not verified (containerd's `skip_verify`)."""


def host_tls(hosts: HostsConfig) -> dict[str, HostTLS]:
    """Each configured host's TLS, keyed by the host connected to. Where several domains'
    entries name one host (containerd keeps a client per domain), their CAs and client
    certificates add up, and verification is skipped only where every entry says so."""
    found: dict[str, list[Host]] = {}
    for host in hosts.all_hosts():
        if host.ca_files or host.client_pairs or host.skip_verify is not None:
            found.setdefault(host.host, []).append(host)
    return {
        name: HostTLS(
            ca_files=tuple(dict.fromkeys(c for h in entries for c in h.ca_files)),
            client_pairs=tuple(dict.fromkeys(p for h in entries for p in h.client_pairs)),
            skip_verify=all(h.skip_verify for h in entries) or None,
        )
        for name, entries in found.items()
    }


@dataclass(frozen=True)
class TransportOptions:
    insecure_registries: frozenset[str] = frozenset()
    """HOST or HOST:PORT entries: plain HTTP allowed, TLS errors ignored."""
    ca_files: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    backoff: float = DEFAULT_BACKOFF
    """Base of the exponential backoff between retries, in seconds."""
    deadline: float = DEFAULT_DEADLINE
    """Seconds all resolution may take; what is still unresolved then could not be verified."""
    per_registry: int = DEFAULT_PER_REGISTRY
    """Requests in flight to one registry at a time."""
    registry_ca_files: dict[str, str] = field(default_factory=dict)
    """Per registry host: a private CA trusted for that host only."""
    hosts: HostsConfig = field(default_factory=HostsConfig)
    """Per image domain (`docker.io`): the hosts asked in order (containerd's host model)."""
    host_tls: dict[str, HostTLS] = field(default_factory=dict)
    """Per host the transport connects to (`host` or `host:port`, as `api_host` spells it)."""

    def is_insecure(self, host: str) -> bool:
        name, port = split_host(host)
        for entry in self.insecure_registries:
            entry_name, entry_port = split_host(entry)
            if entry_name.lower() == name.lower() and entry_port in (None, port):
                return True
        return False

    def plain_http_allowed(self, host: str) -> bool:
        return is_loopback(host) or self.is_insecure(host)


def ssl_context(ca_files: Iterable[str] = ()) -> ssl.SSLContext:
    """The system's trust store (which honours SSL_CERT_FILE / SSL_CERT_DIR) plus `ca_files`.

    Where the system has no CA bundle at all (slim CI images), certifi's stands in.
    """
    context = ssl.create_default_context()
    if not context.cert_store_stats().get("x509_ca"):
        context.load_verify_locations(cafile=certifi.where())
    for ca_file in ca_files:
        context.load_verify_locations(cafile=ca_file)
    return context


def build_client(options: TransportOptions) -> httpx.AsyncClient:
    """One pooled async client for every registry, with per-host TLS where configured."""
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
    timeout = httpx.Timeout(options.timeout, connect=min(options.timeout, 10.0))
    mounts: dict[str, httpx.AsyncBaseTransport] = {}
    for host in options.insecure_registries:
        mounts[f"https://{host}"] = httpx.AsyncHTTPTransport(
            verify=False, http2=True, limits=limits
        )
    for host, ca_file in options.registry_ca_files.items():
        if not options.is_insecure(host):
            mounts[f"https://{host}"] = httpx.AsyncHTTPTransport(
                verify=ssl_context([*options.ca_files, ca_file]), http2=True, limits=limits
            )
    default_verify = ssl_context(options.ca_files)
    # Loopback never goes through a proxy (as Go and containerd decide): plain HTTP to a local
    # registry, with its credentials, must not travel to an HTTP(S)_PROXY in clear text.
    for loopback in LOOPBACK_HOSTS:
        mounts.setdefault(
            f"all://{loopback}",
            httpx.AsyncHTTPTransport(verify=default_verify, http2=True, limits=limits),
        )
    # No explicit default transport: that way httpx still honours HTTP(S)_PROXY / NO_PROXY.
    return httpx.AsyncClient(
        verify=default_verify,
        http2=True,
        limits=limits,
        mounts=mounts,
        timeout=timeout,
        follow_redirects=True,
        # only what BoundedDecoder undoes under its cap
        headers={"User-Agent": f"pullgate/{__version__}", "Accept-Encoding": ACCEPT_ENCODING},
        trust_env=True,
    )
