"""A registry that misbehaves (tests/support/faults.py): every fault ends within its bound,
with the documented exit code and a plain message. Each case is one that held, crashed or
misfiled the gate before (issue 13's measurements).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.faults import FaultServer
from tests.support.paths import ROOT


@pytest.fixture(scope="module")
def faults() -> Iterator[FaultServer]:
    server = FaultServer()
    yield server
    server.close()


def _check(tmp_path: Path, image: str, *args: str) -> tuple[int, dict, str, float, int]:
    """`pullgate check --format json` in a child process: exit code, report, stderr, seconds
    and the child's peak memory in KiB (measured by a wrapper whose only child it is)."""
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
        f"  containers: [{{name: a, image: '{image}'}}]\n"
    )
    command = [sys.executable, "-m", "gate", "check", "--format", "json", *args, str(manifest)]
    wrapper = (
        "import json, resource, subprocess, sys\n"
        f"proc = subprocess.run({command!r}, capture_output=True, text=True)\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(json.dumps([proc.returncode, proc.stdout, proc.stderr, peak]))\n"
    )
    start = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-c", wrapper],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PULLGATE_NO_PROGRESS": "1", "PULLGATE_BACKOFF": "0.05"},
        timeout=180,
    )
    elapsed = time.monotonic() - start
    code, out, err, peak = json.loads(run.stdout)
    return code, json.loads(out) if out else {}, err, elapsed, peak


def _finding(report: dict) -> dict:
    (finding,) = report["findings"]
    assert "Traceback" not in json.dumps(report)
    return finding


@pytest.mark.parametrize(
    ("fault", "args", "words"),
    [
        # one byte every half second passed every per-read timeout: 300 s with --timeout 5,
        # then a pass; now --timeout bounds the request as a whole
        ("trickle-body", ("--timeout", "2", "--retries", "1"), "no complete answer within 2 s"),
        ("trickle-headers", ("--timeout", "2", "--retries", "0"), "no complete answer within 2 s"),
        # a registry that accepts and never answers held the gate 135 s with the defaults;
        # the run's --deadline ends it, as it ends a long Retry-After
        ("hang", ("--timeout", "60", "--deadline", "3"), "within the run's 3 s deadline"),
        ("rate-limited", ("--retries", "5", "--deadline", "3"), "within the run's 3 s deadline"),
    ],
)
def test_a_slow_registry_is_cut_within_its_bound(
    tmp_path: Path, faults: FaultServer, fault: str, args: tuple[str, ...], words: str
) -> None:
    code, report, err, elapsed, _ = _check(tmp_path, f"{faults.host}/{fault}/app:1", *args)
    assert code == 3, err
    finding = _finding(report)
    assert finding["rule"] == "image-registry-unreachable"
    assert words in finding["message"]
    assert elapsed < 30


def test_a_nested_gzip_bomb_is_refused_in_bounded_memory(
    tmp_path: Path, faults: FaultServer
) -> None:
    """3.5 KB of `Content-Encoding: gzip, gzip` grew the process to 4.2 GB: each layer now
    inflates under the 4 MiB manifest cap (gate/registry/decoding.py)."""
    code, report, err, _, peak_kib = _check(tmp_path, f"{faults.host}/gzip-bomb/app:1")
    assert code == 3, err
    finding = _finding(report)
    assert finding["rule"] == "image-registry-unreachable"
    assert "over the 4194304-byte limit" in finding["message"]
    assert peak_kib < 200 * 1024, f"peak {peak_kib} KiB for a 256 MiB bomb"


@pytest.mark.parametrize(
    ("fault", "words"),
    [("digest-mismatch", "hashes to"), ("not-json", "is not a JSON object")],
)
def test_integrity_failures_have_their_own_rule(
    tmp_path: Path, faults: FaultServer, fault: str, words: str
) -> None:
    """A digest mismatch or a non-JSON manifest was filed as "unreachable" with a network
    hint; it is `image-manifest-invalid` (exit 1), with an integrity hint. The node refuses
    such content too: containerd commits fetched content only when it hashes to the expected
    digest (content/local writer `Commit`: "unexpected commit digest"), and its CRI pull
    fails on a manifest it cannot unmarshal."""
    code, report, err, _, _ = _check(tmp_path, f"{faults.host}/{fault}/app:1")
    assert code == 1, err
    finding = _finding(report)
    assert finding["rule"] == "image-manifest-invalid"
    assert words in finding["message"]
    assert "Welcome to our proxy" not in finding["message"]  # raw server text stays out
    assert "skopeo inspect" in finding["hint"]


def test_a_host_that_does_not_exist_is_not_asked_again(tmp_path: Path) -> None:
    """NXDOMAIN is final: retrying with backoff only made a typo in a registry name slow.
    (`.invalid` never resolves, RFC 2606.)"""
    code, report, err, _, _ = _check(tmp_path, "registry.nope.invalid/app:1", "--retries", "5")
    assert code == 3, err
    finding = _finding(report)
    assert "cannot resolve host registry.nope.invalid" in finding["message"]
    assert "attempts" not in finding["message"]  # asked once


