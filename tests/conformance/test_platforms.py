"""Where the pod may run, and what its node's runtime will take (issue 10).

Conformance rows, each with the upstream source that decides it (ids and comments name it):

- SCHED: the scheduler's required node affinity, kubernetes/kubernetes@1ca8f84e
  `staging/src/k8s.io/component-helpers/scheduling/corev1/nodeaffinity/nodeaffinity.go`
  (`NewLazyErrorNodeSelector` skips a term with neither matchExpressions nor matchFields,
  `isEmptyNodeSelectorTerm`; `LazyErrorNodeSelector.Match` is false when no term is left or
  matches; `nodeSelectorRequirementsAsSelector` / `labels.NewRequirement` reject a term with
  an unknown operator or an `In` without values; `nodeSelectorRequirementsAsFieldSelector`
  wants one value; `GetRequiredNodeAffinity` ANDs nodeSelector with the terms).
- LABELS: the labels a kubelet sets, `pkg/kubelet/kubelet_node_status.go` `initialNode`
  (`kubernetes.io/os`/`arch` and their `beta.` forms = GOOS/GOARCH) and, on Windows,
  `kubelet_node_status_windows.go` `getOSSpecificLabels` (`node.kubernetes.io/windows-build`
  = `winstats.OSInfo.GetBuild`, major.minor.build).
- ONLY: containerd's default matcher, containerd/platforms@09756f59 `compare.go`
  `platformVector` / `Only`; used by containerd 1.7 and 2.0 (`client.Pull` with
  `platforms.Default()`, containerd/containerd@207ad711 (v2.0.0) `client/pull.go` `Pull`,
  @1fbd7037 (v1.7.0) `pkg/cri/cri.go` `WithDefaultPlatform(platforms.Default())`).
- EXACT: containerd 2.1+ pulls through the transfer service: containerd/containerd@061792f0
  (v2.1.0) `internal/cri/server/images/image_pull.go` `pullImageWithTransferService`
  (`transferimage.WithPlatforms(platforms.DefaultSpec())`), `core/transfer/image/
  imagestore.go` `Store.ImageFilter` (`platforms.Ordered(...)`, one `NewMatcher` each: exact)
  and `images.FilterPlatforms` (`core/images/handlers.go`: entries without a platform kept);
  the CRI then reads the image with `c.client.GetImage` (client default `platforms.Only`),
  so a compatible entry that was not fetched fails. Unchanged at v2.2.0, v2.3.0 and main
  @301026e5. (A CRI config with `use_local_image_pull`, or an option the transfer service
  lacks, falls back to `client.Pull`, i.e. ONLY: `internal/cri/config/config.go`
  `CheckLocalImagePullConfigs`; the defaults keep the transfer service, `config_unix.go`.)
- NOPLATFORM: an index entry without `platform`: containerd `core/images/image.go`
  `Manifest` (kept, its `ConfigPlatform` is matched; entries without a platform sort last
  and one is taken; containerd 1.7 (@1fbd7037, v1.7.34 alike) `images/image.go` `Manifest`
  matches only the config's OS and architecture, normalised) and containers/image
  `internal/manifest/oci_index.go` `OCI1IndexPublic.chooseInstance` (such an entry is the
  last resort, `platformIndex: math.MaxInt`, index order) / `docker_schema2_list.go`
  `ChooseInstance` (a zero platform struct never matches).
- CRIO: containers/image@df7e80d2 (and containers/container-libs@523e87c5 `image/`, which
  CRI-O main @f954a17e uses as go.podman.io/image v5.38)
  `internal/pkg/platform/platform_matcher.go` `WantedPlatforms` (the node's arch; variants
  `compatibility` arm: v8 v7 v6 v5, arm64: v8; always also "") and `MatchesPlatform` (strings
  equal, as written); CRI-O sets no OS/arch choice (`internal/storage/image.go`
  `pullImageImplementation`).
- DETECT: neither runtime detects an amd64 variant, and arm64 reads as v8 (containerd/platforms
  `cpuinfo.go` `cpuVariant`, containers/image `getCPUVariant`).
- WIN: containerd/platforms `platform_windows_compat.go` `checkWindowsHostAndContainerCompat`
  and `windowsVersionMatcher.Match`: major.minor equal; below build 20348 the build equal;
  from it on, builds from the LTSC release below the host up to the host; the revision is
  ignored; either side empty matches. LTSC list: ltsc2022 and ltsc2025 with a strict "below"
  from v1.0.0-rc.2 (containerd 2.1.9+, 2.2, 2.3); ltsc2022 only in rc.1 (containerd 2.0.2+,
  2.1.0-2.1.8) and v0.2.1 (`windowsmatcher`, containerd 1.7.20+). containers/image ignores
  os.version (`WantedPlatforms`).

Offline rows pin the pure functions; registry rows push real indexes to the CNCF distribution
registry and run `pullgate check`; skopeo (containers/image, the library CRI-O uses) confirms
the digests and CRI-O's choice among declared entries.
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
from gate.platform import Entry, Platform
from gate.policy.platforms import pod_platforms
from tests.support.cli import check_json, pullgate
from tests.support.images import (
    ARTIFACT_TYPE,
    IndexChild,
    push_artifact,
    push_big_config_image,
    push_custom_index,
    push_index,
)
from tests.support.registry import RegistryServer
from tests.support.skopeo import SkopeoError, skopeo_inspect, skopeo_inspect_digest

AMD64 = Platform("linux", "amd64")
ARM64 = Platform("linux", "arm64")
ARMV6 = Platform("linux", "arm", "v6")
ARMV7 = Platform("linux", "arm", "v7")
WIN = Platform("windows", "amd64")
WS2019 = Platform("windows", "amd64", "", "10.0.17763")
WS2022 = Platform("windows", "amd64", "", "10.0.20348")

OS, ARCH, BUILD = "kubernetes.io/os", "kubernetes.io/arch", "node.kubernetes.io/windows-build"


def _pod_text(spec: dict[str, Any]) -> str:
    body = {"containers": [{"name": "c", "image": "busybox:1.36"}], **spec}
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": body})


def _pod(spec: dict[str, Any]) -> Any:
    [pod] = extract(load_text(_pod_text(spec), "pod.json").objects)
    return pod


def _terms(*terms: Any) -> dict[str, Any]:
    required = {"nodeSelectorTerms": list(terms)}
    return {
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": required}}
    }


def _expr(key: str, operator: str, *values: str) -> dict[str, Any]:
    expr: dict[str, Any] = {"key": key, "operator": operator}
    if values:
        expr["values"] = list(values)
    return expr


def _match(*exprs: dict[str, Any]) -> dict[str, Any]:
    return {"matchExpressions": list(exprs)}


# -- where the pod may run (offline) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "defaults", "expected"),
    [
        pytest.param(
            _terms({}, _match(_expr(ARCH, "In", "arm64"))),
            [AMD64],
            [ARM64],
            id="SCHED-empty-term-skipped",
        ),
        pytest.param(_terms({}), [AMD64], [], id="SCHED-only-empty-term-no-node"),
        pytest.param(_terms({}, {"matchExpressions": []}), [AMD64], [], id="SCHED-all-terms-empty"),
        pytest.param(_terms(), [AMD64], [], id="SCHED-no-terms-no-node"),
        pytest.param(
            _terms({"matchFields": [_expr("metadata.name", "In", "node-1")]}),
            [AMD64, ARM64],
            [AMD64, ARM64],
            id="SCHED-matchFields-only-any-platform",
        ),
        pytest.param(
            _terms(
                {
                    "matchFields": [_expr("metadata.name", "In", "node-1")],
                    "matchExpressions": [_expr(ARCH, "In", "arm64")],
                }
            ),
            [AMD64],
            [ARM64],
            id="SCHED-matchFields-and-arch",
        ),
        pytest.param(
            _terms(
                {"matchFields": [_expr("metadata.name", "In", "a", "b")]},
                _match(_expr(ARCH, "In", "arm64")),
            ),
            [AMD64],
            [ARM64],
            id="SCHED-matchFields-two-values-term-invalid",
        ),
        pytest.param(_terms(_match(_expr(ARCH, "In"))), [AMD64], [], id="SCHED-In-without-values"),
        pytest.param(
            _terms(_match(_expr(ARCH, "Equals", "amd64"))), [AMD64], [], id="SCHED-bad-operator"
        ),
        pytest.param(
            _terms(_match(_expr(ARCH, "Exists"))),
            [AMD64, ARM64],
            [AMD64, ARM64],
            id="LABELS-arch-Exists",
        ),
        pytest.param(
            _terms(_match(_expr(ARCH, "DoesNotExist"))), [AMD64], [], id="LABELS-arch-DoesNotExist"
        ),
        pytest.param(_terms(_match(_expr(ARCH, "Gt", "1"))), [AMD64], [], id="SCHED-Gt-on-a-word"),
        pytest.param(
            _terms(_match(_expr(ARCH, "NotIn", "arm64")), _match(_expr(OS, "In", "linux"))),
            [AMD64, ARM64],
            [AMD64, ARM64],
            id="SCHED-terms-ORed",
        ),
        # the selector narrows the defaults without dropping their variant
        pytest.param(
            {"nodeSelector": {ARCH: "arm"}}, [ARMV6], [ARMV6], id="arch-arm-keeps-default-v6"
        ),
        pytest.param(
            {"nodeSelector": {ARCH: "arm"}}, [AMD64, ARMV6], [ARMV6], id="arch-arm-picks-v6-default"
        ),
        pytest.param(
            {"nodeSelector": {ARCH: "arm"}},
            [AMD64],
            [ARMV7],
            id="arch-arm-no-default-containerd-v7",
        ),
        pytest.param(
            {"nodeSelector": {ARCH: "aarch64"}}, [AMD64], [], id="LABELS-aarch64-is-no-GOARCH"
        ),
        pytest.param(
            {"nodeSelector": {ARCH: "ARM64"}}, [AMD64], [], id="LABELS-values-case-sensitive"
        ),
        # Windows: the build label
        pytest.param(
            {"nodeSelector": {OS: "windows"}},
            [AMD64, WS2022],
            [WS2022],
            id="win-os-keeps-default-build",
        ),
        pytest.param(
            {"nodeSelector": {BUILD: "10.0.20348"}},
            [AMD64],
            [WS2022],
            id="LABELS-windows-build-names-a-node",
        ),
        pytest.param(
            {"nodeSelector": {BUILD: "10.0.20348"}},
            [AMD64, WS2019],
            [WS2022],
            id="win-build-other-default-build",
        ),
        pytest.param(
            {"nodeSelector": {BUILD: "10.0.17763"}},
            [WS2019, WS2022],
            [WS2019],
            id="win-build-picks-default",
        ),
        pytest.param(
            {"nodeSelector": {BUILD: "10.0.17763"}}, [WIN], [WS2019], id="win-build-unknown-default"
        ),
        pytest.param(
            {"nodeSelector": {OS: "linux", BUILD: "10.0.17763"}},
            [AMD64],
            [],
            id="LABELS-linux-has-no-build",
        ),
        pytest.param(
            _terms(_match(_expr(BUILD, "DoesNotExist"))),
            [AMD64, WS2022],
            [AMD64],
            id="LABELS-build-DoesNotExist",
        ),
        pytest.param(
            _terms(_match(_expr(BUILD, "NotIn", "10.0.17763"))),
            [AMD64, WS2019, WS2022],
            [AMD64, WS2022],
            id="LABELS-build-NotIn",
        ),
    ],
)
def test_where_the_pod_may_run(
    spec: dict[str, Any], defaults: list[Platform], expected: list[Platform]
) -> None:
    assert pod_platforms(_pod(spec), defaults) == expected


# -- what the runtime takes (offline) ---------------------------------------------------------


def _declared(text: str, raw: tuple[str, ...] | None = None) -> Entry:
    platform = platforms.parse(text)
    written = (
        Platform(*raw)
        if raw
        else Platform(platform.os, platform.architecture, platform.variant, platform.os_version)
    )
    return Entry(platform, written, True)


def _from_config(text: str) -> Entry:
    platform = platforms.parse(text)
    return Entry(platform, platform, False)


ARTIFACT = Entry(None, None, False)
C21, C20, C17, CRIO = (
    platforms.CONTAINERD_2_1,
    platforms.CONTAINERD_2_0,
    platforms.CONTAINERD_1_7,
    platforms.CRI_O,
)
INDEX, LIST, SINGLE = platforms.INDEX, platforms.DOCKER_LIST, platforms.MANIFEST


@pytest.mark.parametrize(
    ("node", "entries", "kind", "verdicts"),
    [
        # (containerd 2.1+, containerd 2.0, containerd 1.7, CRI-O)
        pytest.param(
            "linux/amd64",
            [_declared("linux/386")],
            INDEX,
            (False, True, True, False),
            id="EXACT-ONLY-CRIO-386-on-amd64",
        ),
        pytest.param(
            "linux/arm64",
            [_declared("linux/arm/v7")],
            INDEX,
            (False, True, True, False),
            id="EXACT-ONLY-CRIO-armv7-on-arm64",
        ),
        pytest.param(
            "linux/arm/v7",
            [_declared("linux/arm/v6")],
            INDEX,
            (False, True, True, True),
            id="EXACT-ONLY-CRIO-armv6-on-armv7",
        ),
        pytest.param(
            "linux/arm/v6",
            [_declared("linux/arm/v7")],
            INDEX,
            (False, False, False, False),
            id="ONLY-armv7-not-on-armv6",
        ),
        pytest.param(
            "linux/arm64",
            [_declared("linux/arm64/v8")],
            INDEX,
            (True, True, True, True),
            id="EXACT-CRIO-arm64-v8",
        ),
        pytest.param(
            "linux/arm64",
            [_declared("linux/arm64", ("linux", "aarch64", ""))],
            INDEX,
            (True, True, True, False),
            id="CRIO-aarch64-as-written",
        ),
        pytest.param(
            "linux/arm/v7",
            [_declared("linux/arm/v7", ("linux", "arm", "7"))],
            INDEX,
            (True, True, True, False),
            id="CRIO-arm-7-as-written",
        ),
        pytest.param(
            "linux/arm/v6",
            [_declared("linux/arm/v7", ("linux", "arm", ""))],
            INDEX,
            (False, False, False, True),
            id="CRIO-arm-without-variant",
        ),
        pytest.param(
            "linux/amd64/v3",
            [_declared("linux/amd64/v2")],
            INDEX,
            (False, False, False, False),
            id="DETECT-no-amd64-variant",
        ),
        pytest.param(
            "linux/amd64",
            [_declared("linux/amd64"), _declared("linux/386")],
            INDEX,
            (True, True, True, True),
            id="EXACT-amd64-and-386",
        ),
        # entries without a platform field
        pytest.param(
            "linux/arm64",
            [_declared("linux/amd64"), _from_config("linux/arm64")],
            INDEX,
            (True, True, True, True),
            id="NOPLATFORM-config-read",
        ),
        pytest.param(
            "linux/arm64",
            [_from_config("linux/amd64"), _from_config("linux/arm64")],
            INDEX,
            (False, False, False, False),
            id="NOPLATFORM-first-only",
        ),
        pytest.param(
            "linux/amd64",
            [_declared("linux/386"), _from_config("linux/amd64")],
            INDEX,
            (False, True, True, True),
            id="NOPLATFORM-EXACT-386-chosen-unfetched",
        ),
        pytest.param(
            "linux/arm64",
            [_declared("linux/amd64"), ARTIFACT],
            INDEX,
            (False, False, False, False),
            id="NOPLATFORM-artifact-runs-nowhere",
        ),
        pytest.param(
            "linux/amd64",
            [_from_config("linux/amd64")],
            LIST,
            (True, True, True, False),
            id="NOPLATFORM-CRIO-docker-list",
        ),
        pytest.param(
            "linux/arm/v6",
            [_from_config("linux/arm/v6")],
            INDEX,
            (True, True, False, True),  # 1.7: `images.Manifest` drops the variant: arm is v7
            id="NOPLATFORM-1.7-config-without-variant",
        ),
        # a single manifest: pulled unchecked, runs where compatible
        pytest.param(
            "linux/amd64",
            [_from_config("linux/386")],
            SINGLE,
            (True, True, True, True),
            id="ONLY-single-386-on-amd64",
        ),
        pytest.param(
            "linux/arm64",
            [_from_config("linux/amd64")],
            SINGLE,
            (False, False, False, False),
            id="ONLY-single-amd64-on-arm64",
        ),
        # Windows
        pytest.param(
            "windows/amd64:10.0.20348",
            [
                _declared("windows/amd64:10.0.17763.5696"),
                _declared("windows/amd64:10.0.20348.2402"),
            ],
            INDEX,
            (True, True, True, True),
            id="WIN-revision-ignored",
        ),
        pytest.param(
            "windows/amd64:10.0.17763",
            [_declared("windows/amd64:10.0.20348.2402")],
            INDEX,
            (False, False, False, True),
            id="WIN-CRIO-older-host",
        ),
        pytest.param(
            "windows/amd64:10.0.26100",
            [_declared("windows/amd64:10.0.20348.2402")],
            INDEX,
            (True, True, True, True),
            id="WIN-ws2025-runs-ltsc2022",
        ),
        pytest.param(
            "windows/amd64:10.0.26200",
            [_declared("windows/amd64:10.0.20348.2402")],
            INDEX,
            (False, True, True, True),
            id="WIN-after-ws2025-rc2-list",
        ),
        pytest.param(
            "windows/amd64",
            [_declared("windows/amd64:10.0.17763.1")],
            INDEX,
            (True, True, True, True),
            id="WIN-unknown-host-build",
        ),
        pytest.param(
            "windows/amd64:10.0.17763",
            [_from_config("windows/amd64:10.0.20348.1")],
            INDEX,
            (False, False, True, False),  # 1.7 reads only the config's OS and architecture
            id="WIN-NOPLATFORM-config-os-version",
        ),
    ],
)
def test_what_the_runtime_takes(
    node: str, entries: list[Entry], kind: str, verdicts: tuple[bool, bool, bool, bool]
) -> None:
    got = tuple(
        platforms.runs(entries, kind, platforms.parse(node), rt) for rt in (C21, C20, C17, CRIO)
    )
    assert got == verdicts


DECLARED_ARTIFACT = Entry(
    platforms.parse("linux/amd64"), Platform("linux", "amd64"), True, artifact="x/model"
)
UNDECLARED_ARTIFACT = Entry(None, None, False, artifact="x/model")
TOO_BIG = Entry(None, None, False, unknown="config over the limit")
NO_ARCH = Entry(None, None, False)
RUNS, MISSING, GETS_ARTIFACT, UNKNOWN = (
    platforms.Choice.RUNS,
    platforms.Choice.MISSING,
    platforms.Choice.ARTIFACT,
    platforms.Choice.UNKNOWN,
)


@pytest.mark.parametrize(
    ("entries", "kind", "verdicts"),
    [
        # (containerd 2.1+, containerd 2.0, containerd 1.7, CRI-O) on linux/amd64
        pytest.param(
            [DECLARED_ARTIFACT], INDEX, (GETS_ARTIFACT,) * 4, id="artifact-declared-is-taken"
        ),
        pytest.param(
            [UNDECLARED_ARTIFACT],
            INDEX,
            (MISSING, MISSING, MISSING, GETS_ARTIFACT),
            id="NOPLATFORM-artifact-containerd-ConfigPlatform-CRIO-last-resort",
        ),
        pytest.param(
            [_declared("linux/amd64"), UNDECLARED_ARTIFACT],
            INDEX,
            (RUNS,) * 4,
            id="NOPLATFORM-declared-first",
        ),
        pytest.param([TOO_BIG], INDEX, (UNKNOWN,) * 4, id="NOPLATFORM-unknown-config"),
        pytest.param(
            [_from_config("linux/amd64"), TOO_BIG], INDEX, (RUNS,) * 4, id="NOPLATFORM-only-first"
        ),
        pytest.param([TOO_BIG], SINGLE, (UNKNOWN,) * 4, id="single-unknown-config"),
        pytest.param([NO_ARCH], SINGLE, (UNKNOWN,) * 4, id="single-config-without-arch"),
        pytest.param([UNDECLARED_ARTIFACT], SINGLE, (GETS_ARTIFACT,) * 4, id="single-artifact"),
        pytest.param([NO_ARCH], INDEX, (MISSING,) * 4, id="NOPLATFORM-runs-nowhere"),
    ],
)
def test_what_the_runtime_gets(
    entries: list[Entry], kind: str, verdicts: tuple[platforms.Choice, ...]
) -> None:
    node = platforms.parse("linux/amd64")
    got = tuple(platforms.choose(entries, kind, node, rt) for rt in (C21, C20, C17, CRIO))
    assert got == verdicts


@pytest.mark.parametrize(
    ("host", "image", "newest", "older"),
    [
        # (containerd 2.1+ i.e. platforms rc.2+, containerd 2.0 / 1.7 i.e. rc.1 / v0.2.1)
        ("10.0.17763", "10.0.17763.5696", True, True),  # WIN: revision ignored
        ("10.0.17763", "10.0.20348", False, False),  # WIN: before ltsc2022, build equal
        ("10.0.19041", "10.0.17763", False, False),
        ("10.0.20348", "10.0.17763", False, False),
        ("10.0.20348", "10.0.20348.2402", True, True),
        ("10.0.25398", "10.0.20348", True, True),  # WIN: 23H2 runs ltsc2022
        ("10.0.26100", "10.0.20348", True, True),  # WIN: ltsc2025 runs ltsc2022
        ("10.0.26100", "10.0.25398", True, True),
        ("10.0.26200", "10.0.20348", False, True),  # WIN: rc.2 adds ltsc2025 to the list
        ("10.0.26200", "10.0.26100", True, True),
        ("10.0.20348", "10.0.26100", False, False),  # never a newer image
        ("10.0.20348", "6.3.9600", False, False),  # major.minor must be equal
        ("10.0.20348", "", True, True),  # HPC images carry no os.version
        ("", "10.0.17763", True, True),
        ("10.0.20348", "10.0.x", False, False),  # an unparsable image version
    ],
)
def test_windows_version_matcher(host: str, image: str, newest: bool, older: bool) -> None:
    assert platforms.windows_version_matches(host, image, C21.windows_ltsc, newer=True) is newest
    assert platforms.windows_version_matches(host, image, C20.windows_ltsc, newer=False) is older
    assert platforms.windows_version_matches(host, image, C17.windows_ltsc, newer=False) is older


@pytest.mark.parametrize(
    ("node", "wanted"),
    [
        ("linux/amd64", ["linux/amd64"]),
        ("linux/amd64/v3", ["linux/amd64"]),  # DETECT
        ("linux/arm64", ["linux/arm64/v8", "linux/arm64"]),
        ("linux/arm/v7", ["linux/arm/v7", "linux/arm/v6", "linux/arm/v5", "linux/arm"]),
        ("linux/arm/v6", ["linux/arm/v6", "linux/arm/v5", "linux/arm"]),
        ("linux/s390x", ["linux/s390x"]),
    ],
)
def test_crio_wanted_platforms(node: str, wanted: list[str]) -> None:
    """CRIO: `WantedPlatforms` for the node's own platform."""
    spec = platforms.detected(platforms.parse(node))
    assert [str(p) for p in platforms.crio_wanted(spec)] == wanted


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("windows/amd64:10.0.20348", WS2022),
        ("windows/amd64:10.0.20348.2402", Platform("windows", "amd64", "", "10.0.20348.2402")),
        ("linux/arm64/v8", ARM64),
    ],
)
def test_platform_option_takes_os_version(text: str, expected: Platform) -> None:
    assert platforms.parse(text) == expected
    assert str(platforms.parse(text)) == str(expected)  # the report's spelling has no version


