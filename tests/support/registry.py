"""Run the real CNCF distribution registry (``docker-registry serve``) for tests.

Mocked HTTP can only ever agree with our own reading of the OCI distribution spec; a real
registry catches the places where that reading is wrong (status codes, headers, content
negotiation, auth challenges). :class:`RegistryServer` starts one on 127.0.0.1 with an
ephemeral port and filesystem storage in a temp dir, in one of these set-ups:

* ``mode="anonymous"`` — plain HTTP, no auth;
* ``mode="htpasswd"`` — plain HTTP, Basic auth against a bcrypt htpasswd file;
* ``mode="tls"`` — HTTPS with a generated test CA (``ca_file``); with ``users=`` it is
  HTTPS + htpasswd; ``client_cas=True`` makes it demand a client certificate (mutual TLS:
  distribution's ``http.tls.clientcas``, the pair in ``client_pki``); ``cert_expired=True`` or
  ``cert_ip_addresses=()`` (no SAN for the address it listens on) serve a certificate that
  fails verification;
* ``mode="token"`` — bearer-token auth backed by a :class:`TokenIssuer` we run too.

``tls=`` and ``auth=`` may be passed explicitly to combine things (e.g. token over HTTPS).
In every authenticated set-up an admin user with push rights is added (``admin_auth``) so
the helpers in :mod:`tests.support.images` can seed images.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import bcrypt
import httpx

from tests.support.certs import ClientPKI, TestPKI, make_client_pki, make_test_pki
from tests.support.token_issuer import AccessRules, TokenFields, TokenIssuer

Mode = Literal["anonymous", "htpasswd", "tls", "token"]
AuthKind = Literal["htpasswd", "token"]

REGISTRY_BINARY = "docker-registry"
ADMIN_USER = "pullgate-admin"
#: What the admin may do in token mode: everything, including the catalog.
ADMIN_RULES: AccessRules = {"*": ("pull", "push", "delete", "*"), "registry:catalog": ("*",)}

#: The accounts the shared fixtures create (htpasswd and token registries).
TEST_USERS: dict[str, str] = {"alice": "wonderland", "bob": "builder"}
#: Token-mode rules of the shared ``token_registry``: ``public/*`` is anonymous-pullable,
#: alice may pull ``private/*`` and ``team/*``, bob only ``team/*``.
TOKEN_ANONYMOUS_RULES: AccessRules = {"public/*": ("pull",)}
TOKEN_USER_RULES: dict[str, AccessRules] = {
    "alice": {"private/*": ("pull",), "team/*": ("pull",)},
    "bob": {"team/*": ("pull",)},
}

_INSTALL_HINT = "run `make test`, which installs docker-registry and skopeo"


class MissingToolError(RuntimeError):
    """A binary the real-registry tests need is not installed."""


class RegistryStartError(RuntimeError):
    """The registry process did not come up (the message carries its log tail)."""


def require_tool(name: str) -> str:
    """Path of ``name`` on PATH, or :class:`MissingToolError` saying how to install it."""
    path = shutil.which(name)
    if path is None:
        raise MissingToolError(f"`{name}` is not installed or not on PATH: {_INSTALL_HINT}")
    return path


def missing_tools_message(tools: tuple[str, ...] = (REGISTRY_BINARY, "skopeo")) -> str | None:
    """Why the real-registry tests cannot run here (None if every tool is installed)."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if not missing:
        return None
    names = ", ".join(f"`{tool}`" for tool in missing)
    return f"{names} not installed or not on PATH: {_INSTALL_HINT}"


@dataclass(frozen=True)
class Credentials:
    """A user name and password; the password is kept out of ``repr`` so logs stay clean."""

    username: str
    password: str = field(repr=False)

    def as_tuple(self) -> tuple[str, str]:
        """``(username, password)``, the form httpx's ``auth=`` takes."""
        return (self.username, self.password)

    def colon_joined(self) -> str:
        """``user:password``, the form ``skopeo --creds`` takes."""
        return f"{self.username}:{self.password}"


def free_port() -> int:
    """A port the kernel just handed out; racy by nature, so callers retry on EADDRINUSE."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def htpasswd_line(user: str, password: str) -> str:
    """One bcrypt htpasswd entry; cost 4 (the minimum) keeps per-request checks cheap."""
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    return f"{user}:{hashed}"


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Last-resort cleanup if a server object is dropped without ``stop()``."""
    if proc.poll() is None:
        proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)


def user_credentials(name: str) -> Credentials:
    """:class:`Credentials` of one of the :data:`TEST_USERS`."""
    return Credentials(name, TEST_USERS[name])


