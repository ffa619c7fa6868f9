"""A registry that misbehaves on purpose: real HTTP on 127.0.0.1, one fault per repository.

`GET /v2/` answers as a registry does; `/v2/<fault>/manifests/<ref>` (HEAD or GET) misbehaves
as `<fault>` says:

- `hang`: reads the request and never answers;
- `trickle-headers`: sends the status line, then one header byte every half second;
- `trickle-body`: sends headers for a 4 KiB manifest, then one body byte every half second;
- `gzip-bomb`: a small body with `Content-Encoding: gzip, gzip` that inflates to 256 MiB;
- `digest-mismatch`: a valid manifest whose `Docker-Content-Digest` is another digest;
- `not-json`: an HTML page served as an OCI manifest;
- `rate-limited`: 429 with `Retry-After: 3600`;
- `server-error`: 500; `busy`: 503;
- `bad-chunking`: a chunked body whose chunk size is not a number, with raw bytes after it;
- `plain-realm`: 401 asking for a Bearer token from a plain-HTTP realm on another host.

Any `/api/...` or `/apis/...` path is a Kubernetes API server that trickles its answer.

Every request is counted per fault (`hits`). Threads sleep on an event, so `close()` ends them.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import threading
from collections import Counter
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": "sha256:" + "0" * 64,
            "size": 2,
        },
        "layers": [],
    },
    indent=3,
).encode()


@cache
def gzip_bomb() -> bytes:
    """256 MiB of zeros, gzipped twice: about a kilobyte on the wire."""
    inner = io.BytesIO()
    with gzip.GzipFile(fileobj=inner, mode="wb", compresslevel=9) as handle:
        chunk = b"\0" * (1 << 20)
        for _ in range(256):
            handle.write(chunk)
    return gzip.compress(inner.getvalue(), compresslevel=9)


class FaultServer:
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_HEAD(self) -> None:
                self._answer(head=True)

            def do_GET(self) -> None:
                self._answer(head=False)

            def _answer(self, head: bool) -> None:
                parts = self.path.split("?")[0].strip("/").split("/")
                if parts[0] in ("api", "apis"):
                    server.hits["api"] += 1
                    self._trickle_body(head)
                    return
                if parts == ["v2"]:
                    self._send(200, b"{}", {"Content-Type": "application/json"}, head)
                    return
                fault = parts[1] if len(parts) >= 4 and parts[-2] == "manifests" else ""
                server.hits[fault] += 1
                getattr(self, "_" + fault.replace("-", "_"), self._unknown)(head)

            def _send(self, status: int, body: bytes, headers: dict[str, str], head: bool) -> None:
                self.send_response(status)
                for key, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(key, value)
                self.send_header("Docker-Distribution-API-Version", "registry/2.0")
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def _unknown(self, head: bool) -> None:
                body = b'{"errors":[{"code":"NAME_UNKNOWN","message":"no such fault"}]}'
                self._send(404, body, {"Content-Type": "application/json"}, head)

            def _hang(self, head: bool) -> None:
                server.stopping.wait()

            def _trickle_headers(self, head: bool) -> None:
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                self.wfile.flush()
                for byte in b"Content-Type: " + OCI_MANIFEST.encode() * 100:
                    if server.stopping.wait(0.5):
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()

            def _trickle_body(self, head: bool) -> None:
                body = MANIFEST.ljust(4096)
                self.send_response(200)
                self.send_header("Content-Type", OCI_MANIFEST)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.flush()
                if head:
                    return
                for byte in body:
                    if server.stopping.wait(0.5):
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()

            def _gzip_bomb(self, head: bool) -> None:
                headers = {"Content-Type": OCI_MANIFEST, "Content-Encoding": "gzip, gzip"}
                self._send(200, gzip_bomb(), headers, head)

            def _digest_mismatch(self, head: bool) -> None:
                wrong = "sha256:" + hashlib.sha256(b"something else").hexdigest()
                headers = {"Content-Type": OCI_MANIFEST, "Docker-Content-Digest": wrong}
                self._send(200, MANIFEST, headers, head)

            def _not_json(self, head: bool) -> None:
                body = b"<html><body>Welcome to our proxy</body></html>"
                self._send(200, body, {"Content-Type": OCI_MANIFEST}, head)

            def _server_error(self, head: bool) -> None:
                self._send(500, b"oops", {"Content-Type": "text/plain"}, head)

            def _busy(self, head: bool) -> None:
                self._send(503, b"busy", {"Content-Type": "text/plain"}, head)

            def _bad_chunking(self, head: bool) -> None:
                self.send_response(200)
                self.send_header("Content-Type", OCI_MANIFEST)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.wfile.write(b"zz\r\n\x1b[31mRAW-PROTOCOL-BYTES\r\n0\r\n\r\n")
                self.wfile.flush()

            def _plain_realm(self, head: bool) -> None:
                challenge = 'Bearer realm="http://auth.nope.invalid/token",service="faults"'
                body = b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}'
                headers = {"Content-Type": "application/json", "WWW-Authenticate": challenge}
                self._send(401, body, headers, head)

            def _rate_limited(self, head: bool) -> None:
                body = b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}'
                headers = {"Content-Type": "application/json", "Retry-After": "3600"}
                self._send(429, body, headers, head)

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self.host = f"127.0.0.1:{self._http.server_address[1]}"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.stopping.set()
        self._http.shutdown()
        self._http.server_close()