def test_only_transient_statuses_are_retried(tmp_path: Path, faults: FaultServer) -> None:
    """429 and 502/503/504 are a busy server or proxy, asked again; a 500 is the server's own
    failure, asked once."""
    for fault, asked in (("server-error", 1), ("busy", 3)):
        before = faults.hits[fault]
        code, report, err, _, _ = _check(tmp_path, f"{faults.host}/{fault}/app:1", "--retries", "2")
        assert code == 3, err
        assert _finding(report)["rule"] == "image-registry-unreachable"
        assert faults.hits[fault] - before == asked, fault


def test_bad_chunking_is_could_not_verify_without_raw_protocol_text(
    tmp_path: Path, faults: FaultServer
) -> None:
    code, report, err, _, _ = _check(
        tmp_path, f"{faults.host}/bad-chunking/app:1", "--retries", "0"
    )
    assert code == 3, err
    finding = _finding(report)
    assert finding["rule"] == "image-registry-unreachable"
    assert "RAW-PROTOCOL-BYTES" not in json.dumps(report) + err


def test_a_plain_http_realm_on_another_host_gets_no_credential(
    tmp_path: Path, faults: FaultServer
) -> None:
    """The registry asks for a token from `http://auth.nope.invalid`: pullgate's own refusal
    to send the pull secret there in clear text is "could not verify" (exit 3) with the
    reason, not the registry's `image-pull-unauthorized` (exit 1)."""
    import base64

    auth = base64.b64encode(b"user:SECRET-PASSWORD-VALUE").decode()
    config = json.dumps({"auths": {faults.host: {"auth": auth}}})
    secret = base64.b64encode(config.encode()).decode()
    image = f"{faults.host}/plain-realm/app:1"
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: regcred}\n"
        "type: kubernetes.io/dockerconfigjson\n"
        f"data: {{.dockerconfigjson: {secret}}}\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
        "  imagePullSecrets: [{name: regcred}]\n"
        f"  containers: [{{name: a, image: '{image}'}}]\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "gate", "check", "--format", "json", str(manifest)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PULLGATE_NO_PROGRESS": "1"},
        timeout=120,
    )
    assert run.returncode == 3, run.stderr
    finding = _finding(json.loads(run.stdout))
    assert finding["rule"] == "image-registry-unreachable"
    assert "pullgate did not ask" in finding["message"]
    assert "plain HTTP to auth.nope.invalid" in finding["message"]
    assert "--insecure-registry" in finding["hint"]
    assert "SECRET-PASSWORD-VALUE" not in run.stdout + run.stderr


def test_the_real_registry_stopped_mid_run(tmp_path: Path) -> None:
    """The registry goes away after the first answers: what resolved stays resolved, the
    rest could not be verified (exit 3), within the bound, with no traceback."""
    from tests.support.images import push_image
    from tests.support.registry import RegistryServer

    server = RegistryServer(workdir=tmp_path / "registry", mode="anonymous").start()
    try:
        for index in range(60):
            push_image(server, f"mid/app{index}", "1.0")
        manifest = tmp_path / "pods.yaml"
        manifest.write_text(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
            + "".join(
                f"    - {{name: c{i}, image: '{server.host}/mid/app{i}:1.0'}}\n" for i in range(60)
            )
        )
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gate",
                "check",
                "-vv",
                "--format",
                "json",
                "--retries",
                "1",
                str(manifest),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PULLGATE_NO_PROGRESS": "1", "PULLGATE_BACKOFF": "0.05"},
        )
        assert proc.stderr is not None
        for line in proc.stderr:
            if "/manifests/" in line:  # the first manifest has been answered
                server.stop()
                break
        start = time.monotonic()
        out, err = proc.communicate(timeout=120)
        elapsed = time.monotonic() - start
    finally:
        server.stop()
    report = json.loads(out)
    statuses = {image["status"] for image in report["images"]}
    assert proc.returncode == 3, err[-2000:]
    assert "unreachable" in statuses
    assert "Traceback" not in err
    assert elapsed < 60


def test_a_trickling_api_server_is_bounded_too(tmp_path: Path, faults: FaultServer) -> None:
    """`--cluster` asks the API server under the same whole-request --timeout."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
        f"clusters: [{{name: k, cluster: {{server: 'http://{faults.host}'}}}}]\n"
        "users: [{name: u, user: {token: SECRET-TOKEN}}]\n"
    )
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
        "  containers: [{name: a, image: 'nginx:1.27', imagePullPolicy: Never}]\n"
    )
    start = time.monotonic()
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "gate",
            "check",
            "--cluster",
            "--kubeconfig",
            str(kubeconfig),
            "--timeout",
            "2",
            "--retries",
            "0",
            str(manifest),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PULLGATE_NO_PROGRESS": "1"},
        timeout=120,
    )
    assert run.returncode == 3, run.stderr
    assert "no complete answer within 2 s" in run.stderr
    assert "SECRET-TOKEN" not in run.stdout + run.stderr
    assert time.monotonic() - start < 30