@pytest.mark.parametrize(
    "text", ["linux/amd64:10.0.20348", "windows/amd64:20348", "windows/amd64:10.0.99999"]
)
def test_platform_option_rejects_bad_os_version(text: str) -> None:
    with pytest.raises(ValueError, match=r"os\.version"):
        platforms.parse(text)


def test_runtime_names() -> None:
    assert platforms.parse_runtime("containerd-2.3") is C21
    assert platforms.parse_runtime("containerd") is platforms.DEFAULT_RUNTIME is C21
    assert platforms.parse_runtime("CRI-O") is CRIO
    with pytest.raises(
        ValueError, match=r"containerd-2\.1, containerd-2\.0, containerd-1\.7, cri-o"
    ):
        platforms.parse_runtime("docker")


# -- against the real registry ----------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    server: RegistryServer
    digests: dict[str, str]


SEED: dict[str, list[IndexChild] | list[str] | None] = {
    "conf/i386": ["linux/386"],
    "conf/armv7": ["linux/arm/v7"],
    "conf/armv6": ["linux/arm/v6"],
    "conf/arm64v8": ["linux/arm64/v8"],
    "conf/mixed": ["linux/amd64", "linux/386", "linux/arm/v6", "linux/arm/v7", "linux/arm64/v8"],
    "conf/arm7raw": [
        IndexChild("linux/arm/v7", {"os": "linux", "architecture": "arm", "variant": "7"})
    ],
    "conf/nofield": [IndexChild("linux/amd64"), IndexChild("linux/arm64", None)],
    "conf/nofield-order": [IndexChild("linux/amd64", None), IndexChild("linux/arm64", None)],
    "conf/nofield-artifact": [IndexChild("linux/amd64"), IndexChild(None, None)],
    "conf/windows": [
        IndexChild("windows/amd64", os_version="10.0.17763.5696"),
        IndexChild("windows/amd64", os_version="10.0.20348.2402"),
    ],
    "conf/windows2022": [IndexChild("windows/amd64", os_version="10.0.20348.2402")],
    "conf/nofield-windows": [IndexChild("windows/amd64", None, os_version="10.0.20348.2402")],
    "conf/artifact": None,
    "conf/artifact-nofield": [IndexChild(None, None)],
    "conf/artifact-declared": [IndexChild(None, {"os": "linux", "architecture": "amd64"})],
    "conf/many-nofield": [
        IndexChild("linux/amd64", None),
        *(IndexChild("linux/arm64", None) for _ in range(16)),
    ],
}


