"""`--format text`: for people reading a CI log, grouped by file, then object, then container."""

from __future__ import annotations

import re
import textwrap
from collections import defaultdict
from typing import TYPE_CHECKING

import click

from gate.display import counted, shown, shown_or_none
from gate.exits import EXIT_OK, EXIT_UNVERIFIED, EXIT_VIOLATIONS
from gate.model import CheckResult, Finding, ImageUse, Outcome
from gate.report.digest import digest
from gate.report.hints import HintsOnce
from gate.rules import Severity

if TYPE_CHECKING:
    from gate.report.render import RenderContext

_COLORS = {"error": "red", "warning": "yellow", "ok": "green", "skipped": "cyan"}


_ObjectKey = tuple[str, str, str]


def render(result: CheckResult, context: RenderContext) -> str:
    """Every file, then each object in it: its images (ok or not) and every finding about it.

    No finding is left out: one about an image sits under that image's line, one about a
    secret, service account or annotation under its object, one about a whole document
    (`manifest-invalid`) under its file.
    """
    style = _Styler(context.color, context.width)
    hints = HintsOnce()
    findings = [f for f in result.findings if f.suppressed is None or context.show_suppressed]

    objects: dict[str, dict[_ObjectKey, list[ImageUse]]] = defaultdict(dict)
    sources: dict[tuple[str, _ObjectKey], str | None] = {}
    for use in result.uses:
        obj = use.pod.object
        key = (shown(obj.kind), shown(obj.namespace), shown(obj.name))  # as findings hold them
        objects[obj.file].setdefault(key, []).append(use)
        sources[(obj.file, key)] = shown_or_none(obj.source)
    at_image: dict[tuple[str, int, str | None], list[Finding]] = defaultdict(list)
    image_lines = {
        (u.pod.object.file, u.container.line, shown(u.container.name)) for u in result.uses
    }
    by_object: dict[str, dict[_ObjectKey, list[Finding]]] = defaultdict(dict)
    by_file: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        image_key = (finding.file, finding.line, finding.target)
        if image_key in image_lines:
            at_image[image_key].append(finding)
        elif finding.kind is not None:
            key = (finding.kind, finding.namespace or "", finding.name or "")
            by_object[finding.file].setdefault(key, []).append(finding)
            sources.setdefault((finding.file, key), finding.source)
        else:
            by_file[finding.file].append(finding)

    files = list(result.files) + sorted(
        {f.file for f in findings} - set(result.files)
    )  # e.g. a ServiceAccount finding in a file with no pods
    lines: list[str] = []
    for file in files:
        keys = list(objects.get(file, {})) + [
            k for k in by_object.get(file, {}) if k not in objects.get(file, {})
        ]
        if not keys and not by_file.get(file):
            continue
        lines.append(style.bold(shown(file)))
        for finding in by_file.get(file, []):
            lines.extend(_finding_lines(finding, style, hints, indent="  "))
        for key in keys:
            kind, namespace, name = key
            source = sources.get((file, key))
            header = f"  {kind} {namespace}/{name}"
            lines.append(style.bold(header) + (style.dim(f"  ({source})") if source else ""))
            for use in sorted(objects.get(file, {}).get(key, []), key=lambda u: u.container.line):
                image_key = (file, use.container.line, shown(use.container.name))
                lines.extend(_use_lines(use, at_image.get(image_key, []), style, hints))
            for finding in sorted(by_object.get(file, {}).get(key, []), key=lambda f: f.line):
                where = f"    line {finding.line:<5}" + (
                    f" {finding.target}:" if finding.target else ""
                )
                lines.append(where.rstrip())
                lines.extend(_finding_lines(finding, style, hints, indent="      "))
        lines.append("")
    lines.extend(_unchecked_lines(result, style))
    lines.extend(_digest_lines(findings, style))
    lines.extend(_summary_lines(result, context, style))
    return "\n".join(lines) + "\n"


def _unchecked_lines(result: CheckResult, style: _Styler) -> list[str]:
    """Image fields no rule read, each once, with why: a pass says nothing about them."""
    if not result.unchecked:
        return []
    count = len(result.unchecked)
    lines = [style.bold(f"Not checked: {count} image field{'s' if count != 1 else ''}")]
    for item in result.unchecked:
        ref = item.object
        value = f" {shown(item.value)}" if item.value else ""
        lines.append(
            f"  {shown(ref.file)}:{item.line}: {shown(ref.kind)} {shown(ref.namespace)}/"
            f"{shown(ref.name)} {shown(item.path)}{value}"
        )
        lines.extend(style.dim(line) for line in style.wrap(item.reason, "    "))
    lines.append("")
    return lines


def _use_lines(
    use: ImageUse, findings: list[Finding], style: _Styler, hints: HintsOnce
) -> list[str]:
    container = use.container
    where = (
        f"    line {container.line:<5} "
        f"{shown(container.label if container.is_volume else container.name)}: "
    )
    image = shown(container.image) if container.image else "(no image)"
    resolution = use.resolution
    if findings or resolution is None:
        out = style.wrap(f"{where}{image}", "", _USE_HANG)
    elif resolution.ok:
        digest = (resolution.digest or "")[:19]
        via = resolution.credential
        if resolution.verified_with:
            via = f"{via}, verified with {resolution.verified_with}"
        if resolution.mirror:
            via = f"{via}, from {shown(resolution.mirror)}"
        out = _stated(style, where, "ok", "ok", f"{image} -> {digest} ({via})")
    elif resolution.outcome is Outcome.NOT_PULLED:
        out = _stated(style, where, "skipped", "not pulled (pull policy Never)", image)
    elif resolution.outcome is Outcome.SKIPPED:
        out = _stated(style, where, "skipped", "not resolved (offline)", image)
    else:
        out = style.wrap(f"{where}{image}", "", _USE_HANG)
    for finding in findings:
        out.extend(_finding_lines(finding, style, hints, indent="      "))
    return out


