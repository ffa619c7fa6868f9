"""Kubeconfig files merged as kubectl merges them, or the in-cluster service account: one context.

Connection settings come from a kubeconfig as kubectl reads it (`--kubeconfig`, else every file
of `KUBECONFIG`, merged with the first file winning, else `~/.kube/config`), or from the in-cluster
service account. Tokens, token files, client certificates, exec credential plugins
(client.authentication.k8s.io v1 and v1beta1), basic auth, an OIDC `id-token`, impersonation,
`certificate-authority(-data)`, `insecure-skip-tls-verify`, `tls-server-name` and `proxy-url`
are honoured. Nothing here connects: a kubeconfig that cannot be used is a `ClusterConfigError`
before any request.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml

from gate.inventory.cluster.errors import ClusterConfigError
from gate.net import is_loopback

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
EXEC_API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")

DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 2
DEFAULT_BACKOFF = 0.5


@dataclass(frozen=True)
class ExecPlugin:
    """A kubeconfig `user.exec` entry: a command that prints an ExecCredential."""

    command: str
    api_version: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    install_hint: str | None = None
    provide_cluster_info: bool = False
    interactive_mode: str | None = None


@dataclass(frozen=True)
class ClusterConfig:
    """How to reach and authenticate to one API server: a resolved kubeconfig context."""

    server: str
    source: str
    """`kubeconfig <path>[:<path>...]` or `in-cluster config`."""
    context: str | None = None
    cluster_name: str | None = None
    user_name: str | None = None
    ca_pem: str | None = field(default=None, repr=False)
    insecure: bool = False
    tls_server_name: str | None = None
    proxy_url: str | None = None
    token: str | None = field(default=None, repr=False)
    token_file: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    client_cert_pem: str | None = field(default=None, repr=False)
    client_key_pem: str | None = field(default=None, repr=False)
    exec_plugin: ExecPlugin | None = None
    exec_cluster: dict[str, Any] | None = field(default=None, repr=False)
    """What `provideClusterInfo` hands the plugin (server, CA data, extension config)."""
    impersonate_user: str | None = None
    impersonate_groups: tuple[str, ...] = ()
    impersonate_uid: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    backoff: float = DEFAULT_BACKOFF

    @property
    def where(self) -> str:
        """`context prod (server https://..., kubeconfig /path)`, for every message."""
        if self.context is None:
            return f"{self.source} (server {self.server})"
        return f"context {self.context} (server {self.server}, {self.source})"


def load_config(
    kubeconfig: str | None = None,
    context: str | None = None,
    *,
    in_cluster: bool | None = None,
    environ: Mapping[str, str] | None = None,
    service_account_dir: str = SERVICE_ACCOUNT_DIR,
) -> ClusterConfig:
    """Resolve the context to use, as kubectl would; raises ClusterConfigError.

    `in_cluster=None` uses the in-cluster service account only when no kubeconfig file exists
    and the pod environment (KUBERNETES_SERVICE_HOST/PORT) is there.
    """
    env = os.environ if environ is None else environ
    if in_cluster:
        return _in_cluster_config(env, service_account_dir)
    paths = _kubeconfig_paths(kubeconfig, env)
    existing = [p for p in paths if p.is_file()]
    if kubeconfig is not None and not existing:
        raise ClusterConfigError(f"kubeconfig {kubeconfig}: no such file")
    if not existing:
        if in_cluster is None and context is None and env.get("KUBERNETES_SERVICE_HOST"):
            return _in_cluster_config(env, service_account_dir)
        tried = ", ".join(str(p) for p in paths) or "~/.kube/config"
        raise ClusterConfigError(
            f"no kubeconfig found (looked at {tried}); pass --kubeconfig, set KUBECONFIG, or run "
            "inside the cluster"
        )
    merged = _merge_kubeconfigs(existing)
    return _context_config(merged, context, "kubeconfig " + os.pathsep.join(map(str, existing)))


def _kubeconfig_paths(kubeconfig: str | None, env: Mapping[str, str]) -> list[Path]:
    if kubeconfig is not None:
        return [Path(kubeconfig).expanduser()]
    listed = env.get("KUBECONFIG", "")
    if listed:
        seen: dict[str, None] = {}
        for part in listed.split(os.pathsep):
            if part:
                seen.setdefault(part, None)
        return [Path(p).expanduser() for p in seen]
    home = env.get("HOME") or str(Path.home())
    return [Path(home) / ".kube" / "config"]


@dataclass
class _Merged:
    clusters: dict[str, tuple[dict[str, Any], Path]] = field(default_factory=dict)
    users: dict[str, tuple[dict[str, Any], Path]] = field(default_factory=dict)
    contexts: dict[str, tuple[dict[str, Any], Path]] = field(default_factory=dict)
    current_context: str | None = None


def _merge_kubeconfigs(paths: Iterable[Path]) -> _Merged:
    """kubectl's merge: the first file to define a name (or current-context) wins."""
    merged = _Merged()
    for path in paths:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ClusterConfigError(f"kubeconfig {path}: {exc.strerror or exc}") from None
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            # Only the problem and its line: the YAML error's own text quotes the offending
            # line, which may be a token or a password.
            mark = getattr(exc, "problem_mark", None)
            where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
            problem = getattr(exc, "problem", None) or "not valid YAML"
            raise ClusterConfigError(f"kubeconfig {where}: not valid YAML: {problem}") from None
        if data is None:
            continue
        if not isinstance(data, dict):
            raise ClusterConfigError(f"kubeconfig {path}: not a kubeconfig (expected a mapping)")
        for section, inner, target in (
            ("clusters", "cluster", merged.clusters),
            ("users", "user", merged.users),
            ("contexts", "context", merged.contexts),
        ):
            entries = data.get(section) or []
            if not isinstance(entries, list):
                raise ClusterConfigError(f"kubeconfig {path}: `{section}` is not a list")
            for entry in entries:
                if not isinstance(entry, dict) or not entry.get("name"):
                    raise ClusterConfigError(
                        f"kubeconfig {path}: an entry of `{section}` has no name"
                    )
                body = entry.get(inner) or {}
                if not isinstance(body, dict):
                    raise ClusterConfigError(
                        f"kubeconfig {path}: {section[:-1]} {entry['name']}: `{inner}` is not a "
                        "mapping"
                    )
                target.setdefault(str(entry["name"]), (body, path))
        if merged.current_context is None and data.get("current-context"):
            merged.current_context = str(data["current-context"])
    return merged


