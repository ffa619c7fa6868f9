"""Which hosts serve an image domain, in which order: containerd's host model.

containerd asks, for each image domain, an ordered list of hosts (`core/remotes/docker/
config/hosts.go`, `ConfigureHosts`): the `[host."…"]` tables of the domain's `hosts.toml`
in the order they are written, then its `server` (or the registry itself). Each host has
capabilities: a tag is resolved only by hosts that may `pull` and `resolve`, content by digest
is fetched from hosts that may `pull`. The tree is found as containerd finds it
(`config_unix.go` `hostPaths`): `<root>/<host>_<port>_`, `<root>/<host:port>`, then
`<root>/_default`; a directory without `hosts.toml` lends its Docker-style certificate files
(`*.crt`, `*.cert` + `*.key`) to the registry itself.

The config's `registries:` speaks the same model, so both sources give the same `Host`s. Only
files are read here; the registry client does the talking.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gate.addresses import split_host
from gate.pem import ca_file_problem, client_pair_problem
from gate.reference import DEFAULT_DOMAIN, DOCKER_HUB_API

log = logging.getLogger(__name__)

PULL, RESOLVE, PUSH, REFERRERS = "pull", "resolve", "push", "referrers"
ALL_CAPABILITIES = frozenset({PULL, RESOLVE, PUSH, REFERRERS})


class HostsError(ValueError):
    """A host configuration that containerd refuses as well, located (file and key)."""


@dataclass(frozen=True)
class Host:
    """One place an image domain's content may come from, and how to talk to it."""

    scheme: str
    host: str
    """`host` or `host:port`, as connected to."""
    path: str
    """The API root's path: `/v2`, `/prefix/v2`, or, with `override_path`, as written."""
    capabilities: frozenset[str] = ALL_CAPABILITIES
    ca_files: tuple[str, ...] = ()
    client_pairs: tuple[tuple[str, str | None], ...] = ()
    skip_verify: bool | None = None
    headers: tuple[tuple[str, tuple[str, ...]], ...] = ()
    override_path: bool = False
    upstream: bool = False
    """containerd's last entry: `server`, or the registry itself where none is written."""
    discover: bool = False
    """The registry itself, unconfigured: its scheme is found by `GET /v2/` (HTTPS first,
    plain HTTP where allowed), as pullgate always has."""
    source: str = ""
    """Where it is configured, to name in messages (`certs.d/docker.io/hosts.toml`)."""

    @property
    def root(self) -> str:
        return f"{self.scheme}://{self.host}{self.path}"

    @property
    def name(self) -> str:
        """As reports name the endpoint: its URL without the `/v2` every registry has."""
        path = self.path
        if not self.override_path and path.endswith("/v2"):
            path = path[: -len("/v2")]
        return f"{self.scheme}://{self.host}{path}"

    @property
    def tls_configured(self) -> bool:
        return bool(self.ca_files or self.client_pairs or self.skip_verify is not None)

    def can(self, *capabilities: str) -> bool:
        return all(c in self.capabilities for c in capabilities)

    def is_mirror_for(self, domain: str) -> bool:
        """containerd's `isProxy`: another host than the image's own (which adds `?ns=`)."""
        if self.host == domain:
            return False
        return not (domain == DEFAULT_DOMAIN and self.host == DOCKER_HUB_API)


def registry_itself(domain: str, source: str = "") -> Host:
    """The registry named in the image, as containerd's `ConfigureHosts` defaults it."""
    if domain == DEFAULT_DOMAIN:
        return Host("https", DOCKER_HUB_API, "/v2", upstream=True, discover=True, source=source)
    return Host("https", domain, "/v2", upstream=True, discover=True, source=source)


