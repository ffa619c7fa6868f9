"""Platform rules: will each image run on every node its pod may be scheduled to?

A pod may land on the platforms its `nodeSelector` and required node affinity allow on the
well-known labels `kubernetes.io/os` and `kubernetes.io/arch` (and their `beta.` forms); a pod
that constrains neither lands on the default platforms (`--platform`, config `platforms`). Every
allowed platform must be served: the scheduler may pick any of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from gate import platform as platforms
from gate.extract import PodSpec
from gate.model import Finding, ImageUse
from gate.platform import Platform
from gate.policy.images import finding_for

DEFAULT_PLATFORMS = (Platform("linux", "amd64"),)

OS_LABELS = ("kubernetes.io/os", "beta.kubernetes.io/os")
ARCH_LABELS = ("kubernetes.io/arch", "beta.kubernetes.io/arch")


def pod_platforms(pod: PodSpec, defaults: Sequence[Platform] = DEFAULT_PLATFORMS) -> list[Platform]:
    """The platforms `pod` may be scheduled to, in a stable order."""
    selector_os = _selector_values(pod.node_selector, OS_LABELS)
    selector_arch = _selector_values(pod.node_selector, ARCH_LABELS)
    result: list[Platform] = []
    for term in _required_terms(pod.affinity):
        os_in, os_out = _term_values(term, OS_LABELS)
        arch_in, arch_out = _term_values(term, ARCH_LABELS)
        oses = _intersect(selector_os, os_in)
        arches = _intersect(selector_arch, arch_in)
        for candidate in _expand(oses, arches, defaults):
            if candidate.os in os_out or candidate.architecture in arch_out:
                continue
            if candidate not in result:
                result.append(candidate)
    return result


def _selector_values(selector: dict[str, str], labels: Sequence[str]) -> set[str] | None:
    values = {selector[label].strip().lower() for label in labels if label in selector}
    return values or None


def _required_terms(affinity: dict[str, Any]) -> list[dict[str, Any]]:
    """The required node-selector terms (ORed); one empty term when there are none."""
    node = affinity.get("nodeAffinity") if isinstance(affinity, dict) else None
    required = node.get("requiredDuringSchedulingIgnoredDuringExecution") if node else None
    terms = required.get("nodeSelectorTerms") if isinstance(required, dict) else None
    if not isinstance(terms, list) or not terms:
        return [{}]
    return [t for t in terms if isinstance(t, dict)] or [{}]


def _term_values(term: dict[str, Any], labels: Sequence[str]) -> tuple[set[str] | None, set[str]]:
    """(values allowed by `In`, or None when unconstrained; values excluded by `NotIn`)."""
    allowed: set[str] | None = None
    excluded: set[str] = set()
    expressions = term.get("matchExpressions")
    for expr in expressions if isinstance(expressions, list) else []:
        if not isinstance(expr, dict) or expr.get("key") not in labels:
            continue
        raw = expr.get("values")
        values = {str(v).strip().lower() for v in raw} if isinstance(raw, list) else set()
        if expr.get("operator") == "In":
            allowed = values if allowed is None else allowed & values
        elif expr.get("operator") == "NotIn":
            excluded |= values
    return allowed, excluded


def _intersect(first: set[str] | None, second: set[str] | None) -> set[str] | None:
    if first is None:
        return second
    if second is None:
        return first
    return first & second


def _expand(
    oses: set[str] | None, arches: set[str] | None, defaults: Sequence[Platform]
) -> list[Platform]:
    """Platforms from explicit constraints, falling back on the defaults where unconstrained."""
    if arches is None:
        return [
            Platform(os, d.architecture, d.variant)
            for d in defaults
            for os in (sorted(oses) if oses is not None else [d.os])
        ]
    default_oses = sorted({d.os for d in defaults})
    return [
        platforms.normalize(os, arch)
        for os in (sorted(oses) if oses is not None else default_oses)
        for arch in sorted(arches)
    ]


def platform_findings(
    uses: Iterable[ImageUse], defaults: Sequence[Platform] = DEFAULT_PLATFORMS
) -> list[Finding]:
    """`image-platform-missing` for every image lacking a platform its pod may run on."""
    findings: list[Finding] = []
    needed_by_pod: dict[int, list[Platform]] = {}
    for use in uses:
        resolution = use.resolution
        if resolution is None or not resolution.ok or not resolution.platforms:
            continue  # unresolved, or an artifact whose platform nobody knows
        offered = [platforms.parse(p) for p in resolution.platforms]
        needed = needed_by_pod.get(id(use.pod))
        if needed is None:
            needed = needed_by_pod[id(use.pod)] = pod_platforms(use.pod, defaults)
        missing = [p for p in needed if not platforms.serves(offered, p)]
        if not missing:
            continue
        missing_text = ", ".join(str(p) for p in missing)
        offered_text = ", ".join(resolution.platforms)
        findings.append(
            finding_for(
                "image-platform-missing",
                use,
                f"image {use.container.image} offers no manifest for {missing_text} "
                f"(it offers {offered_text})",
                "A pod scheduled to such a node would show ErrImagePull (`no match for platform "
                "in manifest: not found`) or crash with `exec format error`. Build and push the "
                f"image for {missing_text}, or constrain the pod with a nodeSelector on "
                "kubernetes.io/arch (or set --platform to the platforms your nodes really have).",
            )
        )
    return findings
