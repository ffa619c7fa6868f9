"""What a run asks of its connections: timeouts, retries, deadline, each host's TLS, the hosts
of each image domain. Plain data, no network stack: options are settled before any request
(and an offline run never loads httpx); `gate.registry.transport` acts on them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from gate.addresses import is_loopback, split_host
from gate.hosts import Host, HostsConfig
from gate.registry.defaults import (
    DEFAULT_BACKOFF,
    DEFAULT_DEADLINE,
    DEFAULT_PER_REGISTRY,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
)


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
    """Each configured host's TLS, keyed by the host connected to (an empty entry where none
    is written, so that `_default`'s never applies to it). Where several domains' entries name
    one host (containerd keeps a client per domain), their CAs and client certificates add
    up, and verification is skipped only where every entry says so."""
    found: dict[str, list[Host]] = {}
    for host in hosts.all_hosts():
        # every host named gets an entry, empty or not: `_default`'s TLS is for the others
        found.setdefault(host.host, []).append(host)
    return {
        name: HostTLS(
            ca_files=tuple(dict.fromkeys(c for h in entries for c in h.ca_files)),
            client_pairs=tuple(dict.fromkeys(p for h in entries for p in h.client_pairs)),
            skip_verify=_skip_verify(entries),
        )
        for name, entries in found.items()
    }


def _skip_verify(entries: Iterable[Host]) -> bool | None:
    """True only where every entry says so; an explicit false stays false."""
    said = [h.skip_verify for h in entries]
    if said and all(v is True for v in said):
        return True
    return False if any(v is False for v in said) else None


def default_tls(hosts: HostsConfig) -> HostTLS | None:
    """`_default`'s TLS for the registry itself, where a certs.d tree's `_default` gives it."""
    upstream = hosts.default_upstream
    if upstream is None:
        return None
    return HostTLS(upstream.ca_files, upstream.client_pairs, upstream.skip_verify)


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
    hosts: HostsConfig = field(default_factory=HostsConfig)
    """Per image domain (`docker.io`): the hosts asked in order (containerd's host model)."""
    host_tls: dict[str, HostTLS] = field(default_factory=dict)
    """Per host the transport connects to (`host` or `host:port`, as `api_host` spells it)."""
    plain_http_hosts: frozenset[str] = frozenset()
    """Hosts the nodes' configuration writes as `http://` (hosts.toml, `registries:`): marked
    for plain HTTP by being written so, as containerd takes them."""
    default_tls: HostTLS | None = None
    """For hosts without a `host_tls` entry: `_default`'s TLS in a certs.d tree (containerd
    gives it to every registry without a directory of its own)."""

    def is_insecure(self, host: str) -> bool:
        name, port = split_host(host)
        for entry in self.insecure_registries:
            entry_name, entry_port = split_host(entry)
            if entry_name.lower() == name.lower() and entry_port in (None, port):
                return True
        return False

    def discovery_falls_back(self, host: str) -> bool:
        """Whether the registry itself, unconfigured, may be found over plain HTTP: loopback
        and hosts marked insecure only (a host written `http://` for another domain says
        nothing of this one, which containerd asks over HTTPS)."""
        return is_loopback(host) or self.is_insecure(host)

    def plain_http_allowed(self, host: str) -> bool:
        return is_loopback(host) or self.is_insecure(host) or host in self.plain_http_hosts