_USE_HANG = " " * 15
"""Where an image line continues: under the container's name."""


def _stated(style: _Styler, where: str, kind: str, state: str, rest: str) -> list[str]:
    """`where` + a coloured `state` + `rest`, cut to the width (the state stays on the first
    line: `where` is short)."""
    lines = style.wrap(f"{where}{state} {rest}", "", _USE_HANG)
    if not lines[0].startswith(where + state):  # a width too narrow for even that: uncut
        lines = [f"{where}{state} {rest}"]
    lines[0] = where + style.color(kind, state) + lines[0][len(where + state) :]
    return lines


def _finding_lines(finding: Finding, style: _Styler, hints: HintsOnce, indent: str) -> list[str]:
    label = finding.severity.value
    if finding.suppressed is not None:
        label = f"suppressed {label}"
    head = f"{label} [{finding.rule}]"
    if finding.kind is None:
        head += f" line {finding.line}"
    out = style.wrap(f"{head} {finding.message}", indent, indent + "    ")
    if not out[0].startswith(indent + label):  # a width too narrow for the label: uncut
        out = [f"{indent}{head} {finding.message}"]
    out[0] = indent + style.color(finding.severity.value, label) + out[0][len(indent + label) :]
    deeper = indent + "  "
    out.extend(style.dim(line) for line in style.wrap(f"hint: {hints.text(finding)}", deeper))
    if finding.suppressed is not None:
        said = f"suppressed: {finding.suppressed}"
        out.extend(style.dim(line) for line in style.wrap(said, deeper))
    return out


def _digest_lines(findings: list[Finding], style: _Styler) -> list[str]:
    """What to fix, grouped (`gate.report.digest`), with the .pullgate.yaml blocks to paste."""
    found = digest(findings)
    if found is None:
        return []
    lines = [style.bold(f"To fix ({counted(found.findings, 'finding')}):")]
    for line in found.lines:
        ids = ", ".join(line.rules)
        if not line.names:
            lines.append(f"  {line.head} [{ids}]")
        else:
            lines.extend(style.wrap(f"{line.head} [{ids}]: {line.names}", "  ", "    "))
    for paste in found.pastes:
        lines.extend(style.dim(text) for text in style.wrap(paste.lead, "  "))
        lines.extend(style.dim(f"    {text}") for text in paste.lines)
    lines.append("")
    return lines


def _summary_lines(result: CheckResult, context: RenderContext, style: _Styler) -> list[str]:
    summary = result.summary()
    counts = (
        f"{counted(summary['files'], 'file')}, {counted(summary['objects'], 'object')}, "
        f"{counted(summary['pods'], 'pod')}, {counted(summary['images'], 'image')} "
        f"({summary['unique_images']} unique, {summary['resolved']} resolved)"
    )
    if result.offline:
        counts += ", offline: no registry was asked"
    tally = f"{counted(summary['errors'], 'error')}, {counted(summary['warnings'], 'warning')}"
    if summary["suppressed"]:
        tally += f", {summary['suppressed']} suppressed"
    if summary["unchecked_image_fields"]:
        tally += f", {counted(summary['unchecked_image_fields'], 'image field')} not checked"
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
    return [
        *style.wrap(counts, "", "  "),
        *style.wrap(tally, "", "  "),
        f"{verdict}: {explain} (exit {context.exit_code})",
    ]


_CONFIG_ENTRY = re.compile(r"`[a-z-]+: [\[{][^`]*`")
"""A config entry in a hint (`secrets: {external: [...]}`), kept on one line to be pasted."""
_HELD = "\x00"
"""Stands for a space inside a config entry while lines are cut (no text shown holds it:
`gate.display` escapes control characters)."""


class _Styler:
    """Colours (on a terminal, or when asked) and lines cut to the terminal's width (on a
    terminal only: a CI log or a file keeps each finding and hint on one line)."""

    def __init__(self, enabled: bool, width: int | None = None) -> None:
        self.enabled = enabled
        self.width = width

    def wrap(self, text: str, indent: str, hang: str | None = None) -> list[str]:
        """`text` after `indent`, cut at spaces to the width (never inside a word or a config
        entry: an image reference, a command or an entry stays whole, to be copied),
        continued at `hang` (default: `indent`)."""
        if self.width is None or len(indent) + len(text) <= self.width:
            return [indent + text]
        kept = _CONFIG_ENTRY.sub(lambda span: span.group().replace(" ", _HELD), text)
        lines = textwrap.wrap(
            kept,
            width=max(self.width, len(indent) + 20),
            initial_indent=indent,
            subsequent_indent=indent if hang is None else hang,
            break_long_words=False,
            break_on_hyphens=False,
        )
        return [line.replace(_HELD, " ") for line in lines]

    def color(self, kind: str, text: str) -> str:
        if not self.enabled:
            return text
        return click.style(text, fg=_COLORS.get(kind), bold=kind == Severity.ERROR.value)

    def bold(self, text: str) -> str:
        return click.style(text, bold=True) if self.enabled else text

    def dim(self, text: str) -> str:
        return click.style(text, dim=True) if self.enabled else text
