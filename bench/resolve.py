"""Benchmark: resolving a large manifest set against a real local registry (`make bench`).

It starts the distribution registry (anonymous, and token-auth behind the test issuer), pushes
IMAGES distinct images (half OCI indexes, half single manifests), writes a manifest set in which
PODS pods reference them (so most references repeat), and times `run_check` with different
bounds on requests per registry. It prints wall time, HTTP requests sent and token requests, so
the effect of de-duplication, concurrency and token caching is a number, not a claim.

    python bench/resolve.py [--images 60] [--pods 1500] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gate.pipeline import CheckOptions, run_check  # noqa: E402
from gate.registry.client import RegistryClient  # noqa: E402
from gate.registry.transport import TransportOptions  # noqa: E402
from tests.support.images import push_image, push_index  # noqa: E402
from tests.support.registry import TOKEN_ANONYMOUS_RULES, RegistryServer  # noqa: E402


def seed(server: RegistryServer, count: int, prefix: str) -> list[str]:
    refs = []
    for index in range(count):
        repo = f"{prefix}/app{index}"
        if index % 2:
            push_index(server, repo, "1.0", ["linux/amd64", "linux/arm64"])
        else:
            push_image(server, repo, "1.0")
        refs.append(f"/{repo}:1.0")
    return refs


def manifest(refs: list[str], pods: int, host: str) -> str:
    docs = []
    for index in range(pods):
        image = host + refs[index % len(refs)]
        sidecar = host + refs[(index * 7 + 3) % len(refs)]
        docs.append(
            f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: app-{index}, namespace: bench}}
spec:
  template:
    spec:
      containers:
        - {{name: main, image: "{image}"}}
        - {{name: sidecar, image: "{sidecar}"}}
"""
        )
    return "---\n".join(docs)


class LatencyProxy:
    """A TCP proxy on 127.0.0.1 that delays every chunk by `delay` seconds each way.

    Loopback has no latency, so concurrency cannot show there; a real registry is tens of
    milliseconds away. Each request then costs about one round trip, as it would in CI.
    """

    def __init__(self, target_port: int, delay: float) -> None:
        self.target_port = target_port
        self.delay = delay
        self.port = 0
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LatencyProxy:
        self._thread.start()
        self._ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(
            "127.0.0.1", self.target_port
        )

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while chunk := await src.read(65536):
                    await asyncio.sleep(self.delay)
                    dst.write(chunk)
                    await dst.drain()
            except ConnectionError:
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))


class Counting(RegistryClient):
    """The real client, remembering its request count after the run."""

    last_requests = 0

    async def aclose(self) -> None:
        Counting.last_requests = self.requests
        await super().aclose()


def measure(
    path: Path, per_registry: int, repeat: int, offline: bool = False
) -> tuple[float, int, int]:
    import gate.pipeline as pipeline

    pipeline.RegistryClient = Counting  # type: ignore[misc]
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run_check(
            CheckOptions(
                paths=(str(path),),
                offline=offline,
                transport=TransportOptions(per_registry=per_registry),
            )
        )
        times.append(time.perf_counter() - start)
    assert result is not None
    failures = [f for f in result.findings if f.suppressed is None]
    if offline:
        return statistics.median(times), 0, len(result.uses)
    if failures:
        raise SystemExit(f"benchmark set has findings: {failures[0].message}")
    return statistics.median(times), Counting.last_requests, len(result.uses)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=60)
    parser.add_argument("--pods", type=int, default=1500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--latency", type=float, default=10.0, help="one-way delay in ms added by the proxy"
    )
    args = parser.parse_args()
    print(
        f"{args.pods} pods x 2 containers over {args.images} distinct images, "
        f"{args.latency:g} ms added each way"
    )
    with tempfile.TemporaryDirectory(prefix="pullgate-bench-") as tmp:
        for mode in ("anonymous", "token"):
            kwargs = {"anonymous_rules": TOKEN_ANONYMOUS_RULES} if mode == "token" else {}
            with RegistryServer(mode, workdir=Path(tmp) / mode, **kwargs) as server:
                refs = seed(server, args.images, "public" if mode == "token" else "bench")
                with LatencyProxy(server.port, args.latency / 1000) as proxy:
                    run_mode(server, proxy, mode, refs, Path(tmp), args)
    return 0


def run_mode(
    server: RegistryServer,
    proxy: LatencyProxy,
    mode: str,
    refs: list[str],
    tmp: Path,
    args: argparse.Namespace,
) -> None:
    path = tmp / f"{mode}.yaml"
    path.write_text(manifest(refs, args.pods, f"127.0.0.1:{proxy.port}"))
    if mode == "anonymous":
        seconds, _, uses = measure(path, 1, args.repeat, offline=True)
        print(f"offline (load, extract, static rules) {uses} images: {seconds * 1000:7.0f} ms")
    for per_registry in (1, 8, 32):
        if server.issuer is not None:
            server.issuer.clear_requests()
        seconds, requests, uses = measure(path, per_registry, args.repeat)
        tokens = len(server.issuer.requests) // args.repeat if server.issuer else 0
        print(
            f"{mode:9} per-registry={per_registry:<3} {uses} images: "
            f"{seconds * 1000:7.0f} ms median of {args.repeat}, "
            f"{requests} HTTP requests, {tokens} token requests"
        )


if __name__ == "__main__":
    sys.exit(main())
