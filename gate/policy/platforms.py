"""Platform rules: will each image run on every node its pod may be scheduled to?

Where a pod may land is the scheduler's decision: its `nodeSelector` AND its required node
affinity, whose terms are ORed (kubernetes `staging/src/k8s.io/component-helpers/scheduling/
corev1/nodeaffinity/nodeaffinity.go` `GetRequiredNodeAffinity`, `RequiredNodeAffinity.Match`).
Platforms enter through the labels every kubelet sets on its node (`pkg/kubelet/
kubelet_node_status.go` `initialNode`): `kubernetes.io/os` and `kubernetes.io/arch` (and their
`beta.` forms) are GOOS and GOARCH; Windows nodes add `node.kubernetes.io/windows-build`,
major.minor.build (`kubelet_node_status_windows.go` `getOSSpecificLabels`).

The candidate nodes are the default platforms (`--platform`, config `platforms`) plus, where a
pod names a value no default has, a node of that value (a pod pinned to arm64 says the cluster
has arm64 nodes). Every candidate the pod's constraints admit must be served: the scheduler may
pick any of them. What "served" means is the container runtime's rule (`gate.platform.runs`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gate import platform as platforms
from gate.model import Finding, ImageUse
from gate.platform import DEFAULT_RUNTIME, Choice, Entry, Platform, Runtime
from gate.policy.images import finding_for
from gate.policy.volumes import artifact_volume_finding
from gate.workload import PodSpec

DEFAULT_PLATFORMS = (Platform("linux", "amd64"),)

OS_LABELS = ("kubernetes.io/os", "beta.kubernetes.io/os")
ARCH_LABELS = ("kubernetes.io/arch", "beta.kubernetes.io/arch")
WINDOWS_BUILD_LABEL = "node.kubernetes.io/windows-build"

_OS, _ARCH, _BUILD = "os", "arch", "build"
_DIMENSION = {
    **{label: _OS for label in OS_LABELS},
    **{label: _ARCH for label in ARCH_LABELS},
    WINDOWS_BUILD_LABEL: _BUILD,
}

_OPERATORS = frozenset({"In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"})
_LABEL_TOKEN = re.compile(r"^[a-z0-9]+$")
_BUILD_VALUE = re.compile(r"^\d+\.\d+\.\d+$")

_INDEX_TYPES = {
    "application/vnd.oci.image.index.v1+json": platforms.INDEX,
    "application/vnd.docker.distribution.manifest.list.v2+json": platforms.DOCKER_LIST,
}


@dataclass(frozen=True)
class _Requirement:
    key: str
    operator: str
    values: tuple[str, ...] = ()


class _Unknown:
    """A Windows node's build when `--platform` did not say it (every Windows node has one)."""


_UNKNOWN = _Unknown()


def pod_platforms(pod: PodSpec, defaults: Sequence[Platform] = DEFAULT_PLATFORMS) -> list[Platform]:
    """The platforms `pod` may be scheduled to, in a stable order ([] if it fits no node)."""
    # only the platform labels: any other (`disktype: ssd`) narrows no platform, as in `_term`
    selector = [
        _Requirement(key, "In", (value,))
        for key, value in pod.node_selector.items()
        if key in _DIMENSION
    ]
    terms = required_terms(pod.affinity)
    result: list[Platform] = []
    for term in terms if terms is not None else [[]]:
        if term is None:
            continue  # an empty or unparsable term selects no node
        for candidate in _term_platforms([*selector, *term], defaults):
            if candidate not in result:
                result.append(candidate)
    return result


def required_terms(affinity: Mapping[str, Any]) -> list[list[_Requirement] | None] | None:
    """The required node-selector terms (ORed), None where there is no required affinity.

    As `NewLazyErrorNodeSelector` parses them: a term with neither `matchExpressions` nor
    `matchFields` is skipped (it selects nothing), a term that does not parse matches no node;
    a required affinity without terms matches no node (the API server rejects it anyway:
    `ValidateNodeSelector`, "must have at least one node selector term").
    """
    node = affinity.get("nodeAffinity") if isinstance(affinity, Mapping) else None
    required = node.get("requiredDuringSchedulingIgnoredDuringExecution") if node else None
    if not isinstance(required, dict):
        return None
    terms = required.get("nodeSelectorTerms")
    if not isinstance(terms, list):
        return []
    return [_term(t) for t in terms]