@pytest.fixture(scope="module")
def seeded(registry: RegistryServer) -> Seeded:
    digests: dict[str, str] = {}
    for repo, children in SEED.items():
        if children is None:
            digests[repo] = push_artifact(registry, repo, "1.0").digest
        elif all(isinstance(c, str) for c in children):
            digests[repo] = push_index(registry, repo, "1.0", [str(c) for c in children]).digest
        else:
            custom = [c for c in children if isinstance(c, IndexChild)]
            digests[repo] = push_custom_index(registry, repo, "1.0", custom).digest
    digests["conf/bigconfig"] = push_big_config_image(
        registry, "conf/bigconfig", "1.0", config_size=4 * 1024 * 1024 + 512
    ).digest
    # containerd reads a Docker list entry without a platform from its config, CRI-O never
    digests["conf/nofield-list"] = push_custom_index(
        registry, "conf/nofield-list", "1.0", [IndexChild("linux/amd64", None)], media="docker"
    ).digest
    return Seeded(registry, digests)


def _manifest(host: str, repo: str, spec: dict[str, Any]) -> str:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "apps"},
        "spec": {**spec, "containers": [{"name": "app", "image": f"{host}/{repo}:1.0"}]},
    }
    # block YAML, so that the image has a line of its own
    lines = json.dumps(pod, indent=2).splitlines()
    return "\n".join(lines) + "\n"


