"""`--format github`: workflow-command annotations, the full list, and the job step summary.

GitHub shows at most 10 error and 10 warning annotations per step and drops the rest
silently, so only the 10 most severe of each kind are annotated, a notice says how many more
there are, and the plain-text report follows in the log (between `stop-commands` markers, so
nothing a manifest contains can be taken for a workflow command).

The renderer only prints: the step summary is a separate call (`write_step_summary`), because
one run may render this format twice (`--format github --report github=FILE`) but must append
to `$GITHUB_STEP_SUMMARY` once.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gate.display import TEXT_LIMIT, shown
from gate.exits import EXIT_OK, EXIT_UNVERIFIED, EXIT_VIOLATIONS
from gate.model import CheckResult, Finding
from gate.report import json_report, text_report
from gate.report.sarif import report_path, severity_order
from gate.rules import RULES, Severity

if TYPE_CHECKING:
    from gate.report.render import RenderContext

ANNOTATION_LIMIT = 10
"""Annotations of each kind GitHub keeps per step."""
STEP_SUMMARY_LIMIT = 1024 * 1024
"""GitHub rejects a step's summary above 1 MiB (and shows none of it)."""

_KINDS = {Severity.ERROR: "error", Severity.WARNING: "warning"}
_STATUS = {
    "skipped": "not resolved (offline)",
    "not-pulled": "not pulled (pull policy Never)",
    "unverified": "could not verify",
    "keyring-invalid": "pull secret unreadable by the kubelet",
    "no-host": "no configured host may serve it",
}


def render(result: CheckResult, context: RenderContext) -> str:
    return render_with_env(result, context, os.environ)


def render_with_env(result: CheckResult, context: RenderContext, env: Mapping[str, str]) -> str:
    """The log output; `env` supplies GITHUB_WORKSPACE (annotation paths are relative to it)
    and GITHUB_STEP_SUMMARY (whether the notice may point to the job summary)."""
    lines = annotation_lines(
        result,
        workspace=env.get("GITHUB_WORKSPACE") or None,
        has_summary=bool(env.get("GITHUB_STEP_SUMMARY")),
    )
    text = text_report.render(result, replace(context, color=False))
    lines.extend(_verbatim(text))
    return "\n".join(lines) + "\n"


def annotation_lines(
    result: CheckResult, workspace: str | None = None, has_summary: bool = False
) -> list[str]:
    """`::error`/`::warning` lines for the 10 most severe findings of each kind, and a
    `::notice` counting the rest."""
    active = [f for f in result.findings if f.suppressed is None and f.severity in _KINDS]
    lines: list[str] = []
    hidden: dict[Severity, int] = {}
    for severity, kind in _KINDS.items():
        ranked = severity_order([f for f in active if f.severity is severity])
        lines.extend(_annotation(kind, f, workspace) for f in ranked[:ANNOTATION_LIMIT])
        hidden[severity] = max(0, len(ranked) - ANNOTATION_LIMIT)
    if any(hidden.values()):
        lines.append(_overflow_notice(active, hidden, has_summary))
    if result.unchecked:
        lines.append(_unchecked_notice(result, workspace))
    return lines


def _unchecked_notice(result: CheckResult, workspace: str | None) -> str:
    """One notice at the first image field no rule read, counting them all: a pass says
    nothing about those images."""
    first, count = result.unchecked[0], len(result.unchecked)
    message = (
        f"{count} image field{'s' if count != 1 else ''} not checked, first "
        f"{shown(first.object.kind)} {shown(first.object.namespace)}/{shown(first.object.name)} "
        f"{shown(first.path)}: "
        f"{first.reason}. The full list is in this step's log below."
    )
    properties = {
        "file": report_path(first.object.file, workspace),
        "line": str(first.line),
        "title": "pullgate: image fields not checked",
    }
    return command("notice", message, properties)


def _annotation(kind: str, finding: Finding, workspace: str | None) -> str:
    rule = RULES.get(finding.rule)
    title = f"{finding.rule}: {rule.title}" if rule else finding.rule
    where = _object_label(finding)
    message = f"{finding.message}\n{finding.hint}" + (f"\n{where}" if where else "")
    properties = {"file": report_path(finding.file, workspace)}
    if finding.line >= 1:
        properties["line"] = str(finding.line)
    properties["title"] = title
    return command(kind, message, properties)


