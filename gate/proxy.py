"""Which proxy a request goes through, decided from the environment as containerd decides it.

containerd (and so every node pulling an image) takes its proxy from Go's
`net/http.ProxyFromEnvironment`, which is `golang.org/x/net/http/httpproxy`. This module reads
the same variables with the same precedence and matches `NO_PROXY` by the same rules, so that
pullgate goes where the nodes go:

* `HTTPS_PROXY` (else `https_proxy`) for https URLs, `HTTP_PROXY` (else `http_proxy`) for
  http URLs; an empty value counts as unset; nothing else is ever proxied;
* a value without a scheme (`proxy.corp:3128`) means `http://`;
* `localhost` and loopback addresses (127.0.0.0/8, ::1) are never proxied;
* `NO_PROXY` (else `no_proxy`), comma-separated: `*` (nothing is proxied), an IP address or a
  CIDR (they match hosts written as IP addresses only), `name` (that name and every name below
  it), `.name` or `*.name` (only names below it), each optionally with `:port`.

Pure: it reads a mapping (the environment by default) and opens nothing.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443, "socks5": 1080, "socks5h": 1080}

_HAS_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Proxy:
    """A proxy to send requests through, and where it was configured."""

    url: str = field(repr=False)
    """The proxy's URL as it will be used (`http://` added where no scheme was given),
    credentials included: never print it, print `display`."""
    variable: str
    """The environment variable it came from (`HTTPS_PROXY`, `https_proxy`, …)."""
    scheme: str
    host: str
    port: int
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    @property
    def display(self) -> str:
        """`scheme://host:port`: the proxy named without its user name or password."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def has_credentials(self) -> bool:
        return self.username is not None or self.password is not None