ARM64_POD = {"nodeSelector": {ARCH: "arm64"}}
NONE: dict[str, Any] = {}
WIN_POD = {"nodeSelector": {OS: "windows"}}


def _build_pod(build: str) -> dict[str, Any]:
    return {"nodeSelector": {OS: "windows", BUILD: build}}


@pytest.mark.parametrize(
    ("repo", "spec", "args", "runtime", "missing"),
    [
        # missing: the platform the finding names, or None for no finding
        pytest.param(
            "conf/i386", NONE, (), "containerd-2.1", "linux/amd64", id="EXACT-386-on-amd64"
        ),
        pytest.param("conf/i386", NONE, (), None, "linux/amd64", id="EXACT-default-runtime"),
        pytest.param("conf/i386", NONE, (), "containerd-2.0", None, id="ONLY-386-on-amd64-2.0"),
        pytest.param("conf/i386", NONE, (), "containerd-1.7", None, id="ONLY-386-on-amd64-1.7"),
        pytest.param("conf/i386", NONE, (), "cri-o", "linux/amd64", id="CRIO-386-on-amd64"),
        pytest.param(
            "conf/armv7", ARM64_POD, (), "containerd-2.1", "linux/arm64", id="EXACT-armv7-on-arm64"
        ),
        pytest.param("conf/armv7", ARM64_POD, (), "containerd-2.0", None, id="ONLY-armv7-on-arm64"),
        pytest.param("conf/armv7", ARM64_POD, (), "cri-o", "linux/arm64", id="CRIO-armv7-on-arm64"),
        pytest.param(
            "conf/armv6",
            NONE,
            ("--platform", "linux/arm/v7"),
            "containerd-2.1",
            "linux/arm/v7",
            id="EXACT-armv6-on-armv7",
        ),
        pytest.param(
            "conf/armv6",
            NONE,
            ("--platform", "linux/arm/v7"),
            "cri-o",
            None,
            id="CRIO-armv6-on-armv7",
        ),
        pytest.param(
            "conf/armv6",
            {"nodeSelector": {ARCH: "arm"}},
            ("--platform", "linux/arm/v6"),
            None,
            None,
            id="variant-kept-arm-v6",
        ),
        pytest.param(
            "conf/armv6",
            {"nodeSelector": {ARCH: "arm"}},
            (),
            None,
            "linux/arm/v7",
            id="arch-arm-no-default-v7",
        ),
        pytest.param("conf/arm64v8", ARM64_POD, (), "cri-o", None, id="CRIO-arm64-v8"),
        pytest.param("conf/mixed", ARM64_POD, (), None, None, id="EXACT-mixed-arm64"),
        pytest.param(
            "conf/mixed",
            NONE,
            ("--platform", "linux/arm/v6", "--platform", "linux/386"),
            None,
            None,
            id="EXACT-mixed-v6-386",
        ),
        pytest.param(
            "conf/arm7raw",
            NONE,
            ("--platform", "linux/arm/v7"),
            None,
            None,
            id="EXACT-normalised-arm-7",
        ),
        pytest.param(
            "conf/arm7raw",
            NONE,
            ("--platform", "linux/arm/v7"),
            "cri-o",
            "linux/arm/v7",
            id="CRIO-arm-7-as-written",
        ),
        pytest.param("conf/nofield", ARM64_POD, (), None, None, id="NOPLATFORM-config-arm64"),
        pytest.param(
            "conf/nofield", ARM64_POD, (), "cri-o", None, id="NOPLATFORM-CRIO-config-arm64"
        ),
        pytest.param(
            "conf/nofield-order", ARM64_POD, (), None, "linux/arm64", id="NOPLATFORM-first-only"
        ),
        pytest.param(
            "conf/nofield-order", NONE, (), "cri-o", None, id="NOPLATFORM-CRIO-first-amd64"
        ),
        pytest.param(
            "conf/nofield-artifact", ARM64_POD, (), None, "linux/arm64", id="NOPLATFORM-artifact"
        ),
        pytest.param(
            "conf/nofield-list", NONE, (), None, None, id="NOPLATFORM-docker-list-containerd"
        ),
        pytest.param(
            "conf/nofield-list", NONE, (), "cri-o", "linux/amd64", id="NOPLATFORM-CRIO-docker-list"
        ),
        pytest.param("conf/windows", _build_pod("10.0.20348"), (), None, None, id="WIN-2022"),
        pytest.param("conf/windows", _build_pod("10.0.17763"), (), None, None, id="WIN-2019"),
        pytest.param(
            "conf/windows", _build_pod("10.0.26100"), (), None, None, id="WIN-2025-runs-2022"
        ),
        pytest.param(
            "conf/windows",
            _build_pod("10.0.19041"),
            (),
            None,
            "windows/amd64:10.0.19041",
            id="WIN-2004-exact",
        ),
        pytest.param(
            "conf/windows2022",
            WIN_POD,
            ("--platform", "windows/amd64:10.0.17763"),
            None,
            "windows/amd64:10.0.17763",
            id="WIN-option",
        ),
        pytest.param(
            "conf/windows2022",
            WIN_POD,
            ("--platform", "windows/amd64:10.0.17763"),
            "cri-o",
            None,
            id="WIN-CRIO-no-os-version",
        ),
        pytest.param("conf/windows2022", WIN_POD, (), None, None, id="WIN-unknown-build"),
        pytest.param(
            "conf/nofield-windows",
            _build_pod("10.0.17763"),
            (),
            None,
            "windows/amd64:10.0.17763",
            id="WIN-NOPLATFORM-config-os-version",
        ),
        pytest.param("conf/artifact", ARM64_POD, (), None, None, id="artifact-has-no-platform"),
        pytest.param("conf/i386", _terms({}), (), None, None, id="SCHED-unschedulable-no-finding"),
        pytest.param(
            "conf/arm64v8",
            _terms({}, _match(_expr(ARCH, "In", "arm64"))),
            (),
            None,
            None,
            id="SCHED-empty-term-skipped",
        ),
    ],
)
def test_platform_verdicts_against_the_registry(
    tmp_path: Path,
    seeded: Seeded,
    repo: str,
    spec: dict[str, Any],
    args: tuple[str, ...],
    runtime: str | None,
    missing: str | None,
) -> None:
    path = tmp_path / "pod.yaml"
    path.write_text(_manifest(seeded.server.host, repo, spec))
    runtime_args = ("--runtime", runtime) if runtime else ()
    code, report = check_json(*args, *runtime_args, str(path))
    [image] = report["images"]
    assert image["digest"] == seeded.digests[repo]
    findings = [f for f in report["findings"] if f["rule"] == "image-platform-missing"]
    if missing is None and repo == "conf/artifact":
        # no platform to miss; as a container's image an artifact cannot run at all
        assert findings == [] and code == 1
        assert {f["rule"] for f in report["findings"]} == {"image-not-runnable"}
        return
    if missing is None:
        assert findings == [] and code == 0, findings
        return
    assert code == 1
    [finding] = findings
    image_line = next(
        n for n, t in enumerate(path.read_text().splitlines(), 1) if f"{repo}:1.0" in t
    )
    assert (finding["line"], finding["container"], finding["severity"]) == (
        image_line,
        "app",
        "error",
    )
    assert f"offers no manifest for {missing} " in finding["message"]
    label = platforms.parse_runtime(runtime or "containerd-2.1").label
    assert f"; {label}: " in finding["message"]
    assert "--runtime" in finding["hint"]