def _overflow_notice(
    active: Sequence[Finding], hidden: Mapping[Severity, int], summary: bool
) -> str:
    more = " and ".join(
        f"{count} more {_KINDS[severity]}{'s' if count != 1 else ''}"
        for severity, count in hidden.items()
        if count
    )
    errors = sum(1 for f in active if f.severity is Severity.ERROR)
    warnings = len(active) - errors
    where = "in this step's log below" + (" and in the job summary" if summary else "")
    message = (
        f"{more} not annotated: GitHub shows only {ANNOTATION_LIMIT} annotations of each kind "
        f"per step. The full list ({errors} errors, {warnings} warnings) is {where}."
    )
    return command("notice", message, {"title": "pullgate: more findings"})


def command(name: str, message: str, properties: Mapping[str, str] | None = None) -> str:
    """One workflow command line, escaped as the runner unescapes it."""
    props = ",".join(f"{key}={escape_property(value)}" for key, value in (properties or {}).items())
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def _verbatim(text: str) -> list[str]:
    """Wrap `text` so the runner executes no `::command::` inside it.

    The token is derived from the text itself: deterministic, and no manifest can contain the
    hash of a text that contains it.
    """
    token = "pullgate-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
    return [f"::stop-commands::{token}", *text.rstrip("\n").split("\n"), f"::{token}::"]


def _object_label(finding: Finding) -> str:
    if finding.kind is None:
        return ""
    label = f"{finding.kind} {finding.namespace}/{finding.name}"
    if finding.container is not None:
        label += f", container {finding.container}"
    elif finding.volume is not None:
        label += f", image volume {finding.volume}"
    return label


# Step summary


def write_step_summary(
    result: CheckResult, context: RenderContext, path: str | os.PathLike[str]
) -> None:
    """Append the Markdown summary to `path` (the value of GITHUB_STEP_SUMMARY), within what is
    left of the step's 1 MiB. Raises OSError if the file cannot be written."""
    target = Path(path)
    existing = target.stat().st_size if target.exists() else 0
    separator = "\n" if existing else ""
    room = STEP_SUMMARY_LIMIT - existing - len(separator)
    text = step_summary(result, context, limit=room)
    if not text:
        return
    with target.open("a", encoding="utf-8", newline="") as handle:
        handle.write(separator + text)