def _term(term: object) -> list[_Requirement] | None:
    """One term's label requirements on the platform labels; None if it matches no node."""
    if not isinstance(term, dict):
        return None
    expressions, fields = term.get("matchExpressions") or [], term.get("matchFields") or []
    if not isinstance(expressions, list) or not isinstance(fields, list):
        return None
    if not expressions and not fields:
        return None  # `isEmptyNodeSelectorTerm`: selects no objects
    requirements: list[_Requirement] = []
    for expr in expressions:
        requirement = _requirement(expr)
        if requirement is None:
            return None
        if requirement.key in _DIMENSION:
            requirements.append(requirement)
    for expr in fields:
        # `nodeSelectorRequirementsAsFieldSelector`: In or NotIn with one value (node name);
        # it narrows nodes by name, never by platform.
        requirement = _requirement(expr)
        if requirement is None or requirement.operator not in ("In", "NotIn"):
            return None
        if len(requirement.values) != 1:
            return None
    return requirements


def _requirement(expr: object) -> _Requirement | None:
    """One `NodeSelectorRequirement` as `labels.NewRequirement` accepts it, else None."""
    if not isinstance(expr, dict):
        return None
    key, operator, raw = expr.get("key"), expr.get("operator"), expr.get("values")
    if not isinstance(key, str) or operator not in _OPERATORS:
        return None
    if raw is None:
        raw = []
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        return None
    values = tuple(raw)
    if operator in ("In", "NotIn") and not values:
        return None  # "values set can't be empty"
    if operator in ("Exists", "DoesNotExist") and values:
        return None  # "values set must be empty"
    if operator in ("Gt", "Lt") and (len(values) != 1 or _integer(values[0]) is None):
        return None  # "for 'Gt', 'Lt' operators, exactly one value is required" (an integer)
    return _Requirement(key, str(operator), values)