def test_report_platforms_keep_their_format(tmp_path: Path, seeded: Seeded) -> None:
    """Entries without a platform add their config's; os.version stays out of the strings."""
    host = seeded.server.host
    expected = {
        "conf/nofield": ["linux/amd64", "linux/arm64"],
        "conf/nofield-order": ["linux/amd64", "linux/arm64"],
        "conf/nofield-artifact": ["linux/amd64"],
        "conf/windows": ["windows/amd64"],
        "conf/nofield-windows": ["windows/amd64"],
        "conf/arm7raw": ["linux/arm/v7"],
        "conf/mixed": ["linux/386", "linux/amd64", "linux/arm/v6", "linux/arm/v7", "linux/arm64"],
        "conf/artifact": [],
    }
    for number, repo in enumerate(expected):
        (tmp_path / f"pod-{number}.yaml").write_text(_manifest(host, repo, NONE))
    _, report = check_json(str(tmp_path))
    got = {
        i["reference"].removeprefix(host + "/").removesuffix(":1.0"): i for i in report["images"]
    }
    assert {repo: got[repo]["platforms"] for repo in expected} == expected
    for repo in expected:  # the independent oracle agrees on every digest
        assert got[repo]["digest"] == skopeo_inspect_digest(seeded.server, repo, "1.0")


