"""The project's `.pullgate.yaml`: found upward from the working directory, or `--config`.

Every key is optional and command-line options win. The file is validated strictly: an unknown
key, a rule id that does not exist or an ignore entry without a reason is an error (exit 2) that
names the file and line, because a typo in a gate's configuration silently weakens the gate.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from gate import platform as platforms
from gate.addresses import url_problem
from gate.config_entries import unfilled
from gate.errors import GateError
from gate.hosts import (
    Host,
    HostsConfig,
    UnknownCapability,
    capability_set,
    registry_itself,
    split_url,
)
from gate.inventory.model import ExternalPattern
from gate.load import PathKey, nearest_line, parse_yaml
from gate.pem import ca_file_problem, client_pair_problem
from gate.platform import Platform
from gate.reference import api_host, registry_key
from gate.rules import RULES, Severity
from gate.workload import ImagePaths, validate_namespace

CONFIG_NAMES = (".pullgate.yaml", ".pullgate.yml")
_TLS_KEYS = ("ca-file", "cert-file", "key-file", "skip-verify")


class ConfigError(GateError):
    """The configuration cannot be used; `str()` names the file, line and key."""


@dataclass(frozen=True)
class IgnoreRule:
    """A project-wide suppression: `rule` plus optional globs, and why."""

    rule: str
    reason: str
    image: str | None = None
    namespace: str | None = None
    kind: str | None = None
    name: str | None = None
    line: int = 0
    """Where the entry is written, to name it in reports."""


@dataclass(frozen=True)
class RegistryConfig:
    """`registries.<host>`: its mirrors and its own TLS, in containerd's host model."""

    ca_file: str | None = None
    mirrors: tuple[str, ...] = ()
    """Each mirror's URL, as written (its settings are in `hosts`)."""
    hosts: tuple[Host, ...] = ()
    """The mirrors in order, then the registry itself: what a `hosts.toml` would say."""


@dataclass(frozen=True)
class NodesConfig:
    """`nodes:`: what the cluster's nodes hold, which CI cannot see for itself."""

    docker_configs: tuple[str, ...] = ()
    provider_config: str | None = None
    provider_bin_dir: str | None = None
    registries: tuple[str, ...] = ()
    count: int | None = None
    """`nodes: {count: N}`: how many nodes the cluster has (a DaemonSet pulls on each)."""


@dataclass(frozen=True)
class Config:
    path: str | None = None
    namespace: str | None = None
    platforms: tuple[Platform, ...] = ()
    runtime: str | None = None
    """`runtime:`, a name `gate.platform.parse_runtime` knows (checked when read)."""
    fail_on: Severity | None = None
    severity: dict[str, Severity] = field(default_factory=dict)
    ignore: tuple[IgnoreRule, ...] = ()
    insecure_registries: tuple[str, ...] = ()
    max_requests: int | None = None
    """`max-requests`: requests in flight to one registry (as `--max-requests`)."""
    registries: dict[str, RegistryConfig] = field(default_factory=dict)
    images: tuple[ImagePaths, ...] = ()
    external_secrets: tuple[ExternalPattern, ...] = ()
    nodes: NodesConfig = field(default_factory=NodesConfig)

    # Settings name registries as images do (`docker.io`, `Registry.Local:5000`); the resolver
    # keys mirrors by image domain, the transport keys TLS settings by the host it talks to
    # (Docker Hub's API lives at registry-1.docker.io).

    def hosts(self) -> HostsConfig:
        """`registries:` as containerd's hosts, keyed by the image domain they serve."""
        return HostsConfig(
            {registry_key(host): entry.hosts for host, entry in self.registries.items()}
        )

    def insecure_api_hosts(self, extra: Iterable[str] = ()) -> frozenset[str]:
        """`insecure_registries` plus `extra` (the command line's), keyed as the transport keys
        them; ValueError names an entry written with a scheme or a path."""
        hosts = (*extra, *self.insecure_registries)
        for host in hosts:
            if "://" in host or "/" in host:
                raise ValueError(f"{host!r}: write HOST[:PORT], no scheme")
        return frozenset(api_host(registry_key(host)) for host in hosts)


