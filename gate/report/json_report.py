"""`--format json`: the versioned, machine-readable report of the contract (version 1)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from gate.display import shown, shown_or_none
from gate.model import CheckResult, Finding, ImageUse
from gate.workload import UncheckedImage

if TYPE_CHECKING:
    from gate.report.render import RenderContext

REPORT_VERSION = 1


def build(result: CheckResult, show_suppressed: bool = False) -> dict[str, Any]:
    """The whole report as one value (what `render` writes, for callers that want data)."""
    return {
        key: list(value) if _is_rows(value) else value
        for key, value in _fields(result, show_suppressed)
    }


def _fields(result: CheckResult, show_suppressed: bool) -> Iterator[tuple[str, Any]]:
    """The report's keys in order; the long lists as generators of their entries."""
    findings = (f for f in result.findings if f.suppressed is None or show_suppressed)
    yield "version", REPORT_VERSION
    yield "summary", result.summary()
    yield "images", _image_entries(result)
    yield "findings", (finding_dict(f) for f in findings)
    yield "unchecked_image_fields", (unchecked_dict(u) for u in result.unchecked)


def _is_rows(value: Any) -> bool:
    return isinstance(value, Iterator)


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
    """`json.dumps(build(...), indent=2)`, byte for byte (see `pieces`)."""
    return "".join(pieces(result, context))


def pieces(result: CheckResult, context: RenderContext) -> Iterator[str]:
    """The report of `render`, one entry at a time: a report of tens of thousands of locations
    never exists as one nested value beside its text (on 20,000 objects that value took more
    memory than everything else), nor whole when it is written as it is made."""
    yield "{"
    for index, (key, value) in enumerate(_fields(result, context.show_suppressed)):
        yield ("\n  " if index == 0 else ",\n  ") + json.dumps(key) + ": "
        if not _is_rows(value):
            yield _indented(value, 1)
            continue
        count = 0
        for count, entry in enumerate(value, 1):
            yield ("[\n    " if count == 1 else ",\n    ") + _indented(entry, 2)
        yield "\n  ]" if count else "[]"
    yield "\n}\n"


def _indented(value: Any, depth: int) -> str:
    """`value` as `json.dumps(indent=2)` writes it `depth` levels down (JSON strings hold no
    raw line feed, so every one is a line of the layout)."""
    return json.dumps(value, indent=2).replace("\n", "\n" + "  " * depth)


def images(result: CheckResult) -> list[dict[str, Any]]:
    """One entry per image as written, in order of first appearance in the files (file by
    file as given, then by line), each with its locations in that order."""
    return list(_image_entries(result))


def _image_entries(result: CheckResult) -> Iterator[dict[str, Any]]:
    order = {file: index for index, file in enumerate(result.files)}
    in_file_order = sorted(
        result.uses,
        key=lambda u: (order.get(u.pod.object.file, len(order)), u.container.line),
    )
    grouped: dict[str, list[ImageUse]] = {}
    for use in in_file_order:
        if use.container.image is not None:
            grouped.setdefault(use.container.image, []).append(use)
    for image, uses in grouped.items():
        first = uses[0]
        working = next((u.resolution for u in uses if u.resolution and u.resolution.ok), None)
        outcome = working or first.resolution
        yield {
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