def _volume_manifest(host: str, repo: str, spec: dict[str, Any]) -> str:
    """A pod whose container runs a multi-platform image and whose image volume is `repo`."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "apps"},
        "spec": {
            **spec,
            "containers": [{"name": "app", "image": f"{host}/conf/mixed:1.0"}],
            "volumes": [{"name": "data", "image": {"reference": f"{host}/{repo}:1.0"}}],
        },
    }
    return "\n".join(json.dumps(pod, indent=2).splitlines()) + "\n"


@pytest.mark.parametrize(
    ("repo", "spec", "runtime", "volume", "rules", "code"),
    [
        # ARTIFACT-CONTAINERD: `ConfigPlatform` of an artifact's config names no platform, so
        # containerd matches nothing in the index (core/images/image.go `Manifest`).
        pytest.param(
            "conf/artifact-nofield",
            NONE,
            None,
            False,
            {"image-platform-missing"},
            1,
            id="NOPLATFORM-artifact-only-containerd",
        ),
        # ARTIFACT-CRIO: containers/image takes the entry as the last resort, unchecked
        # (`OCI1IndexPublic.chooseInstance`); there is nothing to run.
        pytest.param(
            "conf/artifact-nofield",
            NONE,
            "cri-o",
            False,
            {"image-not-runnable"},
            1,
            id="NOPLATFORM-artifact-only-crio",
        ),
        # ARTIFACT-DECLARED: an entry whose descriptor names an `artifactType` (OCI image-spec
        # v1.1 `descriptor.md`) is matched by platform like any other, then cannot run.
        pytest.param(
            "conf/artifact-declared",
            NONE,
            None,
            False,
            {"image-not-runnable"},
            1,
            id="artifact-declared-containerd",
        ),
        pytest.param(
            "conf/artifact-declared",
            NONE,
            "cri-o",
            False,
            {"image-not-runnable"},
            1,
            id="artifact-declared-crio",
        ),
        # NOPLATFORM: only the first entry without a platform is ever taken, so the entries
        # past the gate's fetch limit do not decide.
        pytest.param("conf/many-nofield", NONE, None, False, set(), 0, id="NOPLATFORM-many"),
        pytest.param(
            "conf/many-nofield",
            ARM64_POD,
            None,
            False,
            {"image-platform-missing"},
            1,
            id="NOPLATFORM-many-first-only",
        ),
        # a config too big to read: the platform is unknown, not absent, nor a pass (exit 3)
        pytest.param(
            "conf/bigconfig", NONE, None, False, {"image-platform-unverified"}, 3, id="bigconfig"
        ),
        # VOLUMES: containerd 2.1+ mounts an artifact's (empty) snapshot, CRI-O 1.33+ its
        # files (gate/policy/volumes.py names the sources)
        pytest.param(
            "conf/artifact",
            NONE,
            None,
            True,
            {"image-volume-unsupported"},
            1,
            id="VOLUME-artifact-containerd-empty",
        ),
        pytest.param("conf/artifact", NONE, "cri-o", True, set(), 0, id="VOLUME-artifact-crio"),
        pytest.param(
            "conf/artifact-declared",
            NONE,
            None,
            True,
            {"image-volume-unsupported"},
            1,
            id="VOLUME-index-artifact-containerd-empty",
        ),
        pytest.param(
            "conf/artifact-declared",
            ARM64_POD,
            "cri-o",
            True,
            {"image-platform-missing"},
            1,
            id="VOLUME-index-artifact-platform-crio",
        ),
        pytest.param(
            "conf/artifact-nofield", NONE, "cri-o", True, set(), 0, id="VOLUME-nofield-crio"
        ),
        pytest.param(
            "conf/mixed",
            NONE,
            "containerd-2.0",
            True,
            {"image-volume-unsupported"},
            1,
            id="VOLUME-none-on-containerd-2.0",
        ),
        pytest.param(
            "conf/mixed",
            NONE,
            "containerd-1.7",
            True,
            {"image-volume-unsupported"},
            1,
            id="VOLUME-none-on-containerd-1.7",
        ),
    ],
)
def test_artifacts_and_unknown_platforms_against_the_registry(
    tmp_path: Path,
    seeded: Seeded,
    repo: str,
    spec: dict[str, Any],
    runtime: str | None,
    volume: bool,
    rules: set[str],
    code: int,
) -> None:
    host = seeded.server.host
    path = tmp_path / "pod.yaml"
    build = _volume_manifest if volume else _manifest
    path.write_text(build(host, repo, spec))
    runtime_args = ("--runtime", runtime) if runtime else ()
    got, report = check_json(*runtime_args, str(path))
    images = {i["reference"]: i for i in report["images"]}
    image = images[f"{host}/{repo}:1.0"]
    assert (
        image["digest"] == seeded.digests[repo] == skopeo_inspect_digest(seeded.server, repo, "1.0")
    )
    assert {f["rule"] for f in report["findings"]} == rules, report["findings"]
    assert got == code
    needle = f'"reference": "{host}/{repo}:1.0"' if volume else f'"image": "{host}/{repo}:1.0"'
    reference_line = next(n for n, t in enumerate(path.read_text().splitlines(), 1) if needle in t)
    for finding in report["findings"]:
        assert finding["line"] == reference_line
        assert (finding.get("volume"), finding["container"]) == (
            ("data", None) if volume else (None, "app")
        )
        if finding["rule"] in ("image-not-runnable", "image-volume-unsupported"):
            label = platforms.parse_runtime(runtime or "containerd-2.1").label
            assert label in finding["message"]
            if "artifact" in repo:
                assert ARTIFACT_TYPE in finding["message"] or "artifact" in finding["message"]
    if repo == "conf/bigconfig":
        [finding] = report["findings"]
        assert "over the 4 MiB the gate reads" in finding["message"]
        assert image["platforms"] == []


@pytest.mark.parametrize(
    ("repo", "os", "arch", "variant", "picked"),
    [
        ("conf/i386", "linux", "amd64", None, None),
        ("conf/armv7", "linux", "arm64", "v8", None),
        ("conf/armv6", "linux", "arm", "v7", "arm"),
        ("conf/arm7raw", "linux", "arm", "v7", None),
        ("conf/arm64v8", "linux", "arm64", "v8", "arm64"),
        ("conf/mixed", "linux", "arm64", "v8", "arm64"),
    ],
)
def test_skopeo_chooses_as_crio(
    seeded: Seeded, repo: str, os: str, arch: str, variant: str | None, picked: str | None
) -> None:
    """CRIO rows, checked against containers/image itself: skopeo with the node's platform."""
    try:
        answer = skopeo_inspect(
            seeded.server, repo, "1.0", override_os=os, override_arch=arch, override_variant=variant
        )
    except SkopeoError as exc:
        assert picked is None, exc.stderr
        assert "no image found" in exc.stderr
        return
    assert answer["Architecture"] == picked