def parse_proxy(value: str, variable: str) -> Proxy | None:
    """A proxy variable's value as Go reads it: a URL, or `host[:port]` meaning `http://`;
    None for an empty value or one that is no URL even with `http://` in front (Go ignores
    those too)."""
    value = value.strip()
    if not value:
        return None
    url = value if _HAS_SCHEME.match(value) else f"http://{value}"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname
    if not host:
        return None
    scheme = parts.scheme.lower()
    return Proxy(
        url=url,
        variable=variable,
        scheme=scheme,
        host=host,
        port=port if port is not None else DEFAULT_PORTS.get(scheme, 80),
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def _environ_value(environ: Mapping[str, str], *names: str) -> tuple[str, str]:
    """(value, name) of the first of `names` set to something non-empty, as Go's
    `getEnvAny` picks it; ("", first name) when none is."""
    for name in names:
        value = environ.get(name, "")
        if value:
            return value, name
    return "", names[0]


def _idna(name: str) -> str:
    """An internationalised name in its ASCII (punycode) form, per label, as Go compares it."""
    if name.isascii():
        return name
    try:
        return ".".join(
            label.encode("idna").decode("ascii") if label and not label.isascii() else label
            for label in name.split(".")
        )
    except UnicodeError:
        return name


def _ip(text: str) -> IPAddress | None:
    """An IP address, an IPv4-mapped IPv6 one as its IPv4 (Go's `net.IP` holds them alike)."""
    try:
        address = ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _split_host_port(text: str) -> tuple[str, str] | None:
    """Go's `net.SplitHostPort` for NO_PROXY entries: `host:port` or `[v6]:port`, else None."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or not text[end + 1 :].startswith(":"):
            return None
        return text[1:end], text[end + 2 :]
    host, sep, port = text.rpartition(":")
    if not sep or ":" in host:
        return None  # no colon, or a bare IPv6 address (too many colons)
    return host, port


@dataclass(frozen=True)
class _Domain:
    suffix: str
    """`.example.com`: what a matching name ends with."""
    port: str
    exact_too: bool
    """`example.com` (not `.example.com`): the name itself matches as well."""


@dataclass(frozen=True)
class NoProxy:
    """A parsed `NO_PROXY`: which hosts go direct."""

    everything: bool = False
    networks: tuple[IPNetwork, ...] = ()
    addresses: tuple[tuple[IPAddress, str], ...] = ()
    domains: tuple[_Domain, ...] = ()

    @classmethod
    def parse(cls, value: str) -> NoProxy:
        networks: list[IPNetwork] = []
        addresses: list[tuple[IPAddress, str]] = []
        domains: list[_Domain] = []
        for raw in value.split(","):
            entry = raw.strip().lower()
            if not entry:
                continue
            if entry == "*":
                return cls(everything=True)
            if "/" in entry:
                try:
                    networks.append(ipaddress.ip_network(entry, strict=False))
                    continue
                except ValueError:
                    pass
            split = _split_host_port(entry)
            host, port = split if split is not None else (entry, "")
            if split is not None and not host:
                continue  # `:1`: no host, ignored
            address = _ip(host)
            if address is not None:
                addresses.append((address, port))
                continue
            if host.startswith("*."):
                host = host[1:]
            exact_too = not host.startswith(".")
            suffix = _idna(host if not exact_too else f".{host}")
            domains.append(_Domain(suffix, port, exact_too))
        return cls(False, tuple(networks), tuple(addresses), tuple(domains))

    def bypasses(self, host: str, port: int) -> bool:
        """Whether `host` (a name or an IP address, without brackets) on `port` goes direct."""
        if self.everything:
            return True
        name = _idna(host.strip().lower().rstrip("."))
        address = _ip(name)
        port_text = str(port)
        if address is not None:
            if any(address in network for network in self.networks):
                return True
            return any(
                address == entry and entry_port in ("", port_text)
                for entry, entry_port in self.addresses
            )
        for domain in self.domains:
            matches = name.endswith(domain.suffix) or (
                domain.exact_too and name == domain.suffix[1:]
            )
            if matches and domain.port in ("", port_text):
                return True
        return False


def never_proxied(host: str) -> bool:
    """`localhost` and loopback addresses: Go never sends them to a proxy."""
    name = host.strip().lower()
    if name == "localhost":
        return True
    address = _ip(name)
    return address is not None and address.is_loopback


@dataclass(frozen=True)
class ProxyConfig:
    """The proxy settings of one run: Go's `httpproxy.Config`, parsed once."""

    http: Proxy | None = None
    https: Proxy | None = None
    no_proxy: NoProxy = field(default_factory=NoProxy)
    no_proxy_variable: str = "NO_PROXY"

    @classmethod
    def from_values(
        cls, http_proxy: str = "", https_proxy: str = "", no_proxy: str = ""
    ) -> ProxyConfig:
        """Settings given as Go's `Config` fields (for tests and explicit configuration)."""
        return cls(
            http=parse_proxy(http_proxy, "HTTP_PROXY"),
            https=parse_proxy(https_proxy, "HTTPS_PROXY"),
            no_proxy=NoProxy.parse(no_proxy),
        )

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ProxyConfig:
        """`HTTP_PROXY`/`http_proxy`, `HTTPS_PROXY`/`https_proxy`, `NO_PROXY`/`no_proxy`,
        the upper-case name first, an empty value skipped (Go's `FromEnvironment`)."""
        env = os.environ if environ is None else environ
        http_value, http_name = _environ_value(env, "HTTP_PROXY", "http_proxy")
        https_value, https_name = _environ_value(env, "HTTPS_PROXY", "https_proxy")
        no_value, no_name = _environ_value(env, "NO_PROXY", "no_proxy")
        return cls(
            http=parse_proxy(http_value, http_name),
            https=parse_proxy(https_value, https_name),
            no_proxy=NoProxy.parse(no_value),
            no_proxy_variable=no_name,
        )

    @property
    def configured(self) -> bool:
        return self.http is not None or self.https is not None

    def use_proxy(self, host: str, port: int) -> bool:
        """Go's `useProxy`: False for loopback and for whatever `NO_PROXY` covers."""
        host = host.strip("[]")
        return not never_proxied(host) and not self.no_proxy.bypasses(host, port)

    def proxy_for(self, scheme: str, host: str, port: int | None = None) -> Proxy | None:
        """The proxy for a request to `scheme://host[:port]`, or None to go direct."""
        scheme = scheme.lower()
        proxy = self.https if scheme == "https" else self.http if scheme == "http" else None
        if proxy is None:
            return None
        effective = port if port is not None else DEFAULT_PORTS.get(scheme, 80)
        return proxy if self.use_proxy(host, effective) else None

    def proxy_for_url(self, url: str) -> Proxy | None:
        """`proxy_for` of a URL such as `https://registry.example.com/v2/`."""
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            port = None
        return self.proxy_for(parts.scheme, parts.hostname or "", port)
