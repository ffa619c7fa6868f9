"""Severity overrides and the report order: what every rule family's findings go through."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from gate.model import Finding
from gate.rules import Severity


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


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.file, f.line, f.container or "", f.rule))