def test_runtime_from_config_and_environment(tmp_path: Path, seeded: Seeded) -> None:
    path = tmp_path / "pod.yaml"
    path.write_text(_manifest(seeded.server.host, "conf/i386", NONE))
    config = tmp_path / ".pullgate.yaml"
    config.write_text("runtime: containerd-1.7\n")
    code, report = check_json("--config", str(config), str(path))
    assert code == 0 and report["findings"] == []
    code, report = check_json("--config", str(config), "--runtime", "cri-o", str(path))  # CLI wins
    assert code == 1 and "CRI-O: " in report["findings"][0]["message"]
    result = pullgate(
        "check", "--format", "json", str(path), env={"PULLGATE_RUNTIME": "containerd-2.0"}
    )
    assert result.exit_code == 0, result.output


def test_unknown_runtime_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    result = pullgate("check", "--runtime", "docker", str(path))
    assert result.exit_code == 2
    assert "--runtime" in result.stderr and "containerd-2.1" in result.stderr
    config = tmp_path / ".pullgate.yaml"
    config.write_text("runtime: rkt\n")
    result = pullgate("check", "--config", str(config), str(path))
    assert result.exit_code == 2
    assert "runtime" in result.stderr and "cri-o" in result.stderr


# -- the findings, from hand-built resolutions (review rows) ---------------------------------


