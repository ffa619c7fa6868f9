"""Benchmark (issue 15): pullgate beside what a user would do otherwise, in one run, one table.

- start-up: `python -c pass`, `pullgate --version`, `pullgate check --offline` of one file;
- an estate: REFS unique references over five real registries (two with token auth), each
  used by three workloads, behind a proxy adding LATENCY ms each way; pullgate at its
  defaults beside a bare concurrent client doing the same manifest GETs (and config blobs
  and tokens) with 16 requests in flight per registry, and a `skopeo inspect` loop (timed on
  a sample, scaled to the estate: it is one process per image);
- offline scale: OBJECTS Deployments, `pullgate check --offline` beside PyYAML's bare
  `CSafeLoader`, wall time and peak memory.

Both the estate and the offline set run at three sizes (a tenth, three tenths, all), so the
table shows how the cost grows: per reference and per object.

    python bench/run.py [--quick] [--refs 1000] [--latency 50] [--objects 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
from resolve import LatencyProxy  # noqa: E402
from scale import measured, write_objects  # noqa: E402

from tests.support.images import push_image  # noqa: E402
from tests.support.registry import TOKEN_ANONYMOUS_RULES, RegistryServer  # noqa: E402

REGISTRIES = ("anonymous", "anonymous", "anonymous", "token", "token")
BARE_IN_FLIGHT = 16
ONE = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec: {template: {spec: {containers: [{name: web, image: "nginx:1.27"}]}}}
"""


