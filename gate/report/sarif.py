"""`--format sarif`: SARIF 2.1.0 for GitHub code scanning and any other SARIF viewer.

Rule metadata comes from `gate.rules`, so code scanning explains a rule in the same words as
`pullgate explain`. This module also holds the helpers every machine format shares (report
paths, finding identities and fingerprints), so SARIF, GitLab Code Quality and JUnit agree on
which finding is which.

Fingerprint (`partialFingerprints["pullgate/v1"]`, also GitLab's `fingerprint`): SHA-256 of
rule, report path, object kind, namespace, name, container and image (for findings outside any
object: the message, which never contains a line number). The line is deliberately left out so
that an alert survives unrelated edits above it; a second finding with the very same identity
(e.g. two pod specs of one custom resource with the same container) gets an ordinal, counted in
report order, so fingerprints are unique within a run and the first one never changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from gate import __version__
from gate.model import CheckResult, Finding
from gate.rules import RULES, Rule, Severity
from gate.verdict import UNVERIFIED_RULES

if TYPE_CHECKING:
    from gate.report.render import RenderContext

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/pullgate/"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "pullgate/v1"
"""Versioned: a change to what the hash covers must get a new key, never reuse this one."""

_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.OFF: "none"}


def render(result: CheckResult, context: RenderContext) -> str:
    return json.dumps(build(result, context, env=os.environ), indent=2) + "\n"


def build(
    result: CheckResult,
    context: RenderContext,
    env: Mapping[str, str] | None = None,
    srcroot: str | None = None,
) -> dict[str, Any]:
    """The SARIF log; `env` gives GITHUB_WORKSPACE (paths under it become relative) and
    `srcroot` the directory relative paths start from (default: the working directory)."""
    root = (env or {}).get("GITHUB_WORKSPACE") or None
    rules = list(RULES.values())
    index = {rule.id: i for i, rule in enumerate(rules)}
    prints = fingerprints(result.findings, root)
    results = [
        _result(finding, index, printed, root)
        for finding, printed in zip(result.findings, prints, strict=True)
        if finding.severity is not Severity.OFF
    ]
    base = srcroot if srcroot is not None else (root or os.getcwd())
    base_uri = Path(base).resolve().as_uri().rstrip("/") + "/"
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "pullgate",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [_rule(rule) for rule in rules],
            }
        },
        "invocations": [
            {
                "executionSuccessful": True,
                "exitCode": context.exit_code,
                "properties": {"failOn": context.fail_on, "offline": result.offline},
            }
        ],
        "originalUriBaseIds": {SRCROOT: {"uri": base_uri}},
        "results": results,
    }
    verified = _verified_on_behalf(result)
    if verified:
        run["properties"] = {"verifiedWith": verified}
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def _verified_on_behalf(result: CheckResult) -> list[dict[str, str]]:
    """Images that passed only because a CI login verified for a credential the gate cannot
    replay: which credential the kubelet would use, and which login stood in to check it."""
    seen: dict[tuple[str, str, str], None] = {}
    for use in result.uses:
        resolution = use.resolution
        if resolution is None or not resolution.ok or not resolution.verified_with:
            continue
        seen.setdefault(
            (use.container.image or "", resolution.credential or "", resolution.verified_with)
        )
    return [
        {"image": image, "credential": credential, "verifiedWith": login}
        for image, credential, login in seen
    ]


def _rule(rule: Rule) -> dict[str, Any]:
    ignore = f'`pullgate.io/ignore-{rule.id}: "<reason>"`'
    return {
        "id": rule.id,
        "name": "".join(part.capitalize() for part in rule.id.split("-")),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": f"{rule.title} What the pod would show: {rule.symptom}"},
        "help": {
            "text": f"{rule.title}\n\nWhat the pod would show: {rule.symptom}\n\n"
            f"Fix: {rule.fix}\n\nTo accept it for one object, annotate the object with "
            f'pullgate.io/ignore-{rule.id}: "<reason>".',
            "markdown": f"**{rule.title}**\n\n**What the pod would show:** {rule.symptom}\n\n"
            f"**Fix:** {rule.fix}\n\nTo accept it for one object, annotate the object with "
            f"{ignore}.",
        },
        "defaultConfiguration": {"level": _LEVELS[rule.severity]},
        "properties": {
            "tags": ["kubernetes", "deployment"],
            "precision": "very-high",
            "problem.severity": _LEVELS[rule.severity],
        },
    }


def _result(
    finding: Finding, index: Mapping[str, int], printed: str, root: str | None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"ruleId": finding.rule}
    if finding.rule in index:
        entry["ruleIndex"] = index[finding.rule]
    entry["level"] = _LEVELS[finding.severity]
    entry["message"] = {"text": message_with_hint(finding)}
    entry["locations"] = [_location(finding, root)]
    entry["partialFingerprints"] = {FINGERPRINT_KEY: printed}
    if finding.suppressed is not None:
        entry["suppressions"] = [
            {"kind": _suppression_kind(finding), "justification": finding.suppressed}
        ]
    properties: dict[str, Any] = {
        key: value
        for key, value in (
            ("kind", finding.kind),
            ("namespace", finding.namespace),
            ("name", finding.name),
            ("container", finding.container),
            ("volume", finding.volume),
            ("image", finding.image),
            ("source", finding.source),
        )
        if value is not None
    }
    if properties:
        entry["properties"] = properties
    return entry


def _location(finding: Finding, root: str | None) -> dict[str, Any]:
    path = report_path(finding.file, root)
    artifact: dict[str, Any]
    if os.path.isabs(path):
        artifact = {"uri": Path(path).as_uri()}
    else:
        artifact = {"uri": quote(path, safe="/"), "uriBaseId": SRCROOT}
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if finding.line >= 1:
        physical["region"] = {"startLine": finding.line}
    location: dict[str, Any] = {"physicalLocation": physical}
    if finding.kind is not None and finding.name is not None:
        qualified = f"{finding.kind}/{finding.namespace or ''}/{finding.name}"
        if finding.target is not None:
            qualified += f"/{finding.target}"
        location["logicalLocations"] = [
            {"name": finding.name, "fullyQualifiedName": qualified, "kind": "resource"}
        ]
    return location


def _suppression_kind(finding: Finding) -> str:
    """`inSource` for an annotation on the object, `external` for the config file."""
    return "inSource" if finding.suppressed_by == "annotation" else "external"


# Shared by the machine formats (GitHub, GitLab, JUnit): one notion of path and identity.


def report_path(file: str, root: str | None = None) -> str:
    """The path a CI host can map to its checkout: relative to `root` (the CI workspace) when
    the file lies under it, otherwise as given, without a leading `./`."""
    if root and os.path.isabs(file):
        try:
            relative = os.path.relpath(file, root)
        except ValueError:  # another drive on Windows
            relative = ""
        if relative and relative != os.pardir and not relative.startswith(os.pardir + os.sep):
            return PurePosixPath(*Path(relative).parts).as_posix()
    path = file
    while path.startswith("./") and len(path) > 2:
        path = path[2:]
    return path


def finding_identity(finding: Finding, root: str | None = None) -> str:
    """What makes a finding the same finding in the next run: everything but its line."""
    # Without an image (a document, a secret, a service account) the message names the subject.
    subject = finding.image if finding.image is not None else finding.message
    parts = (
        finding.rule,
        posixpath.normpath(report_path(finding.file, root)),
        finding.kind or "",
        finding.namespace or "",
        finding.name or "",
        finding.target or "",
        subject,
    )
    return "\0".join(parts)


def fingerprints(findings: Iterable[Finding], root: str | None = None) -> list[str]:
    """One fingerprint per finding, in order: unique within the list, stable between runs."""
    seen: dict[str, int] = {}
    out: list[str] = []
    for finding in findings:
        identity = finding_identity(finding, root)
        ordinal = seen.get(identity, 0)
        seen[identity] = ordinal + 1
        key = identity if ordinal == 0 else f"{identity}\0#{ordinal}"
        out.append(hashlib.sha256(key.encode("utf-8")).hexdigest())
    return out


def object_label(finding: Finding) -> str:
    """`Deployment prod/web, container app`: the object a finding is about, for hosts that
    show only a path and a line."""
    if finding.kind is None:
        return ""
    label = f"{finding.kind} {finding.namespace}/{finding.name}"
    if finding.container is not None:
        label += f", container {finding.container}"
    elif finding.volume is not None:
        label += f", image volume {finding.volume}"
    return label


def message_with_hint(finding: Finding) -> str:
    """The finding's own words and what to do, as one text for hosts with a single field."""
    message = finding.message.rstrip()
    if not message.endswith((".", "!", "?")):
        message += "."
    return f"{message} {finding.hint}".strip()


def severity_order(findings: Sequence[Finding]) -> list[Finding]:
    """Most severe first: errors, violations before could-not-verify, then report order."""
    ranked = sorted(
        enumerate(findings),
        key=lambda item: (
            -item[1].severity.rank,
            item[1].rule in UNVERIFIED_RULES,
            item[0],
        ),
    )
    return [finding for _, finding in ranked]