@dataclass(frozen=True)
class HostsConfig:
    """Every configured image domain's hosts; domains not named get the registry itself.

    A chain, as the CRI searches `config_path`'s roots in order (`hostDirFromRoots`): a root
    that has the domain's directory, or a `_default`, decides; else the next one does, and
    the config's `registries:` last.
    """

    by_domain: Mapping[str, tuple[Host, ...]] = field(default_factory=dict)
    default: tuple[Host, ...] | None = None
    """`_default`'s hosts, for any domain without its own (upstream filled in per domain)."""
    broken: Mapping[str, str] = field(default_factory=dict)
    """Per domain (`_default` for the default), why containerd cannot set its hosts up: a CA
    or client file it cannot load, a `hosts.toml` it cannot read. Every pull of that domain
    fails on the nodes."""
    fallback: HostsConfig | None = None

    def _decides(self, domain: str) -> str | None:
        """Which entry of this link decides for `domain`: the domain, `_default`, or none."""
        if domain in self.by_domain or domain in self.broken:
            return domain
        if self.default is not None or "_default" in self.broken:
            return "_default"
        return None

    def hosts_for(self, domain: str) -> tuple[Host, ...]:
        entry = self._decides(domain)
        if entry is None:
            if self.fallback is not None:
                return self.fallback.hosts_for(domain)
            return (registry_itself(domain),)
        hosts = self.by_domain.get(domain) if entry == domain else self.default
        if hosts is None:  # broken: `problem_for` says why
            return (registry_itself(domain),)
        return tuple(_fill_upstream(h, domain) for h in hosts)

    def problem_for(self, domain: str) -> str | None:
        """Why the nodes cannot pull anything of `domain`, or None."""
        entry = self._decides(domain)
        if entry is None:
            return self.fallback.problem_for(domain) if self.fallback is not None else None
        return self.broken.get(entry)

    def all_hosts(self) -> list[Host]:
        """Every host configured along the chain (for TLS set-up), each domain's as
        `hosts_for` gives them."""
        found: list[Host] = []
        link: HostsConfig | None = self
        named: list[str] = []
        while link is not None:
            found.extend(h for h in link.default or () if h.host)
            named.extend(link.by_domain)
            link = link.fallback
        for domain in dict.fromkeys(named):
            found.extend(self.hosts_for(domain))
        return found

    @property
    def default_upstream(self) -> Host | None:
        """The first `_default`'s entry for the registry itself (its TLS applies to every
        registry without a directory of its own), if it gives it TLS settings."""
        link: HostsConfig | None = self
        while link is not None and link.default is None:
            link = link.fallback
        if link is None or link.default is None:
            return None
        upstream = next((h for h in link.default if h.upstream and not h.host), None)
        return upstream if upstream is not None and upstream.tls_configured else None

    def then(self, other: HostsConfig) -> HostsConfig:
        """These hosts, then `other`'s for the domains this chain does not decide."""
        tail = self.fallback.then(other) if self.fallback is not None else other
        return replace(self, fallback=tail)


def _fill_upstream(host: Host, domain: str) -> Host:
    """containerd fills an upstream entry without a host with the registry itself, keeping
    the TLS settings written for it (and giving it every capability)."""
    if host.host:
        return host
    itself = registry_itself(domain, host.source)
    return replace(
        itself,
        ca_files=host.ca_files,
        client_pairs=host.client_pairs,
        skip_verify=host.skip_verify,
        headers=host.headers,
    )


# -- containerd's certs.d tree ----------------------------------------------------------------


def host_directory(domain: str) -> str:
    """`host:port` is the directory `host_port_` (containerd's `hostDirectory`)."""
    name, port = split_host(domain)
    return f"{name}_{port}_" if port is not None else domain


def load_certs_d(root: str | os.PathLike[str]) -> HostsConfig:
    """Every host directory under `root` (containerd's `config_path`), read as containerd
    reads it. A directory named `host_port_` wins over one named `host:port`."""
    base = Path(root)
    if not base.is_dir():
        raise HostsError(
            f"{base}: not a directory (give the nodes' certs.d, e.g. a copy of "
            "/etc/containerd/certs.d)"
        )
    by_domain: dict[str, tuple[Host, ...]] = {}
    broken: dict[str, str] = {}
    default = None
    # `host_port_` before `host:port`: containerd looks for it first (`hostPaths`)
    entries = sorted(
        (p for p in base.iterdir() if p.is_dir()), key=lambda p: (":" in p.name, p.name)
    )
    for directory in entries:
        domain = "_default" if directory.name == "_default" else _domain_of(directory.name)
        if (domain in by_domain or domain in broken) and ":" in directory.name:
            continue  # `host_port_` is looked for first
        try:
            hosts = tuple(_rerooted(h, base) for h in load_host_dir(directory, base))
            for host in hosts:
                _check_files(host)
        except MissingHostFile:
            raise
        except HostsError as exc:
            broken[domain] = str(exc)
            by_domain.pop(domain, None)
            continue
        if domain == "_default":
            default = hosts
        else:
            by_domain[domain] = hosts
    return HostsConfig(by_domain, default, broken)