def step_summary(
    result: CheckResult, context: RenderContext, limit: int = STEP_SUMMARY_LIMIT
) -> str:
    """Verdict, images (digest, credential) and findings as Markdown, under `limit` bytes:
    tables are cut (findings keep at least two thirds of the room) with a note saying so."""
    head = _summary_head(result, context)
    image_header, image_rows = _image_table(result)
    finding_header, finding_rows = _finding_table(result, context)
    notes_room = 2 * (len(_cut_note(10**9, "findings").encode("utf-8")) + 2)
    fixed = _size(head) + _size(image_header) + _size(finding_header) + notes_room
    budget = limit - fixed
    if budget < 0:
        text = "\n".join(head) + "\n"
        return text if len(text.encode("utf-8")) <= limit else ""
    image_need = _size(image_rows)
    finding_need = _size(finding_rows)
    if image_need + finding_need <= budget:
        image_budget = image_need
    else:
        image_budget = min(image_need, max(budget - finding_need, budget // 3))
    images, images_cut = _fit(image_rows, image_budget)
    findings, findings_cut = _fit(finding_rows, budget - _size(images))

    parts = [head]
    if image_rows:
        parts.append(image_header + images)
        if images_cut:
            parts.append([_cut_note(images_cut, "images")])
    if finding_rows:
        parts.append(finding_header + findings)
        if findings_cut:
            parts.append([_cut_note(findings_cut, "findings")])
    return "".join("\n".join(part) + "\n\n" for part in parts).rstrip("\n") + "\n"


def _summary_head(result: CheckResult, context: RenderContext) -> list[str]:
    summary = result.summary()
    verdict, meaning = {
        EXIT_OK: ("✅ passed", f"nothing at or above `{context.fail_on}`"),
        EXIT_VIOLATIONS: ("❌ failed", f"findings at or above `{context.fail_on}`"),
        EXIT_UNVERIFIED: ("⚠️ not verified", "some images could not be verified"),
    }.get(context.exit_code, ("❌ failed", "see the log"))
    lines = [f"## pullgate: {verdict}", "", f"{meaning.capitalize()} (exit {context.exit_code})."]
    if result.offline:
        lines[-1] += " Offline: no registry was asked, images are not resolved."
    keys = ["files", "objects", "pods", "images", "unique_images", "resolved"]
    keys += ["errors", "warnings", "suppressed"]
    if summary["unchecked_image_fields"]:
        keys.append("unchecked_image_fields")
    lines += [
        "",
        "| " + " | ".join(key.replace("_", " ") for key in keys) + " |",
        "|" + "---:|" * len(keys),
        "| " + " | ".join(str(summary[key]) for key in keys) + " |",
    ]
    return lines


def _image_table(result: CheckResult) -> tuple[list[str], list[str]]:
    header = [
        "### Images",
        "",
        "| Image | Digest | Credential | Platforms | Status | Used by |",
        "|---|---|---|---|---|---|",
    ]
    rows = []
    for entry in json_report.images(result):
        locations: list[dict[str, Any]] = entry["locations"]
        first = locations[0]
        used = f"{first['kind']} {first['namespace']}/{first['name']} ({first['container']})"
        if len(locations) > 1:
            used += f" +{len(locations) - 1} more"
        cells = [
            _code(entry["reference"]),
            _code(entry["digest"]) if entry["digest"] else "—",
            _cell(_credential(entry)),
            _cell(", ".join(entry["platforms"]) or "—"),
            _cell(_STATUS.get(entry["status"], entry["status"])),
            _cell(used),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return header, rows


def _credential(entry: dict[str, Any]) -> str:
    """The credential that worked, and the CI login that verified for it, if one had to."""
    credential = entry["credential"] or "—"
    if entry.get("verified_with"):
        credential += f" (verified with {entry['verified_with']})"
    return str(credential)


def _finding_table(result: CheckResult, context: RenderContext) -> tuple[list[str], list[str]]:
    header = [
        "### Findings",
        "",
        "| Severity | Rule | Location | Object | Message |",
        "|---|---|---|---|---|",
    ]
    shown = [f for f in result.findings if f.suppressed is None or context.show_suppressed]
    rows = []
    for finding in severity_order(shown):
        severity = finding.severity.value
        if finding.suppressed is not None:
            severity = f"suppressed {severity}"
        where = f"{finding.file}:{finding.line}"
        text = f"{finding.message}\n{finding.hint}"
        if finding.suppressed is not None:
            text += f"\nsuppressed: {finding.suppressed}"
        cells = [
            severity,
            _code(finding.rule),
            _code(where),
            _cell(_object_label(finding) or "—"),
            _cell(text),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return header, rows


def _cut_note(count: int, what: str) -> str:
    return (
        f"_… and {count} more {what}, left out: a step summary is limited to 1 MiB. The job log "
        "and the report files have the full list._"
    )


def _fit(rows: list[str], budget: int) -> tuple[list[str], int]:
    kept: list[str] = []
    used = 0
    for row in rows:
        size = len(row.encode("utf-8")) + 1
        if used + size > budget:
            break
        kept.append(row)
        used += size
    return kept, len(rows) - len(kept)


def _size(lines: Sequence[str]) -> int:
    return sum(len(line.encode("utf-8")) + 1 for line in lines) + (2 if lines else 0)


def _cell(text: str) -> str:
    """Table-cell text: no HTML from manifests, no cell breaks, newlines as <br>, any other
    control character escaped (`gate.display`)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    escaped = "\n".join(shown(line, TEXT_LIMIT) for line in lines)
    escaped = escaped.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped.replace("|", "\\|").replace("\n", "<br>")


def _code(text: str) -> str:
    """A code span that survives any backticks in `text` (image names come from manifests)."""
    text = text.replace("\r", " ").replace("\n", " ").replace("|", "\\|")
    longest = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
