"""Policy stage: turn what was extracted, inventoried and resolved into findings and a verdict.

One module per family of rules (`images`, `manifests`), and `verdict` for what every family
shares: severities, suppressions, sorting and the exit code.
"""

from gate.policy.images import image_uses, resolution_findings, static_findings
from gate.policy.manifests import document_findings
from gate.policy.verdict import (
    EXIT_OK,
    EXIT_UNVERIFIED,
    EXIT_USAGE,
    EXIT_VIOLATIONS,
    UNVERIFIED_RULES,
    apply_severities,
    exit_code,
    sort_findings,
)

__all__ = [
    "EXIT_OK",
    "EXIT_UNVERIFIED",
    "EXIT_USAGE",
    "EXIT_VIOLATIONS",
    "UNVERIFIED_RULES",
    "apply_severities",
    "document_findings",
    "exit_code",
    "image_uses",
    "resolution_findings",
    "sort_findings",
    "static_findings",
]