def find_config(start: Path | None = None) -> Path | None:
    """The nearest `.pullgate.yaml` in the working directory or any parent."""
    directory = (start or Path.cwd()).resolve()
    for candidate_dir in (directory, *directory.parents):
        for name in CONFIG_NAMES:
            candidate = candidate_dir / name
            if candidate.is_file():
                return candidate
    return None


def load_config(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text: {exc.reason}") from None
    try:
        data, lines = parse_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    except (ValueError, RecursionError) as exc:
        raise ConfigError(f"{path}: cannot be read as YAML: {exc}") from None
    return _Parser(path, lines).config(data)


class _Parser:
    """Builds a `Config`, raising `ConfigError` at the first problem with its file:line."""

    def __init__(self, path: Path, lines: dict[PathKey, int]) -> None:
        self.path = path
        self.lines = lines

    def fail(self, where: PathKey, message: str) -> ConfigError:
        line = nearest_line(self.lines, where)
        key = ".".join(str(p) for p in where) or "(top level)"
        return ConfigError(f"{self.path}:{line}: {key}: {message}")

    def _type(self, value: Any, kind: type | tuple[type, ...], where: PathKey, what: str) -> Any:
        if not isinstance(value, kind):
            raise self.fail(where, f"must be {what}")
        return value

    def _keys(self, value: dict[str, Any], allowed: set[str], where: PathKey) -> None:
        for key in value:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                raise self.fail((*where, key), f"unknown key (known keys: {known})")

    def _strings(self, value: Any, where: PathKey) -> tuple[str, ...]:
        items = self._type(value, list, where, "a list of strings")
        for index, item in enumerate(items):
            self._type(item, str, (*where, index), "a string")
        return tuple(items)

    def _path(self, value: Any, where: PathKey) -> str:
        text = self._type(value, str, where, "a file path")
        resolved = (self.path.parent / text).resolve()
        if not resolved.is_file():
            raise self.fail(where, f"no such file: {resolved}")
        return str(resolved)

    def _existing(self, value: Any, where: PathKey, directory: bool = False) -> str:
        """A file or directory path, relative to the config file's directory."""
        text = self._type(value, str, where, "a directory path" if directory else "a path")
        resolved = (self.path.parent / text).resolve()
        if directory and not resolved.is_dir():
            raise self.fail(where, f"no such directory: {resolved}")
        if not resolved.exists():
            raise self.fail(where, f"no such file or directory: {resolved}")
        return str(resolved)

    def _ca_file(self, value: Any, where: PathKey) -> str:
        path = self._path(value, where)
        problem = ca_file_problem(path)
        if problem:
            raise self.fail(where, problem)
        return path

    def config(self, data: Any) -> Config:
        if data is None:
            return Config(path=str(self.path))
        data = self._type(data, dict, (), "a mapping of settings")
        sections: dict[str, Callable[[Any, PathKey], dict[str, Any]]] = {
            "namespace": self._namespace,
            "platforms": self._platforms,
            "runtime": self._runtime,
            "fail-on": self._fail_on,
            "severity": self._severity,
            "ignore": self._ignore,
            "insecure-registries": self._insecure,
            "max-requests": self._max_requests,
            "registries": self._registries,
            "images": self._images,
            "secrets": self._secrets,
            "nodes": self._nodes,
        }
        self._keys(data, set(sections), ())
        values: dict[str, Any] = {"path": str(self.path)}
        for key, value in data.items():
            values.update(sections[key](value, (key,)))
        return Config(**values)

    def _namespace(self, value: Any, where: PathKey) -> dict[str, Any]:
        text = self._type(value, str, where, "a namespace name")
        try:
            return {"namespace": validate_namespace(text)}
        except ValueError as exc:
            raise self.fail(where, str(exc)) from None

    def _platforms(self, value: Any, where: PathKey) -> dict[str, Any]:
        parsed = []
        for index, item in enumerate(self._strings(value, where)):
            try:
                parsed.append(platforms.parse(item))
            except ValueError as exc:
                raise self.fail((*where, index), str(exc)) from None
        return {"platforms": tuple(parsed)}

    def _runtime(self, value: Any, where: PathKey) -> dict[str, Any]:
        text = self._type(value, str, where, "a container runtime name, e.g. containerd-2.1")
        try:
            return {"runtime": platforms.parse_runtime(text).name}
        except ValueError as exc:
            raise self.fail(where, str(exc)) from None

    def _fail_on(self, value: Any, where: PathKey) -> dict[str, Any]:
        if value not in ("error", "warning"):
            raise self.fail(where, "must be error or warning")
        return {"fail_on": Severity(value)}

    def _rule(self, value: Any, where: PathKey) -> str:
        rule = self._type(value, str, where, "a rule id")
        if rule not in RULES:
            raise self.fail(where, f"unknown rule {rule!r} (see `pullgate explain`)")
        return str(rule)

    def _severity(self, value: Any, where: PathKey) -> dict[str, Any]:
        mapping = self._type(value, dict, where, "a mapping of rule: error|warning|off")
        result: dict[str, Severity] = {}
        for rule, level in mapping.items():
            self._rule(rule, (*where, rule))
            if level is False:  # YAML 1.1 reads a bare `off` as a boolean
                level = "off"
            if level not in ("error", "warning", "off"):
                raise self.fail((*where, rule), "must be error, warning or off")
            result[rule] = Severity(level)
        return {"severity": result}

    def _reason(self, entry: dict[str, Any], here: PathKey, empty: str, write: str) -> str:
        """An entry's `reason`, as someone wrote it: not empty (`empty` says so), and not the
        placeholder a hint printed for them to replace with `write`."""
        reason = entry.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise self.fail(here, empty)
        if unfilled(reason):
            raise self.fail(
                (*here, "reason"),
                f"is still the placeholder {reason.strip()!r} a hint printed: write {write} "
                "instead",
            )
        return reason

    def _ignore(self, value: Any, where: PathKey) -> dict[str, Any]:
        entries = self._type(value, list, where, "a list of ignore entries")
        rules = []
        allowed = {"rule", "reason", "image", "namespace", "kind", "name"}
        for index, entry in enumerate(entries):
            here = (*where, index)
            entry = self._type(entry, dict, here, "a mapping with rule and reason")
            self._keys(entry, allowed, here)
            if "rule" not in entry:
                raise self.fail(here, "needs a `rule`")
            reason = self._reason(
                entry,
                here,
                "needs a non-empty `reason`: say why it is accepted",
                "why it is accepted",
            )
            globs = {}
            for key in ("image", "namespace", "kind", "name"):
                if key in entry:
                    globs[key] = self._type(entry[key], str, (*here, key), "a glob string")
            rules.append(
                IgnoreRule(
                    rule=self._rule(entry["rule"], (*here, "rule")),
                    reason=reason.strip(),
                    line=self.lines.get(here, 0),
                    **globs,
                )
            )
        return {"ignore": tuple(rules)}

    def _max_requests(self, value: Any, where: PathKey) -> dict[str, Any]:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 64:
            raise self.fail(where, "must be a whole number of requests from 1 to 64")
        return {"max_requests": value}

    def _insecure(self, value: Any, where: PathKey) -> dict[str, Any]:
        return {"insecure_registries": self._strings(value, where)}

    def _registries(self, value: Any, where: PathKey) -> dict[str, Any]:
        mapping = self._type(value, dict, where, "a mapping of registry host: settings")
        result: dict[str, RegistryConfig] = {}
        for host, settings in mapping.items():
            here = (*where, host)
            settings = self._type(settings or {}, dict, here, "a mapping")
            self._keys(settings, {"mirrors", *_TLS_KEYS}, here)
            mirrors = self._type(settings.get("mirrors", []), list, (*here, "mirrors"), "a list")
            hosts = [self._mirror(m, (*here, "mirrors", i)) for i, m in enumerate(mirrors)]
            urls = tuple(m if isinstance(m, str) else m["url"] for m in mirrors)
            itself = registry_itself(registry_key(str(host)), self._where(here))
            hosts.append(replace(itself, **self._tls(settings, here)))
            result[str(host)] = RegistryConfig(
                ca_file=hosts[-1].ca_files[0] if hosts[-1].ca_files else None,
                mirrors=urls,
                hosts=tuple(hosts),
            )
        return {"registries": result}

    def _where(self, where: PathKey) -> str:
        line = nearest_line(self.lines, where)
        return f"{self.path}:{line}"

    def _mirror(self, value: Any, where: PathKey) -> Host:
        """A mirror: its URL, or `{url, override-path, capabilities, ca-file, cert-file,
        key-file, skip-verify}` as a `[host."URL"]` table of hosts.toml says them."""
        if isinstance(value, str):
            value = {"url": value}
        settings = self._type(value, dict, where, "a URL or a mapping with `url`")
        self._keys(settings, {"url", "override-path", "capabilities", *_TLS_KEYS}, where)
        url = self._type(settings.get("url"), str, (*where, "url"), "a URL")
        problem = url_problem(url)
        if problem:
            raise self.fail((*where, "url"), problem)
        override = self._type(
            settings.get("override-path", False), bool, (*where, "override-path"), "true or false"
        )
        names = self._strings(settings.get("capabilities", []), (*where, "capabilities"))
        try:
            capabilities = capability_set(names)
        except UnknownCapability as exc:
            raise self.fail((*where, "capabilities", exc.index), str(exc)) from None
        scheme, host, path = split_url(url, override)
        return Host(
            scheme,
            host,
            path,
            capabilities=capabilities,
            override_path=override,
            source=f"{self._where(where)} {url}",
            **self._tls(settings, where),
        )

    def _tls(self, settings: dict[str, Any], where: PathKey) -> dict[str, Any]:
        """`ca-file`, `cert-file` with `key-file`, `skip-verify`: as Host's TLS fields."""
        tls: dict[str, Any] = {}
        if "ca-file" in settings:
            tls["ca_files"] = (self._ca_file(settings["ca-file"], (*where, "ca-file")),)
        if "key-file" in settings and "cert-file" not in settings:
            raise self.fail((*where, "key-file"), "needs `cert-file` beside it")
        if "cert-file" in settings:
            cert = self._path(settings["cert-file"], (*where, "cert-file"))
            key = (
                self._path(settings["key-file"], (*where, "key-file"))
                if "key-file" in settings
                else None
            )
            problem = client_pair_problem(cert, key)
            if problem:
                raise self.fail((*where, "cert-file"), problem)
            tls["client_pairs"] = ((cert, key),)
        if "skip-verify" in settings:
            tls["skip_verify"] = self._type(
                settings["skip-verify"], bool, (*where, "skip-verify"), "true or false"
            )
        return tls

    def _images(self, value: Any, where: PathKey) -> dict[str, Any]:
        entries = self._type(value, list, where, "a list of {kind, paths} entries")
        result = []
        for index, entry in enumerate(entries):
            here = (*where, index)
            entry = self._type(entry, dict, here, "a mapping with kind and paths")
            self._keys(entry, {"apiVersion", "kind", "paths", *_IMAGE_SETTINGS}, here)
            if "kind" not in entry or "paths" not in entry:
                raise self.fail(here, "needs `kind` and `paths`")
            paths = self._image_paths(entry["paths"], (*here, "paths"))
            pull_secrets = self._image_paths(entry.get("pull-secrets", []), (*here, "pull-secrets"))
            single = {
                key: self._image_path(entry[key], (*here, key)) if key in entry else None
                for key in ("service-account", "node-selector", "namespace")
            }
            result.append(
                ImagePaths(
                    kind=self._type(entry["kind"], str, (*here, "kind"), "a kind"),
                    paths=paths,
                    api_version=self._type(
                        entry.get("apiVersion", "*"), str, (*here, "apiVersion"), "a glob"
                    ),
                    pull_secrets=pull_secrets,
                    service_account=single["service-account"],
                    node_selector=single["node-selector"],
                    namespace=single["namespace"],
                )
            )
        return {"images": tuple(result)}

    def _image_paths(self, value: Any, where: PathKey) -> tuple[str, ...]:
        paths = self._strings(value, where)
        for index, item in enumerate(paths):
            self._image_path(item, (*where, index))
        return paths

    def _image_path(self, value: Any, where: PathKey) -> str:
        text = self._type(value, str, where, "a dotted path")
        if not _IMAGE_PATH.match(text):
            raise self.fail(where, f"{text!r} is not a path like spec.image or spec.jobs[*].image")
        return str(text)

    def _nodes(self, value: Any, where: PathKey) -> dict[str, Any]:
        mapping = self._type(value or {}, dict, where, "a mapping")
        self._keys(mapping, {"docker-config", "credential-providers", "registries", "count"}, where)
        count = mapping.get("count")
        if count is not None and (
            isinstance(count, bool) or not isinstance(count, int) or count < 1
        ):
            raise self.fail((*where, "count"), "must be a whole number of nodes, 1 or more")
        configs = self._strings(mapping.get("docker-config", []), (*where, "docker-config"))
        docker_configs = tuple(
            self._existing(path, (*where, "docker-config", index))
            for index, path in enumerate(configs)
        )
        registries = self._strings(mapping.get("registries", []), (*where, "registries"))
        for index, pattern in enumerate(registries):
            if not pattern.strip() or "://" in pattern or " " in pattern:
                raise self.fail(
                    (*where, "registries", index),
                    f"{pattern!r} is not a registry pattern like *.dkr.ecr.*.amazonaws.com",
                )
        provider_config = provider_bin_dir = None
        if "credential-providers" in mapping:
            here = (*where, "credential-providers")
            providers = self._type(mapping["credential-providers"], dict, here, "a mapping")
            self._keys(providers, {"config", "bin-dir"}, here)
            if "config" not in providers or "bin-dir" not in providers:
                raise self.fail(here, "needs both `config` and `bin-dir`, as the kubelet does")
            provider_config = self._existing(providers["config"], (*here, "config"))
            provider_bin_dir = self._existing(providers["bin-dir"], (*here, "bin-dir"), True)
        return {
            "nodes": NodesConfig(
                docker_configs, provider_config, provider_bin_dir, registries, count
            )
        }

    def _secrets(self, value: Any, where: PathKey) -> dict[str, Any]:
        mapping = self._type(value, dict, where, "a mapping with `external`")
        self._keys(mapping, {"external"}, where)
        entries = self._type(mapping.get("external", []), list, (*where, "external"), "a list")
        result = []
        for index, entry in enumerate(entries):
            here = (*where, "external", index)
            entry = self._type(entry, dict, here, "a mapping with name and reason")
            self._keys(entry, {"name", "reason"}, here)
            name = entry.get("name")
            if not isinstance(name, str):
                raise self.fail(here, "needs `name: <namespace>/<name>` (globs allowed)")
            reason = self._reason(entry, here, "needs a non-empty `reason`", "who creates it")
            try:
                result.append(ExternalPattern.parse(name, reason))
            except ValueError as exc:
                raise self.fail((*here, "name"), f"{exc}: write <namespace>/<name>") from None
        return {"external_secrets": tuple(result)}


_IMAGE_SETTINGS = ("pull-secrets", "service-account", "node-selector", "namespace")
"""Where an `images:` entry's kind keeps the settings of the pod running its images."""
_IMAGE_PATH = re.compile(r"^[A-Za-z0-9_-]+(\[(\*|\d+)\])?(\.[A-Za-z0-9_-]+(\[(\*|\d+)\])?)*$")