def _context_config(merged: _Merged, context: str | None, source: str) -> ClusterConfig:
    name = context or merged.current_context
    available = ", ".join(sorted(merged.contexts)) or "none"
    if not name:
        raise ClusterConfigError(
            f"{source}: no current-context; pass --context (contexts: {available})"
        )
    if name not in merged.contexts:
        raise ClusterConfigError(f"{source}: no context {name!r} (contexts: {available})")
    ctx, _ = merged.contexts[name]
    cluster_name = optional_text(ctx.get("cluster"))
    if not cluster_name or cluster_name not in merged.clusters:
        raise ClusterConfigError(
            f"{source}: context {name} names cluster {cluster_name!r}, which is not defined"
        )
    cluster, cluster_file = merged.clusters[cluster_name]
    user_name = optional_text(ctx.get("user"))
    user: dict[str, Any] = {}
    user_file = cluster_file
    if user_name:
        if user_name not in merged.users:
            raise ClusterConfigError(
                f"{source}: context {name} names user {user_name!r}, which is not defined"
            )
        user, user_file = merged.users[user_name]
    where = f"{source}, context {name}"

    server = optional_text(cluster.get("server"))
    if not server:
        raise ClusterConfigError(f"{where}: cluster {cluster_name} has no server")
    _check_server(server, where)
    insecure = cluster.get("insecure-skip-tls-verify") is True
    ca_pem = _pem(cluster, "certificate-authority", cluster_file, where)
    if insecure and ca_pem:
        raise ClusterConfigError(
            f"{where}: cluster {cluster_name} sets both a certificate authority and "
            "insecure-skip-tls-verify; kubectl refuses that too"
        )
    exec_plugin = _exec_plugin(user.get("exec"), user_file, where) if user.get("exec") else None
    exec_cluster: dict[str, Any] | None = None
    if exec_plugin is not None and exec_plugin.provide_cluster_info:
        exec_cluster = _exec_cluster_info(cluster, server, ca_pem)
    token = optional_text(user.get("token"))
    token_file = optional_text(user.get("tokenFile"))
    if token_file:
        token_file = str(_resolve(token_file, user_file))
    if not token and not token_file and user.get("auth-provider"):
        token = _auth_provider_token(user["auth-provider"], where)
    groups = user.get("as-groups")
    return ClusterConfig(
        server=server.rstrip("/"),
        source=source,
        context=name,
        cluster_name=cluster_name,
        user_name=user_name,
        ca_pem=ca_pem,
        insecure=insecure,
        tls_server_name=optional_text(cluster.get("tls-server-name")),
        proxy_url=_proxy_url(optional_text(cluster.get("proxy-url")), where),
        token=token,
        token_file=token_file,
        username=optional_text(user.get("username")),
        password=optional_text(user.get("password")),
        client_cert_pem=_pem(user, "client-certificate", user_file, where),
        client_key_pem=_pem(user, "client-key", user_file, where),
        exec_plugin=exec_plugin,
        exec_cluster=exec_cluster,
        impersonate_user=optional_text(user.get("as")),
        impersonate_groups=tuple(str(g) for g in groups) if isinstance(groups, list) else (),
        impersonate_uid=optional_text(user.get("as-uid")),
    )


