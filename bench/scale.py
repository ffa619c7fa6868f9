"""Benchmark: an offline check of a large manifest stream, time and peak memory (issue 13).

Writes SIZE megabytes of Deployments (two containers each, labels, annotations, env and
resources, as rendered charts look) into one file, runs `pullgate check --offline --format
json` on it in a child process, and prints wall time and the child's peak resident memory
beside PyYAML's bare CSafeLoader reading the same file.

    python bench/scale.py [--size 200]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

DOCUMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{i}
  namespace: ns-{n}
  labels: {{app: app-{i}, team: t{n}}}
  annotations: {{owner: team-{n}, description: "a deployment used for scale testing"}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: app-{i}}}}}
  template:
    metadata:
      labels: {{app: app-{i}}}
    spec:
      serviceAccountName: default
      containers:
        - name: web
          image: registry.example.com/team{n}/web:1.{n}
          ports: [{{containerPort: 8080}}]
          env:
            - {{name: A, value: "1"}}
            - {{name: B, value: "2"}}
          resources: {{requests: {{cpu: 100m, memory: 64Mi}}, limits: {{cpu: 500m}}}}
        - name: sidecar
          image: registry.example.com/shared/sidecar:2.{n}
---
"""


def write_objects(path: Path, count: int) -> int:
    """Exactly `count` Deployments; returns the file's size in bytes."""
    with path.open("w") as handle:
        for index in range(count):
            handle.write(DOCUMENT.format(i=index, n=index % 50))
    return path.stat().st_size


def write_manifests(path: Path, megabytes: int) -> int:
    documents = size = 0
    with path.open("w") as handle:
        while size < megabytes * 1_000_000:
            text = DOCUMENT.format(i=documents, n=documents % 50)
            handle.write(text)
            size += len(text)
            documents += 1
    return documents


def measured(command: list[str]) -> tuple[float, int, int]:
    """(seconds, peak KiB, exit code) of `command`, run by a wrapper whose only child it is."""
    wrapper = (
        "import resource, subprocess, sys, json\n"
        f"code = subprocess.run({command!r}, stdout=subprocess.DEVNULL).returncode\n"
        "print(json.dumps([code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))\n"
    )
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True).stdout
    code, peak = json.loads(out)
    return time.monotonic() - start, peak, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=200, help="megabytes of manifests")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "estate.yaml"
        documents = write_manifests(path, args.size)
        bare = [
            sys.executable,
            "-c",
            "import sys, yaml; sum(1 for _ in yaml.load_all(open(sys.argv[1]), "
            "Loader=yaml.CSafeLoader))",
            str(path),
        ]
        gate = [sys.executable, "-m", "gate", "check", "--offline", "--format", "json", str(path)]
        print(f"{args.size} MB, {documents} Deployments, {2 * documents} container images")
        print(f"{'':<34} {'wall time':>10} {'peak memory':>12}")
        for label, command in (("PyYAML CSafeLoader, nothing kept", bare), ("pullgate", gate)):
            seconds, peak_kib, code = measured(command)
            print(f"{label:<34} {seconds:>9.1f}s {peak_kib / 1024:>10.0f} MB  (exit {code})")


if __name__ == "__main__":
    main()
