"""`--format gitlab`: a GitLab Code Quality report (`artifacts:reports:codequality`).

GitLab reads `description`, `check_name`, `fingerprint`, `severity`, `location.path` and
`location.lines.begin`, validates each entry, stops at the first invalid one, and keeps one
entry per fingerprint; the merge request widget compares fingerprints between the base and
head pipelines. So fingerprints are unique within the report and stable between runs (see
`gate.report.sarif` for what they cover), and paths are relative to the checkout
(`CI_PROJECT_DIR`). The Code Climate fields GitLab ignores (`type`, `categories`,
`engine_name`, `content`) are written too, for other Code Climate consumers.

The merge request widget shows an entry as its severity, its `description` and `path:line`
(`CodequalityDegradationEntity`), so a description names the object and container first.
GitLab's validator (`app/validators/json_schemas/codeclimate.json`) sets no length on it; the
report's only limit is the instance's artifact size.

Severity: what would break the deploy is `critical` (the pod would not start or would not be
admitted); `manifest-invalid` is `blocker` (`kubectl apply` applies nothing from the file);
hygiene errors that fail nothing today (`latest`, no tag, an ignore without a reason) and
`image-registry-unreachable` (could not verify, not a proven violation) are `major`; warnings
are `minor`; suppressed findings, listed only with `--show-suppressed`, are `info`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gate.model import CheckResult, Finding
from gate.report.sarif import fingerprints, message_with_hint, object_label, report_path
from gate.rules import RULES, Severity

if TYPE_CHECKING:
    from gate.report.render import RenderContext

ENGINE_NAME = "pullgate"

ERROR_SEVERITY: Mapping[str, str] = {
    "manifest-invalid": "blocker",
    "image-latest-tag": "major",
    "image-no-tag": "major",
    "ignore-annotation-invalid": "major",
    "image-registry-unreachable": "major",
    "image-pull-unverified": "major",
}
"""Code Quality severity of an error finding, by rule; every other error is `critical`."""

_CATEGORIES: Mapping[str, list[str]] = {
    "ignore-annotation-invalid": ["Clarity"],
}


def render(result: CheckResult, context: RenderContext) -> str:
    return json.dumps(build(result, context, env=os.environ), indent=2) + "\n"


def build(
    result: CheckResult, context: RenderContext, env: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """The report entries; `env` supplies CI_PROJECT_DIR, which paths are made relative to."""
    root = (env or {}).get("CI_PROJECT_DIR") or None
    # Fingerprints over every finding, so --show-suppressed changes no other fingerprint.
    prints = fingerprints(result.findings, root)
    return [
        _issue(finding, printed, root)
        for finding, printed in zip(result.findings, prints, strict=True)
        if finding.severity is not Severity.OFF
        and (finding.suppressed is None or context.show_suppressed)
    ]


def severity(finding: Finding) -> str:
    """The Code Quality severity of `finding` (see the module docstring)."""
    if finding.suppressed is not None:
        return "info"
    if finding.severity is Severity.ERROR:
        return ERROR_SEVERITY.get(finding.rule, "critical")
    return "minor"


def description(finding: Finding) -> str:
    """What the merge request widget shows beside `path:line`, and nothing else: so it names
    the object and container first, then the finding, the fix, and where to read more."""
    text = message_with_hint(finding)
    where = object_label(finding)
    if where:
        text = f"{where}: {text}"
    if finding.rule in RULES:
        text += f" (more: pullgate explain {finding.rule})"
    if finding.suppressed is not None:
        text = f"Suppressed ({finding.suppressed}): {text}"
    return text


def _issue(finding: Finding, printed: str, root: str | None) -> dict[str, Any]:
    description_ = description(finding)
    issue: dict[str, Any] = {
        "type": "issue",
        "check_name": finding.rule,
        "description": description_,
        "categories": list(_CATEGORIES.get(finding.rule, ["Bug Risk"])),
        "location": {
            "path": report_path(finding.file, root),
            "lines": {"begin": max(1, finding.line)},
        },
        "severity": severity(finding),
        "fingerprint": printed,
        "engine_name": ENGINE_NAME,
    }
    rule = RULES.get(finding.rule)
    if rule is not None:
        issue["content"] = {
            "body": f"{rule.title}\n\n**What the pod would show:** {rule.symptom}\n\n"
            f"**Fix:** {rule.fix}"
        }
    return issue
