"""Document rules: what cannot even be parsed."""

from __future__ import annotations

from collections.abc import Iterable

from gate.load import InvalidDocument
from gate.model import Finding
from gate.rules import RULES


def document_findings(invalid: Iterable[InvalidDocument]) -> list[Finding]:
    rule = RULES["manifest-invalid"]
    return [
        Finding(
            rule=rule.id,
            severity=rule.severity,
            message=f"cannot parse this document: {doc.message}",
            hint="`kubectl apply` would fail on it and apply nothing from the file. "
            "Fix the syntax at this line.",
            file=doc.file,
            line=doc.line,
        )
        for doc in invalid
    ]