def timed(command: Sequence[str], repeat: int = 7) -> float:
    """The best of `repeat` runs: what the command costs when nothing else competes."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(list(command), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return min(times)


def startup(scratch: Path) -> list[tuple[str, float, str]]:
    one = scratch / "one.yaml"
    one.write_text(ONE)
    python = timed([sys.executable, "-c", "pass"])
    version = timed([sys.executable, "-m", "gate", "--version"])
    offline = timed([sys.executable, "-m", "gate", "check", "--offline", str(one)])
    return [
        ("python -c pass", python, "1.0x"),
        ("pullgate --version", version, f"{version / python:.1f}x (target 3x)"),
        ("pullgate check --offline, 1 Deployment", offline, f"{offline / python:.1f}x (target 5x)"),
    ]


def estate(
    servers: list[tuple[RegistryServer, LatencyProxy]], refs: int
) -> list[tuple[str, str, str]]:
    """Push REFS images round-robin over the registries."""
    images: list[tuple[str, str, str]] = []  # (host via proxy, repository, tag)
    for index in range(refs):
        server, proxy = servers[index % len(servers)]
        repo = f"public/bench/app{index}"
        push_image(server, repo, "1.0")
        images.append((f"127.0.0.1:{proxy.port}", repo, "1.0"))
    return images


def workloads(images: list[tuple[str, str, str]], path: Path) -> Path:
    """Three Deployments per image, written to `path`."""
    docs = []
    for copy in range(3):
        for index, (host, repo, tag) in enumerate(images):
            container = f"{{name: c, image: '{host}/{repo}:{tag}'}}"
            docs.append(
                f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: w{copy}-{index}}}\n"
                f"spec: {{template: {{spec: {{containers: [{container}]}}}}}}\n"
            )
    path.write_text("---\n".join(docs))
    return path


def sizes(full: int) -> list[int]:
    """A tenth, three tenths and all of `full`: enough to see how the cost grows."""
    return sorted({max(1, full // 10), max(1, full * 3 // 10), full})


def run_pullgate(path: Path) -> tuple[float, int]:
    start = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "gate", "check", "--format", "json", "--no-ci-logins", str(path)],
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    report = json.loads(run.stdout)
    resolved = report["summary"]["resolved"]
    return seconds, resolved


async def bare(images: list[tuple[str, str, str]]) -> tuple[float, int, int]:
    """The same work by hand: per image a manifest GET (with one anonymous token per
    repository where the registry asks) and its config blob; 16 in flight per registry."""
    accept = "application/vnd.oci.image.manifest.v1+json"
    limits: dict[str, asyncio.Semaphore] = {}
    counts = {"requests": 0, "tokens": 0}
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=200)) as client:

        async def get(host: str, path: str, token: str | None) -> httpx.Response:
            headers = {"Accept": accept, **({"Authorization": f"Bearer {token}"} if token else {})}
            async with limits.setdefault(host, asyncio.Semaphore(BARE_IN_FLIGHT)):
                counts["requests"] += 1
                return await client.get(f"http://{host}/v2/{path}", headers=headers)

        async def one(host: str, repo: str, tag: str) -> None:
            answer = await get(host, f"{repo}/manifests/{tag}", None)
            token = None
            if answer.status_code == 401:
                challenge = answer.headers["WWW-Authenticate"].removeprefix("Bearer ")
                params = dict(p.split("=", 1) for p in challenge.split(","))
                params = {k: v.strip('"') for k, v in params.items()}
                counts["tokens"] += 1
                realm = params.pop("realm")
                reply = await client.get(
                    realm, params={"service": params["service"], "scope": params["scope"]}
                )
                token = reply.json()["token"]
                answer = await get(host, f"{repo}/manifests/{tag}", token)
            answer.raise_for_status()
            config = answer.json()["config"]["digest"]
            (await get(host, f"{repo}/blobs/{config}", token)).raise_for_status()

        start = time.perf_counter()
        await asyncio.gather(*(one(*image) for image in images))
        return time.perf_counter() - start, counts["requests"], counts["tokens"]


def skopeo_loop(images: list[tuple[str, str, str]], sample: int) -> float:
    """Seconds for the whole estate, from a sample (one `skopeo inspect` per image)."""
    chosen = images[:: max(1, len(images) // sample)][:sample]
    start = time.perf_counter()
    for host, repo, tag in chosen:
        subprocess.run(
            ["skopeo", "inspect", "--tls-verify=false", "--raw", f"docker://{host}/{repo}:{tag}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return (time.perf_counter() - start) / len(chosen) * len(images)


def offline_rows(big: Path, objects: int) -> list[tuple[str, str, str, str]]:
    """`check --offline` of OBJECTS Deployments beside CSafeLoader reading the same file."""
    write_objects(big, objects)
    documents = objects
    bare_load = [
        sys.executable,
        "-c",
        "import sys, yaml; "
        "sum(1 for _ in yaml.load_all(open(sys.argv[1]), Loader=yaml.CSafeLoader))",
        str(big),
    ]
    gate = [sys.executable, "-m", "gate", "check", "--offline", "--format", "json", str(big)]
    # best of three, taken in turns: a shared two-core machine adds noise, never speed
    runs = [(measured(bare_load), measured(gate)) for _ in range(3)]
    base, base_kib, _ = min(pair[0] for pair in runs)
    ours, ours_kib, _ = min(pair[1] for pair in runs)
    size_kib = big.stat().st_size / 1024
    return [
        (
            f"CSafeLoader, {documents} objects ({size_kib / 1024:.1f} MB)",
            f"{base:.2f} s",
            f"{base_kib / 1024:.0f} MB peak",
            "1.0x",
        ),
        (
            f"pullgate check --offline, {documents} objects",
            f"{ours:.2f} s",
            f"{ours_kib / 1024:.0f} MB peak ({ours_kib / size_kib:.1f}x the input), "
            f"{ours / documents * 1e6:.0f} us/object",
            f"{ours / base:.2f}x (target 1.5x)",
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 references, 2,000 objects")
    parser.add_argument("--refs", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=50.0, help="ms added each way")
    parser.add_argument("--objects", type=int, default=20000)
    args = parser.parse_args()
    refs, objects = (100, 2000) if args.quick else (args.refs, args.objects)
    rows: list[tuple[str, str, str, str]] = []
    # the bytecode an installed package has (pip compiles it): start-up is measured warm,
    # also where PYTHONDONTWRITEBYTECODE keeps every run from caching it
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "gate")], check=True)
    with tempfile.TemporaryDirectory(prefix="pullgate-bench-") as tmp:
        scratch = Path(tmp)
        for label, seconds, ratio in startup(scratch):
            rows.append((label, f"{seconds * 1000:.0f} ms", "", ratio))

        servers: list[tuple[RegistryServer, LatencyProxy]] = []
        try:
            for index, mode in enumerate(REGISTRIES):
                kwargs = {"anonymous_rules": TOKEN_ANONYMOUS_RULES} if mode == "token" else {}
                server = RegistryServer(mode, workdir=scratch / f"r{index}", **kwargs).start()
                proxy = LatencyProxy(server.port, args.latency / 1000).__enter__()
                servers.append((server, proxy))
            images = estate(servers, refs)
            issuers = [s.issuer for s, _ in servers if s.issuer is not None]
            for size in sizes(refs):
                chosen = images[:size]
                path = workloads(chosen, scratch / f"estate-{size}.yaml")
                for issuer in issuers:
                    issuer.clear_requests()
                seconds, resolved = run_pullgate(path)
                tokens = sum(len(i.requests) for i in issuers)
                bare_seconds, requests, bare_tokens = asyncio.run(bare(chosen))
                rows.append(
                    (
                        f"bare client, {size} refs, {BARE_IN_FLIGHT} in flight/registry",
                        f"{bare_seconds:.2f} s",
                        f"{requests} requests, {bare_tokens} tokens",
                        "1.0x",
                    )
                )
                rows.append(
                    (
                        f"pullgate check (defaults), {size} refs x 3 uses",
                        f"{seconds:.2f} s",
                        f"{resolved} resolved, {tokens} tokens, {seconds / size * 1000:.1f} ms/ref",
                        f"{seconds / bare_seconds:.2f}x (target 1.25x)",
                    )
                )
            loop = skopeo_loop(images, sample=10 if args.quick else 30)
            rows.append(
                (
                    "skopeo inspect loop (from a sample)",
                    f"{loop:.1f} s",
                    "",
                    f"{loop / bare_seconds:.1f}x",
                )
            )
        finally:
            for server, proxy in servers:
                proxy.__exit__(None, None, None)
                server.stop()

        for count in sizes(objects):
            rows.extend(offline_rows(scratch / f"objects-{count}.yaml", count))
    print(f"2 cores; {args.latency:g} ms added each way; five registries (two with token auth)")
    print(f"| {'what':<46} | {'wall time':>10} | {'work':<40} | ratio |")
    print(f"|{'-' * 48}|{'-' * 12}|{'-' * 42}|-------|")
    for what, wall, work, ratio in rows:
        print(f"| {what:<46} | {wall:>10} | {work:<40} | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
