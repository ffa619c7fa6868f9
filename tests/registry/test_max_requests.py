"""`--max-requests` / config `max-requests`: the bound on requests in flight to one registry.

A real HTTP server that answers each manifest request after a pause records how many were in
flight at once; the gate never exceeds the bound, and reaches it (the bound is what limits).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.cli import pullgate


class Counting(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Condition()
        self.in_flight = 0
        self.most = 0
        self.expect = 1
        """Each request is held until this many are in flight (or 3 s pass): the count then
        shows the bound, not how fast a busy machine schedules the client."""

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Counting

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/v2/":
            self._answer(200)
            return
        server = self.server
        with server.lock:
            server.in_flight += 1
            server.most = max(server.most, server.in_flight)
            server.lock.notify_all()
            server.lock.wait_for(lambda: server.in_flight >= server.expect, timeout=3)
        time.sleep(0.05)  # any request beyond the bound would arrive now
        with server.lock:
            server.in_flight -= 1
        self._answer(404)

    def _answer(self, status: int) -> None:
        body = b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def counting() -> Iterator[Counting]:
    server = Counting()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def manifest(tmp_path: Path, host: str, count: int) -> Path:
    path = tmp_path / "pods.yaml"
    containers = ", ".join(f"{{name: c{i}, image: '{host}/app/n{i}:1'}}" for i in range(count))
    path.write_text(
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec: {{containers: [{containers}]}}\n"
    )
    return path


@pytest.mark.parametrize(
    ("args", "config", "bound"), [(("--max-requests", "3"), "", 3), ((), "max-requests: 2\n", 2)]
)
def test_requests_in_flight_stay_within_the_bound(
    tmp_path: Path, counting: Counting, args: tuple[str, ...], config: str, bound: int
) -> None:
    settings = tmp_path / ".pullgate.yaml"
    settings.write_text(config)
    counting.expect = bound
    result = pullgate(
        "check",
        "--config",
        str(settings),
        "--retries",
        "0",
        "--no-ci-logins",
        *args,
        str(manifest(tmp_path, counting.host, 12)),
    )
    assert result.exit_code == 1  # every tag is missing
    assert counting.most == bound


def test_the_default_bound_is_sixteen(tmp_path: Path, counting: Counting) -> None:
    counting.expect = 16
    result = pullgate(
        "check", "--retries", "0", "--no-ci-logins", str(manifest(tmp_path, counting.host, 40))
    )
    assert result.exit_code == 1
    assert counting.most == 16


@pytest.mark.parametrize("value", ["0", "65", "x"])
def test_a_bound_out_of_range_is_a_usage_error(tmp_path: Path, value: str) -> None:
    result = pullgate("check", "--max-requests", value, str(manifest(tmp_path, "r.example", 1)))
    assert result.exit_code == 2


def test_a_config_bound_out_of_range_is_located(tmp_path: Path) -> None:
    settings = tmp_path / ".pullgate.yaml"
    settings.write_text("max-requests: 0\n")
    result = pullgate("check", "--config", str(settings), str(manifest(tmp_path, "r.example", 1)))
    assert result.exit_code == 2
    assert f"{settings}:1: max-requests: must be a whole number" in result.stderr
