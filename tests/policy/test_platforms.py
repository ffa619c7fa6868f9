"""Will it run on these nodes? Platforms, pinned digests and pull policy (issue 5).

Unit tests pin containerd's normalisation and matching; the end-to-end tests resolve real
indexes, manifest lists and single manifests pushed to the real registry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gate import platform as platforms
from gate.extract import extract
from gate.load import load_text
from gate.platform import Platform
from gate.policy.platforms import pod_platforms
from tests.support.cli import pullgate
from tests.support.images import push_image, push_index
from tests.support.registry import RegistryServer


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (("linux", "aarch64", ""), "linux/arm64"),
        (("linux", "arm64", "v8"), "linux/arm64"),
        (("linux", "arm64", "8"), "linux/arm64"),
        (("linux", "arm64", "v8.2"), "linux/arm64/v8.2"),
        (("linux", "armhf", ""), "linux/arm/v7"),
        (("linux", "armel", ""), "linux/arm/v6"),
        (("linux", "arm", ""), "linux/arm/v7"),
        (("linux", "arm", "6"), "linux/arm/v6"),
        (("linux", "x86_64", ""), "linux/amd64"),
        (("linux", "x86-64", "v1"), "linux/amd64"),
        (("linux", "amd64", "v3"), "linux/amd64/v3"),
        (("Linux", "i386", ""), "linux/386"),
        (("macos", "arm64", ""), "darwin/arm64"),
        (("windows", "AMD64", ""), "windows/amd64"),
    ],
)
def test_normalize_as_containerd(raw: tuple[str, str, str], expected: str) -> None:
    assert str(platforms.normalize(*raw)) == expected


@pytest.mark.parametrize(
    ("node", "offered", "runs"),
    [
        ("linux/arm64", ["linux/arm64"], True),
        ("linux/arm64", ["linux/arm64/v8"], True),
        ("linux/arm64", ["linux/amd64"], False),
        ("linux/arm64", ["linux/arm/v7"], True),  # containerd's vector: arm64 runs arm/v8..v5
        ("linux/arm64", ["linux/arm64/v8.2"], False),  # a newer variant than the node's
        ("linux/arm64/v8.2", ["linux/arm64"], True),
        ("linux/amd64", ["linux/amd64"], True),
        ("linux/amd64", ["linux/386"], True),
        ("linux/amd64", ["linux/amd64/v3"], False),
        ("linux/amd64/v3", ["linux/amd64/v2"], True),
        ("linux/arm/v7", ["linux/arm/v6"], True),
        ("linux/arm/v6", ["linux/arm/v7"], False),
        ("linux/amd64", ["windows/amd64"], False),
    ],
)
def test_containerd_matching(node: str, offered: list[str], runs: bool) -> None:
    """containerd/platforms `Only`: the node's platform and what it is compatible with."""
    vector = {
        (p.os, p.architecture, p.variant) for p in platforms.compatible(platforms.parse(node))
    }
    entries = [platforms.parse(p) for p in offered]
    assert any((e.os, e.architecture, e.variant) in vector for e in entries) is runs


def test_platform_parse_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="os/arch"):
        platforms.parse("amd64")
    with pytest.raises(ValueError):
        platforms.parse("linux//v7")


def _pod(spec: str) -> Any:
    text = f"""\
apiVersion: v1
kind: Pod
metadata: {{name: p}}
spec:
{spec}
  containers:
    - {{name: c, image: busybox:1.36}}
"""
    [pod] = extract(load_text(text, "pod.yaml").objects)
    return pod


AMD64, ARM64 = Platform("linux", "amd64"), Platform("linux", "arm64")