def load_certs_d_roots(roots: str) -> HostsConfig:
    """`config_path` as the CRI takes it: roots separated by `:`, searched in order."""
    chain: HostsConfig | None = None
    for root in reversed([r for r in roots.split(os.pathsep) if r]):
        link = load_certs_d(root)
        chain = link if chain is None else link.then(chain)
    if chain is None:
        raise HostsError("no directory given")
    return chain


class MissingHostFile(HostsError):
    """A file the tree names that is not in this copy: the nodes may well have it, so this is
    the gate's input to fix (exit 2), not the nodes' failure."""


def _check_files(host: Host) -> None:
    """containerd's `updateTLSConfigFromHost` fails the domain's pulls on a CA or client file
    it cannot load; so does the gate, naming the file. A file not here at all is the copy's
    gap (MissingHostFile), not a verdict on the nodes."""
    for path in (*host.ca_files, *(c for pair in host.client_pairs for c in pair if c)):
        if not os.path.exists(path):
            raise MissingHostFile(
                f"{host.source}: names {path}, which is not in this copy of the tree; copy it "
                "(or write it relative to the host directory, as containerd allows)"
            )
    for ca_file in host.ca_files:
        problem = ca_file_problem(ca_file)
        if problem:
            raise HostsError(f"{host.source}: {problem}")
    for cert, key in host.client_pairs:
        problem = client_pair_problem(cert, key)
        if problem:
            raise HostsError(f"{host.source}: {problem}")


NODE_CONFIG_PATHS = ("/etc/containerd/certs.d", "/etc/docker/certs.d")
"""Where nodes keep the tree (containerd's default `config_path`, and Docker's, which EKS and
others add): a copy of it names its files there."""


def _rerooted(host: Host, root: Path) -> Host:
    """A copy of the nodes' tree names its certificates where the nodes keep them
    (`/etc/containerd/certs.d/<host>/ca.crt`); a file missing there but present at the same
    place in the copy is read from the copy."""

    def here(path: str) -> str:
        for prefix in NODE_CONFIG_PATHS:
            if path.startswith(prefix + "/") and not os.path.exists(path):
                candidate = root / path[len(prefix) + 1 :]
                if candidate.exists():
                    log.info("%s: read from the copy, %s", path, candidate)
                    return str(candidate)
        return path

    return replace(
        host,
        ca_files=tuple(here(c) for c in host.ca_files),
        client_pairs=tuple((here(c), here(k) if k else None) for c, k in host.client_pairs),
    )


def _domain_of(directory: str) -> str:
    """The image domain a directory configures: its name as written (containerd looks the
    image's host up literally: `index.docker.io/` never serves `docker.io` images), with
    `host_port_` read as `host:port`."""
    if directory.endswith("_") and "_" in directory[:-1]:
        name, _, port = directory[:-1].rpartition("_")
        if port.isdigit():
            return f"{name}:{port}"
    return directory


def load_host_dir(directory: Path, root: Path | None = None) -> tuple[Host, ...]:
    """One domain's hosts: its `hosts.toml`, or its certificate files (containerd's
    `loadHostDir`, which also falls back to the certificate files when `hosts.toml` does not
    parse; containerd logs that, and so does pullgate)."""
    hosts_file = directory / "hosts.toml"
    shown = str(hosts_file.relative_to(root.parent)) if root is not None else str(hosts_file)
    try:
        data = hosts_file.read_bytes()
    except FileNotFoundError:
        data = b""
    except OSError as exc:
        raise HostsError(f"{shown}: cannot read it ({exc.strerror})") from None
    if not data:
        return (_cert_files_host(directory, shown),)
    try:
        return parse_hosts_toml(data.decode("utf-8"), directory, shown)
    except (HostsError, _toml().TOMLDecodeError, UnicodeDecodeError) as exc:
        log.warning(
            "%s: containerd cannot use it (%s) and falls back to the certificate files in %s; "
            "so does pullgate",
            shown,
            exc,
            directory,
        )
        return (_cert_files_host(directory, shown),)


