"""End to end against the real distribution registry: manifests in, findings and digests out.

The manifest set mixes Deployments, a CronJob, init containers, a `kind: List`, a pinned digest,
`:latest`, an untagged image, a missing tag, a missing repository, a missing digest and a
template leftover. Every digest pullgate reports is checked against skopeo's.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import pullgate
from tests.support.images import push_image, push_index, push_with_oras, retag
from tests.support.registry import RegistryServer
from tests.support.skopeo import skopeo_inspect_digest

MISSING_DIGEST = "sha256:" + "0" * 64

MIXED = """\
# Source: shop/templates/web.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      initContainers:
        - name: migrate
          image: {R}/e2e/api:2.1
      containers:
        - name: web
          image: {R}/e2e/web:1.0
        - name: multi
          image: {R}/e2e/multi:1.0
        - name: pinned
          image: {R}/e2e/web@{WEB}
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: report
              image: {R}/e2e/list:1.0
            - name: moving
              image: {R}/e2e/web:latest
---
apiVersion: v1
kind: List
items:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {{name: listed, namespace: tools}}
    spec:
      template:
        spec:
          containers:
            - name: untagged
              image: {R}/e2e/web
            - name: missing-tag
              image: {R}/e2e/web:1.1
            - name: missing-repo
              image: {R}/e2e/nope:1.0
            - name: template
              image: "{{{{ .Values.image }}}}"
            - name: missing-digest
              image: {R}/e2e/web@{MISSING}
            - name: oras
              image: {R}/e2e/oras:0.1
"""

CLEAN = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: clean
spec:
  template:
    spec:
      containers:
        - name: web
          image: {R}/e2e/web:1.0
        - name: multi
          image: {R}/e2e/multi:1.0
"""


@dataclass(frozen=True)
class Seeded:
    server: RegistryServer
    web: str
    """Digest of e2e/web:1.0 (also :latest)."""


@pytest.fixture(scope="module")
def seeded(registry: RegistryServer) -> Seeded:
    web = push_image(registry, "e2e/web", "1.0", media="oci")
    push_image(registry, "e2e/api", "2.1", media="docker")
    push_index(registry, "e2e/multi", "1.0", ["linux/amd64", "linux/arm64/v8"], attestations=True)
    push_index(registry, "e2e/list", "1.0", ["linux/amd64", "linux/arm/v7"], media="docker")
    push_with_oras(registry, "e2e/oras", "0.1")
    retag(registry, "e2e/web", "1.0", "latest")
    return Seeded(registry, web.digest)


def write(path: Path, template: str, seeded: Seeded) -> Path:
    path.write_text(template.format(R=seeded.server.host, WEB=seeded.web, MISSING=MISSING_DIGEST))
    return path


