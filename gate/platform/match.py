"""Which manifest of an image a container runtime takes on a node, and whether it runs there.

What a node *accepts* is the runtime's decision, and runtimes disagree:

- containerd 2.1 and later pull through the transfer service, whose image store filters an
  index with `platforms.Ordered(platforms.DefaultSpec())`: one `NewMatcher` per platform, i.e.
  the node's exact (normalised) platform (containerd `core/transfer/image/imagestore.go`
  `Store.ImageFilter`; the CRI asks for `WithPlatforms(platforms.DefaultSpec())` in
  `internal/cri/server/images/image_pull.go` `pullImageWithTransferService`). A CRI config
  that sets `use_local_image_pull`, or an option the transfer service lacks
  (`internal/cri/config/config.go` `CheckLocalImagePullConfigs`), pulls as 2.0 does.
- containerd 1.7 and 2.0 pull with `client.Pull` and the client's default matcher,
  `platforms.Default()` = `platforms.Only(DefaultSpec())`: the node's platform or a compatible
  one (`containerd/platforms` `compare.go` `platformVector`).
- CRI-O chooses with containers/image: `platform.WantedPlatforms` (the node's own architecture,
  its variant and older ones, or none) compared as written by `platform.MatchesPlatform`
  (`internal/pkg/platform/platform_matcher.go`; `internal/manifest/oci_index.go`
  `chooseInstance`, `docker_schema2_list.go` `ChooseInstance`).

Each rule is pinned, with its source, in tests/conformance/test_platforms.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from gate.platform.spelling import Entry, Platform, normalize, windows_version

# -- containerd's matchers ------------------------------------------------------------------


def _version(variant: str) -> int | None:
    text = variant.removeprefix("v")
    return int(text) if text.isdigit() else None


def compatible(node: Platform) -> list[Platform]:
    """What a node of `node`'s platform runs, best first: containerd's `Only` vector.

    amd64/vN also runs amd64/v(N-1)...v1 and 386; arm/vN runs arm/v(N-1)...v5; arm64/v8.x runs
    arm64/v8.(x-1)...v8 and arm/v8...v5 (arm64/v9.x also v9.(x-1)... and v8.(x+5)...).
    """
    os = node.os
    vector = [Platform(os, node.architecture, node.variant)]
    arch, variant = node.architecture, node.variant
    if arch == "amd64":
        level = _version(variant)
        if level is not None and level > 1:
            vector += [
                Platform(os, "amd64", "" if n == 1 else f"v{n}") for n in range(level - 1, 0, -1)
            ]
        vector.append(Platform(os, "386"))
    elif arch == "arm":
        level = _version(variant)
        if level is not None and level > 5:
            vector += [Platform(os, "arm", f"v{n}") for n in range(level - 1, 4, -1)]
    elif arch == "arm64":
        full = variant or "v8"
        major_text, _, minor_text = full.removeprefix("v").partition(".")
        if major_text.isdigit() and int(major_text) >= 8:
            major, minor = int(major_text), int(minor_text) if minor_text.isdigit() else 0
            if major == 9:
                vector += [_arm64(os, 9, m) for m in range(minor - 1, -1, -1)]
                major, minor = 8, min(minor + 5, 9)
                vector.append(_arm64(os, 8, minor))
            vector += [_arm64(os, major, m) for m in range(minor - 1, -1, -1)]
        arm_variant = "v8" if full.startswith(("v8", "v9")) else full
        vector += compatible(Platform(os, "arm", arm_variant))
    return vector


def _arm64(os: str, major: int, minor: int) -> Platform:
    variant = f"v{major}" if minor == 0 else f"v{major}.{minor}"
    return normalize(os, "arm64", variant)


def detected(node: Platform) -> Platform:
    """The platform the node's runtime believes it has (`platforms.DefaultSpec`).

    containerd and containers/image only detect a CPU variant on ARM (`cpuVariant` in
    containerd/platforms `cpuinfo.go`; `getCPUVariant` in containers/image
    `platform_matcher.go`), and an arm64 CPU reports `v8` (normalised away): an amd64/v3 or
    arm64/v8.2 node asks for plain amd64 or arm64.
    """
    if node.architecture == "arm":
        return node
    return Platform(node.os, node.architecture, "", node.os_version)


WS2022_BUILD = 20348
"""Windows Server 2022 (ltsc2022): the first build with a stable container ABI."""


def windows_version_matches(host: str, image: str, ltsc: Sequence[int], *, newer: bool) -> bool:
    """containerd's Windows `os.version` check (`checkWindowsHostAndContainerCompat`).

    Either version unknown: a match (`windowsVersionMatcher.Match`; HPC images carry none).
    Major and minor must be equal; before Windows Server 2022 the build must be equal too;
    from it on, a host runs builds from the newest LTSC release below it (`newer`: strictly
    below, as from containerd/platforms v1.0.0-rc.2; else at or below) up to its own. The
    revision (the fourth number) never matters.
    """
    if not host or not image:
        return True
    host_version, image_version = windows_version(host), windows_version(image)
    if host_version is None:
        return True
    if image_version is None or host_version[:2] != image_version[:2]:
        return False
    host_build, image_build = host_version[2], image_version[2]
    if host_build < WS2022_BUILD:
        return host_build == image_build
    oldest = WS2022_BUILD
    for release in sorted(ltsc, reverse=True):
        if host_build > release or (not newer and host_build >= release):
            oldest = release
            break
    return oldest <= image_build <= host_build


# -- runtimes -------------------------------------------------------------------------------

CONTAINERD = "containerd"
CRIO = "cri-o"


@dataclass(frozen=True)
class Runtime:
    """A container runtime's way of choosing a manifest for its node."""

    name: str
    """As `--runtime` spells it."""
    label: str
    """As findings name it."""
    engine: str
    """`containerd` or `cri-o`."""
    rule: str
    """What decides, in a few words (for findings)."""
    exact_index: bool = False
    """containerd 2.1+: the transfer service keeps only index entries of the exact platform."""
    windows_ltsc: tuple[int, ...] = (WS2022_BUILD,)
    """containerd/platforms `compatLTSCReleases`."""
    windows_newer: bool = False
    """containerd/platforms v1.0.0-rc.2 and later: the LTSC release strictly below the host."""
    image_volumes: bool = True
    """Whether the CRI mounts image volumes (`Mount.image`) at all."""
    artifact_volumes: bool = False
    """Whether an OCI artifact mounts as an image volume with its files in it."""
    config_variant: bool = True
    """Whether an index entry without a platform is matched on its config's variant and
    os.version too (containerd 2.0+ `ConfigPlatform`); containerd 1.7's `images.Manifest`
    matches only the config's OS and architecture, normalised (arm reads as arm/v7)."""

    def __str__(self) -> str:
        return self.label