def _use_with(entries: tuple[Entry, ...], media_type: str, *, volume: bool) -> Any:
    """An image use (container `app`, or image volume `data`) resolved to `entries`."""
    from gate.model import ImageUse, Outcome, Resolution
    from gate.reference import parse_reference

    spec: dict[str, Any] = {"containers": [{"name": "app", "image": "r.example.com/a:1"}]}
    if volume:
        spec["volumes"] = [{"name": "data", "image": {"reference": "r.example.com/v:1"}}]
    pod = _pod(spec)
    container = pod.image_volumes[0] if volume else pod.containers[0]
    reference = parse_reference(container.image)
    resolution = Resolution(
        reference,
        Outcome.RESOLVED,
        digest="sha256:" + "0" * 64,
        media_type=media_type,
        platforms=platforms.strings(entries),
        entries=entries,
    )
    return ImageUse(pod, container, reference, resolution=resolution)


OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def test_an_unknown_node_is_reported_beside_an_artifact_node() -> None:
    """CRI-O: amd64 takes a declared artifact (mounts), arm64 falls back to an entry whose
    config could not be read: that node is unverified, never a silent pass."""
    from gate.policy.platforms import platform_findings

    entries = (DECLARED_ARTIFACT, TOO_BIG)
    use = _use_with(entries, OCI_INDEX, volume=True)
    nodes = (platforms.parse("linux/amd64"), platforms.parse("linux/arm64"))
    found = platform_findings([use], nodes, CRIO)
    assert [(f.rule, f.volume) for f in found] == [("image-platform-unverified", "data")]
    assert "linux/arm64" in found[0].message and "linux/amd64" not in found[0].message


def test_a_volume_of_a_single_manifest_has_no_platform_to_miss() -> None:
    """A volume is never executed, and neither runtime matches a single manifest's platform
    before the pull (containerd `Manifest` checks children only; containers/image only logs)."""
    from gate.policy.platforms import platform_findings

    arm_only = (Entry(platforms.parse("linux/arm64"), Platform("linux", "arm64"), False),)
    for entries in (arm_only, (TOO_BIG,)):
        use = _use_with(entries, OCI_MANIFEST, volume=True)
        for runtime in (C21, CRIO):
            assert platform_findings([use], (platforms.parse("linux/amd64"),), runtime) == []
    container = _use_with(arm_only, OCI_MANIFEST, volume=False)
    [finding] = platform_findings([container], (platforms.parse("linux/amd64"),), C21)
    assert finding.rule == "image-platform-missing"


def test_an_image_config_artifact_type_is_an_image() -> None:
    """OCI image-spec `descriptor.md`: `artifactType` names an artifact's type; tools that fill
    it for images write the image config type, which is no artifact."""
    import asyncio

    from gate.registry.content import ContentReader

    listed: list[object] = [
        {
            "mediaType": OCI_MANIFEST,
            "digest": "sha256:" + "1" * 64,
            "size": 1,
            "platform": {"os": "linux", "architecture": "amd64"},
            "artifactType": "application/vnd.oci.image.config.v1+json",
        },
        {
            "mediaType": OCI_MANIFEST,
            "digest": "sha256:" + "2" * 64,
            "size": 1,
            "platform": {"os": "linux", "architecture": "arm64"},
            "artifactType": ARTIFACT_TYPE,
        },
    ]
    reader = ContentReader(None)  # type: ignore[arg-type]  # declared entries need no fetch
    entries = asyncio.run(
        reader._index_entries(None, None, "sha256:" + "3" * 64, listed, None)  # type: ignore[arg-type]
    )
    assert [(str(e.platform), e.artifact) for e in entries] == [
        ("linux/amd64", None),
        ("linux/arm64", ARTIFACT_TYPE),
    ]
