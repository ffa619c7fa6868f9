"""Document rules: what cannot even be parsed."""

from __future__ import annotations

from collections.abc import Iterable

from gate.load import InvalidDocument
from gate.model import Finding


def document_findings(invalid: Iterable[InvalidDocument]) -> list[Finding]:
    return [
        Finding.at(
            "manifest-invalid",
            doc.file,
            doc.line,
            f"cannot parse this document: {doc.message}",
            "`kubectl apply` would fail on it and apply nothing from the file. "
            "Fix the syntax at this line.",
        )
        for doc in invalid
    ]