CONTAINERD_2_1 = Runtime(
    name="containerd-2.1",
    label="containerd 2.1+",
    engine=CONTAINERD,
    rule="exact platform match",
    exact_index=True,
    windows_ltsc=(WS2022_BUILD, 26100),  # ltsc2022, ltsc2025 (containerd/platforms rc.2+)
    windows_newer=True,
)
CONTAINERD_2_0 = Runtime(
    name="containerd-2.0",
    label="containerd 2.0",
    engine=CONTAINERD,
    rule="the node's platform or a compatible one",
    image_volumes=False,
)
CONTAINERD_1_7 = Runtime(
    name="containerd-1.7",
    label="containerd 1.7",
    engine=CONTAINERD,
    rule="the node's platform or a compatible one",
    image_volumes=False,
    config_variant=False,
)
CRI_O = Runtime(
    name=CRIO,
    label="CRI-O",
    engine=CRIO,
    rule="the node's own architecture, variants as written",
    artifact_volumes=True,
)

DEFAULT_RUNTIME = CONTAINERD_2_1
RUNTIMES: dict[str, Runtime] = {
    "containerd-2.1": CONTAINERD_2_1,
    "containerd-2.2": CONTAINERD_2_1,
    "containerd-2.3": CONTAINERD_2_1,
    "containerd": CONTAINERD_2_1,
    "containerd-2.0": CONTAINERD_2_0,
    "containerd-1.7": CONTAINERD_1_7,
    "cri-o": CRI_O,
    "crio": CRI_O,
}
RUNTIME_NAMES = ("containerd-2.1", "containerd-2.0", "containerd-1.7", "cri-o")
"""The names to offer (RUNTIMES also takes aliases)."""