def _in_cluster_config(env: Mapping[str, str], directory: str) -> ClusterConfig:
    host, port = env.get("KUBERNETES_SERVICE_HOST"), env.get("KUBERNETES_SERVICE_PORT")
    if not host or not port:
        raise ClusterConfigError(
            "in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set "
            "(not running in a pod?)"
        )
    token_file = Path(directory) / "token"
    if not token_file.is_file():
        raise ClusterConfigError(f"in-cluster config: no service account token at {token_file}")
    ca_file = Path(directory) / "ca.crt"
    try:
        ca_pem = ca_file.read_text(encoding="ascii") if ca_file.is_file() else None
    except (OSError, UnicodeDecodeError) as exc:
        raise ClusterConfigError(f"in-cluster config: cannot read {ca_file}: {exc}") from None
    host = f"[{host}]" if ":" in host else host
    return ClusterConfig(
        server=f"https://{host}:{port}",
        source="in-cluster config",
        ca_pem=ca_pem,
        token_file=str(token_file),
    )


def _proxy_url(url: str | None, where: str) -> str | None:
    """kubectl's `proxy-url`: http(s) only here (SOCKS would need a dependency we do not take)."""
    if url is None:
        return None
    try:
        scheme = httpx.URL(url).scheme
    except (httpx.InvalidURL, ValueError):
        scheme = ""
    if scheme not in ("http", "https"):
        raise ClusterConfigError(f"{where}: proxy-url {url!r} is not an http(s):// proxy")
    return url


def _check_server(server: str, where: str) -> None:
    try:
        parts = urlsplit(server)
        httpx.URL(server)
        hostname = parts.hostname
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except (ValueError, httpx.InvalidURL):
        raise ClusterConfigError(f"{where}: server {server!r} is not a URL") from None
    if parts.scheme not in ("https", "http") or not hostname:
        raise ClusterConfigError(f"{where}: server {server!r} is not an http(s) URL")
    if parts.scheme == "http" and not is_loopback(hostname):
        raise ClusterConfigError(
            f"{where}: server {server} is plain HTTP; pullgate sends credentials only over TLS "
            "(or to a loopback address)"
        )


