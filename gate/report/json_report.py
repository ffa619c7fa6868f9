"""`--format json`: the versioned, machine-readable report of the contract (version 1)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from gate.display import shown, shown_or_none
from gate.model import CheckResult, Finding, ImageUse
from gate.workload import UncheckedImage

if TYPE_CHECKING:
    from gate.report import RenderContext

REPORT_VERSION = 1


def build(result: CheckResult, show_suppressed: bool = False) -> dict[str, Any]:
    findings = [f for f in result.findings if f.suppressed is None or show_suppressed]
    return {
        "version": REPORT_VERSION,
        "summary": result.summary(),
        "images": images(result),
        "findings": [finding_dict(f) for f in findings],
        "unchecked_image_fields": [unchecked_dict(u) for u in result.unchecked],
    }


def unchecked_dict(unchecked: UncheckedImage) -> dict[str, Any]:
    """An image field no rule read: where it is, what it says, and why it was not checked."""
    ref = unchecked.object
    return {
        "file": ref.file,
        "line": unchecked.line,
        "api_version": shown(ref.api_version),
        "kind": shown(ref.kind),
        "namespace": shown(ref.namespace),
        "name": shown(ref.name),
        "path": shown(unchecked.path),
        "value": shown_or_none(unchecked.value),
        "reason": unchecked.reason,
    }


def render(result: CheckResult, context: RenderContext) -> str:
    return json.dumps(build(result, context.show_suppressed), indent=2) + "\n"


def images(result: CheckResult) -> list[dict[str, Any]]:
    """One entry per image as written, in order of first appearance in the files (file by
    file as given, then by line), each with its locations in that order."""
    order = {file: index for index, file in enumerate(result.files)}
    in_file_order = sorted(
        result.uses,
        key=lambda u: (order.get(u.pod.object.file, len(order)), u.container.line),
    )
    grouped: dict[str, list[ImageUse]] = {}
    for use in in_file_order:
        if use.container.image is not None:
            grouped.setdefault(use.container.image, []).append(use)
    entries = []
    for image, uses in grouped.items():
        first = uses[0]
        working = next((u.resolution for u in uses if u.resolution and u.resolution.ok), None)
        outcome = working or first.resolution
        entries.append(
            {
                "reference": shown(image),
                "canonical": first.reference.canonical if first.reference else None,
                "digest": working.digest if working else None,
                "media_type": working.media_type if working else None,
                "platforms": list(working.platforms) if working else [],
                "credential": working.credential if working else None,
                "verified_with": working.verified_with if working else None,
                "status": outcome.outcome.value if outcome else "invalid",
                **({"mirror": working.mirror} if working and working.mirror else {}),
                **({"endpoint": working.endpoint} if working and working.endpoint else {}),
                "locations": [_location(u) for u in uses],
            }
        )
    return entries


def _location(use: ImageUse) -> dict[str, Any]:
    pod = use.pod.object
    entry: dict[str, Any] = {
        "file": pod.file,
        "line": use.container.line,
        "kind": shown(pod.kind),
        "namespace": shown(pod.namespace),
        "name": shown(pod.name),
        "container": None if use.container.is_volume else shown(use.container.name),
        "credential": use.resolution.credential if use.resolution else None,
        "verified_with": use.resolution.verified_with if use.resolution else None,
    }
    if use.resolution and use.resolution.endpoint:
        entry["endpoint"] = use.resolution.endpoint
    if use.container.is_volume:
        entry["volume"] = shown(use.container.name)
    if pod.source:
        entry["source"] = shown(pod.source)
    return entry


def finding_dict(finding: Finding) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "rule": finding.rule,
        "severity": finding.severity.value,
        "message": finding.message,
        "hint": finding.hint,
        "image": finding.image,
        "file": finding.file,
        "line": finding.line,
        "kind": finding.kind,
        "namespace": finding.namespace,
        "name": finding.name,
        "container": finding.container,
    }
    if finding.volume is not None:
        entry["volume"] = finding.volume
    if finding.source:
        entry["source"] = finding.source
    if finding.suppressed is not None:
        entry["suppressed"] = finding.suppressed
    return entry