def _integer(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _labels(node: Platform) -> dict[str, str | _Unknown]:
    labels: dict[str, str | _Unknown] = {label: node.os for label in OS_LABELS}
    labels.update({label: node.architecture for label in ARCH_LABELS})
    if node.os == "windows":
        labels[WINDOWS_BUILD_LABEL] = _build(node) or _UNKNOWN
    return labels


def _build(node: Platform) -> str:
    """The node's `windows-build` label: its os.version up to the build number."""
    return ".".join(node.os_version.split(".")[:3]) if node.os_version else ""


def _satisfies(node: Platform, requirements: Iterable[_Requirement]) -> bool:
    """Whether `node`'s labels meet every requirement (`labels.Requirement.Matches`)."""
    labels = _labels(node)
    for requirement in requirements:
        value = labels.get(requirement.key)
        known = value if isinstance(value, str) else None
        op = requirement.operator
        if op == "In":
            ok = known is not None and known in requirement.values
        elif op == "NotIn":
            ok = known is None or known not in requirement.values
        elif op == "Exists":
            ok = value is not None
        elif op == "DoesNotExist":
            ok = value is None
        else:  # Gt, Lt: the label read as an integer
            number = _integer(known) if known is not None else None
            limit = int(requirement.values[0])
            ok = number is not None and (number > limit if op == "Gt" else number < limit)
        if not ok:
            return False
    return True


def _term_platforms(
    requirements: list[_Requirement], defaults: Sequence[Platform]
) -> list[Platform]:
    """The candidate nodes one term (with the nodeSelector) admits.

    The defaults it admits, as they are (a `linux/arm/v6` default stays arm/v6 under
    `kubernetes.io/arch: arm`); then, for each combination of values the term names (`In`, or
    the nodeSelector) that no admitted default has, a node of those values, its other
    attributes taken from the defaults (an architecture it names gets containerd's default
    variant). Only values a kubelet could have set are nodes: GOOS and GOARCH as they are
    spelt (`arm64`, never `aarch64` or `ARM64`), and major.minor.build.
    """
    kept = [d for d in defaults if _satisfies(d, requirements)]
    named: dict[str, set[str]] = {}
    for requirement in requirements:
        if requirement.operator != "In":
            continue
        dimension = _DIMENSION[requirement.key]
        values = set(requirement.values)
        named[dimension] = named[dimension] & values if dimension in named else values
    dimensions = sorted(named)
    synthesized: list[Platform] = []
    for combination in itertools.product(*(sorted(named[d]) for d in dimensions)):
        wanted = dict(zip(dimensions, combination, strict=True))
        if any(_has(node, wanted) for node in kept):
            continue
        for default in defaults:
            candidate = _with(default, wanted)
            if (
                candidate is not None
                and candidate not in kept
                and candidate not in synthesized
                and _satisfies(candidate, requirements)
            ):
                synthesized.append(candidate)
    return kept + synthesized


def _has(node: Platform, wanted: dict[str, str]) -> bool:
    values = {_OS: node.os, _ARCH: node.architecture, _BUILD: _build(node)}
    return all(values[dimension] == value for dimension, value in wanted.items())


def _with(default: Platform, wanted: dict[str, str]) -> Platform | None:
    """`default` with the named values, or None if no kubelet labels a node so."""
    build = wanted.get(_BUILD)
    os = wanted.get(_OS, "windows" if build is not None else default.os)
    arch = wanted.get(_ARCH, default.architecture)
    if build is not None and (os != "windows" or not _BUILD_VALUE.match(build)):
        return None
    if not _LABEL_TOKEN.match(os) or platforms.normalize(os, "amd64").os != os:
        return None
    if not _LABEL_TOKEN.match(arch) or platforms.normalize(os, arch).architecture != arch:
        return None
    variant = (
        default.variant if arch == default.architecture else platforms.normalize(os, arch).variant
    )
    if os != "windows":
        version = ""
    elif build is not None:
        version = build
    else:
        version = default.os_version if default.os == "windows" else ""
    return Platform(os, arch, variant, version)


# -- findings -------------------------------------------------------------------------------


def platform_findings(
    uses: Iterable[ImageUse],
    defaults: Sequence[Platform] = DEFAULT_PLATFORMS,
    runtime: Runtime = DEFAULT_RUNTIME,
) -> list[Finding]:
    """Every image checked against every node its pod may be scheduled to.

    `image-platform-missing` where the runtime takes nothing that runs there,
    `image-not-runnable` where a container gets an artifact from an index (a single-manifest
    artifact is the images policy's), `image-volume-unsupported` where an image volume gets
    an artifact its runtime mounts empty, `image-platform-unverified` where it takes a
    manifest whose platform the gate could not learn.
    """
    findings: list[Finding] = []
    needed_by_pod: dict[int, list[Platform]] = {}
    for use in uses:
        resolution = use.resolution
        if resolution is None or not resolution.ok:
            continue
        entries = resolution.entries or platforms.entries_from_strings(resolution.platforms)
        kind = _INDEX_TYPES.get(resolution.media_type or "", platforms.MANIFEST)
        volume = use.container.is_volume
        single_artifact = kind == platforms.MANIFEST and resolution.artifact_config is not None
        if single_artifact and not volume:
            continue  # `image-not-runnable` whatever the node (the images policy's)
        needed = needed_by_pod.get(id(use.pod))
        if needed is None:
            needed = needed_by_pod[id(use.pod)] = pod_platforms(use.pod, defaults)
        verdicts = {node: platforms.choose(entries, kind, node, runtime) for node in needed}
        missing = [n for n, v in verdicts.items() if v is Choice.MISSING]
        artifact = [n for n, v in verdicts.items() if v is Choice.ARTIFACT]
        unknown = [n for n, v in verdicts.items() if v is Choice.UNKNOWN]
        if volume and kind == platforms.MANIFEST:
            # a volume is never executed, and no runtime matches a single manifest's
            # platform before pulling it: only an artifact's mount can go wrong
            missing, unknown = [], []
        before = len(findings)
        if missing:
            findings.append(_finding(use, missing, entries, kind, runtime))
        types = sorted({e.artifact for e in entries if e.artifact})
        if artifact and volume:
            shown = [] if single_artifact else artifact
            unmountable = artifact_volume_finding(use, runtime, shown, types)
            if unmountable is not None:
                findings.append(unmountable)
        elif artifact:
            findings.append(_index_artifact(use, artifact, types, runtime))
        if unknown and len(findings) == before:
            findings.append(_unverified(use, unknown, entries, runtime))
    return findings


def _index_artifact(
    use: ImageUse, nodes: list[Platform], types: Sequence[str], runtime: Runtime
) -> Finding:
    nodes_text = ", ".join(n.spec for n in nodes)
    return finding_for(
        "image-not-runnable",
        use,
        f"image {use.container.image} of container {use.container.name} gives {nodes_text} "
        f"an OCI artifact ({', '.join(types)}), not a runnable image ({runtime.label}: "
        f"{runtime.rule})",
        "The pod would show CreateContainerError there: an artifact has nothing to run. Push "
        "a runnable image for those platforms, or mount the artifact as an image volume "
        "(`volumes[].image`).",
    )


def _unverified(
    use: ImageUse, nodes: list[Platform], entries: Sequence[Entry], runtime: Runtime
) -> Finding:
    reasons = sorted({e.unknown for e in entries if e.unknown}) or [
        "its config names no architecture"
    ]
    nodes_text = ", ".join(n.spec for n in nodes)
    return finding_for(
        "image-platform-unverified",
        use,
        f"image {use.container.image}: whether {runtime.label} on {nodes_text} runs it is "
        f"unknown: the platform of the manifest it would take could not be read "
        f"({'; '.join(reasons)})",
        "The gate did not verify the platform, so it does not pass the image (exit code 3). "
        "Rebuild the image with a smaller config that names its platform, or give each index "
        "entry a `platform`; or accept it with an ignore annotation.",
    )


def _finding(
    use: ImageUse, missing: list[Platform], entries: Sequence[Entry], kind: str, runtime: Runtime
) -> Finding:
    missing_text = ", ".join(p.spec for p in missing)
    offered = _offered_text(entries, kind, runtime)
    undeclared = kind != platforms.MANIFEST and any(not e.declared for e in entries)
    windows = any(p.os == "windows" for p in missing)
    label = f"{OS_LABELS[0]} or {WINDOWS_BUILD_LABEL}" if windows else ARCH_LABELS[0]
    hint = (
        "A pod scheduled to such a node would show ErrImagePull (`no match for platform in "
        "manifest: not found`) or crash with `exec format error`. "
        + _RUNTIME_HINTS[runtime.name]
        + (_UNDECLARED_HINT if undeclared else "")
        + (_WINDOWS_HINT if windows else "")
        + f" Build and push the image for {missing_text}, or constrain the pod with a "
        f"nodeSelector on {label} (or set --platform to the platforms your nodes really have, "
        "and --runtime to their container runtime)."
    )
    return finding_for(
        "image-platform-missing",
        use,
        f"image {use.container.image} offers no manifest for {missing_text} (it offers "
        f"{offered}; {runtime.label}: {runtime.rule})",
        hint,
    )


def _offered_text(entries: Sequence[Entry], kind: str, runtime: Runtime) -> str:
    """The entries as the deciding runtime reads them (CRI-O: as written)."""
    seen: list[str] = []
    for entry in entries:
        shown = entry.raw if runtime.engine == platforms.CRIO else entry.platform
        if shown is None or not shown.architecture:
            continue
        text = shown.spec if shown.os else "(no os)" + shown.spec
        if not entry.declared and kind != platforms.MANIFEST:
            text += " from its config"
        if text not in seen:
            seen.append(text)
    return ", ".join(seen) or "nothing runnable"


_RUNTIME_HINTS = {
    "containerd-2.1": "containerd 2.1 and later pull through the transfer service, which keeps "
    "only the index entries of exactly the node's platform (an amd64 node does not take "
    "linux/386, an arm64 node not linux/arm/v7; amd64 variants such as v3 are never "
    "detected). A containerd 2.1+ whose CRI config falls back to the local pull "
    "(`use_local_image_pull`, or one of the settings that force it, such as the deprecated "
    "`registry.mirrors`/`configs`/`auths`) takes compatible platforms as containerd 2.0 does: "
    "say so, or that the nodes run containerd 1.7 or CRI-O, with --runtime.",
    "containerd-2.0": "containerd 2.0 takes the node's platform or a compatible one (amd64 "
    "also runs 386; arm64 also arm/v8 down to v5; arm/v7 also v6 and v5).",
    "containerd-1.7": "containerd 1.7 takes the node's platform or a compatible one (amd64 "
    "also runs 386; arm64 also arm/v8 down to v5; arm/v7 also v6 and v5).",
    "cri-o": "CRI-O (containers/image) takes only the node's own OS and architecture, with the "
    "node's variant, an older one or none, compared as written: no 386 on amd64, no arm on "
    "arm64, and `aarch64` or `arm/7` are not `arm64` or `arm/v7`.",
}

_UNDECLARED_HINT = (
    " An index entry without a platform is judged by its config's, and a runtime only falls "
    "back on the first such entry, when no entry with a platform fits."
)

_WINDOWS_HINT = (
    " A Windows node runs images of its own major.minor version; before build 20348 only of "
    "its own build, from Windows Server 2022 on the builds from the LTSC release before it "
    "up to its own (containerd's Windows matcher; the revision never matters)."
)