def parse_runtime(text: str) -> Runtime:
    """The runtime `text` names; ValueError (listing the known names) for any other."""
    runtime = RUNTIMES.get(text.strip().lower())
    if runtime is None:
        known = ", ".join(RUNTIME_NAMES)
        raise ValueError(
            f"unknown container runtime {text!r}: choose one of {known} "
            "(containerd-2.2 and -2.3 mean containerd-2.1; containerd alone the newest)"
        )
    return runtime


def _containerd_match(node: Platform, entry: Platform, runtime: Runtime, *, exact: bool) -> bool:
    """containerd's `NewMatcher` (`exact`) or `Only` vector, with its Windows version check."""
    if (entry.os or node.os) != node.os:  # normalizeOS("") is the node's own OS
        return False
    if exact:
        accepted = {(node.architecture, node.variant)}
    else:
        accepted = {(p.architecture, p.variant) for p in compatible(node)}
    if (entry.architecture, entry.variant) not in accepted:
        return False
    if node.os == "windows":
        return windows_version_matches(
            node.os_version, entry.os_version, runtime.windows_ltsc, newer=runtime.windows_newer
        )
    return True


_CRIO_VARIANTS = {"arm": ("v8", "v7", "v6", "v5"), "arm64": ("v8",)}


def crio_wanted(node: Platform) -> list[Platform]:
    """containers/image `WantedPlatforms` on this node, best first (os.version not used)."""
    arch = node.architecture
    if node.os in ("darwin", "windows"):
        variant = {"arm64": "v8", "arm": "v7"}.get(arch, "")
    elif arch == "arm64":
        variant = "v8"  # `getCPUVariantArm`: "8" and "aarch64" both read as v8
    elif arch == "arm":
        variant = node.variant
    else:
        variant = ""
    order = _CRIO_VARIANTS.get(arch)
    if variant:
        variants = list(order[order.index(variant) :]) if order and variant in order else []
        variants = (variants or [variant]) + [""]
    else:
        variants = ["", *(order or ())]
    return [Platform(node.os, arch, v) for v in variants]


INDEX = "index"
DOCKER_LIST = "docker-list"
MANIFEST = "manifest"


class Choice(str, Enum):
    """What a runtime on a node gets from an image."""

    RUNS = "runs"
    MISSING = "missing"
    """No manifest it takes runs there: ErrImagePull, or `exec format error`."""
    ARTIFACT = "artifact"
    """It takes an OCI artifact: a container has nothing to run; a volume may mount it."""
    UNKNOWN = "unknown"
    """It takes a manifest whose platform the gate could not learn."""


def runs(entries: Sequence[Entry], kind: str, node: Platform, runtime: Runtime) -> bool:
    """Whether a container on `node` runs what `runtime` takes from the image (see `choose`)."""
    return choose(entries, kind, node, runtime) is Choice.RUNS


