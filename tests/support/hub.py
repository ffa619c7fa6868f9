"""A Docker Hub stand-in: real HTTP on 127.0.0.1, in front of a real distribution registry.

Every request is passed on to the registry and its answer passed back, as a transparent proxy
would. What Docker Hub adds is added: on each manifest answer (GET and HEAD) the pull budget
headers `ratelimit-limit: <limit>;w=<window>`, `ratelimit-remaining: <remaining>;w=<window>`
and `docker-ratelimit-source`, as Docker's "Docker Hub pull usage and limits" page shows them;
with `spent`, a manifest request is answered 429 with Docker Hub's `TOOMANYREQUESTS` error body
and the same headers (remaining 0). `junk` sends headers of the right names with values that
mean nothing. The budget stays as set (a GET does not spend it), so that messages are exact.

`hits` counts manifest requests by `METHOD /v2/<name>/manifests/<ref>`.
"""

from __future__ import annotations

import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from tests.support.registry import RegistryServer

SPENT_BODY = (
    b'{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your unauthenticated '
    b'pull rate limit. https://www.docker.com/increase-rate-limit"}]}'
)
JUNK_HEADERS = {
    "ratelimit-limit": "lots;w=forever",
    "ratelimit-remaining": "-3;w=21600",
    "docker-ratelimit-source": "",
}
_PASSED_ON = ("Content-Type", "Docker-Content-Digest", "WWW-Authenticate", "Location")


class HubServer:
    """Docker Hub's rate-limit behaviour over `registry`'s content."""

    def __init__(
        self,
        registry: RegistryServer,
        *,
        limit: int = 100,
        remaining: int = 100,
        window: int = 21600,
        spent: bool = False,
        retry_after: int | None = None,
        junk: bool = False,
    ) -> None:
        self.limit, self.remaining, self.window = limit, remaining, window
        self.spent, self.retry_after, self.junk = spent, retry_after, junk
        self.hits: Counter[str] = Counter()
        upstream = httpx.Client(base_url=registry.url, timeout=30)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_HEAD(self) -> None:
                self._answer("HEAD")

            def do_GET(self) -> None:
                self._answer("GET")

            def _answer(self, method: str) -> None:
                path = self.path.split("?")[0]
                manifest = "/manifests/" in path
                if manifest:
                    server.hits[f"{method} {path}"] += 1
                if manifest and server.spent:
                    self._send(429, SPENT_BODY, {"Content-Type": "application/json"}, method)
                    return
                sent = {k: v for k, v in self.headers.items() if k in ("Accept", "Authorization")}
                answer = upstream.request(method, self.path, headers=sent)
                headers = {k: answer.headers[k] for k in _PASSED_ON if k in answer.headers}
                body = answer.content
                if method == "HEAD":
                    headers["Content-Length"] = answer.headers.get("Content-Length", "0")
                self._send(answer.status_code, body, headers, method, manifest)

            def _send(
                self,
                status: int,
                body: bytes,
                headers: dict[str, str],
                method: str,
                manifest: bool = True,
            ) -> None:
                self.send_response(status)
                headers = {"Content-Length": str(len(body)), **headers}
                if manifest:
                    headers.update(server.budget_headers())
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                if method != "HEAD":
                    self.wfile.write(body)

        self._upstream = upstream
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self.host = f"127.0.0.1:{self._http.server_address[1]}"
        self.url = f"http://{self.host}"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()

    def budget_headers(self) -> dict[str, str]:
        if self.junk:
            return dict(JUNK_HEADERS)
        remaining = 0 if self.spent else self.remaining
        headers = {
            "ratelimit-limit": f"{self.limit};w={self.window}",
            "ratelimit-remaining": f"{remaining};w={self.window}",
            "docker-ratelimit-source": "192.0.2.1",
        }
        if self.spent and self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return headers

    def manifest_hits(self) -> int:
        return sum(self.hits.values())

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._upstream.close()

    def __enter__(self) -> HubServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
