"""Live cluster: which Secrets and ServiceAccounts exist, asked of the Kubernetes API server.

Existence is asked as metadata only: a LIST of `/api/v1/namespaces/{ns}/secrets` with the
`PartialObjectMetadataList` Accept header, so the API server sends names, never values. Only with
`credentials=True` are full Secrets read, and only the pull secrets some pod will use (to build
the keyring the kubelet would). ServiceAccounts are listed in full: they hold no values, only
the names of the pull secrets their pods inherit.

Connection settings come from a kubeconfig as kubectl reads it (`--kubeconfig`, else every file
of `KUBECONFIG`, merged with the first file winning, else `~/.kube/config`), or from the in-cluster
service account. Tokens, token files, client certificates, exec credential plugins
(client.authentication.k8s.io v1 and v1beta1), basic auth, an OIDC `id-token`, impersonation,
`certificate-authority(-data)`, `insecure-skip-tls-verify`, `tls-server-name` and `proxy-url`
are honoured.

The client is httpx (already the registry stage's), not the `kubernetes` package: three GETs
need no generated API, the stage stays asynchronous, and kubeconfig semantics match kubectl's.

Failures never pass silently: `ClusterConfigError` (exit 2) for a kubeconfig that cannot be
used, `ClusterError` (exit 3) for an API server that is unreachable or refuses. Messages name the
context and server and what was denied; they never carry a credential or a secret value.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import os
import ssl
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import yaml

from gate.inventory import Inventory, SecretEntry, ServiceAccountEntry
from gate.inventory.model import (
    annotation_keys,
    data_keys,
    enforces_mountable_secrets,
    mountable_secret_names,
    pull_secret_names,
)
from gate.net import is_loopback
from gate.workload import PodSpec

log = logging.getLogger(__name__)

METADATA_ACCEPT = (
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
)
"""Ask for metadata only; kubectl sends the same (with plain JSON as a fallback)."""
JSON_ACCEPT = "application/json"
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
EXEC_API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")
ORIGIN = "cluster"

DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 2
DEFAULT_BACKOFF = 0.5
EXEC_TIMEOUT = 120.0
PAGE_SIZE = 500
CONCURRENCY = 8
_RETRY_STATUS = {429, 500, 502, 503, 504}


class ClusterError(Exception):
    """The cluster could not be asked: unreachable, TLS failure, 401 or 403 (exit 3)."""

    exit_code = 3


class ClusterConfigError(ClusterError):
    """The kubeconfig (or in-cluster config) cannot be used as it is (exit 2)."""

    exit_code = 2


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


@dataclass
class ClusterReadout:
    """What the cluster was asked and answered, for logs and the summary."""

    where: str
    namespaces: list[str] = field(default_factory=list)
    secrets: int = 0
    service_accounts: int = 0
    fetched: list[str] = field(default_factory=list)
    """`namespace/name` of each Secret read in full (only with credentials=True)."""


# --- configuration -----------------------------------------------------------------------------


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
    cluster_name = _opt_str(ctx.get("cluster"))
    if not cluster_name or cluster_name not in merged.clusters:
        raise ClusterConfigError(
            f"{source}: context {name} names cluster {cluster_name!r}, which is not defined"
        )
    cluster, cluster_file = merged.clusters[cluster_name]
    user_name = _opt_str(ctx.get("user"))
    user: dict[str, Any] = {}
    user_file = cluster_file
    if user_name:
        if user_name not in merged.users:
            raise ClusterConfigError(
                f"{source}: context {name} names user {user_name!r}, which is not defined"
            )
        user, user_file = merged.users[user_name]
    where = f"{source}, context {name}"

    server = _opt_str(cluster.get("server"))
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
    token = _opt_str(user.get("token"))
    token_file = _opt_str(user.get("tokenFile"))
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
        tls_server_name=_opt_str(cluster.get("tls-server-name")),
        proxy_url=_proxy_url(_opt_str(cluster.get("proxy-url")), where),
        token=token,
        token_file=token_file,
        username=_opt_str(user.get("username")),
        password=_opt_str(user.get("password")),
        client_cert_pem=_pem(user, "client-certificate", user_file, where),
        client_key_pem=_pem(user, "client-key", user_file, where),
        exec_plugin=exec_plugin,
        exec_cluster=exec_cluster,
        impersonate_user=_opt_str(user.get("as")),
        impersonate_groups=tuple(str(g) for g in groups) if isinstance(groups, list) else (),
        impersonate_uid=_opt_str(user.get("as-uid")),
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
        install_hint=_opt_str(raw.get("installHint")),
        provide_cluster_info=raw.get("provideClusterInfo") is True,
        interactive_mode=_opt_str(raw.get("interactiveMode")),
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


def _opt_str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


# --- exec credential plugins -------------------------------------------------------------------


@dataclass(frozen=True)
class _ExecCredential:
    token: str | None = field(default=None, repr=False)
    client_cert_pem: str | None = field(default=None, repr=False)
    client_key_pem: str | None = field(default=None, repr=False)


def _run_exec_plugin(config: ClusterConfig) -> _ExecCredential:
    """Run the plugin non-interactively and read its ExecCredential from stdout."""
    plugin = config.exec_plugin
    assert plugin is not None
    where = config.where
    if plugin.interactive_mode == "Always":
        raise ClusterConfigError(
            f"{where}: exec plugin {plugin.command} needs an interactive terminal "
            "(interactiveMode: Always), which a CI job does not have"
        )
    spec: dict[str, Any] = {"interactive": False}
    if config.exec_cluster is not None:
        spec["cluster"] = config.exec_cluster
    env = dict(os.environ)
    env.update(dict(plugin.env))
    env["KUBERNETES_EXEC_INFO"] = json.dumps(
        {"apiVersion": plugin.api_version, "kind": "ExecCredential", "spec": spec}
    )
    try:
        done = subprocess.run(
            [plugin.command, *plugin.args],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=EXEC_TIMEOUT,
            check=False,
        )
    except OSError as exc:  # not found, not executable, no interpreter line...
        hint = f" {plugin.install_hint.strip()}" if plugin.install_hint else ""
        raise ClusterConfigError(
            f"{where}: exec plugin {plugin.command} cannot be run: {exc.strerror or exc}.{hint}"
        ) from None
    except subprocess.TimeoutExpired:
        raise ClusterError(
            f"{where}: exec plugin {plugin.command} did not finish within {EXEC_TIMEOUT:.0f}s"
        ) from None
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace").strip()[-500:]
        detail = f": {stderr}" if stderr else ""
        raise ClusterError(
            f"{where}: exec plugin {plugin.command} exited with status {done.returncode}{detail}"
        )
    try:
        answer = json.loads(done.stdout)
    except (ValueError, UnicodeDecodeError):
        raise ClusterConfigError(
            f"{where}: exec plugin {plugin.command} did not print an ExecCredential (not JSON)"
        ) from None
    if not isinstance(answer, dict) or answer.get("kind") != "ExecCredential":
        raise ClusterConfigError(
            f"{where}: exec plugin {plugin.command} did not print an ExecCredential"
        )
    if answer.get("apiVersion") != plugin.api_version:
        raise ClusterConfigError(
            f"{where}: exec plugin {plugin.command} answered apiVersion "
            f"{answer.get('apiVersion')!r}, but the kubeconfig asks for {plugin.api_version}"
        )
    status = answer.get("status")
    status = status if isinstance(status, dict) else {}
    token = _opt_str(status.get("token"))
    cert, key = _opt_str(status.get("clientCertificateData")), _opt_str(status.get("clientKeyData"))
    if token is None and not (cert and key):
        raise ClusterConfigError(
            f"{where}: exec plugin {plugin.command} returned neither status.token nor "
            "status.clientCertificateData and clientKeyData"
        )
    return _ExecCredential(token, cert, key)


# --- the client --------------------------------------------------------------------------------


def _ssl_context(
    config: ClusterConfig, cert_pem: str | None, key_pem: str | None
) -> ssl.SSLContext:
    where = config.where
    try:
        if config.insecure:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif config.ca_pem:
            # as kubectl: a configured CA replaces the system roots rather than adding to them
            context = ssl.create_default_context(cadata=config.ca_pem)
        else:
            context = ssl.create_default_context()
    except (ssl.SSLError, ValueError) as exc:
        raise ClusterConfigError(
            f"{where}: the certificate authority is not valid PEM: {exc}"
        ) from None
    if cert_pem or key_pem:
        if not (cert_pem and key_pem):
            raise ClusterConfigError(f"{where}: a client certificate needs both cert and key")
        # ssl can load a key pair only from files: a private directory that lives for one call
        with tempfile.TemporaryDirectory(prefix="pullgate-") as directory:
            cert_file, key_file = Path(directory) / "client.crt", Path(directory) / "client.key"
            for path, text in ((cert_file, cert_pem), (key_file, key_pem)):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w", encoding="ascii") as handle:
                    handle.write(text)
            try:
                context.load_cert_chain(str(cert_file), str(key_file))
            except ssl.SSLError:
                raise ClusterConfigError(
                    f"{where}: the client certificate or key is not valid PEM, or they do not match"
                ) from None
    return context


@dataclass
class _What:
    """What a request was for, to word its failure."""

    verb: str
    resource: str
    namespace: str
    name: str | None = None

    def __str__(self) -> str:
        target = f"{self.resource} {self.name}" if self.name else self.resource
        return f"{self.verb} {target} in namespace {self.namespace}"


class ClusterClient:
    """Async API client for the three requests pullgate makes; use `async with`."""

    def __init__(self, config: ClusterConfig) -> None:
        self.config = config
        self._client: httpx.AsyncClient | None = None
        self._exec_token: str | None = None
        self._refresh_lock = asyncio.Lock()
        self._limit = asyncio.Semaphore(CONCURRENCY)

    async def __aenter__(self) -> ClusterClient:
        config = self.config
        cert, key = config.client_cert_pem, config.client_key_pem
        if config.exec_plugin is not None and not (config.token or config.token_file):
            credential = await asyncio.to_thread(_run_exec_plugin, config)
            self._exec_token = credential.token
            if credential.client_cert_pem:
                cert, key = credential.client_cert_pem, credential.client_key_pem
        verify = _ssl_context(config, cert, key)
        loopback = is_loopback(httpx.URL(config.server).netloc.decode("ascii"))
        self._client = httpx.AsyncClient(
            verify=verify,
            timeout=config.timeout,
            proxy=None if loopback else config.proxy_url,
            follow_redirects=False,
            trust_env=not loopback,  # a local API server is never reached through a proxy
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _headers(self, accept: str) -> dict[str, str]:
        config = self.config
        headers = {"Accept": accept, "User-Agent": "pullgate"}
        token = config.token
        if token is None and config.token_file:
            try:
                token = Path(config.token_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ClusterConfigError(
                    f"{config.where}: cannot read token file {config.token_file}: "
                    f"{exc.strerror or exc}"
                ) from None
        token = token or self._exec_token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        elif config.username is not None and config.password is not None:
            basic = base64.b64encode(f"{config.username}:{config.password}".encode()).decode()
            headers["Authorization"] = f"Basic {basic}"
        if config.impersonate_user:
            headers["Impersonate-User"] = config.impersonate_user
        if config.impersonate_uid:
            headers["Impersonate-Uid"] = config.impersonate_uid
        return headers

    async def _get(
        self, path: str, params: dict[str, str], accept: str, what: _What
    ) -> httpx.Response:
        assert self._client is not None, "use ClusterClient in `async with`"
        config = self.config
        url = config.server + path
        extensions = {"sni_hostname": config.tls_server_name} if config.tls_server_name else {}
        refreshed = False
        attempt = 0
        while True:
            headers = self._headers(accept)
            header_list = list(headers.items())
            header_list += [("Impersonate-Group", g) for g in config.impersonate_groups]
            log.debug("GET %s %s (Accept: %s)", path, params, accept)
            try:
                async with self._limit:
                    response = await self._client.get(
                        url, params=params, headers=header_list, extensions=extensions
                    )
            except httpx.HTTPError as exc:
                reason = _network_reason(exc)
                if "CERTIFICATE_VERIFY_FAILED" in reason or "certificate verify failed" in reason:
                    raise ClusterError(
                        f"{config.where}: TLS verification of the API server failed: {reason}. "
                        "Check the cluster's certificate-authority(-data) and tls-server-name."
                    ) from None
                if attempt < config.retries:
                    attempt += 1
                    await asyncio.sleep(config.backoff * 2 ** (attempt - 1))
                    continue
                raise ClusterError(
                    f"{config.where}: cannot reach the API server to {what}: {reason} "
                    f"(tried {attempt + 1} times)"
                ) from None
            if response.status_code in _RETRY_STATUS and attempt < config.retries:
                attempt += 1
                await asyncio.sleep(config.backoff * 2 ** (attempt - 1))
                continue
            if response.status_code == 401 and self._can_refresh() and not refreshed:
                refreshed = True  # client-go runs the plugin again once on 401, so do we
                await self._refresh()
                continue
            return response

    def _can_refresh(self) -> bool:
        return self._exec_token is not None and self.config.exec_plugin is not None

    async def _refresh(self) -> None:
        async with self._refresh_lock:
            credential = await asyncio.to_thread(_run_exec_plugin, self.config)
            self._exec_token = credential.token

    def _fail(self, response: httpx.Response, what: _What) -> ClusterError:
        """A plain, located error for a non-success answer (never the response body itself)."""
        config = self.config
        status = _status_object(response)
        said = _opt_str(status.get("message")) if status else None
        detail = f" (API server: {said[:400]})" if said else ""
        code = response.status_code
        if code == 401:
            user = f"user {config.user_name}" if config.user_name else "its credentials"
            return ClusterError(
                f"{config.where}: the API server rejected {user} (401 Unauthorized) when asked "
                f"to {what}{detail}. The token, client certificate or exec plugin of that user "
                "is wrong or expired: log in again, or check the kubeconfig."
            )
        if code == 403:
            return ClusterError(
                f"{config.where}: access denied (403 Forbidden): cannot {what}{detail}. The "
                f"identity pullgate uses needs `{what.verb}` on `{what.resource}` there"
                + (
                    " (metadata only: pullgate reads no secret values for this)"
                    if what.resource == "secrets" and what.verb == "list"
                    else ""
                )
                + "; or pass --cluster-state with a snapshot instead."
            )
        reason = f"HTTP {code}"
        if status and status.get("reason"):
            reason += f" {status['reason']}"
        return ClusterError(
            f"{config.where}: the API server answered {reason} when asked to {what}{detail}"
        )

    async def _list(self, resource: str, namespace: str, accept: str) -> list[dict[str, Any]]:
        """Every item of a namespaced LIST, following `continue` tokens."""
        path = f"/api/v1/namespaces/{quote(namespace, safe='')}/{resource}"
        what = _What("list", resource, namespace)
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params = {"limit": str(PAGE_SIZE)}
            if token:
                params["continue"] = token
            response = await self._get(path, params, accept, what)
            if response.status_code != 200:
                raise self._fail(response, what)
            body = _json(response, self.config, what)
            page = body.get("items")
            if not isinstance(page, list):
                raise ClusterError(
                    f"{self.config.where}: the answer to {what} has no items list "
                    f"(kind {body.get('kind')!r})"
                )
            items.extend(i for i in page if isinstance(i, dict))
            meta = body.get("metadata")
            token = _opt_str(meta.get("continue")) if isinstance(meta, dict) else None
            if not token:
                return items

    async def secret_names(self, namespace: str) -> list[str]:
        """Names of the Secrets in `namespace`, from a metadata-only LIST."""
        names: list[str] = []
        for item in await self._list("secrets", namespace, METADATA_ACCEPT):
            meta = item.get("metadata")
            if isinstance(meta, dict) and meta.get("name"):
                names.append(str(meta["name"]))
            # Only the name is kept. An API server too old for PartialObjectMetadataList
            # (before 1.15) would have sent full Secrets: nothing else of them is retained.
            item.clear()
        return names

    async def service_accounts(self, namespace: str) -> list[ServiceAccountEntry]:
        accounts: list[ServiceAccountEntry] = []
        for item in await self._list("serviceaccounts", namespace, JSON_ACCEPT):
            meta = item.get("metadata")
            if not isinstance(meta, dict) or not meta.get("name"):
                continue
            names = pull_secret_names(item.get("imagePullSecrets"))
            accounts.append(
                ServiceAccountEntry(
                    namespace,
                    str(meta["name"]),
                    ORIGIN,
                    names,
                    mountable_secrets=mountable_secret_names(item.get("secrets")),
                    enforce_mountable_secrets=enforces_mountable_secrets(meta.get("annotations")),
                    annotation_keys=annotation_keys(meta.get("annotations")),
                )
            )
        return accounts

    async def secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The full Secret (values included); None if it is gone. Only for pull secrets."""
        path = f"/api/v1/namespaces/{quote(namespace, safe='')}/secrets/{quote(name, safe='')}"
        what = _What("get", "secrets", namespace, name)
        response = await self._get(path, {}, JSON_ACCEPT, what)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._fail(response, what)
        body = _json(response, self.config, what)
        if body.get("kind") != "Secret":
            raise ClusterError(
                f"{self.config.where}: the answer to {what} is not a Secret "
                f"(kind {body.get('kind')!r})"
            )
        return body