class RegistryServer:
    """A running ``docker-registry serve`` (see the module docstring for the modes).

    Use as a context manager or call :meth:`start` / :meth:`stop`. Attributes that exist
    after start: ``host`` (``127.0.0.1:PORT``), ``url``, ``mode``, ``tls``, ``auth``,
    ``ca_file`` (TLS), ``issuer`` (token), ``log_path``, ``storage_root``, ``admin_auth``,
    ``users``.
    """

    def __init__(
        self,
        mode: Mode = "anonymous",
        *,
        users: Mapping[str, str] | None = None,
        tls: bool | None = None,
        auth: AuthKind | Literal["default"] | None = "default",
        rules: Mapping[str, AccessRules] | None = None,
        anonymous_rules: AccessRules | None = None,
        token_fields: TokenFields = "both",
        workdir: Path | None = None,
        start_timeout: float = 15.0,
        port: int | None = None,
        listen_ip: str = "127.0.0.1",
        dns_names: tuple[str, ...] = ("localhost",),
        client_cas: bool = False,
        cert_expired: bool = False,
        cert_ip_addresses: tuple[str, ...] | None = None,
    ) -> None:
        if mode not in ("anonymous", "htpasswd", "tls", "token"):
            raise ValueError(f"unknown registry mode {mode!r}")
        self.mode: Mode = mode
        self.tls: bool = (mode == "tls") if tls is None else tls
        if auth == "default":
            defaults: dict[str, AuthKind | None] = {
                "anonymous": None,
                "htpasswd": "htpasswd",
                "tls": "htpasswd" if users else None,
                "token": "token",
            }
            auth = defaults[mode]
        self.auth: AuthKind | None = auth
        if users and self.auth is None:
            raise ValueError("users= needs an authenticated mode (htpasswd, token, tls+users)")
        if (rules or anonymous_rules) and self.auth != "token":
            raise ValueError("rules= / anonymous_rules= only make sense in token mode")
        if (client_cas or cert_expired or cert_ip_addresses is not None) and not self.tls:
            raise ValueError("client_cas= / cert_expired= / cert_ip_addresses= need TLS")

        self.users: dict[str, str] = dict(users or {})
        self.admin_auth: Credentials | None = None
        if self.auth is not None:
            self.admin_auth = Credentials(ADMIN_USER, secrets.token_urlsafe(16))
        self._rules = dict(rules or {})
        self._anonymous_rules = dict(anonymous_rules or {})
        self._token_fields: TokenFields = token_fields
        self._start_timeout = start_timeout

        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="pullgate-registry-"))
        self.log_path = self.workdir / "registry.log"
        self.storage_root = self.workdir / "storage"
        self.config_path = self.workdir / "config.yml"
        self.ca_file: Path | None = None
        #: Directory holding only ``ca.crt`` (for ``skopeo --cert-dir``), TLS only.
        self.ca_dir: Path | None = None
        self.issuer: TokenIssuer | None = None
        self._pki: TestPKI | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self.port: int = 0
        #: A fixed port (the demo's); None picks a free ephemeral one per start attempt.
        self._fixed_port = port
        #: Where it listens: another loopback address lets a test serve a public registry's
        #: name (with ``dns_names`` in its TLS certificate) on that registry's own port.
        self.listen_ip = listen_ip
        self._dns_names = dns_names
        #: Mutual TLS: the registry requires a client certificate its client CA signed.
        self._client_cas = client_cas
        self.client_pki: ClientPKI | None = None
        self._cert_expired = cert_expired
        #: IP SANs of the server certificate; None: the address it listens on.
        self._cert_ips = cert_ip_addresses

    # -- public helpers --------------------------------------------------------------

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``, the registry part of image references."""
        return f"{self.listen_ip}:{self.port}"

    @property
    def url(self) -> str:
        """Base URL with scheme, no trailing slash."""
        return f"{'https' if self.tls else 'http'}://{self.host}"

    def reference(self, repo: str, ref: str) -> str:
        """An image reference such as ``127.0.0.1:5000/repo:tag`` or ``...@sha256:..``."""
        sep = "@" if ref.startswith("sha256:") else ":"
        return f"{self.host}/{repo}{sep}{ref}"

    @property
    def cert_broken(self) -> bool:
        """Whether the server certificate is deliberately one that fails verification."""
        return self._cert_expired or (
            self._cert_ips is not None and self.listen_ip not in self._cert_ips
        )

    def verify(self) -> ssl.SSLContext | bool:
        """The ``verify=`` value for httpx: a context trusting the test CA (not verifying at
        all where the certificate is deliberately broken, offering the client certificate in
        mutual TLS), or True."""
        if self.ca_file is None:
            return True
        context = ssl.create_default_context(cafile=str(self.ca_file))
        if self.cert_broken:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if self.client_pki is not None:
            context.load_cert_chain(self.client_pki.cert_file, self.client_pki.key_file)
        return context

    def client(
        self, auth: httpx.Auth | tuple[str, str] | None = None, **kwargs: Any
    ) -> httpx.Client:
        """A plain ``httpx.Client`` for this registry (base URL and CA set, nothing else)."""
        return httpx.Client(base_url=self.url, verify=self.verify(), auth=auth, **kwargs)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the registry log, for error messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "<no log written>"
        return "\n".join(text.splitlines()[-lines:])

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> RegistryServer:
        """Write config, start the registry (and issuer), wait until ``/v2/`` answers."""
        if self._proc is not None:
            return self
        binary = require_tool(REGISTRY_BINARY)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.storage_root.mkdir(exist_ok=True)
        if self.tls:
            ips = (self.listen_ip,) if self._cert_ips is None else self._cert_ips
            self._pki = make_test_pki(
                self.workdir / "pki",
                dns_names=self._dns_names,
                ip_addresses=ips,
                expired=self._cert_expired,
            )
            if self._client_cas:
                self.client_pki = make_client_pki(self.workdir / "client-pki")
            self.ca_file = self._pki.ca_file
            self.ca_dir = self._pki.ca_dir
        if self.auth == "htpasswd":
            self._write_htpasswd()
        if self.auth == "token":
            self._start_issuer()

        last_error = ""
        for _attempt in range(5):
            self.port = self._fixed_port or free_port()
            self.config_path.write_text(json.dumps(self._config(), indent=2))
            log = self.log_path.open("ab")
            try:
                self._proc = subprocess.Popen(
                    [binary, "serve", str(self.config_path)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=self._child_env(),
                    cwd=self.workdir,
                )
            finally:
                log.close()
            self._finalizer = weakref.finalize(self, _kill, self._proc)
            try:
                self._wait_ready()
                return self
            except RegistryStartError as exc:
                last_error = str(exc)
                exited = self._proc.poll() is not None
                self._stop_process()
                port_taken = exited and "address already in use" in self.log_tail(10)
                if not port_taken or self._fixed_port:
                    break
        if self.issuer is not None:
            self.issuer.stop()
        raise RegistryStartError(last_error)

    def stop(self) -> None:
        """Terminate (then kill) the registry, stop the issuer, remove an owned temp dir."""
        self._stop_process()
        if self.issuer is not None:
            self.issuer.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> RegistryServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<RegistryServer mode={self.mode} tls={self.tls} auth={self.auth} url={self.url}>"

    # -- internals -------------------------------------------------------------------

    def _stop_process(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if self._finalizer is not None:
            self._finalizer.detach()
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    def _write_htpasswd(self) -> None:
        assert self.admin_auth is not None
        entries = {**self.users, self.admin_auth.username: self.admin_auth.password}
        path = self.workdir / "htpasswd"
        path.write_text("".join(htpasswd_line(u, p) + "\n" for u, p in entries.items()))
        path.chmod(0o600)

    def _start_issuer(self) -> None:
        assert self.admin_auth is not None
        users = {**self.users, self.admin_auth.username: self.admin_auth.password}
        rules = {**self._rules, self.admin_auth.username: ADMIN_RULES}
        tls = (self._pki.cert_file, self._pki.key_file) if self._pki else None
        self.issuer = TokenIssuer(
            users=users,
            rules=rules,
            anonymous_rules=self._anonymous_rules,
            token_fields=self._token_fields,
            workdir=self.workdir / "issuer",
            tls=tls,
        ).start()

    def _config(self) -> dict[str, Any]:
        """The registry config; JSON is valid YAML, so no YAML writer is needed."""
        http: dict[str, Any] = {
            "addr": self.host,
            "secret": secrets.token_hex(16),
            "headers": {"X-Content-Type-Options": ["nosniff"]},
        }
        if self._pki is not None:
            http["tls"] = {
                "certificate": str(self._pki.cert_file),
                "key": str(self._pki.key_file),
            }
            if self.client_pki is not None:
                http["tls"]["clientcas"] = [str(self.client_pki.ca_file)]
        config: dict[str, Any] = {
            "version": 0.1,
            "log": {"level": "info", "formatter": "text", "fields": {"service": "registry"}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.storage_root)},
                "delete": {"enabled": True},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": http,
            "health": {"storagedriver": {"enabled": False}},
        }
        if self.auth == "htpasswd":
            config["auth"] = {
                "htpasswd": {"realm": "pullgate-test", "path": str(self.workdir / "htpasswd")}
            }
        elif self.auth == "token":
            assert self.issuer is not None
            config["auth"] = {
                "token": {
                    "realm": self.issuer.realm,
                    "service": self.issuer.service,
                    "issuer": self.issuer.issuer,
                    "rootcertbundle": str(self.issuer.rootcertbundle),
                }
            }
        return config

    def _child_env(self) -> dict[str, str]:
        """Our environment minus ``REGISTRY_*``, which would override the config file."""
        return {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self._start_timeout
        last = "no attempt made"
        with httpx.Client(verify=self.verify(), timeout=1.0) as client:
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    raise RegistryStartError(
                        f"docker-registry exited with code {self._proc.returncode} before "
                        f"answering on {self.url}/v2/; log tail ({self.log_path}):\n"
                        + self.log_tail()
                    )
                try:
                    response = client.get(f"{self.url}/v2/")
                except httpx.HTTPError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                else:
                    if response.status_code in (200, 401):
                        return
                    last = f"HTTP {response.status_code}"
                time.sleep(0.05)
        raise RegistryStartError(
            f"docker-registry did not answer on {self.url}/v2/ within {self._start_timeout}s "
            f"(last: {last}); log tail ({self.log_path}):\n" + self.log_tail()
        )
