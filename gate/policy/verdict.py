"""Severities, suppressions and the exit code: from findings to the gate's verdict."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from gate.model import Finding
from gate.rules import Severity

EXIT_OK = 0
EXIT_VIOLATIONS = 1
EXIT_USAGE = 2
EXIT_UNVERIFIED = 3

UNVERIFIED_RULES = frozenset(
    {"image-registry-unreachable", "image-pull-unverified", "image-platform-unverified"}
)
"""Findings that mean "could not check", not "checked and wrong": exit 3, not 1."""


def apply_severities(
    findings: Iterable[Finding], overrides: Mapping[str, Severity]
) -> list[Finding]:
    """Apply per-rule severity overrides (config `severity:`); `off` drops a rule entirely."""
    result: list[Finding] = []
    for finding in findings:
        severity = overrides.get(finding.rule, finding.severity)
        if severity is Severity.OFF:
            continue
        result.append(
            replace(finding, severity=severity) if severity != finding.severity else finding
        )
    return result


def exit_code(findings: Iterable[Finding], fail_on: Severity = Severity.ERROR) -> int:
    """0 clean, 1 a violation at or above `fail_on`, 3 nothing violated but not all verified."""
    unverified = False
    for finding in findings:
        if finding.suppressed is not None or finding.severity.rank < fail_on.rank:
            continue
        if finding.rule in UNVERIFIED_RULES:
            unverified = True
        else:
            return EXIT_VIOLATIONS
    return EXIT_UNVERIFIED if unverified else EXIT_OK


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.file, f.line, f.container or "", f.rule))