def choose(entries: Sequence[Entry], kind: str, node: Platform, runtime: Runtime) -> Choice:
    """What `runtime` on `node` gets from an image of `kind` offering `entries`.

    An index: the runtime takes the best declared entry it accepts, and only when there is
    none the FIRST entry without a platform (containerd `core/images/image.go` `Manifest` and
    `images.LimitManifests`: entries without a platform sort last, one is taken, and its
    `ConfigPlatform` must match; containers/image `OCI1IndexPublic.chooseInstance`: such an
    entry is the last resort, in index order, unchecked; a Docker manifest list's entry
    always has a platform struct, so one left out matches nothing). containerd 2.1+ fetches
    only the declared entries of the exact platform (`images.FilterPlatforms` with
    `platforms.Ordered`), then reads the image with the client's `platforms.Only`: a
    compatible entry that was not fetched fails the pull.

    What the runtime pulls without having matched it (a single manifest, CRI-O's entry
    without a platform) is not checked before it runs: containerd's `Manifest` only compares
    a top-level manifest's config for children, CRI-O only logs "Image operating system
    mismatch" (containers/image `copy/single.go` `prepareImageConfigForDest`). It runs where
    its config's platform is compatible with the node, containerd's `Only` vector for every
    runtime (an amd64 kernel runs 386, arm64 runs arm/v8 to v5). An artifact, however it was
    taken, is ARTIFACT: what becomes of it is the caller's (a container cannot run it; an
    image volume mounts it where the runtime supports that, whatever its platform).
    """
    spec = detected(node)

    def compatible_with(entry: Entry) -> bool:
        return entry.platform is not None and _containerd_match(
            spec, entry.platform, runtime, exact=False
        )

    def unchecked(entry: Entry) -> Choice:
        """The verdict on a manifest the runtime pulls without matching its platform."""
        if entry.artifact is not None:
            return Choice.ARTIFACT
        if entry.unknown:
            return Choice.UNKNOWN
        return Choice.RUNS if compatible_with(entry) else Choice.MISSING

    def taken(entry: Entry) -> Choice:
        """The verdict on a declared entry the runtime chose."""
        return Choice.RUNS if entry.artifact is None else Choice.ARTIFACT

    if kind == MANIFEST:
        if not entries:
            return Choice.UNKNOWN
        first = entries[0]
        if first.platform is None and first.artifact is None and not first.unknown:
            return Choice.UNKNOWN  # an image config that names no architecture
        return unchecked(first)
    declared = [e for e in entries if e.declared]
    if runtime.engine == CRIO:
        for wanted in crio_wanted(spec):
            for entry in declared:
                if _crio_equal(entry.raw, wanted):
                    return taken(entry)
        if kind == DOCKER_LIST:
            return Choice.MISSING
    else:
        exact = runtime.exact_index
        for entry in _containerd_order(declared, spec, runtime, exact=exact):
            return taken(entry)
        if exact and any(compatible_with(e) for e in declared):
            return Choice.MISSING  # chosen by `Only`, never fetched by the exact filter
    undeclared = [e for e in entries if not e.declared]
    if not undeclared:
        return Choice.MISSING
    first = undeclared[0]
    if runtime.engine == CRIO:
        return unchecked(first)  # the last resort, taken without a look at its config
    if first.unknown:
        return Choice.UNKNOWN
    if first.artifact is not None:
        return Choice.MISSING  # `ConfigPlatform` of an artifact's config names no platform
    if not runtime.config_variant and first.raw is not None:
        first = Entry(normalize(first.raw.os, first.raw.architecture), first.raw, False)
    return Choice.RUNS if compatible_with(first) else Choice.MISSING


def _containerd_order(
    declared: Sequence[Entry], node: Platform, runtime: Runtime, *, exact: bool
) -> list[Entry]:
    """The declared entries containerd accepts on `node`, best first (`platform.Less`)."""
    vector = [Platform(node.os, node.architecture, node.variant)] if exact else compatible(node)
    rank = {(p.architecture, p.variant): n for n, p in enumerate(vector)}
    accepted = [
        (rank.get((e.platform.architecture, e.platform.variant), 0), n, e)
        for n, e in enumerate(declared)
        if e.platform is not None and _containerd_match(node, e.platform, runtime, exact=exact)
    ]
    return [e for _, _, e in sorted(accepted, key=lambda item: item[:2])]


def _crio_equal(raw: Platform | None, wanted: Platform) -> bool:
    return raw is not None and (raw.os, raw.architecture, raw.variant) == (
        wanted.os,
        wanted.architecture,
        wanted.variant,
    )
