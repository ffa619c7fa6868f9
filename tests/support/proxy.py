"""A real HTTP proxy for tests: CONNECT tunnels and forwarded absolute-URI requests.

:class:`TestProxy` listens on 127.0.0.1 with an ephemeral port, in background threads. It

* tunnels ``CONNECT host:port`` (answering ``200 Connection established``, then copying bytes
  both ways), and forwards plain-HTTP requests written with an absolute URI
  (``GET http://host:port/path``), one request per client connection;
* resolves names only through its own ``hosts`` table (``{"registry.test": "127.0.0.1"}``):
  a name it does not know is answered ``502``, so a test can prove that traffic went through
  the proxy (without the proxy, ``registry.test`` does not resolve at all);
* records every request (:attr:`requests`): method, target, and whether a
  ``Proxy-Authorization`` was sent and matched;
* with ``credentials=(user, password)``, answers ``407 Proxy Authentication Required`` to
  anything without those Basic credentials.
"""

from __future__ import annotations

import base64
import contextlib
import select
import socket
import socketserver
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass(frozen=True)
class ProxiedRequest:
    """One request the proxy received."""

    method: str
    target: str
    """``host:port`` of a CONNECT, the absolute URI of a forwarded request."""
    authorization_sent: bool
    """Whether the client sent a ``Proxy-Authorization`` header."""
    authorized: bool
    """Whether it carried the expected credentials (True when none are required)."""


@dataclass
class _State:
    hosts: dict[str, str]
    credentials: tuple[str, str] | None
    requests: list[ProxiedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """The request head (up to the blank line) and whatever was read past it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
        if len(data) > 1 << 20:
            break
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _pipe(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    sockets = [a, b]
    while True:
        readable, _, broken = select.select(sockets, [], sockets, 30)
        if broken or not readable:
            return
        for source in readable:
            try:
                chunk = source.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            (b if source is a else a).sendall(chunk)


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        state = self.server.state
        client: socket.socket = self.request
        head, rest = _read_head(client)
        if not head:
            return
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            client.sendall(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
            return
        headers = [line.split(":", 1) for line in lines[1:] if ":" in line]
        sent = next(
            (v.strip() for k, v in headers if k.strip().lower() == "proxy-authorization"), None
        )
        authorized = state.credentials is None or sent == _basic(*state.credentials)
        with state.lock:
            state.requests.append(ProxiedRequest(method, target, sent is not None, authorized))
        if not authorized:
            client.sendall(
                b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                b'Proxy-Authenticate: Basic realm="pullgate test proxy"\r\n'
                b"Content-Length: 0\r\nConnection: close\r\n\r\n"
            )
            return
        if method == "CONNECT":
            self._tunnel(client, target, rest)
        else:
            self._forward(client, method, target, version, headers, rest)

    def _upstream(self, host: str, port: int) -> socket.socket | None:
        address = self.server.state.hosts.get(host.lower().strip("[]"))
        if address is None:
            return None
        try:
            return socket.create_connection((address, port), timeout=10)
        except OSError:
            return None

    def _tunnel(self, client: socket.socket, target: str, rest: bytes) -> None:
        host, _, port = target.rpartition(":")
        upstream = self._upstream(host, int(port)) if port.isdigit() else None
        if upstream is None:
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        with upstream:
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if rest:
                upstream.sendall(rest)
            _pipe(client, upstream)

    def _forward(
        self,
        client: socket.socket,
        method: str,
        target: str,
        version: str,
        headers: list[list[str]],
        rest: bytes,
    ) -> None:
        parts = urlsplit(target)
        if parts.scheme != "http" or not parts.hostname:
            client.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            return
        upstream = self._upstream(parts.hostname, parts.port or 80)
        if upstream is None:
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        path = parts.path or "/"
        if parts.query:
            path += f"?{parts.query}"
        dropped = {"proxy-authorization", "proxy-connection", "connection", "keep-alive"}
        kept = [f"{k}:{v}" for k, v in headers if k.strip().lower() not in dropped]
        length = next((int(v) for k, v in headers if k.strip().lower() == "content-length"), 0)
        body = rest
        while len(body) < length:
            chunk = client.recv(65536)
            if not chunk:
                break
            body += chunk
        request = "\r\n".join([f"{method} {path} {version}", *kept, "Connection: close", "", ""])
        with upstream:
            upstream.sendall(request.encode("latin-1") + body)
            while True:
                chunk = upstream.recv(65536)
                if not chunk:
                    break
                client.sendall(chunk)


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, state: _State) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


class TestProxy:
    """A running proxy (see the module docstring); use as a context manager."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(
        self,
        hosts: dict[str, str] | None = None,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self._state = _State(
            hosts={k.lower(): v for k, v in (hosts or {}).items()}, credentials=credentials
        )
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``, without credentials."""
        return f"http://127.0.0.1:{self.port}"

    def url_with(self, user: str, password: str) -> str:
        """``http://USER:PASSWORD@127.0.0.1:PORT``."""
        return f"http://{user}:{password}@127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[ProxiedRequest]:
        with self._state.lock:
            return list(self._state.requests)

    def targets(self) -> list[str]:
        return [r.target for r in self.requests]

    def start(self) -> TestProxy:
        self._server = _Server(self._state)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            with contextlib.suppress(RuntimeError):
                self._thread.join(timeout=5)

    def __enter__(self) -> TestProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
