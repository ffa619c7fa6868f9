"""`--format text`: for people reading a CI log, grouped by file, then object, then container."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import click

from gate.model import CheckResult, Finding, ImageUse, Outcome
from gate.policy import EXIT_OK, EXIT_UNVERIFIED, EXIT_VIOLATIONS
from gate.rules import Severity

if TYPE_CHECKING:
    from gate.report import RenderContext

_COLORS = {"error": "red", "warning": "yellow", "ok": "green", "skipped": "cyan"}
_INDENT_HINT = " " * 13


def render(result: CheckResult, context: RenderContext) -> str:
    style = _Styler(context.color)
    findings = [f for f in result.findings if f.suppressed is None or context.show_suppressed]
    by_container: dict[tuple[str, int, str | None], list[Finding]] = defaultdict(list)
    loose: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.container is not None:
            by_container[(finding.file, finding.line, finding.container)].append(finding)
        else:
            loose[finding.file].append(finding)

    objects: dict[str, dict[tuple[str, str, str], list[ImageUse]]] = defaultdict(dict)
    for use in result.uses:
        obj = use.pod.object
        objects[obj.file].setdefault((obj.kind, obj.namespace, obj.name), []).append(use)

    lines: list[str] = []
    for file in result.files:
        if file not in objects and file not in loose:
            continue
        lines.append(style.bold(file))
        for finding in loose.get(file, []):
            lines.extend(_finding_lines(finding, style, indent="  "))
        for (kind, namespace, name), uses in objects.get(file, {}).items():
            source = uses[0].pod.object.source
            header = f"  {kind} {namespace}/{name}"
            lines.append(style.bold(header) + (style.dim(f"  ({source})") if source else ""))
            for use in sorted(uses, key=lambda u: u.container.line):
                key = (use.pod.object.file, use.container.line, use.container.name)
                lines.extend(_use_lines(use, by_container.pop(key, []), style))
        lines.append("")
    lines.extend(_summary_lines(result, context, style))
    return "\n".join(lines) + "\n"


def _use_lines(use: ImageUse, findings: list[Finding], style: _Styler) -> list[str]:
    container = use.container
    where = f"    line {container.line:<5} {container.name}"
    image = container.image or "(no image)"
    resolution = use.resolution
    if not findings:
        if resolution is not None and resolution.ok:
            digest = (resolution.digest or "")[:19]
            state = style.color("ok", "ok")
            return [f"{where}: {state} {image} -> {digest} ({resolution.credential})"]
        if resolution is not None and resolution.outcome is Outcome.SKIPPED:
            return [f"{where}: {style.color('skipped', 'not resolved (offline)')} {image}"]
        return [f"{where}: {image}"]
    out = [f"{where}: {image}"]
    for finding in findings:
        out.extend(_finding_lines(finding, style, indent="      "))
    return out


def _finding_lines(finding: Finding, style: _Styler, indent: str) -> list[str]:
    label = finding.severity.value
    if finding.suppressed is not None:
        label = f"suppressed {label}"
    head = f"{indent}{style.color(finding.severity.value, label)} [{finding.rule}]"
    if finding.container is None:
        head += f" line {finding.line}"
    out = [f"{head} {finding.message}"]
    out.append(style.dim(f"{indent}  hint: {finding.hint}"))
    if finding.suppressed is not None:
        out.append(style.dim(f"{indent}  suppressed: {finding.suppressed}"))
    return out


def _summary_lines(result: CheckResult, context: RenderContext, style: _Styler) -> list[str]:
    summary = result.summary()
    counts = (
        f"{summary['files']} files, {summary['objects']} objects, {summary['pods']} pods, "
        f"{summary['images']} images ({summary['unique_images']} unique, "
        f"{summary['resolved']} resolved)"
    )
    if result.offline:
        counts += ", offline: no registry was asked"
    tally = f"{summary['errors']} errors, {summary['warnings']} warnings"
    if summary["suppressed"]:
        tally += f", {summary['suppressed']} suppressed"
    verdicts = {
        EXIT_OK: style.color("ok", "PASSED"),
        EXIT_VIOLATIONS: style.color("error", "FAILED"),
        EXIT_UNVERIFIED: style.color("warning", "NOT VERIFIED"),
    }
    verdict = verdicts.get(context.exit_code, "FAILED")
    explain = {
        EXIT_OK: f"nothing at or above {context.fail_on}",
        EXIT_VIOLATIONS: f"findings at or above {context.fail_on}",
        EXIT_UNVERIFIED: "some images could not be verified (registry unreachable)",
    }.get(context.exit_code, "")
    return [counts, tally, f"{verdict}: {explain} (exit {context.exit_code})"]


class _Styler:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def color(self, kind: str, text: str) -> str:
        if not self.enabled:
            return text
        return click.style(text, fg=_COLORS.get(kind), bold=kind == Severity.ERROR.value)

    def bold(self, text: str) -> str:
        return click.style(text, bold=True) if self.enabled else text

    def dim(self, text: str) -> str:
        return click.style(text, dim=True) if self.enabled else text