def _json(response: httpx.Response, config: ClusterConfig, what: _What) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ClusterError(
            f"{config.where}: the answer to {what} is not a Kubernetes JSON object "
            f"(Content-Type {response.headers.get('content-type', 'none')}); is the server URL "
            "an API server?"
        )
    return body


def _status_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) and body.get("kind") == "Status" else None


def _network_reason(exc: httpx.HTTPError) -> str:
    """The innermost useful words of a network error (e.g. `[Errno 111] Connection refused`)."""
    seen: BaseException | None = exc
    words = str(exc) or type(exc).__name__
    while seen is not None:
        text = str(seen)
        if text:
            words = text
        seen = seen.__cause__ or seen.__context__
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    return words


# --- reading the cluster into an inventory -----------------------------------------------------


async def read_cluster_async(
    config: ClusterConfig,
    inventory: Inventory,
    pods: Iterable[PodSpec],
    *,
    credentials: bool = False,
) -> ClusterReadout:
    """Add to `inventory` the Secrets and ServiceAccounts of the namespaces `pods` run in.

    With `credentials`, also read in full the pull secrets those pods would use that exist in the
    cluster and that no earlier source (rendered set, cluster-state file) gave values for.
    """
    pods = list(pods)
    readout = ClusterReadout(config.where)
    namespaces = sorted({pod.object.namespace for pod in pods})
    readout.namespaces = namespaces
    inventory.add_source(f"cluster {config.where}")
    if not namespaces:
        return readout
    async with ClusterClient(config) as client:
        secret_lists = await asyncio.gather(*(client.secret_names(ns) for ns in namespaces))
        account_lists = await asyncio.gather(*(client.service_accounts(ns) for ns in namespaces))
        in_cluster: set[tuple[str, str]] = set()
        for namespace, names in zip(namespaces, secret_lists, strict=True):
            for name in names:
                in_cluster.add((namespace, name))
                inventory.add_secret(SecretEntry(namespace, name, ORIGIN))
            readout.secrets += len(names)
        for accounts in account_lists:
            for account in accounts:
                inventory.add_service_account(account)
            readout.service_accounts += len(accounts)
        if not credentials:
            return readout
        wanted = [
            key
            for key in inventory.needed_pull_secrets(pods)
            if key in in_cluster and inventory.secret_object(*key) is None
        ]
        objects = await asyncio.gather(*(client.secret(ns, name) for ns, name in wanted))
        for (namespace, name), obj in zip(wanted, objects, strict=True):
            if obj is None:
                continue
            readout.fetched.append(f"{namespace}/{name}")
            keys = data_keys(obj) or frozenset()
            entry = SecretEntry(namespace, name, ORIGIN, str(obj.get("type") or "Opaque"), keys)
            inventory.add_secret(entry, obj=obj)
    return readout


def read_cluster(
    config: ClusterConfig,
    inventory: Inventory,
    pods: Iterable[PodSpec],
    *,
    credentials: bool = False,
) -> ClusterReadout:
    """`read_cluster_async` for callers outside an event loop (the pipeline)."""
    return asyncio.run(read_cluster_async(config, inventory, pods, credentials=credentials))