def _resolve(path: str, kubeconfig: Path) -> Path:
    """Relative paths in a kubeconfig are relative to that file, as kubectl resolves them."""
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else kubeconfig.parent / candidate


def _pem(entry: dict[str, Any], key: str, kubeconfig: Path, where: str) -> str | None:
    """`<key>-data` (base64 PEM) or `<key>` (a file), as text."""
    data = entry.get(f"{key}-data")
    if data:
        try:
            return base64.b64decode(str(data), validate=True).decode("ascii")
        except (binascii.Error, UnicodeDecodeError):
            raise ClusterConfigError(f"{where}: {key}-data is not base64-encoded PEM") from None
    path = entry.get(key)
    if not path:
        return None
    resolved = _resolve(str(path), kubeconfig)
    try:
        return resolved.read_text(encoding="ascii")
    except FileNotFoundError:
        raise ClusterConfigError(f"{where}: {key} {resolved}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ClusterConfigError(f"{where}: {key} {resolved}: cannot read: {exc}") from None


def _exec_plugin(raw: Any, kubeconfig: Path, where: str) -> ExecPlugin:
    if not isinstance(raw, dict) or not raw.get("command"):
        raise ClusterConfigError(f"{where}: user.exec has no command")
    api_version = str(raw.get("apiVersion") or "")
    if api_version not in EXEC_API_VERSIONS:
        raise ClusterConfigError(
            f"{where}: exec plugin apiVersion {api_version!r} is not supported (use "
            f"{' or '.join(EXEC_API_VERSIONS)}; v1alpha1 was removed in Kubernetes 1.24)"
        )
    command = str(raw["command"])
    if os.sep in command and not Path(command).is_absolute():
        command = str(kubeconfig.parent / command)
    args = raw.get("args") or []
    env = raw.get("env") or []
    if not isinstance(args, list) or not isinstance(env, list):
        raise ClusterConfigError(f"{where}: user.exec args and env must be lists")
    pairs: list[tuple[str, str]] = []
    for item in env:
        if not isinstance(item, dict) or "name" not in item:
            raise ClusterConfigError(f"{where}: user.exec env entries need a name and a value")
        pairs.append((str(item["name"]), str(item.get("value", ""))))
    return ExecPlugin(
        command=command,
        api_version=api_version,
        args=tuple(str(a) for a in args),
        env=tuple(pairs),
        install_hint=optional_text(raw.get("installHint")),
        provide_cluster_info=raw.get("provideClusterInfo") is True,
        interactive_mode=optional_text(raw.get("interactiveMode")),
    )


def _exec_cluster_info(cluster: dict[str, Any], server: str, ca_pem: str | None) -> dict[str, Any]:
    info: dict[str, Any] = {"server": server}
    if ca_pem:
        info["certificate-authority-data"] = base64.b64encode(ca_pem.encode()).decode()
    for key in ("tls-server-name", "insecure-skip-tls-verify", "proxy-url"):
        if cluster.get(key) is not None:
            info[key] = cluster[key]
    for extension in cluster.get("extensions") or []:
        if isinstance(extension, dict) and extension.get("name") == (
            "client.authentication.k8s.io/exec"
        ):
            info["config"] = extension.get("extension")
    return info


def _auth_provider_token(provider: Any, where: str) -> str:
    """An OIDC `auth-provider` with an `id-token` is a bearer token; others are gone."""
    name = provider.get("name") if isinstance(provider, dict) else None
    config = provider.get("config") if isinstance(provider, dict) else None
    if name == "oidc" and isinstance(config, dict) and config.get("id-token"):
        return str(config["id-token"])
    raise ClusterConfigError(
        f"{where}: auth-provider {name!r} is not supported (kubectl dropped the gcp and azure "
        "providers in 1.26); use the provider's exec plugin (gke-gcloud-auth-plugin, kubelogin, "
        "aws eks get-token)"
    )


def optional_text(value: Any) -> str | None:
    """A kubeconfig or API value as text; absent and empty are both None."""
    return str(value) if value not in (None, "") else None