def line_of(path: Path, needle: str) -> int:
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        if needle in text:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = pullgate("check", *args, stdin=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_mixed_set_yields_exactly_the_right_findings(tmp_path: Path, seeded: Seeded) -> None:
    manifest = write(tmp_path / "mixed.yaml", MIXED, seeded)
    code, out, err = run("--format", "json", str(manifest))
    assert code == 1, err
    report = json.loads(out)
    got = {(f["rule"], f["line"], f["container"]) for f in report["findings"]}
    r = seeded.server.host
    assert got == {
        ("image-latest-tag", line_of(manifest, "e2e/web:latest"), "moving"),
        ("image-no-tag", _exact_line(manifest, f"image: {r}/e2e/web"), "untagged"),
        ("image-tag-not-found", line_of(manifest, "e2e/web:1.1"), "missing-tag"),
        ("image-repository-not-found", line_of(manifest, "e2e/nope:1.0"), "missing-repo"),
        ("image-reference-invalid", line_of(manifest, ".Values.image"), "template"),
        ("image-digest-not-found", line_of(manifest, MISSING_DIGEST), "missing-digest"),
    }
    for finding in report["findings"]:
        assert finding["file"] == str(manifest)
        assert finding["message"] and finding["hint"]
        assert finding["severity"] == "error"
    by_container = {f["container"]: f for f in report["findings"]}
    assert by_container["missing-tag"]["kind"] == "Deployment"
    assert by_container["missing-tag"]["namespace"] == "tools"
    assert by_container["missing-tag"]["name"] == "listed"
    assert "1.0" in by_container["missing-tag"]["hint"]  # the tag that looks alike
    assert by_container["moving"]["kind"] == "CronJob"
    assert by_container["moving"]["namespace"] == "default"

    summary = report["summary"]
    assert summary["files"] == 1
    assert summary["objects"] == 3  # Deployment, CronJob, and the List's one item
    assert summary["pods"] == 3
    assert summary["images"] == 12
    assert summary["unique_images"] == 12
    assert summary["errors"] == 6
    assert summary["warnings"] == 0
    # resolved: api, web, multi, pinned, list, latest, untagged (= web:latest), oras
    assert summary["resolved"] == 8


def _exact_line(path: Path, needle: str) -> int:
    matches = [n for n, t in enumerate(path.read_text().splitlines(), 1) if t.strip() == needle]
    assert len(matches) == 1, matches
    return matches[0]


def test_digests_agree_with_skopeo(tmp_path: Path, seeded: Seeded) -> None:
    manifest = write(tmp_path / "mixed.yaml", MIXED, seeded)
    _, out, _ = run("--format", "json", str(manifest))
    images = {i["reference"]: i for i in json.loads(out)["images"]}
    host = seeded.server.host
    checked = 0
    for reference, entry in images.items():
        if entry["digest"] is None:
            continue
        name, _, rest = reference.removeprefix(host + "/").partition("@")
        if rest:
            repo, ref = name, rest
        else:
            repo, _, ref = name.partition(":")
            ref = ref or "latest"
        assert entry["digest"] == skopeo_inspect_digest(seeded.server, repo, ref), reference
        checked += 1
    assert checked == 8


def test_json_report_carries_the_contract_fields(tmp_path: Path, seeded: Seeded) -> None:
    manifest = write(tmp_path / "mixed.yaml", MIXED, seeded)
    _, out, _ = run("--format", "json", str(manifest))
    report = json.loads(out)
    assert report["version"] == 1
    images = {i["reference"]: i for i in report["images"]}
    host = seeded.server.host
    multi = images[f"{host}/e2e/multi:1.0"]
    assert multi["media_type"] == "application/vnd.oci.image.index.v1+json"
    assert multi["platforms"] == ["linux/amd64", "linux/arm64"]  # v8 normalised, no attestation
    assert multi["credential"] == "anonymous"
    assert multi["canonical"] == f"{host}/e2e/multi:1.0"
    listed = images[f"{host}/e2e/list:1.0"]
    assert listed["media_type"] == "application/vnd.docker.distribution.manifest.list.v2+json"
    assert listed["platforms"] == ["linux/amd64", "linux/arm/v7"]
    api = images[f"{host}/e2e/api:2.1"]
    assert api["media_type"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert api["platforms"] == ["linux/amd64"]  # read from the config blob
    web = images[f"{host}/e2e/web:1.0"]
    [location] = web["locations"]
    assert location == {
        "file": str(manifest),
        "line": line_of(manifest, "e2e/web:1.0"),
        "kind": "Deployment",
        "namespace": "shop",
        "name": "web",
        "container": "web",
        "credential": "anonymous",
        "verified_with": None,
        "endpoint": f"http://{host}",
        "source": "shop/templates/web.yaml",
    }
    assert web["endpoint"] == f"http://{host}"  # plain HTTP, found by `GET /v2/` (loopback)
    missing = images[f"{host}/e2e/web:1.1"]
    assert missing["digest"] is None
    assert missing["locations"][0]["credential"] is None
    template = images["{{ .Values.image }}"]
    assert template["canonical"] is None and template["digest"] is None
    pinned = images[f"{host}/e2e/web@{seeded.web}"]
    assert pinned["digest"] == seeded.web


def test_clean_set_passes(tmp_path: Path, seeded: Seeded) -> None:
    manifest = write(tmp_path / "clean.yaml", CLEAN, seeded)
    code, out, err = run(str(manifest))
    assert code == 0, out + err
    assert "PASSED" in out
    assert "2 resolved" in out
    assert seeded.web[:19] in out


def test_stdin_and_directories(tmp_path: Path, seeded: Seeded) -> None:
    text = CLEAN.format(R=seeded.server.host)
    code, out, _ = run("--format", "json", "-", stdin=text)
    assert code == 0
    report = json.loads(out)
    assert report["images"][0]["locations"][0]["file"] == "-"
    assert report["summary"]["resolved"] == 2

    tree = tmp_path / "tree" / "nested"
    tree.mkdir(parents=True)
    write(tree / "clean.yml", CLEAN, seeded)
    write(tmp_path / "tree" / "mixed.yaml", MIXED, seeded)
    (tmp_path / "tree" / "notes.txt").write_text("image: not-a-manifest")
    code, out, _ = run("--format", "json", str(tmp_path / "tree"))
    assert code == 1
    report = json.loads(out)
    assert report["summary"]["files"] == 2
    assert {Path(f["file"]).name for f in report["findings"]} == {"mixed.yaml"}


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    code, out, err = run(str(tmp_path / "nope.yaml"))
    assert code == 2
    assert out == ""
    assert "nope.yaml: no such file or directory" in err


def test_unreachable_registry_exits_3(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    manifest = tmp_path / "down.yaml"
    manifest.write_text(CLEAN.replace("{R}", f"127.0.0.1:{port}"))
    code, out, err = run("--retries", "1", "--format", "json", str(manifest))
    assert code == 3, out + err
    findings = json.loads(out)["findings"]
    assert {f["rule"] for f in findings} == {"image-registry-unreachable"}
    assert "connection refused" in findings[0]["message"]


def test_offline_asks_no_registry_and_keeps_static_rules(tmp_path: Path, seeded: Seeded) -> None:
    manifest = write(tmp_path / "mixed.yaml", MIXED, seeded)
    log_before = seeded.server.log_path.read_text()
    code, out, _ = run("--offline", "--format", "json", str(manifest))
    assert seeded.server.log_path.read_text() == log_before  # not one request
    assert code == 1
    report = json.loads(out)
    assert {f["rule"] for f in report["findings"]} == {
        "image-latest-tag",
        "image-no-tag",
        "image-reference-invalid",
    }
    assert report["summary"]["resolved"] == 0
    assert all(i["digest"] is None for i in report["images"])


def test_each_reference_is_fetched_once(tmp_path: Path, seeded: Seeded) -> None:
    pods = "\n---\n".join(
        CLEAN.format(R=seeded.server.host).replace("name: clean", f"name: clean-{i}")
        for i in range(40)
    )
    manifest = tmp_path / "many.yaml"
    manifest.write_text(pods)
    before = _manifest_requests(seeded.server)
    code, out, _ = run("--format", "json", str(manifest))
    assert code == 0
    assert json.loads(out)["summary"]["images"] == 80
    counts = _diff(before, _manifest_requests(seeded.server))
    assert counts == {"GET /v2/e2e/web/manifests/1.0": 1, "GET /v2/e2e/multi/manifests/1.0": 1}


def _manifest_requests(server: RegistryServer) -> dict[str, int]:
    """pullgate's manifest requests, counted from the registry's own access log."""
    counts: dict[str, int] = {}
    for match in re.finditer(
        r'"(GET|HEAD) (/v2/\S+/manifests/\S+) HTTP/[\d.]+" \d+ \d+ "[^"]*" "pullgate/',
        server.log_path.read_text(),
    ):
        key = f"{match.group(1)} {match.group(2)}"
        counts[key] = counts.get(key, 0) + 1
    return counts


def _diff(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


def test_python_dash_m_gate_is_the_same_command(tmp_path: Path, seeded: Seeded) -> None:
    manifest = write(tmp_path / "clean.yaml", CLEAN, seeded)
    proc = subprocess.run(
        [sys.executable, "-m", "gate", "check", "--format", "json", str(manifest)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    assert data["summary"]["resolved"] == 2
