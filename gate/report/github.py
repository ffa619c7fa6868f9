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
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gate.display import TEXT_LIMIT, counted, shown
from gate.exits import EXIT_OK, EXIT_UNVERIFIED, EXIT_VIOLATIONS
from gate.model import CheckResult, Finding
from gate.report import json_report, text_report
from gate.report.digest import digest
from gate.report.hints import HintsOnce
from gate.report.sarif import object_label, report_path, severity_order
from gate.rules import RULES, Severity

if TYPE_CHECKING:
    from gate.report.render import RenderContext

ANNOTATION_LIMIT = 10
"""Annotations of each kind GitHub keeps per step."""
STEP_SUMMARY_LIMIT = 1024 * 1024
"""GitHub rejects a step's summary above 1 MiB (and shows none of it)."""

_KINDS = {Severity.ERROR: "error", Severity.WARNING: "warning"}
_STATUS = {
    "resolved": "ok",
    "manifest-unknown": "tag or digest not found",
    "name-unknown": "repository not found",
    "unauthorized": "refused to the pod's credentials",
    "unreachable": "registry unreachable",
    "invalid-response": "could not verify (unusable answer)",
    "manifest-invalid": "damaged content",
    "refused": "not asked (plain HTTP)",
    "skipped": "not resolved (offline)",
    "not-pulled": "not pulled (pull policy Never)",
    "unverified": "could not verify",
    "keyring-invalid": "pull secret unreadable by the kubelet",
    "no-host": "no configured host may serve it",
    "invalid": "not a valid reference",
}
"""The images table's words for each `status` of the JSON report."""


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
    where = object_label(finding)
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
    """Markdown under `limit` bytes: the verdict and counts; what to fix, grouped, with the
    .pullgate.yaml blocks to paste; one table of images (digest, credential); then the
    findings grouped by object, each hint in full once. What does not fit is cut with a note
    saying how much (findings keep at least two thirds of the room the tables share)."""
    head = _summary_head(result, context)
    image_header, image_rows = _image_table(result)
    finding_header, finding_rows = _finding_groups(result, context)
    notes_room = 2 * (len(_cut_note(10**9, "finding").encode("utf-8")) + 2)
    fixed = _size(head) + _size(image_header) + _size(finding_header) + notes_room
    fixes = _fixes(result, room=(limit - fixed) // 4)
    fixed += _size(fixes)
    budget = limit - fixed
    if budget < 0:
        text = "\n".join(head) + "\n"
        return text if len(text.encode("utf-8")) <= limit else ""
    image_need = _size(image_rows)
    finding_need = sum(len(row.encode("utf-8")) + 1 for row, _ in finding_rows)
    if image_need + finding_need <= budget:
        image_budget = image_need
    else:
        image_budget = min(image_need, max(budget - finding_need, budget // 3))
    images, images_cut = _fit(image_rows, image_budget)
    findings, findings_cut = _fit_findings(finding_rows, budget - _size(images))

    parts = [head]
    if fixes:
        parts.append(fixes)
    if images:
        parts.append(image_header + images)
    if images_cut:
        parts.append([_cut_note(images_cut, "image", after=bool(images))])
    if findings:
        parts.append(finding_header + findings)
    if findings_cut:
        parts.append([_cut_note(findings_cut, "finding", after=bool(findings))])
    return "".join("\n".join(part) + "\n\n" for part in parts).rstrip("\n") + "\n"


def _fixes(result: CheckResult, room: int) -> list[str]:
    """The digest (`gate.report.digest`) as a list, then its blocks to paste as YAML; in at
    most `room` bytes: without the blocks if need be (the log has them), else not at all."""
    found = digest(result.findings)
    if found is None:
        return []
    lines = [f"### To fix ({counted(found.findings, 'finding')})", ""]
    for line in found.lines:
        ids = ", ".join(_code(rule, False) for rule in line.rules)
        names = f": {_prose(line.names)}" if line.names else ""
        lines.append(f"- {_prose(line.head)} ({ids}){names}")
    with_pastes = list(lines)
    for paste in found.pastes:
        fence = _fence(paste.lines)
        with_pastes += ["", _prose(paste.lead), "", f"{fence}yaml", *paste.lines, fence]
    if _size(with_pastes) <= room:
        return with_pastes
    if found.pastes:
        lines += ["", "_The .pullgate.yaml entries to paste are in the job log._"]
    return lines if _size(lines) <= room else []


def _fence(lines: Sequence[str]) -> str:
    """A code fence longer than any run of backticks in `lines`."""
    return "`" * max(3, max(map(_longest_ticks, lines), default=0) + 1)


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


def _finding_groups(
    result: CheckResult, context: RenderContext
) -> tuple[list[str], list[tuple[str, int]]]:
    """The findings under a heading per object (per file, for a finding about a whole
    document), in file and line order as the text report has them; each row with the number
    of findings it holds, so a cut can say how many were left out."""
    header = ["### Findings by object"]
    chosen = [f for f in result.findings if f.suppressed is None or context.show_suppressed]
    order = {file: index for index, file in enumerate(result.files)}
    groups: dict[tuple[str, str | None, str | None, str | None], list[Finding]] = {}
    for finding in sorted(chosen, key=lambda f: (order.get(f.file, len(order)), f.file, f.line)):
        key = (finding.file, finding.kind, finding.namespace, finding.name)
        groups.setdefault(key, []).append(finding)
    hints = HintsOnce()
    rows: list[tuple[str, int]] = []
    for (file, kind, namespace, name), found in groups.items():
        if kind is None:
            title = f"#### {_code(file, False)}"
        else:
            title = (
                f"#### {_prose(kind)} {_code(f'{namespace}/{name}', False)} in {_code(file, False)}"
            )
            if found[0].source:
                title += f" (from {_code(found[0].source, False)})"
        rows.append(("\n" + title + "\n", 0))
        rows.extend((_finding_item(finding, hints), 1) for finding in found)
    return header, rows


def _finding_item(finding: Finding, hints: HintsOnce) -> str:
    label = f"**{finding.severity.value}**"
    if finding.suppressed is not None:
        label = f"suppressed {finding.severity.value}"
    where = [f"line {finding.line}"] if finding.line >= 1 else []
    if finding.container is not None:
        where.append(f"container {_code(finding.container, False)}")
    elif finding.volume is not None:
        where.append(f"image volume {_code(finding.volume, False)}")
    item = f"- {label} {_code(finding.rule, False)}, {', '.join(where)}: {_prose(finding.message)}"
    item += f"<br>Fix: {_prose(hints.text(finding))}"
    if finding.suppressed is not None:
        item += f"<br>Suppressed: {_prose(finding.suppressed)}"
    return item


def _cut_note(count: int, what: str, after: bool = True) -> str:
    """How many rows were left out, `after` some were shown (else a section of no rows)."""
    lead = f"… and {counted(count, 'more ' + what)}" if after else counted(count, what)
    return (
        f"_{lead}, left out to keep the step's summary within GitHub's 1 MiB. The job log and "
        "the report files have the full list._"
    )


def _fit_findings(rows: list[tuple[str, int]], budget: int) -> tuple[list[str], int]:
    """The rows that fit in `budget` bytes (a heading only with a finding after it), and how
    many findings were left out."""
    kept, _ = _fit([row for row, _ in rows], budget)
    while kept and rows[len(kept) - 1][1] == 0:
        kept.pop()
    return kept, sum(count for _, count in rows[len(kept) :])


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
    """Table-cell text from a manifest, shown as written (`_literal`), no `|` splitting the
    cell."""
    return _literal(text, in_table=True)


_TICKS = re.compile("`+")


def _longest_ticks(text: str) -> int:
    """The longest run of backticks in `text` (a fence must be longer)."""
    return max(map(len, _TICKS.findall(text)), default=0)


def _prose(text: str) -> str:
    """Markdown text outside a table, keeping its `code spans`: outside them no HTML and no
    link from a manifest, newlines as <br>; inside them nothing is escaped (Markdown shows a
    code span as written). Spans are paired as CommonMark pairs them, so a stray backtick in
    a manifest value is escaped, not taken for a span."""
    out: list[str] = []
    at = 0
    while at < len(text):
        start = _TICKS.search(text, at)
        if start is None:
            out.append(_plain(text[at:]))
            break
        out.append(_plain(text[at : start.start()]))
        ticks = start.group()
        close = re.compile(f"(?<!`){ticks}(?!`)").search(text, start.end())
        if close is None:
            out.append("\\`" * len(ticks))
            at = start.end()
            continue
        out.append(text[start.start() : close.end()].replace("\n", " "))
        at = close.end()
    return "".join(out)


def _plain(text: str) -> str:
    """Text between code spans, shown as written (`_literal`)."""
    return _literal(text, in_table=False)


_APART = "<!-- -->"
"""Written after each `@`: GFM links an address (`a@b.cd`, and shapes beyond any pattern of
ours, `a@.b.cd`, `xmpp:@_w.ex`) that no escape stops, because cmark-gfm matches it in the
text left once escapes are undone; an empty comment ends that text there and shows nothing."""
_WWW = re.compile("(www)[.]", re.IGNORECASE)
_SCHEME = re.compile(":(?=//)")
"""A URL's `scheme://`: GFM links `http://`, `https://` and `ftp://` bare; GitHub's cmark-gfm
finds no scheme before an escaped colon (an address after `mailto:` is an address, above)."""
_PUNCTUATION = re.compile(r"[\\`*_~\[\]]")
"""Escaped with a backslash: backslash itself (so it escapes nothing after it), code spans,
emphasis, strike-through, links and images."""


def _literal(text: str, in_table: bool) -> str:
    """Manifest text in Markdown, shown as written: no HTML, no link or image, no emphasis, no
    autolink (GFM links bare `www.` names, URLs and addresses), newlines as <br>, control
    characters escaped (`gate.display`), no backtick left to pair with a span beside it."""
    lines = text.replace("\r\n", "\n").split("\n")
    return _escaped("\n".join(shown(line, TEXT_LIMIT) for line in lines), in_table)


def _escaped(text: str, in_table: bool) -> str:
    escaped = _PUNCTUATION.sub(lambda match: "\\" + match.group(), text)
    escaped = escaped.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = _WWW.sub(lambda match: match.group(1) + "\\.", escaped)
    escaped = _SCHEME.sub("\\:", escaped).replace("@", "@" + _APART)
    if in_table:
        escaped = escaped.replace("|", "\\|")
    return escaped.replace("\n", "<br>")


def _code(text: str, in_table: bool = True) -> str:
    """A code span that survives any backticks in `text` (image names come from manifests);
    in a table, a `|` is escaped so it splits no cell (elsewhere it needs none). An empty
    text is shown as `""`."""
    text = text.replace("\r", " ").replace("\n", " ")
    if in_table:
        text = text.replace("|", "\\|")
    if not text:  # empty fences are one run, which would pair with a later span's
        return '`""`'
    fence = "`" * (_longest_ticks(text) + 1)
    # CommonMark strips one space each side of a span's text unless it is only spaces
    padded = text.strip(" ") and (text[0] in " `" or text[-1] in " `")
    pad = " " if padded else ""
    return f"{fence}{pad}{text}{pad}{fence}"