@pytest.mark.parametrize(
    ("spec", "defaults", "expected"),
    [
        ("  restartPolicy: Always", [AMD64], [AMD64]),
        ("  restartPolicy: Always", [AMD64, ARM64], [AMD64, ARM64]),
        ("  nodeSelector: {kubernetes.io/arch: arm64}", [AMD64], [ARM64]),
        ("  nodeSelector: {beta.kubernetes.io/arch: arm64}", [AMD64], [ARM64]),
        ("  nodeSelector: {kubernetes.io/os: windows}", [AMD64], [Platform("windows", "amd64")]),
        # labels no platform sets (the kubelet sets only os, arch and the Windows build from
        # the node: pkg/kubelet/kubelet_node_status.go `initialNode`) narrow no platform
        ("  nodeSelector: {disktype: ssd}", [AMD64, ARM64], [AMD64, ARM64]),
        ("  nodeSelector: {disktype: ssd, kubernetes.io/arch: arm64}", [AMD64], [ARM64]),
        (
            """  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
          - matchExpressions:
              - {key: node.kubernetes.io/instance-type, operator: In, values: [m5.xlarge]}""",
            [AMD64],
            [AMD64],
        ),
        (
            """  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
          - matchExpressions:
              - {key: kubernetes.io/arch, operator: In, values: [amd64, arm64]}""",
            [AMD64],
            [AMD64, ARM64],
        ),
        (
            """  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
          - matchExpressions:
              - {key: kubernetes.io/arch, operator: NotIn, values: [arm64]}""",
            [AMD64, ARM64],
            [AMD64],
        ),
        (  # terms are ORed
            """  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
          - matchExpressions:
              - {key: kubernetes.io/arch, operator: In, values: [arm64]}
          - matchExpressions:
              - {key: kubernetes.io/arch, operator: In, values: [amd64]}""",
            [AMD64],
            [ARM64, AMD64],
        ),
        (  # nodeSelector and affinity must both hold
            """  nodeSelector: {kubernetes.io/arch: arm64}
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
          - matchExpressions:
              - {key: kubernetes.io/arch, operator: In, values: [amd64, arm64]}""",
            [AMD64],
            [ARM64],
        ),
        (  # preferred affinity does not restrict scheduling
            """  affinity:
    nodeAffinity:
      preferredDuringSchedulingIgnoredDuringExecution:
        - weight: 1
          preference:
            matchExpressions:
              - {key: kubernetes.io/arch, operator: In, values: [arm64]}""",
            [AMD64],
            [AMD64],
        ),
    ],
)
def test_pod_platforms(spec: str, defaults: list[Platform], expected: list[Platform]) -> None:
    assert pod_platforms(_pod(spec), defaults) == expected


# -- against the real registry ----------------------------------------------------------------


@dataclass(frozen=True)
class Images:
    host: str
    moved_old: str
    moved_new: str


@pytest.fixture(scope="module")
def images(registry: RegistryServer) -> Images:
    push_index(registry, "plat/multi", "1.0", ["linux/amd64", "linux/arm64/v8"], attestations=True)
    push_index(registry, "plat/list", "1.0", ["linux/amd64", "linux/arm/v7"], media="docker")
    push_image(registry, "plat/amd", "1.0", arch="amd64")
    push_image(registry, "plat/arm", "1.0", arch="arm64", variant="v8", media="docker")
    push_index(registry, "plat/attest", "1.0", ["linux/amd64"], attestations=True)
    old = push_image(registry, "plat/moved", "1.0")
    new = push_image(registry, "plat/moved", "1.0")  # the tag moves on
    return Images(registry.host, old.digest, new.digest)


MANIFESTS = """\
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: arm-agents, namespace: nodes}}
spec:
  template:
    spec:
      nodeSelector:
        kubernetes.io/arch: arm64
      containers:
        - name: multi
          image: {R}/plat/multi:1.0
        - name: arm
          image: {R}/plat/arm:1.0
        - name: amd-only
          image: {R}/plat/amd:1.0
        - name: armv7-list
          image: {R}/plat/list:1.0
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: anywhere, namespace: apps}}
spec:
  template:
    spec:
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
              - matchExpressions:
                  - key: kubernetes.io/arch
                    operator: In
                    values: [amd64, arm64]
      containers:
        - name: multi
          image: {R}/plat/multi:1.0
        - name: amd-only
          image: {R}/plat/amd:1.0
        - name: attest-only-amd
          image: {R}/plat/attest:1.0
---
apiVersion: v1
kind: Pod
metadata: {{name: plain, namespace: apps}}
spec:
  containers:
    - name: amd
      image: {R}/plat/amd:1.0
    - name: pinned-old
      image: {R}/plat/moved:1.0@{OLD}
    - name: pinned-new
      image: {R}/plat/moved:1.0@{NEW}
    - name: never
      image: {R}/plat/amd:1.0
      imagePullPolicy: Never
"""


def _write(tmp_path: Path, images: Images) -> Path:
    path = tmp_path / "platforms.yaml"
    path.write_text(MANIFESTS.format(R=images.host, OLD=images.moved_old, NEW=images.moved_new))
    return path


def _line(path: Path, needle: str, occurrence: int = 1) -> int:
    hits = [n for n, t in enumerate(path.read_text().splitlines(), 1) if needle in t]
    return hits[occurrence - 1]


def _check(*args: str) -> tuple[int, dict[str, Any]]:
    result = pullgate("check", "--format", "json", *args)
    return result.exit_code, json.loads(result.stdout)