def _cert_files_host(directory: Path, source: str) -> Host:
    """The registry itself with Docker's certificate layout: `*.crt` CAs, `*.cert` client
    certificates with the `*.key` of the same name (or the key inside the `.cert`)."""
    cas: list[str] = []
    pairs: list[tuple[str, str | None]] = []
    for path in sorted(directory.iterdir()):
        if not path.is_file():
            continue
        if path.name.endswith(".crt"):
            cas.append(str(path))
        if path.name.endswith(".cert"):
            key = path.with_name(path.name[: -len(".cert")] + ".key")
            pairs.append((str(path), str(key) if key.exists() else None))
    return Host(
        "", "", "", upstream=True, ca_files=tuple(cas), client_pairs=tuple(pairs), source=source
    )


def _toml() -> Any:
    """The TOML parser, imported only when a hosts.toml is read (not on every run)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    return tomllib


def parse_hosts_toml(text: str, base_dir: Path, source: str) -> tuple[Host, ...]:
    """The `[host."…"]` entries in the order written, then `server` (or the registry itself).
    Relative certificate paths are relative to the host directory, as containerd makes them."""
    document = _toml().loads(text)
    tables = document.get("host", {})
    if not isinstance(tables, dict):
        raise HostsError('`host` must be a table of `[host."URL"]` entries')
    hosts = [
        _host(url, tables[url], base_dir, f'{source} [host."{url}"]')
        for url in host_table_order(text)
        if url in tables
    ]
    server = document.get("server", "")
    if not isinstance(server, str):
        raise HostsError("`server` must be a URL")
    root_settings = {k: v for k, v in document.items() if k not in ("host", "server")}
    upstream = _host(server, root_settings, base_dir, source)
    hosts.append(replace(upstream, upstream=True))
    return tuple(hosts)


_TABLE_HEADER = re.compile(r"^\s*\[(?!\[)(?P<key>.*)\]\s*(?:#.*)?$")
_KEY_PART = re.compile(
    r"""\s*(?:"(?P<basic>(?:[^"\\]|\\.)*)"|'(?P<literal>[^']*)'|(?P<bare>[A-Za-z0-9_-]+))\s*"""
)
_GO_DURATION = re.compile(r"^[-+]?(?:0|(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$")


def host_table_order(text: str) -> list[str]:
    """The hosts in the order their `[host."…"]` table headers are written, as containerd's
    `getSortedHosts` takes them: only table headers count (a host given by dotted keys or an
    inline table is not tried), and a header names a host again unless the one before it
    named the same host."""
    order: list[str] = []
    for line in text.splitlines():
        header = _TABLE_HEADER.match(line)
        if header is None:
            continue
        parts = _key_parts(header.group("key"))
        if len(parts) < 2 or parts[0] != "host" or (order and parts[1] == order[-1]):
            continue
        order.append(parts[1])
    return order


def _key_parts(key: str) -> list[str]:
    """A dotted TOML key's parts (quoted or bare); [] where it does not read as one."""
    parts: list[str] = []
    position = 0
    while position < len(key):
        part = _KEY_PART.match(key, position)
        if part is None:
            return []
        if part.group("basic") is not None:
            try:
                parts.append(json.loads('"' + part.group("basic") + '"'))
            except ValueError:
                return []
        else:
            parts.append(part.group("literal") or part.group("bare") or "")
        position = part.end()
        if position < len(key):
            if key[position] != ".":
                return []
            position += 1
    return parts


