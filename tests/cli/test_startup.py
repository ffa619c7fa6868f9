"""Start-up imports only what a run needs (issue 15): a pre-commit hook runs on every commit.

`--version` and `--help` load no stage at all; an offline check loads no network stack (httpx,
asyncio, ssl), no registry client and no cluster client. Each case runs in a fresh interpreter,
so what is in `sys.modules` afterwards is exactly what that command imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

NETWORK = ("httpx", "httpcore", "h2", "asyncio", "ssl", "truststore", "tenacity")
REGISTRY = ("gate.registry.client", "gate.registry.transport", "gate.inventory.cluster.client")
STAGES = ("gate.pipeline", "gate.config", "gate.load", "gate.report.text_report", "yaml")

PROBE = """\
import json, sys
from gate.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def imported(*args: str) -> set[str]:
    run = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PULLGATE_NO_PROGRESS": "1"},
    )
    return set(json.loads(run.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize("args", [("--version",), ("--help",), ("check", "--help")])
def test_version_and_help_load_no_stage(args: tuple[str, ...]) -> None:
    modules = imported(*args)
    assert not modules & {*NETWORK, *REGISTRY, *STAGES}, sorted(
        modules & {*NETWORK, *REGISTRY, *STAGES}
    )
    # nor what only a command needs: logging, the rules, the verdict, the report machinery
    late = {"logging", "gate.rules", "gate.verdict", "gate.report.render", "dataclasses"}
    assert not modules & late, sorted(modules & late)


def test_an_offline_check_loads_no_network_stack(tmp_path: Path) -> None:
    manifest = tmp_path / "web.yaml"
    manifest.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
        "spec: {template: {spec: {containers: [{name: web, image: 'nginx:1.27'}]}}}\n"
    )
    modules = imported("check", "--offline", "--format", "json", str(manifest))
    assert "gate.report.json_report" in modules  # it did run
    assert "gate.report.sarif" not in modules  # one report module per format asked for
    assert "tomllib" not in modules  # only to read a containerd hosts.toml
    assert not modules & {"shutil", "difflib"}  # only on a terminal, only to suggest a rule
    assert not modules & {*NETWORK, *REGISTRY}, sorted(modules & {*NETWORK, *REGISTRY})


def test_a_check_that_resolves_loads_the_network_stack(tmp_path: Path) -> None:
    """The other side of the test above: the probe sees imports (no false pass)."""
    manifest = tmp_path / "web.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
        "spec: {containers: [{name: a, image: '127.0.0.1:9/x/y:1'}]}\n"
    )
    modules = imported("check", "--retries", "0", "--timeout", "1", "--no-ci-logins", str(manifest))
    assert {"httpx", "gate.registry.client"} <= modules