def test_each_case_yields_exactly_the_right_finding(tmp_path: Path, images: Images) -> None:
    path = _write(tmp_path, images)
    code, report = _check(str(path))
    got = {
        (f["rule"], f["severity"], f["name"], f["container"], f["line"]) for f in report["findings"]
    }
    assert got == {
        # an arm64 DaemonSet with an amd64-only image
        ("image-platform-missing", "error", "arm-agents", "amd-only", _line(path, "plat/amd:1.0")),
        # ... and with a list of amd64 and arm/v7: containerd 2.1+ (the default runtime) keeps
        # only the exact platform (core/transfer/image/imagestore.go Store.ImageFilter,
        # platforms.Ordered); containerd 2.0 would take arm/v7 (test_conformance_platforms.py)
        (
            "image-platform-missing",
            "error",
            "arm-agents",
            "armv7-list",
            _line(path, "plat/list:1.0"),
        ),
        # a Deployment allowed on amd64 and arm64, one image serving only amd64
        ("image-platform-missing", "error", "anywhere", "amd-only", _line(path, "plat/amd:1.0", 2)),
        # the attestation entry is not a platform: arm64 is not served
        (
            "image-platform-missing",
            "error",
            "anywhere",
            "attest-only-amd",
            _line(path, "plat/attest:1.0"),
        ),
        # pinned to the old digest, the tag has moved on
        (
            "image-tag-digest-mismatch",
            "warning",
            "plain",
            "pinned-old",
            _line(path, images.moved_old),
        ),
        ("image-pull-policy-never", "warning", "plain", "never", _line(path, "plat/amd:1.0", 4)),
    }
    assert code == 1
    by_container = {(f["name"], f["container"]): f for f in report["findings"]}
    arm = by_container[("arm-agents", "amd-only")]
    assert "linux/arm64" in arm["message"] and "linux/amd64" in arm["message"]
    assert images.moved_new in by_container[("plain", "pinned-old")]["message"]
    refs = {i["reference"]: i for i in report["images"]}
    assert refs[f"{images.host}/plat/multi:1.0"]["platforms"] == ["linux/amd64", "linux/arm64"]
    assert refs[f"{images.host}/plat/arm:1.0"]["platforms"] == ["linux/arm64"]
    assert refs[f"{images.host}/plat/attest:1.0"]["platforms"] == ["linux/amd64"]
    assert refs[f"{images.host}/plat/list:1.0"]["platforms"] == ["linux/amd64", "linux/arm/v7"]
    pinned_old = refs[f"{images.host}/plat/moved:1.0@{images.moved_old}"]
    assert pinned_old["digest"] == images.moved_old  # the pod runs the pinned digest


def test_warnings_pass_unless_fail_on_warning(tmp_path: Path, images: Images) -> None:
    path = tmp_path / "warn.yaml"
    path.write_text(
        MANIFESTS.format(R=images.host, OLD=images.moved_old, NEW=images.moved_new).split("---\n")[
            2
        ]
    )
    code, report = _check(str(path))
    assert {f["rule"] for f in report["findings"]} == {
        "image-tag-digest-mismatch",
        "image-pull-policy-never",
    }
    assert code == 0
    assert report["summary"]["warnings"] == 2 and report["summary"]["errors"] == 0
    code, _ = _check("--fail-on", "warning", str(path))
    assert code == 1


def test_default_platforms_come_from_the_option(tmp_path: Path, images: Images) -> None:
    path = tmp_path / "plain.yaml"
    path.write_text(
        f"""\
apiVersion: v1
kind: Pod
metadata: {{name: plain}}
spec:
  containers:
    - {{name: amd, image: {images.host}/plat/amd:1.0}}
    - {{name: multi, image: {images.host}/plat/multi:1.0}}
"""
    )
    code, report = _check(str(path))
    assert code == 0 and report["findings"] == []
    code, report = _check("--platform", "linux/amd64", "--platform", "linux/arm64/v8", str(path))
    assert code == 1
    [finding] = report["findings"]
    assert (finding["rule"], finding["container"]) == ("image-platform-missing", "amd")
    assert "linux/arm64" in finding["message"]
    code, _ = _check("--platform", "linux/arm64", str(path))
    assert code == 1


def test_missing_pinned_digest(tmp_path: Path, images: Images) -> None:
    path = tmp_path / "gone.yaml"
    gone = "sha256:" + "1" * 64
    path.write_text(
        f"""\
apiVersion: v1
kind: Pod
metadata: {{name: gone}}
spec:
  containers:
    - name: gone
      image: {images.host}/plat/moved:1.0@{gone}
"""
    )
    code, report = _check(str(path))
    assert code == 1
    [finding] = report["findings"]
    assert finding["rule"] == "image-digest-not-found"
    assert finding["line"] == 7


def test_bad_platform_option_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    result = pullgate("check", "--platform", "arm64", str(path))
    assert result.exit_code == 2
    assert "os/arch" in result.stderr