def _host(url: str, settings: Any, base_dir: Path, source: str) -> Host:
    if not isinstance(settings, dict):
        raise HostsError(f"{source}: must be a table")
    timeout = settings.get("dial_timeout", "")
    if not isinstance(timeout, str) or (timeout and not _GO_DURATION.match(timeout)):
        # containerd fails the file on it (`time.ParseDuration`); the value itself is not
        # used: pullgate's --timeout bounds every connection
        raise HostsError(f"{source}: dial_timeout {timeout!r} is not a Go duration (3s, 500ms)")
    scheme = host = path = ""
    override = settings.get("override_path", False)
    if not isinstance(override, bool):
        raise HostsError(f"{source}: override_path must be true or false")
    if url:
        scheme, host, path = split_url(url, override)
    capabilities = _capabilities(settings.get("capabilities"), source)
    skip = settings.get("skip_verify")
    if skip is not None and not isinstance(skip, bool):
        raise HostsError(f"{source}: skip_verify must be true or false")
    return Host(
        scheme=scheme,
        host=host,
        path=path,
        capabilities=capabilities,
        ca_files=tuple(_abs(p, base_dir) for p in _strings(settings.get("ca"), "ca", source)),
        client_pairs=_client_pairs(settings.get("client"), base_dir, source),
        skip_verify=skip,
        headers=_headers(settings.get("header"), source),
        override_path=override,
        source=source,
    )


def split_url(url: str, override_path: bool = False) -> tuple[str, str, str]:
    """(scheme, host, API root path) as containerd's `parseHostConfig` reads a host URL: no
    scheme means HTTPS; `/v2` is appended to the path unless it is there or
    `override_path` says the path is the API root as it stands."""
    if not url.startswith("http"):
        url = "https://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise HostsError(f"{url!r} is not an http(s) URL with a host")
    path = parts.path
    if path:
        path = os.path.normpath(path).replace("\\", "/")
        if path == "/":
            path = ""
    if not override_path and not path.endswith("/v2"):
        path = path + "/v2"
    return parts.scheme, parts.netloc, path


class UnknownCapability(HostsError):
    """A capability containerd does not know (it then refuses the whole host file)."""

    def __init__(self, index: int, name: str) -> None:
        super().__init__(f"unknown capability {name!r} (pull, resolve, push, referrers)")
        self.index = index


def capability_set(names: Sequence[str]) -> frozenset[str]:
    """`capabilities` as containerd reads them: case-insensitive, none listed meaning all."""
    for index, name in enumerate(names):
        if name.lower() not in ALL_CAPABILITIES:
            raise UnknownCapability(index, name)
    return frozenset(n.lower() for n in names) or ALL_CAPABILITIES


def _capabilities(value: Any, source: str) -> frozenset[str]:
    if value is not None and not isinstance(value, list):
        raise HostsError(f'{source}: capabilities must be a list, e.g. ["pull", "resolve"]')
    try:
        return capability_set(_strings(value, "capabilities", source))
    except UnknownCapability as exc:
        raise HostsError(f"{source}: {exc}") from None


def _strings(value: Any, key: str, source: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise HostsError(f"{source}: {key} must be a string or a list of strings")


def _client_pairs(value: Any, base_dir: Path, source: str) -> tuple[tuple[str, str | None], ...]:
    """`client`: one file (certificate and key), a list of such files, or a list of
    [certificate, key] pairs."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise HostsError(f"{source}: client must be a file, a list of files or of pairs")
    pairs: list[tuple[str, str | None]] = []
    for item in items:
        if isinstance(item, str):
            pairs.append((_abs(item, base_dir), None))
        elif isinstance(item, list) and len(item) == 2 and all(isinstance(i, str) for i in item):
            key = _abs(item[1], base_dir) if item[1] else None  # "": the key is in the cert
            pairs.append((_abs(item[0], base_dir), key))
        else:
            raise HostsError(f"{source}: client pair {item!r} must be [certificate, key]")
    return tuple(pairs)


def _headers(value: Any, source: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise HostsError(f"{source}: header must be a table of name = value")
    return tuple(
        (str(name), tuple(_strings(v, f"header {name}", source))) for name, v in value.items()
    )


def _abs(path: str, base_dir: Path) -> str:
    return path if os.path.isabs(path) else str(base_dir / path)
