"""The gate's verdict: how findings decide between the exit codes of the contract
(`gate.exits`).

A base module: the policy stage, the reports, `pin` and the CLI all read the verdict from here,
so none of them needs to import another to learn what exit 3 means.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from gate.exits import EXIT_OK, EXIT_UNVERIFIED, EXIT_VIOLATIONS
from gate.rules import Severity

UNVERIFIED_RULES = frozenset(
    {"image-registry-unreachable", "image-pull-unverified", "image-platform-unverified"}
)
"""Findings that mean "could not check", not "checked and wrong": exit 3, not 1."""


class Judged(Protocol):
    """What the verdict reads of a finding (`gate.model.Finding` has it)."""

    @property
    def rule(self) -> str: ...
    @property
    def severity(self) -> Severity: ...
    @property
    def suppressed(self) -> object: ...


def exit_code(findings: Iterable[Judged], fail_on: Severity = Severity.ERROR) -> int:
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


@dataclass(frozen=True)
class Verdict:
    """The exit code and the threshold that produced it: what every report states at its end."""

    exit_code: int = EXIT_OK
    fail_on: Severity = Severity.ERROR

    @classmethod
    def of(cls, findings: Iterable[Judged], fail_on: Severity = Severity.ERROR) -> Verdict:
        return cls(exit_code(findings, fail_on), fail_on)
